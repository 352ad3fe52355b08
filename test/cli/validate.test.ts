// `tokenstorm validate` as a user runs it: the built CLI (bin/tokenstorm.js → dist/) in a child
// process. Run `npm run build` first.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT, useCli } from '../helpers/cli.js';

const cli = useCli();
const run = (args: string[], env: Record<string, string> = {}) => cli(['validate', ...args], env).exited;
const fixture = (name: string) => join('test', 'fixtures', 'scenarios', name);
const scenarios = readdirSync(join(ROOT, 'scenarios'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('scenarios', f));

beforeAll(() => {
  assertBuilt([
    'src/cli',
    'src/scenario',
    'src/config',
    'src/errors.ts',
    'src/mock/config.ts',
    'src/server/config.ts',
    'src/stats/thresholds.ts',
  ]);
});

describe('tokenstorm validate (built CLI)', () => {
  it('exits 0 on every ready scenario, one ✓ line each with its name and load', async () => {
    const r = await run(scenarios, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(scenarios.length);
    for (const file of scenarios)
      expect(lines).toContainEqual(expect.stringMatching(`^✓ ${file}: valid \\(`));
    expect(r.stdout).toContain(
      '✓ scenarios/demo.yaml: valid (demo, closed, 0→300→300→0 users over 30s, warmup 3s; embedded reference server; faults: 3 upstream (3% of streams); 5 thresholds)',
    );
    expect(r.stdout).toContain('open poisson 50/s for 1m, max 500 in flight');
  });

  it('an unset header variable is a warning, not a failure', async () => {
    const r = await run([join('scenarios', 'anthropic-api.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ scenarios\/anthropic-api\.yaml: valid/);
    expect(r.stderr).toContain(
      'warning: scenarios/anthropic-api.yaml: target.headers.x-api-key: environment variable ANTHROPIC_API_KEY is not set',
    );
  });

  it('exits 2 listing every problem of an invalid file with its path', async () => {
    const r = await run([fixture('invalid.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'tokenstorm: [E_CONFIG_INVALID] test/fixtures/scenarios/invalid.yaml has 9 problems:',
    );
    for (const line of [
      '  - name: name must not be empty',
      '  - target.url: url must be an absolute http:// or https:// URL',
      '  - target.protocol: protocol must be reference',
      '  - request: unknown field "max_token" (did you mean "max_tokens"?)',
      '  - load.duration: "10 sec" is not a duration',
      '  - load: rate belongs to an open load',
      '  - timeouts.stall_ms: Invalid input: expected number',
      '  - thresholds.ttft: unknown metric "ttft" (did you mean "ttft_ms"?)',
      '  - thresholds.ttft_ms[0]: unknown aggregation "p95"',
    ])
      expect(r.stderr).toContain(`\n${line}`);
  });

  it('checks every file even after a bad one, and exits 2', async () => {
    const r = await run([fixture('invalid.yaml'), fixture('minimal.yaml'), fixture('broken.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      '✓ test/fixtures/scenarios/minimal.yaml: valid (minimal, closed, 2 users, at most 4 streams; embedded reference server; 0 thresholds)\n',
    );
    expect(r.stderr).toContain('[E_CONFIG_INVALID] test/fixtures/scenarios/invalid.yaml has 9 problems');
    expect(r.stderr).toContain('[E_CONFIG_FILE] test/fixtures/scenarios/broken.yaml is not valid YAML');
    expect(r.stderr).toContain('2 of 3 scenario files are invalid');
  });

  it('exits 2 on invalid YAML, naming the line', async () => {
    const r = await run([fixture('broken.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_CONFIG_FILE] test/fixtures/scenarios/broken.yaml is not valid YAML');
    expect(r.stderr).toMatch(/line \d+/);
  });

  it('exits 2 on a missing file', async () => {
    const r = await run([fixture('does-not-exist.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_CONFIG_FILE] cannot read test/fixtures/scenarios/does-not-exist.yaml');
  });

  it('exits 2 when given no file', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_USAGE] name at least one scenario file');
  });

  it('--print-schema prints exactly schemas/scenario.schema.json and exits 0', async () => {
    const r = await run(['--print-schema']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(
      r.stdout,
      'schemas/scenario.schema.json is out of date: run `node bin/tokenstorm.js validate --print-schema > schemas/scenario.schema.json`',
    ).toBe(readFileSync(join(ROOT, 'schemas', 'scenario.schema.json'), 'utf8'));
    expect(JSON.parse(r.stdout)).toMatchObject({
      title: 'tokenstorm scenario',
      required: ['name', 'target', 'load'],
    });
  });

  it('--print-schema with files is a usage error', async () => {
    const r = await run(['--print-schema', fixture('minimal.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('[E_USAGE] --print-schema prints the schema only');
  });
});
