// `tokenstorm serve` as a user runs it: the built CLI (bin/tokenstorm.js → dist/) in a child
// process. Run `npm run build` first. Every child is killed by PID after each test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockText } from '../../src/mock/text.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { expectWholeStream, metricValue, openStream, within } from '../helpers/server.js';

const cli = useCli();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-serve-cli-'));
  assertBuilt();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('tokenstorm serve (built CLI)', () => {
  it('--help exits 0 and lists the options and the environment prefix', async () => {
    const r = await cli(['serve', '--help']).exited;
    expect(r.code).toBe(0);
    for (const opt of [
      '--port',
      '--metrics-port',
      '--upstream',
      '--auth-tokens-file',
      '--resume-grace-ms',
      '--max-buffered-bytes',
      '--drain-timeout-ms',
      '--cors-origin',
      '--mock-profile',
    ])
      expect(r.stdout).toContain(opt);
    expect(r.stdout).toContain('TOKENSTORM_SERVE_');
  });

  it('invalid options exit 2 and list every problem at once', async () => {
    const r = await cli(['serve', '--port', '-5', '--max-streams', '0', '--metrics-port', '-1']).exited;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_CONFIG_INVALID');
    expect(r.stderr).toMatch(/port: Too small/);
    expect(r.stderr).toMatch(/max_streams: Too small/);
    expect(r.stdout).not.toContain('"msg":"listening"');
  });

  it('an unknown option or value exits 2', async () => {
    const unknown = await cli(['serve', '--prot', '8080']).exited;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown argument: prot/);
    const choice = await cli(['serve', '--log-level', 'loud']).exited;
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/log-level/);
  });

  it('an unreadable or invalid --auth-tokens-file exits 2 naming the problem', async () => {
    const missing = join(dir, 'no-such-tokens.yaml');
    const r = await cli(['serve', '--port', '0', '--metrics-port', '-1', '--auth-tokens-file', missing])
      .exited;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_CONFIG_FILE');
    expect(r.stderr).toContain(`cannot read ${missing}`);

    const bad = join(dir, 'bad-tokens.yaml');
    writeFileSync(bad, 'short: alice\nlong-enough-token: ""\n');
    const r2 = await cli(['serve', '--port', '0', '--metrics-port', '-1', '--auth-tokens-file', bad]).exited;
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('2 problem(s)');
    expect(r2.stderr).toContain('tokens must be at least 8 characters');
    expect(r2.stderr).toContain('the principal must be a non-empty string');
  });

  it('a port in use exits 1 at once (nothing started is left running)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const r = await within(
        'serve to exit',
        cli(['serve', '--port', String(port), '--metrics-port', '-1']).exited,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('E_LISTEN');
      expect(r.stderr).toContain('EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('TOKENSTORM_SERVE_* environment variables set the options', async () => {
    const port = await freePort();
    const profile = join(dir, 'seeded.yaml');
    writeFileSync(profile, 'seed: 11\nlatency: { ttft_base_ms: 1, itl_ms: { type: fixed, mean: 1 } }\n');
    const proc = cli(['serve'], {
      TOKENSTORM_SERVE_PORT: String(port),
      TOKENSTORM_SERVE_METRICS_PORT: '0',
      TOKENSTORM_SERVE_MOCK_PROFILE: profile,
      TOKENSTORM_SERVE_DEFAULT_MODEL: 'env-model',
      TOKENSTORM_SERVE_LOG_LEVEL: 'info',
    });
    const listening = (await proc.logLine('listening')) as { url: string; metrics: string };
    expect(listening.url).toBe(`http://127.0.0.1:${port}`);
    expect(listening.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const r = await openStream(listening.url, { prompt: 'env', max_tokens: 6 });
    const { text } = expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    expect(JSON.parse(r.events[0]!.data)).toMatchObject({ model: 'env-model' });
    expect(text).toBe(mockText(11, 'user:env\n', 6)); // the profile's seed reached the mock
    const metrics = await (await fetch(listening.metrics)).text();
    expect(metricValue(metrics, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' })).toBe(
      1,
    );
    const end = (await proc.logLine('stream_end')) as Record<string, unknown>;
    expect(end).toMatchObject({ outcome: 'completed', tokens: 6, model: 'env-model', resumes: 0 });

    process.kill(proc.child.pid!, 'SIGTERM');
    const exit = await proc.exited;
    expect(exit.code).toBe(0);
  });
});
