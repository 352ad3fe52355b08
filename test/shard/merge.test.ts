import { readFileSync } from 'node:fs';
import hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { mergeShards, type ShardFile } from '../../src/shard/merge.js';
import { newHistogram, recordScaled } from '../../src/stats/histogram.js';
import { buildMetricEntries } from '../../src/stats/merge.js';
import { HISTOGRAM_NAMES, HISTOGRAMS, type HistogramName } from '../../src/stats/metrics.js';
import type { RunResult } from '../../src/stats/result.js';

const template = (): RunResult =>
  JSON.parse(readFileSync(new URL('../fixtures/results/clean.json', import.meta.url), 'utf8')) as RunResult;

/** A shard result whose ttft_ms histogram holds exactly `ttft`, with `streams` completed streams. */
function shard(
  index: number,
  count: number,
  ttft: number[],
  streams: number,
  hash = 'aaaaaaaaaaaaaaaa',
): ShardFile {
  const t = template();
  const hs = Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, newHistogram()])) as Record<
    HistogramName,
    ReturnType<typeof newHistogram>
  >;
  for (const v of ttft) recordScaled(hs.ttft_ms, v, HISTOGRAMS.ttft_ms.scale);
  const by = Object.fromEntries(
    Object.keys(t.streams.by_outcome).map((k) => [k, 0]),
  ) as RunResult['streams']['by_outcome'];
  by.completed = streams;
  return {
    file: `shard-${index}.json`,
    result: {
      ...t,
      scenario: { ...t.scenario, hash },
      shard: { index, count, start_at: null },
      metrics: buildMetricEntries(hs),
      streams: {
        ...t.streams,
        started: streams,
        warmup: 0,
        measured: streams,
        by_outcome: by,
        good: streams,
      },
      thresholds: [
        { metric: 'ttft_ms', expression: 'p(99)<900', actual: 0, ok: true, abort_on_fail: false },
        { metric: 'streams', expression: 'count<50', actual: streams, ok: true, abort_on_fail: false },
      ],
      thresholds_ok: true,
      runner: { ...t.runner, client_bound: false, warnings: [] },
    },
  };
}

describe('mergeShards', () => {
  const rng = new Rng(5);
  const values = [0, 1, 2].map(() => Array.from({ length: 400 }, () => Math.exp(rng.next() * 9) / 10));

  it('merged percentiles are exactly those of one histogram of every value', () => {
    const merged = mergeShards(values.map((v, i) => shard(i, 3, v, 20)));
    const one = newHistogram();
    for (const v of values.flat()) recordScaled(one, v, 1000);
    const m = merged.metrics.ttft_ms;
    expect(m.count).toBe(1200);
    const decoded = hdr.decodeFromCompressedBase64(m.hdr);
    for (const p of [0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100])
      expect(decoded.getValueAtPercentile(p)).toBe(one.getValueAtPercentile(p));
    expect([m.p50, m.p95, m.p99, m.p999, m.max]).toEqual(
      [50, 95, 99, 99.9, 100].map((p) => one.getValueAtPercentile(p) / 1000),
    );
  });

  it("judges the scenario's thresholds on the whole run: 3 × 20 streams fail count<50", () => {
    const merged = mergeShards(values.map((v, i) => shard(i, 3, v, 20)));
    expect(merged.streams.measured).toBe(60);
    expect(merged.thresholds.map((t) => [t.metric, t.actual, t.ok])).toEqual([
      ['ttft_ms', merged.thresholds[0]!.actual, true],
      ['streams', 60, false],
    ]);
    expect(merged.thresholds_ok).toBe(false);
    expect(merged.merged_from?.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(merged.shard).toBeNull();
  });

  it('names client-bound shards', () => {
    const s = values.map((v, i) => shard(i, 3, v, 5));
    s[1]!.result.runner.client_bound = true;
    const merged = mergeShards(s);
    expect(merged.runner.warnings.join('\n')).toMatch(/shard 1\/3 \(shard-1\.json\) was client-bound/);
    expect(merged.runner.client_bound).toBe(true);
  });

  it('refuses shards of different scenarios, and incomplete or duplicated sets', () => {
    expect(() => mergeShards([shard(0, 2, [1], 1), shard(1, 2, [1], 1, 'bbbbbbbbbbbbbbbb')])).toThrow(
      /different scenarios/,
    );
    const missing = (() => {
      try {
        mergeShards([shard(0, 3, [1], 1), shard(2, 3, [1], 1)]);
      } catch (e) {
        return e as { code: string; problems: string[] };
      }
    })();
    expect(missing?.code).toBe('E_SHARDS_INCOMPLETE');
    expect(missing?.problems).toEqual(['shard 1/3 is missing']);
    expect(() => mergeShards([shard(0, 2, [1], 1), shard(0, 2, [1], 1), shard(1, 2, [1], 1)])).toThrow(
      /not one complete set of 2/,
    );
    expect(() => mergeShards([shard(0, 2, [1], 1), shard(1, 3, [1], 1)])).toThrow(/shard count/);
    const plain = shard(0, 1, [1], 1);
    plain.result.shard = null;
    expect(() => mergeShards([plain])).toThrow(/not shard results/);
  });
});
