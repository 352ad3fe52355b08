// `tokenstorm run` as a user runs it: the built CLI (bin/tokenstorm.js → dist/) in a child
// process, on scenario files written to a temporary directory. Exit codes (DESIGN.md): 0 success,
// 1 runtime failure or interrupted, 2 invalid scenario, 99 a threshold failed.
// Run `npm run build` first. Every child is killed by PID after each test.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTOGRAM_NAMES, OUTCOMES } from '../../src/stats/metrics.js';
import type { RunResult } from '../../src/stats/result.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { rawRequest, waitFor, within } from '../helpers/server.js';

const cli = useCli();
let dir: string;

beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-run-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a scenario file into the temporary directory and returns its path. */
function scenarioFile(name: string, yaml: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

function readResult(path: string): RunResult {
  return JSON.parse(readFileSync(path, 'utf8')) as RunResult;
}

/** An embedded mock, straight (direct) or through the reference server, fast and deterministic. */
const FAST_MOCK = `
  mock:
    latency: { ttft_base_ms: 5, itl_ms: { type: fixed, mean: 1 } }`;

describe('tokenstorm run (built CLI)', () => {
  it('a valid scenario exits 0, prints the summary and writes the result file with the contract fields', async () => {
    const file = scenarioFile(
      'ok',
      `name: cli-ok
seed: 3
target:
  embedded: true${FAST_MOCK}
request: { max_tokens: 8 }
load: { type: closed, concurrency: 4, streams: 12, duration: 30s, graceful_stop: 10s }
thresholds:
  completion_rate: ["rate==1"]
  streams: ["count==12"]
`,
    );
    const out = join(dir, 'nested', 'ok.json');
    const r = await within('the run', cli(['run', file, '--out', out]).exited, 30_000);
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /tokenstorm run: cli-ok → http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/stream \(reference\)/,
    );
    expect(r.stdout).toContain('tokenstorm · cli-ok');
    expect(r.stdout).toMatch(/streams\s+12 measured · 12 started/);
    expect(r.stdout).toMatch(/completed\s+12\s+100\.00%/);
    expect(r.stdout).toMatch(/^ttft_ms\s+12\s/m);
    expect(r.stdout).toContain('thresholds  all passed');
    expect(r.stdout).toContain(`result written to ${out}`);

    const res = readResult(out);
    expect(res.tokenstorm).toEqual({ version: expect.any(String), format: 1 });
    expect(res.scenario).toMatchObject({
      name: 'cli-ok',
      file,
      seed: 3,
      target: { protocol: 'reference', embedded: true },
      load: { type: 'closed', concurrency: 4, streams: 12, duration_s: 30, graceful_stop_s: 10, warmup_s: 0 },
    });
    expect(res.scenario.target.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/stream$/);
    expect(Date.parse(res.ended_at)).toBeGreaterThanOrEqual(Date.parse(res.started_at));
    expect(res.duration_s).toBeGreaterThan(0);
    expect(res.measured_s).toBe(res.duration_s);
    expect(res.aborted).toBe(false);
    expect(res.abort_reason).toBeNull();
    expect(Object.keys(res.streams.by_outcome).sort()).toEqual([...OUTCOMES].sort());
    expect(res.streams).toMatchObject({ started: 12, warmup: 0, measured: 12, good: 12 });
    expect(res.streams.by_outcome.completed).toBe(12);
    expect(res.rates).toMatchObject({ completion_rate: 1, error_rate: 0, goodput_rate: 1, drop_rate: 0 });
    expect(res.tokens).toMatchObject({ output_total: 96, source: 'usage' });
    for (const name of HISTOGRAM_NAMES) {
      const m = res.metrics[name]!;
      expect(m, name).toMatchObject({
        unit: expect.any(String),
        scale: expect.any(Number),
        hdr: expect.any(String),
      });
      for (const k of ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const)
        expect(typeof m[k], `${name}.${k}`).toBe('number');
    }
    // The encoded histogram is the whole distribution: decoded, it has every value and the same p50.
    const ttft = res.metrics.ttft_ms!;
    expect(ttft.count).toBe(12);
    const h = hdr.decodeFromCompressedBase64(ttft.hdr);
    expect(h.totalCount).toBe(12);
    expect(h.getValueAtPercentile(50) / ttft.scale).toBeCloseTo(ttft.p50, 3);
    expect(ttft.min).toBeGreaterThanOrEqual(5);
    expect(res.metrics.itl_ms!.count).toBe(12 * 7);
    expect(res.thresholds).toEqual([
      { metric: 'completion_rate', expression: 'rate==1', actual: 1, ok: true, abort_on_fail: false },
      { metric: 'streams', expression: 'count==12', actual: 12, ok: true, abort_on_fail: false },
    ]);
    expect(res.thresholds_ok).toBe(true);
    expect(res.runner).toMatchObject({ workers: 1, client_bound: expect.any(Boolean) });
    expect(res.runner.event_loop_delay_ms).toEqual({
      p50: expect.any(Number),
      p99: expect.any(Number),
      max: expect.any(Number),
    });
    expect(res.series.reduce((s, p) => s + p.started, 0)).toBe(12);
    expect(res.series.reduce((s, p) => s + p.ended, 0)).toBe(12);
  });

  it('an invalid scenario exits 2 and lists every problem with its path', async () => {
    const file = scenarioFile(
      'bad',
      `name: ""
target: { url: "not a url" }
request: { max_token: 5 }
load: { type: closed, rate: 5 }
thresholds: { ttft: ["p(95)<1"], completion_rate: ["p(95)<1"] }
`,
    );
    const r = await within('the run', cli(['run', file, '--out', join(dir, 'bad.json')]).exited, 20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`[E_CONFIG_INVALID] ${file} has 8 problems:`);
    for (const line of [
      /- name: name must not be empty/,
      /- target\.url: url must be an absolute http/,
      /- request: unknown field "max_token" \(did you mean "max_tokens"\?\)/,
      /- load: rate belongs to an open load/,
      /- load\.duration: the run needs an end/,
      /- load\.concurrency: a closed load needs concurrency/,
      /- thresholds\.ttft: unknown metric "ttft" \(did you mean "ttft_ms"\?\)/,
      /- thresholds\.completion_rate\[0\]: p\(N\) is not available on completion_rate/,
    ])
      expect(r.stderr).toMatch(line);
    expect(readdirSync(dir)).not.toContain('bad.json');
  });

  it('a failed threshold exits 99; the summary and the result file mark it', async () => {
    const file = scenarioFile(
      'threshold',
      `name: cli-threshold
target:
  embedded: true${FAST_MOCK}
request: { max_tokens: 4 }
load: { type: closed, concurrency: 2, streams: 4, duration: 30s }
thresholds:
  ttft_ms: ["p(95)<1"]
  completion_rate: ["rate==1"]
`,
    );
    const out = join(dir, 'threshold.json');
    const r = await within('the run', cli(['run', file, '--quiet', '--out', out]).exited, 30_000);
    expect(r.code).toBe(99);
    expect(r.stdout).toContain('thresholds  1 of 2 failed');
    expect(r.stdout).toMatch(/✗\s+ttft_ms\s+p\(95\)<1\s+\d/);
    expect(r.stdout).toMatch(/✓\s+completion_rate\s+rate==1/);
    const res = readResult(out);
    expect(res.thresholds_ok).toBe(false);
    expect(res.aborted).toBe(false);
    const failed = res.thresholds.find((t) => t.metric === 'ttft_ms')!;
    expect(failed.ok).toBe(false);
    expect(failed.actual).toBeGreaterThanOrEqual(5); // the mock's TTFT alone is 5 ms
    expect(res.streams.by_outcome.completed).toBe(4);
  });

  it('abortOnFail stops the run at the first evaluation after delayAbortEval: aborted, exit 99', async () => {
    const file = scenarioFile(
      'abort',
      `name: cli-abort
target:
  embedded: true${FAST_MOCK}
request: { max_tokens: 4 }
load: { type: closed, concurrency: 2, duration: 60s, graceful_stop: 5s }
thresholds:
  ttft_ms: [{ threshold: "p(95)<1", abortOnFail: true }]
  e2e_ms: ["max<60000"]
`,
    );
    const out = join(dir, 'abort.json');
    const started = performance.now();
    const r = await within('the aborted run', cli(['run', file, '--quiet', '--out', out]).exited, 30_000);
    const elapsedS = (performance.now() - started) / 1000;
    expect(r.code).toBe(99);
    const res = readResult(out);
    expect(res.aborted).toBe(true);
    expect(res.abort_reason).toMatch(/threshold ttft_ms p\(95\)<1 failed .*abortOnFail/);
    expect(r.stdout).toMatch(/^aborted\s+threshold ttft_ms/m);
    // Checked about once a second: the run ends within seconds, not after its 60 s.
    expect(res.duration_s).toBeLessThan(10);
    expect(elapsedS).toBeLessThan(20);
    expect(res.streams.started).toBeGreaterThan(0);
    expect(res.thresholds.find((t) => t.metric === 'ttft_ms')).toMatchObject({
      ok: false,
      abort_on_fail: true,
    });
  });

  it('--workers 2 gives the same stream and outcome counts as --workers 1 for a seeded streams: run', async () => {
    const file = scenarioFile(
      'workers',
      `name: cli-workers
seed: 17
target:
  embedded: true
  direct: true
  protocol: anthropic${FAST_MOCK}
request: { max_tokens: 6 }
load: { type: closed, concurrency: 10, streams: 150, duration: 60s }
faults:
  upstream:
    - { kind: http_error, status: 529, probability: 0.1 }
    - { kind: inband_error, after_tokens: 2, probability: 0.1 }
    - { kind: truncate, after_tokens: 3, probability: 0.1 }
`,
    );
    const results: RunResult[] = [];
    for (const workers of ['1', '2']) {
      const out = join(dir, `workers-${workers}.json`);
      const r = await within(
        `the run with ${workers} workers`,
        cli(['run', file, '--quiet', '--workers', workers, '--out', out]).exited,
        30_000,
      );
      expect(r.code, r.stderr).toBe(0);
      results.push(readResult(out));
    }
    const [one, two] = results as [RunResult, RunResult];
    expect(two.runner.workers).toBe(2);
    expect(one.runner.workers).toBe(1);
    expect(one.streams.started).toBe(150);
    expect(two.streams).toEqual(one.streams);
    // The seeded faults struck: the counts compared are not all in one bucket.
    expect(one.streams.by_outcome.http_error).toBeGreaterThan(0);
    expect(one.streams.by_outcome.stream_error).toBeGreaterThan(0);
    expect(one.streams.by_outcome.truncated).toBeGreaterThan(0);
    expect(two.tokens.output_total).toBe(one.tokens.output_total);
    expect(two.metrics.ttft_ms!.count).toBe(one.metrics.ttft_ms!.count);
    expect(two.metrics.itl_ms!.count).toBe(one.metrics.itl_ms!.count);
  });

  it('SIGINT during a run exits 1, still prints the summary, and leaves nothing running', async () => {
    const file = scenarioFile(
      'sigint',
      `name: cli-sigint
target:
  embedded: true
  direct: true
  protocol: anthropic
  mock:
    latency: { ttft_base_ms: 1, itl_ms: { type: fixed, mean: 50 } }
request: { max_tokens: 10000 }
load: { type: closed, concurrency: 3, duration: 5m }
`,
    );
    const out = join(dir, 'sigint.json');
    const run = cli(['run', file, '--out', out]);
    // The target line names the embedded mock; its stats say when all three streams are flowing.
    let target = '';
    await waitFor(
      'the run to print its target',
      () => {
        const m = /→ (http:\/\/127\.0\.0\.1:\d+)\//.exec(run.stderr());
        if (m) target = m[1]!;
        return m !== null || run.child.exitCode !== null;
      },
      20_000,
    );
    expect(target).not.toBe('');
    await waitFor(
      'three streams to have tokens',
      async () => {
        const st = JSON.parse((await rawRequest(`${target}/mock/stats`)).body) as {
          tokens: number;
          active: number;
        };
        return st.active === 3 && st.tokens >= 3;
      },
      20_000,
    );
    const threads = readdirSync(`/proc/${run.child.pid}/task`);
    const children = threads.flatMap((tid) =>
      readFileSync(`/proc/${run.child.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    );
    run.child.kill('SIGINT');
    const r = await within('the interrupted run to exit', run.exited, 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SIGINT: stopping');
    expect(r.stdout).toContain('tokenstorm · cli-sigint');
    expect(r.stdout).toMatch(/^aborted\s+interrupted \(SIGINT or SIGTERM\)/m);
    expect(r.stdout).toContain(`result written to ${out}`);
    const res = readResult(out);
    expect(res.aborted).toBe(true);
    expect(res.streams.by_outcome.interrupted).toBe(3);
    expect(res.streams.started).toBe(3);
    // Nothing is left: no child process (the embedded target is a thread of the CLI, not a
    // process), no process still running this scenario, and the target no longer listens.
    for (const pid of children) expect(() => process.kill(Number(pid), 0), `child ${pid}`).toThrow();
    const stillRunning = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(file);
        } catch {
          return false; // exited meanwhile
        }
      });
    expect(stillRunning).toEqual([]);
    await expect(rawRequest(`${target}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
