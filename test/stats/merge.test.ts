import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { decodeHistogram, type Histogram, newHistogram, recordScaled } from '../../src/stats/histogram.js';
import { buildMetricEntries, computeRates, mergeErrors, mergeResults } from '../../src/stats/merge.js';
import {
  HISTOGRAM_NAMES,
  HISTOGRAMS,
  type HistogramName,
  OUTCOMES,
  type Outcome,
} from '../../src/stats/metrics.js';
import { type ErrorSample, MAX_ERROR_KINDS, type RunResult } from '../../src/stats/result.js';

const template = (): RunResult =>
  JSON.parse(readFileSync(new URL('../fixtures/results/clean.json', import.meta.url), 'utf8')) as RunResult;

const outcomes = (o: Partial<Record<Outcome, number>>): Record<Outcome, number> =>
  Object.fromEntries(OUTCOMES.map((k) => [k, o[k] ?? 0])) as Record<Outcome, number>;

function histograms(values: Partial<Record<HistogramName, number[]>>): Record<HistogramName, Histogram> {
  const out = {} as Record<HistogramName, Histogram>;
  for (const n of HISTOGRAM_NAMES) {
    out[n] = newHistogram();
    for (const v of values[n] ?? []) recordScaled(out[n], v, HISTOGRAMS[n].scale);
  }
  return out;
}

/** A result whose histograms hold exactly `values`. */
function resultWith(
  values: Partial<Record<HistogramName, number[]>>,
  patch: Partial<RunResult> = {},
): RunResult {
  return { ...template(), metrics: buildMetricEntries(histograms(values)), ...patch };
}

/** Seeded values spread over several HDR magnitudes (µs to minutes), like real latencies. */
function randomValues(seed: number, n: number): Record<HistogramName, number[]> {
  const rng = new Rng(seed);
  const out = {} as Record<HistogramName, number[]>;
  for (const name of HISTOGRAM_NAMES)
    out[name] = Array.from({ length: n }, () => Math.exp(rng.next() * 14) / 100); // 0.01 .. ~12,000
  return out;
}

describe('mergeResults: histograms', () => {
  it('merging two halves equals recording every value in one histogram (exact)', () => {
    const all = randomValues(42, 5000);
    const first = {} as Record<HistogramName, number[]>;
    const second = {} as Record<HistogramName, number[]>;
    for (const n of HISTOGRAM_NAMES) {
      first[n] = all[n].slice(0, 1777);
      second[n] = all[n].slice(1777);
    }
    const merged = mergeResults([resultWith(first), resultWith(second)]);
    const whole = resultWith(all);
    for (const n of HISTOGRAM_NAMES) {
      expect(merged.metrics[n]).toEqual(whole.metrics[n]); // count, min, mean, stddev, every pXX, max, hdr
      expect(merged.metrics[n].count).toBe(5000);
      // Any percentile, not only the summary ones, survives the round trip.
      const a = decodeHistogram(merged.metrics[n].hdr);
      const b = decodeHistogram(whole.metrics[n].hdr);
      for (const p of [1, 12.5, 33.3, 75, 99.99])
        expect(a.getValueAtPercentile(p)).toBe(b.getValueAtPercentile(p));
    }
    // The halves really differ from the whole (so the equality above is not vacuous).
    expect(resultWith(first).metrics.ttft_ms.p50).not.toBe(whole.metrics.ttft_ms.p50);
  });

  it('holds for any split of any values (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.nat(),
        (values, cut) => {
          const at = cut % (values.length + 1);
          const merged = mergeResults([
            resultWith({ e2e_ms: values.slice(0, at) }),
            resultWith({ e2e_ms: values.slice(at) }),
          ]);
          expect(merged.metrics.e2e_ms).toEqual(resultWith({ e2e_ms: values }).metrics.e2e_ms);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });

  it('a result with an empty histogram adds nothing', () => {
    const values = randomValues(1, 100);
    const merged = mergeResults([resultWith(values), resultWith({})]);
    expect(merged.metrics.itl_ms).toEqual(resultWith(values).metrics.itl_ms);
    expect(mergeResults([resultWith({})]).metrics.ttft_ms.count).toBe(0);
  });
});

describe('mergeResults: counts, rates, tokens, timings, health', () => {
  const a = resultWith(
    {},
    {
      started_at: '2025-01-15T10:00:02.000Z',
      ended_at: '2025-01-15T10:01:00.000Z',
      duration_s: 58,
      measured_s: 50,
      aborted: false,
      abort_reason: null,
      streams: {
        started: 110,
        warmup: 10,
        measured: 100,
        by_outcome: outcomes({ completed: 90, http_error: 5, client_aborted: 3, interrupted: 2 }),
        dropped_arrivals: 4,
        arrivals: 114,
        good: 80,
      },
      // Deliberately wrong: merge must recompute rates from counts, never average them.
      rates: { completion_rate: 0.5, error_rate: 0.5, goodput_rate: 0.5, drop_rate: 0.5 },
      tokens: { output_total: 1000, input_total: 10, source: 'usage', output_per_s: 20 },
      series: [
        { t: 1, active_streams: 3, started: 3, ended: 1, output_tokens: 10, errors: 0 },
        { t: 2, active_streams: 2, started: 0, ended: 1, output_tokens: 5, errors: 1 },
      ],
      runner: {
        workers: 1,
        event_loop_delay_ms: { p50: 1, p99: 9, max: 30 },
        event_loop_utilization: 0.4,
        cpu_s: 0.3,
        cpu_ms_per_stream: 99,
        schedule_lag_growth_ms_per_min: -1,
        client_bound: false,
        warnings: ['w1', 'w2'],
      },
    },
  );
  const b = resultWith(
    {},
    {
      started_at: '2025-01-15T10:00:00.000Z',
      ended_at: '2025-01-15T10:00:59.000Z',
      duration_s: 59,
      measured_s: 49,
      aborted: true,
      abort_reason: 'SIGINT',
      streams: {
        started: 100,
        warmup: 0,
        measured: 100,
        by_outcome: outcomes({ completed: 80, stream_error: 10, cancelled: 6, interrupted: 4 }),
        dropped_arrivals: 6,
        arrivals: 106,
        good: 70,
      },
      rates: { completion_rate: 0.9, error_rate: 0.9, goodput_rate: 0.9, drop_rate: 0.9 },
      tokens: { output_total: 500, input_total: 5, source: 'usage', output_per_s: 10 },
      series: [
        { t: 2, active_streams: 1, started: 1, ended: 1, output_tokens: 7, errors: 0 },
        { t: 3, active_streams: 0, started: 0, ended: 1, output_tokens: 1, errors: 0 },
      ],
      runner: {
        workers: 2,
        event_loop_delay_ms: { p50: 2, p99: 5, max: 40 },
        event_loop_utilization: 0.9,
        cpu_s: 0.12,
        cpu_ms_per_stream: 1,
        schedule_lag_growth_ms_per_min: 3,
        client_bound: true,
        warnings: ['w2', 'w3'],
      },
    },
  );
  const m = mergeResults([a, b]);

  it('sums stream counts and outcomes', () => {
    expect(m.streams).toEqual({
      started: 210,
      warmup: 10,
      measured: 200,
      by_outcome: outcomes({
        completed: 170,
        http_error: 5,
        stream_error: 10,
        client_aborted: 3,
        cancelled: 6,
        interrupted: 6,
      }),
      dropped_arrivals: 10,
      arrivals: 220,
      good: 150,
    });
  });

  it('recomputes rates from the merged counts', () => {
    // ended = 200 − 6 interrupted = 194; errors = 194 − 170 − 3 − 6 = 15.
    expect(m.rates.completion_rate).toBeCloseTo(170 / 194, 12);
    expect(m.rates.error_rate).toBeCloseTo(15 / 194, 12);
    expect(m.rates.goodput_rate).toBeCloseTo(150 / 194, 12);
    expect(m.rates.drop_rate).toBeCloseTo(10 / 220, 12);
    expect(m.rates).toEqual(computeRates(m.streams));
  });

  it('sums tokens and combines their source', () => {
    expect(m.tokens).toEqual({
      output_total: 1500,
      input_total: 15,
      source: 'usage',
      output_per_s: 1500 / 50,
    });
    const src = (s: RunResult['tokens']['source']): RunResult => ({
      ...a,
      tokens: { ...a.tokens, source: s },
    });
    expect(mergeResults([src('counted'), src('counted')]).tokens.source).toBe('counted');
    expect(mergeResults([src('usage'), src('counted')]).tokens.source).toBe('mixed');
    expect(mergeResults([src('none'), src('counted')]).tokens.source).toBe('counted');
    expect(mergeResults([src('mixed'), src('usage')]).tokens.source).toBe('mixed');
    expect(mergeResults([src('none'), src('none')]).tokens.source).toBe('none');
  });

  it('takes the earliest start, latest end and longest durations', () => {
    expect([m.started_at, m.ended_at, m.duration_s, m.measured_s]).toEqual([
      '2025-01-15T10:00:00.000Z',
      '2025-01-15T10:01:00.000Z',
      59,
      50,
    ]);
    expect([m.aborted, m.abort_reason]).toEqual([true, 'SIGINT']);
  });

  it('aligns series by t and sums them', () => {
    expect(m.series).toEqual([
      { t: 1, active_streams: 3, started: 3, ended: 1, output_tokens: 10, errors: 0 },
      { t: 2, active_streams: 3, started: 1, ended: 2, output_tokens: 12, errors: 1 },
      { t: 3, active_streams: 0, started: 0, ended: 1, output_tokens: 1, errors: 0 },
    ]);
    expect(a.series[1]!.active_streams).toBe(2); // inputs untouched
  });

  it('combines runner health: sums workers and CPU, worst delay and utilisation, any client_bound', () => {
    expect(m.runner).toEqual({
      workers: 3,
      event_loop_delay_ms: { p50: 2, p99: 9, max: 40 },
      event_loop_utilization: 0.9,
      cpu_s: 0.42,
      cpu_ms_per_stream: (0.42 * 1000) / 210,
      schedule_lag_growth_ms_per_min: 3,
      client_bound: true,
      warnings: ['w1', 'w2', 'w3'],
    });
  });

  it('leaves thresholds to the caller', () => {
    expect([m.thresholds, m.thresholds_ok]).toEqual([[], true]);
  });

  it('warns when the scenarios differ, and refuses nothing or another format', () => {
    const other = { ...b, scenario: { ...b.scenario, name: 'other' } };
    expect(mergeResults([a, other]).runner.warnings).toContain(
      'merged results of different scenarios: clean, other',
    );
    expect(() => mergeResults([])).toThrow(/at least one/);
    expect(() => mergeResults([{ ...a, tokenstorm: { version: '9', format: 99 } }])).toThrow(/format 99/);
  });
});

describe('computeRates', () => {
  it('is 0 when a denominator is 0', () => {
    expect(
      computeRates({
        measured: 3,
        by_outcome: outcomes({ interrupted: 3 }),
        good: 0,
        dropped_arrivals: 0,
        arrivals: 0,
      }),
    ).toEqual({ completion_rate: 0, error_rate: 0, goodput_rate: 0, drop_rate: 0 });
  });

  it('does not count client-side faults as errors', () => {
    const r = computeRates({
      measured: 10,
      by_outcome: outcomes({ completed: 6, client_aborted: 2, cancelled: 1, timed_out: 1 }),
      good: 6,
      dropped_arrivals: 0,
      arrivals: 0,
    });
    expect(r.error_rate).toBeCloseTo(0.1, 12);
    expect(r.completion_rate).toBeCloseTo(0.6, 12);
  });
});

describe('mergeErrors', () => {
  const e = (outcome: Outcome, type: string, count: number, message = ''): ErrorSample => ({
    outcome,
    type,
    message,
    count,
  });

  it('sums counts per (outcome, type), keeps the first message, most frequent first', () => {
    expect(
      mergeErrors([
        [
          e('http_error', '503', 5, 'busy'),
          e('stream_error', 'overloaded_error', 2, ''),
          e('http_error', '429', 4),
        ],
        [e('stream_error', 'overloaded_error', 3, 'Overloaded'), e('http_error', '503', 1, 'other text')],
      ]),
    ).toEqual([
      e('http_error', '503', 6, 'busy'),
      e('stream_error', 'overloaded_error', 5, 'Overloaded'),
      e('http_error', '429', 4),
    ]);
  });

  it('orders ties deterministically and keeps at most MAX_ERROR_KINDS', () => {
    const many = Array.from({ length: MAX_ERROR_KINDS + 5 }, (_, i) => e('http_error', String(500 + i), 1));
    const merged = mergeErrors([[...many].reverse(), [e('truncated', 'truncated', 2)]]);
    expect(merged).toHaveLength(MAX_ERROR_KINDS);
    expect(merged[0]).toEqual(e('truncated', 'truncated', 2));
    expect(merged.slice(1, 3).map((x) => x.type)).toEqual(['500', '501']);
  });

  it('is what mergeResults puts in errors', () => {
    const a = { ...template(), errors: [e('http_error', '503', 2)] };
    const b = { ...template(), errors: [e('http_error', '503', 3)] };
    expect(mergeResults([a, b]).errors).toEqual([e('http_error', '503', 5)]);
  });
});
