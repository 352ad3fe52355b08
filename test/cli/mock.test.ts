// `tokenstorm mock` as a user runs it: the built CLI (bin/tokenstorm.js → dist/) in a child
// process. Run `npm run build` first. Every child is killed by PID after each test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockText } from '../../src/mock/text.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { anthropicBody, anthropicDeltas, post, types } from '../helpers/stream.js';

const cli = useCli();
let dir: string;

beforeAll(() => {
  assertBuilt(['src/cli', 'src/mock', 'src/config', 'src/errors.ts', 'src/random.ts']);
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string> = {}) {
  const { child, exited, stdout } = cli(['mock', ...args], env);
  /** Resolves with the URL once the mock says it is listening; rejects if it exits first. */
  const listening = new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout());
      if (m) {
        child.stdout.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', onData);
    void exited.then((r) => reject(new Error(`mock exited (${r.code}) before listening:\n${r.stderr}`)));
  });
  listening.catch(() => {}); // observed by the tests that await it
  return { child, exited, listening };
}

const run = (args: string[], env: Record<string, string> = {}) => start(args, env).exited;

describe('tokenstorm mock (built CLI)', () => {
  it('--help exits 0 and lists the options', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--port', '--profile', '--slots', '--fault', '--print-capacity', '--ping-interval-ms'])
      expect(r.stdout).toContain(opt);
  });

  it('--print-capacity prints the computed numbers and exits 0 without listening', async () => {
    const r = await run([
      '--port',
      '0',
      '--print-capacity',
      '--slots',
      '64',
      '--ttft-ms',
      '200',
      '--prefill-ms-per-token',
      '0.5',
      '--itl-ms',
      '20',
      '--degradation',
      '0.5',
      '--input-tokens',
      '100',
      '--output-tokens',
      '200',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('listening');
    // hold = 200 + 0.5 × 100 + 199 × 20 × 1.5 = 6220 ms; 64 / 6.22 s = 10.29 streams/s.
    expect(r.stdout).toContain('64 decode slots');
    expect(r.stdout).toContain('100-in/200-out request holds one for 6220.0 ms');
    expect(r.stdout).toContain('TTFT 250.0 ms + 199 × ITL 30.00 ms');
    expect(r.stdout).toContain('max sustainable 10.3 streams/s = 2058 tokens/s');
  });

  it('flags override the --profile file, and TOKENSTORM_MOCK_* variables set options', async () => {
    const profile = join(dir, 'capacity.yaml');
    writeFileSync(
      profile,
      'latency:\n  ttft_base_ms: 100\n  itl_ms: { type: fixed, mean: 10 }\ncapacity:\n  slots: 8\n',
    );
    const fromFile = await run(['--profile', profile, '--print-capacity', '--output-tokens', '11']);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('8 decode slots');
    expect(fromFile.stdout).toContain('holds one for 200.0 ms');
    expect(fromFile.stdout).toContain('max sustainable 40.0 streams/s');
    const overridden = await run([
      '--profile',
      profile,
      '--print-capacity',
      '--output-tokens',
      '11',
      '--slots',
      '16',
    ]);
    expect(overridden.stdout).toContain('16 decode slots');
    expect(overridden.stdout).toContain('holds one for 200.0 ms');
    const fromEnv = await run(['--print-capacity'], { TOKENSTORM_MOCK_SLOTS: '32' });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain('32 decode slots');
  });

  it('a bad --fault exits 2 with the problem listed', async () => {
    const r = await run(['--port', '0', '--fault', 'explode;after_tokens=1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('[E_CONFIG_INVALID]');
    expect(r.stderr).toContain('has 1 problem:');
    expect(r.stderr).toMatch(
      /- --fault "explode;after_tokens=1": kind: kind must be one of http_error, inband_error/,
    );
  });

  it('several bad --fault options and bad flags are all listed at once', async () => {
    const r = await run([
      '--port',
      '0',
      '--slots',
      '0',
      '--fault',
      'stall',
      '--fault',
      'reset;after_tokens=abc',
      '--fault',
      'truncate',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_CONFIG_INVALID] mock options has 3 problems');
    expect(r.stderr).toMatch(/- capacity\.slots: Too small/);
    expect(r.stderr).toMatch(/- --fault "stall": duration_ms: /);
    expect(r.stderr).toMatch(/- --fault "reset;after_tokens=abc": after_tokens: /);
  });

  it('an invalid profile exits 2 listing every problem with its path', async () => {
    const profile = join(dir, 'invalid.yaml');
    writeFileSync(
      profile,
      [
        'latency:',
        '  ttft_base_ms: -5',
        'capacity:',
        '  slots: 0',
        'faults:',
        '  - kind: truncate',
        '    probability: 0.8',
        '  - kind: reset',
        '    probability: 0.5',
        '',
      ].join('\n'),
    );
    const r = await run(['--port', '0', '--profile', profile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_CONFIG_INVALID]');
    expect(r.stderr).toContain('has 3 problems');
    expect(r.stderr).toMatch(/- latency\.ttft_base_ms: Too small/);
    expect(r.stderr).toMatch(/- capacity\.slots: Too small/);
    expect(r.stderr).toMatch(/- faults: fault probabilities add up to 1\.300/);
  });

  it('a profile that is not valid YAML, or missing, exits 2 naming the file', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'latency: [\n  ttft_base_ms: 5\n');
    const r = await run(['--port', '0', '--profile', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[E_CONFIG_FILE]');
    expect(r.stderr).toContain(`${broken} is not valid YAML`);
    expect(r.stderr).toMatch(/line \d+/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- 1\n- 2\n');
    const notMapping = await run(['--port', '0', '--profile', list]);
    expect(notMapping.code).toBe(2);
    expect(notMapping.stderr).toContain('must be a YAML mapping');
    const missing = await run(['--port', '0', '--profile', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[E_CONFIG_FILE] cannot read');
  });

  it('an unknown option or a bad port is a usage error: exit 2', async () => {
    const unknown = await run(['--port', '0', '--colour', 'blue']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[E_USAGE]');
    expect(unknown.stderr).toContain('colour');
    const port = await run(['--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be an integer from 0 to 65535');
  });

  it('serves deterministic streams on --port 0 and exits 0 on SIGTERM', async () => {
    const { child, exited, listening } = start([
      '--port',
      '0',
      '--seed',
      '9',
      '--ttft-ms',
      '1',
      '--itl-ms',
      '1',
    ]);
    const url = await listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const r = await post(`${url}/v1/messages`, anthropicBody(7, 'cli'));
    expect(types(r.events).at(-1)).toBe('message_stop');
    expect(anthropicDeltas(r.events).join('')).toBe(mockText(9, 'user:cli\n', 7));
    process.kill(child.pid!, 'SIGTERM');
    const end = await exited;
    expect(end.code).toBe(0);
    expect(end.stderr).toBe('');
  });

  it('--fault rules apply to every request and are printed at startup', async () => {
    const { listening, exited, child } = start([
      '--port',
      '0',
      '--ttft-ms',
      '1',
      '--itl-ms',
      '1',
      '--fault',
      'inband_error;after_tokens=2',
    ]);
    const url = await listening;
    const r = await post(`${url}/v1/messages`, anthropicBody(5));
    expect(types(r.events).filter((t) => t === 'content_block_delta')).toHaveLength(2);
    expect(types(r.events).at(-1)).toBe('error');
    process.kill(child.pid!, 'SIGTERM');
    const end = await exited;
    expect(end.stdout).toContain('faults: inband_error p=1');
  });
});
