// Combining results: from workers of one run, from shards run on several machines, or from the
// live histograms of a single run. Everything is merged exactly: histograms are decoded, added
// and re-summarised (never averaged percentiles), counts are summed, and rates are recomputed
// from the merged counts by the same function the runner uses, so a merged result reads exactly
// as if one runner had recorded every stream.
import { addChaos, emptyChaos } from './chaos.js';
import { decodeHistogram, encodeHistogram, type Histogram, newHistogram, summarise } from './histogram.js';
import {
  HISTOGRAM_NAMES,
  HISTOGRAMS,
  type HistogramName,
  OUTCOMES,
  type Outcome,
  type RateName,
} from './metrics.js';
import {
  type ErrorSample,
  MAX_ERROR_KINDS,
  type MetricEntry,
  RESULT_FORMAT,
  type RunResult,
  type SeriesPoint,
} from './result.js';
import { mergeWorkload } from './workload.js';

/** Summary + encoding of every histogram, for the result file. */
export function buildMetricEntries(
  histograms: Record<HistogramName, Histogram>,
): Record<HistogramName, MetricEntry> {
  const out = {} as Record<HistogramName, MetricEntry>;
  for (const name of HISTOGRAM_NAMES) {
    const def = HISTOGRAMS[name];
    const h = histograms[name];
    out[name] = { ...summarise(h, def.scale), unit: def.unit, scale: def.scale, hdr: encodeHistogram(h) };
  }
  return out;
}

const ratio = (num: number, den: number): number => (den > 0 ? num / den : 0);

/**
 * The run's rates from its stream counts (RATES in metrics.ts). Interrupted streams (still running
 * when the graceful stop expired) are left out of every denominator; client-side faults
 * (client_aborted, cancelled) are not errors. 0 when a denominator is 0 (thresholds treat that as no data).
 */
export function computeRates(
  streams: Pick<RunResult['streams'], 'measured' | 'by_outcome' | 'good' | 'dropped_arrivals' | 'arrivals'>,
): Record<RateName, number> {
  const o = streams.by_outcome;
  const ended = streams.measured - o.interrupted;
  return {
    completion_rate: ratio(o.completed, ended),
    error_rate: ratio(ended - o.completed - o.client_aborted - o.cancelled, ended),
    goodput_rate: ratio(streams.good, ended),
    drop_rate: ratio(streams.dropped_arrivals, streams.arrivals),
  };
}

type TokenSource = RunResult['tokens']['source'];

/** usage+usage = usage, counted+counted = counted, anything else mixed; `none` (no streams) is neutral. */
function combineSource(a: TokenSource, b: TokenSource): TokenSource {
  if (a === 'none') return b;
  if (b === 'none' || a === b) return a;
  return 'mixed';
}

function mergeSeries(all: SeriesPoint[][]): SeriesPoint[] {
  const byT = new Map<number, SeriesPoint>();
  for (const series of all)
    for (const p of series) {
      const acc = byT.get(p.t);
      if (acc === undefined) byT.set(p.t, { ...p });
      else {
        acc.active_streams += p.active_streams;
        acc.started += p.started;
        acc.ended += p.ended;
        acc.output_tokens += p.output_tokens;
        acc.errors += p.errors;
      }
    }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Error kinds keyed by (outcome, type): counts summed, the first non-empty message kept, most
 * frequent first (ties in a fixed order so merges are deterministic), at most MAX_ERROR_KINDS.
 * A kind that one input dropped at its own cap is undercounted here, never invented.
 */
export function mergeErrors(all: readonly (readonly ErrorSample[])[]): ErrorSample[] {
  const byKey = new Map<string, ErrorSample>();
  for (const list of all)
    for (const e of list) {
      const key = `${e.outcome}\u0000${e.type}`;
      const acc = byKey.get(key);
      if (acc === undefined) byKey.set(key, { ...e });
      else {
        acc.count += e.count;
        if (acc.message === '') acc.message = e.message;
      }
    }
  return [...byKey.values()]
    .sort((a, b) => b.count - a.count || cmp(a.outcome, b.outcome) || cmp(a.type, b.type))
    .slice(0, MAX_ERROR_KINDS);
}

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
const maxOf = (xs: number[]): number => Math.max(...xs);

/**
 * Merges results of the same scenario (shards or workers that ran at the same time). Thresholds
 * are not evaluated here: the result has none (thresholds_ok true), the caller evaluates the
 * scenario's thresholds on the merged result (thresholdSourceFromResult).
 *
 * Timings: started_at = earliest, ended_at = latest, duration_s and measured_s = the longest
 * (the shards ran concurrently, so per-second rates divide by the longest measured time).
 */
export function mergeResults(results: readonly RunResult[]): RunResult {
  const first = results[0];
  if (first === undefined) throw new Error('mergeResults needs at least one result');
  for (const r of results)
    if (r.tokenstorm.format !== RESULT_FORMAT)
      throw new Error(
        `result format ${r.tokenstorm.format} is not ${RESULT_FORMAT}; re-run with this version`,
      );

  const metrics = {} as Record<HistogramName, MetricEntry>;
  const histograms = {} as Record<HistogramName, Histogram>;
  for (const name of HISTOGRAM_NAMES) {
    const h = newHistogram();
    for (const r of results) {
      const entry = r.metrics[name];
      if (entry === undefined) continue;
      const d = decodeHistogram(entry.hdr);
      h.add(d);
      d.destroy();
    }
    histograms[name] = h;
  }
  Object.assign(metrics, buildMetricEntries(histograms));
  for (const h of Object.values(histograms)) h.destroy();

  const by_outcome = Object.fromEntries(
    OUTCOMES.map((o) => [o, sum(results.map((r) => r.streams.by_outcome[o] ?? 0))]),
  ) as Record<Outcome, number>;
  const streams: RunResult['streams'] = {
    started: sum(results.map((r) => r.streams.started)),
    warmup: sum(results.map((r) => r.streams.warmup)),
    measured: sum(results.map((r) => r.streams.measured)),
    by_outcome,
    dropped_arrivals: sum(results.map((r) => r.streams.dropped_arrivals)),
    arrivals: sum(results.map((r) => r.streams.arrivals)),
    good: sum(results.map((r) => r.streams.good)),
  };

  const measured_s = maxOf(results.map((r) => r.measured_s));
  const output_total = sum(results.map((r) => r.tokens.output_total));
  const cpu_s = sum(results.map((r) => r.runner.cpu_s));
  const warnings = [...new Set(results.flatMap((r) => r.runner.warnings))];
  const names = [...new Set(results.map((r) => r.scenario.name))];
  if (names.length > 1) warnings.push(`merged results of different scenarios: ${names.join(', ')}`);
  const reasons = [...new Set(results.map((r) => r.abort_reason).filter((x): x is string => x !== null))];

  return {
    tokenstorm: { version: first.tokenstorm.version, format: RESULT_FORMAT },
    scenario: first.scenario,
    started_at: results.map((r) => r.started_at).reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a)),
    ended_at: results.map((r) => r.ended_at).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a)),
    duration_s: maxOf(results.map((r) => r.duration_s)),
    measured_s,
    aborted: results.some((r) => r.aborted),
    abort_reason: reasons.length > 0 ? reasons.join('; ') : null,
    streams,
    rates: computeRates(streams),
    tokens: {
      output_total,
      input_total: sum(results.map((r) => r.tokens.input_total)),
      source: results.map((r) => r.tokens.source).reduce(combineSource),
      output_per_s: ratio(output_total, measured_s),
    },
    metrics,
    series: mergeSeries(results.map((r) => r.series)),
    errors: mergeErrors(results.map((r) => r.errors ?? [])),
    chaos: results.reduce((c, r) => {
      if (r.chaos) addChaos(c, r.chaos);
      return c;
    }, emptyChaos()),
    workload: mergeWorkload(results.map((r) => r.workload)),
    thresholds: [],
    thresholds_ok: true,
    runner: {
      workers: sum(results.map((r) => r.runner.workers)),
      event_loop_delay_ms: {
        p50: maxOf(results.map((r) => r.runner.event_loop_delay_ms.p50)),
        p99: maxOf(results.map((r) => r.runner.event_loop_delay_ms.p99)),
        max: maxOf(results.map((r) => r.runner.event_loop_delay_ms.max)),
      },
      event_loop_utilization: maxOf(results.map((r) => r.runner.event_loop_utilization)),
      cpu_s,
      cpu_ms_per_stream: ratio(cpu_s * 1000, streams.started),
      schedule_lag_growth_ms_per_min: maxOf(results.map((r) => r.runner.schedule_lag_growth_ms_per_min)),
      client_bound: results.some((r) => r.runner.client_bound),
      warnings,
    },
  };
}
