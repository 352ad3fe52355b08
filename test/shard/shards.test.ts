// Three shard processes (the built CLI) against one reference server, merged with
// `tokenstorm merge`: the merge is exact (histograms added, counters summed) and the scenario's
// thresholds are judged on the whole run. The server's own log of every stream is the
// independent record the merged output_tokens histogram is checked against, value for value.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/runner/run.js';
import { HISTOGRAM_NAMES, HISTOGRAMS } from '../../src/stats/metrics.js';
import type { RunResult } from '../../src/stats/result.js';
import { assertBuilt, type Cli, useCli } from '../helpers/cli.js';
import { scenario } from '../helpers/runner.js';
import { within } from '../helpers/server.js';

const cli = useCli();
let dir: string;

beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-shards-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (path: string): RunResult => JSON.parse(readFileSync(path, 'utf8')) as RunResult;

/** `tokenstorm serve` with a fast in-process mock, logging one line per stream end; resolves with its URL. */
async function startServe(): Promise<{ server: Cli; url: string }> {
  const profile = join(dir, 'mock.yaml');
  writeFileSync(
    profile,
    'latency: { ttft_base_ms: 5, itl_ms: { type: fixed, mean: 2 } }\noutput_tokens: { type: uniform, min: 5, max: 40 }\n',
  );
  const server = cli(['serve', '--port', '0', '--metrics-port', '-1', '--mock-profile', profile]);
  const line = await within('serve listening', server.logLine('listening'), 15_000);
  return { server, url: `${line.url as string}/v1/chat/stream` };
}

/** Every completed stream's token count as the server logged it. */
function serverTokens(stdout: string): number[] {
  const out: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const rec = JSON.parse(line) as { msg?: string; outcome?: string; tokens?: number };
    if (rec.msg === 'stream_end' && rec.outcome === 'completed') out.push(rec.tokens!);
  }
  return out;
}

const SCENARIO = `name: sharded
seed: 9
target: { url: "http://127.0.0.1:1/v1/chat/stream", protocol: reference }
request: { max_tokens: 64 }
load: { type: closed, concurrency: 6, streams: 60, duration: 30s, graceful_stop: 10s }
thresholds:
  completion_rate: ["rate==1"]
  ttft_ms: ["p(95)<2000"]
  streams: ["count<50"]       # each shard runs 20: only the whole run (60) crosses it
`;

describe('sharded run → tokenstorm merge', () => {
  it('three shard processes merge exactly, and a threshold only the whole run crosses fails the merge', async () => {
    const { server, url } = await startServe();
    const file = join(dir, 'sharded.yaml');
    writeFileSync(file, SCENARIO);
    const startAt = String(Date.now() + 1500);
    const outs = [0, 1, 2].map((i) => join(dir, `shard-${i}.json`));
    const shards = [0, 1, 2].map((i) =>
      cli(
        [
          'run',
          file,
          '--url',
          url,
          '--quiet',
          '--start-at',
          startAt,
          '--out',
          outs[i]!,
          // The last shard as a Kubernetes Indexed Job runs it: the index from the environment.
          ...(i === 2 ? ['--shard-count', '3'] : ['--shard', `${i}/3`]),
        ],
        i === 2 ? { JOB_COMPLETION_INDEX: '2' } : {},
      ),
    );
    const exits = await within('the shards', Promise.all(shards.map((s) => s.exited)), 45_000);
    for (const e of exits) expect(e.code, e.stderr).toBe(0); // 20 streams each: count<50 passes
    const results = outs.map(read);
    expect(results.map((r) => r.shard)).toEqual(
      [0, 1, 2].map((index) => ({ index, count: 3, start_at: new Date(Number(startAt)).toISOString() })),
    );
    expect(new Set(results.map((r) => r.scenario.hash)).size).toBe(1);
    expect(results.map((r) => r.streams.measured)).toEqual([20, 20, 20]);

    const merged = join(dir, 'run.json');
    const m = await within('merge', cli(['merge', ...outs, '--out', merged]).exited, 20_000);
    expect(m.code, m.stderr).toBe(99);
    expect(m.stdout).toContain('merged 3 shards of sharded');
    const run = read(merged);
    expect(run.thresholds.map((t) => [t.metric, t.expression, t.actual, t.ok])).toEqual([
      ['completion_rate', 'rate==1', 1, true],
      ['ttft_ms', 'p(95)<2000', run.metrics.ttft_ms.p95, true],
      ['streams', 'count<50', 60, false],
    ]);

    // Counters add up.
    const sum = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0);
    expect(run.streams.measured).toBe(60);
    expect(run.streams.by_outcome.completed).toBe(60);
    expect(run.tokens.output_total).toBe(sum((r) => r.tokens.output_total));
    expect(run.series.reduce((s, p) => s + p.started, 0)).toBe(60);

    // Every histogram: the merged percentiles are those of the union histogram, exactly.
    for (const name of HISTOGRAM_NAMES) {
      const union = hdr.build({ highestTrackableValue: 3_600_000_000 });
      for (const r of results) union.add(hdr.decodeFromCompressedBase64(r.metrics[name].hdr));
      const e = run.metrics[name];
      const scale = HISTOGRAMS[name].scale;
      expect(e.count).toBe(union.totalCount);
      if (union.totalCount === 0) continue;
      expect([e.p50, e.p90, e.p95, e.p99, e.p999, e.max], name).toEqual(
        [50, 90, 95, 99, 99.9, 100].map((p) => union.getValueAtPercentile(p) / scale),
      );
      const decoded = hdr.decodeFromCompressedBase64(e.hdr);
      for (const p of [1, 10, 33.3, 66.6, 97.5, 99.99])
        expect(decoded.getValueAtPercentile(p)).toBe(union.getValueAtPercentile(p));
    }
    expect(run.metrics.ttft_ms.count).toBe(60);

    // And against an independent record of every value: the server's log of each stream's tokens.
    const logged = serverTokens(server.stdout());
    expect(logged).toHaveLength(60);
    expect(run.tokens.output_total).toBe(logged.reduce((s, x) => s + x, 0));
    const one = hdr.build({ highestTrackableValue: 3_600_000_000 });
    for (const v of logged) one.recordValue(v);
    const tokens = hdr.decodeFromCompressedBase64(run.metrics.output_tokens.hdr);
    for (const p of [0, 5, 25, 50, 75, 90, 95, 99, 100])
      expect(tokens.getValueAtPercentile(p)).toBe(one.getValueAtPercentile(p));

    // Refused: an incomplete set, a shard given twice, a shard of another scenario.
    const missing = await cli(['merge', outs[0]!, outs[2]!]).exited;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[E_SHARDS_INCOMPLETE]');
    expect(missing.stderr).toContain('shard 1/3 is missing');
    const twice = await cli(['merge', outs[0]!, outs[1]!, outs[1]!, outs[2]!]).exited;
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('shard 1/3 is given 2 times');
    const other = join(dir, 'other.json');
    writeFileSync(
      other,
      JSON.stringify({ ...results[1], scenario: { ...results[1]!.scenario, hash: '0123456789abcdef' } }),
    );
    const mixed = await cli(['merge', outs[0]!, other, outs[2]!]).exited;
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('[E_SHARDS_MISMATCH]');
    expect(mixed.stderr).toContain('hash 0123456789abcdef: ');
  }, 90_000);

  it('a shard that starts late counts the arrivals it missed as dropped instead of starting them late', async () => {
    const { url } = await startServe();
    const s = scenario({
      target: { url, protocol: 'reference' },
      request: { max_tokens: 8 },
      load: { type: 'open', rate: 40, arrival: 'constant', duration: '2s', max_concurrency: 50 },
    });
    // Shard 0 of 2 (20/s), lined up on a start 1 s ago: the first second's arrivals are missed.
    const r = await runScenario({
      scenario: s,
      shard: { index: 0, count: 2 },
      startAtEpochMs: Date.now() - 1000,
    });
    expect(r.streams.arrivals).toBeGreaterThanOrEqual(38);
    expect(r.streams.arrivals).toBeLessThanOrEqual(40);
    expect(r.streams.dropped_arrivals).toBeGreaterThanOrEqual(18);
    expect(r.streams.dropped_arrivals).toBeLessThanOrEqual(22);
    expect(r.streams.started).toBe(r.streams.arrivals - r.streams.dropped_arrivals);
    // Nothing was shifted: no stream started a second behind its schedule.
    expect(r.metrics.schedule_lag_ms.max).toBeLessThan(200);
    expect(r.shard).toEqual({ index: 0, count: 2, start_at: expect.any(String) });
  }, 30_000);
});
