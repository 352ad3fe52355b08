// The stack's configuration files pass their own tools' checks: `promtool check config` for
// dashboards/prometheus.yml and `docker-compose config -q` for docker-compose.yml (Debian's
// docker-compose v1 parses and validates without a Docker engine). Both tools missing is a
// failure with the command that installs them, never a skip; .ci/run installs both.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import { PROMTOOL, requireBinary } from './prometheus.js';

const DOCKER_COMPOSE = process.env.DOCKER_COMPOSE ?? 'docker-compose';

function run(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

describe('observability stack configuration', () => {
  it('promtool check config dashboards/prometheus.yml passes', () => {
    requireBinary(PROMTOOL);
    const r = run(PROMTOOL, ['check', 'config', 'dashboards/prometheus.yml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('docker-compose config -q passes, with the runner only under the load profile', () => {
    requireBinary(
      DOCKER_COMPOSE,
      'apt-get install -y --no-install-recommends docker-compose (Debian; .ci/run installs it), or set DOCKER_COMPOSE to a compose binary',
    );
    const r = run(DOCKER_COMPOSE, ['config', '-q']);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { profiles?: string[] }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual([
      'grafana',
      'mock',
      'prometheus',
      'runner',
      'server',
    ]);
    expect(compose.services.runner?.profiles).toEqual(['load']);
    for (const name of ['grafana', 'mock', 'prometheus', 'server'])
      expect(compose.services[name]?.profiles, name).toBeUndefined();
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and has a healthcheck', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^COPY --from=build /m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
  });
});
