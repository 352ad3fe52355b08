// Thresholds in k6 syntax (https://grafana.com/docs/k6/latest/using-k6/thresholds/):
// `<aggregation> <operator> <number>`, e.g. `p(95)<500`, `rate>0.99`, `count==0`.
// Parsing is separate from evaluation so the scenario validator reports every bad expression at
// load time, and evaluation reads any result-like source (a live run, a result file, a merge).
//
// One deliberate difference from k6: a histogram or rate with no data (no samples, or a zero
// denominator) FAILS its thresholds with actual = null. k6 evaluates empty sinks as zero, so
// `rate>=0.9` on a rate with no samples passes and `p(95)<500` on an empty trend passes
// (grafana/k6#1346, grafana/k6#4283): in CI that turns "nothing was measured" into green.
// Counters always have data: a count of zero is a value, so `http_error_streams: ["count==0"]` passes.
import {
  CHAOS_COUNTERS,
  CHAOS_RATES,
  type ChaosCounterName,
  type ChaosRateName,
  type ChaosResult,
  chaosCounter,
  chaosRate,
} from './chaos.js';
import { decodeHistogram, type Histogram } from './histogram.js';
import { computeRates } from './merge.js';
import { COUNTERS, HISTOGRAMS, type HistogramName, RATES, type RateName } from './metrics.js';
import type { RunResult, ThresholdResult } from './result.js';

export type MetricKind = 'histogram' | 'rate' | 'counter';
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';
export type Aggregation =
  | { method: 'p'; p: number }
  | { method: 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' };

export interface ParsedThreshold {
  metric: string;
  kind: MetricKind;
  aggregation: Aggregation;
  op: Operator;
  value: number;
  /** As written. */
  expression: string;
}

/** Aggregations per metric kind (k6: trends, rates, counters). */
const METHODS: Record<MetricKind, readonly string[]> = {
  histogram: ['p(N)', 'avg', 'min', 'max', 'med', 'count'],
  rate: ['rate'],
  counter: ['count', 'rate'],
};

const KIND_HINT: Record<MetricKind, string> = {
  histogram: 'a histogram: use p(N), avg, min, max, med or count',
  rate: 'a rate: use rate',
  counter: 'a counter: use count, or rate for per second',
};

// Longest operators first so "<=" is not read as "<" followed by "=500".
const OPERATORS: readonly Operator[] = ['===', '==', '!=', '<=', '>=', '<', '>'];
const NUMBER_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const PERCENTILE_RE = /^p\(\s*([^)]*?)\s*\)$/;

export function metricKind(metric: string): MetricKind | undefined {
  if (Object.hasOwn(HISTOGRAMS, metric)) return 'histogram';
  if (Object.hasOwn(RATES, metric) || Object.hasOwn(CHAOS_RATES, metric)) return 'rate';
  if (Object.hasOwn(COUNTERS, metric) || Object.hasOwn(CHAOS_COUNTERS, metric)) return 'counter';
  return undefined;
}

/** Every metric a threshold may name, for error messages. */
export const THRESHOLD_METRICS: readonly string[] = [
  ...Object.keys(HISTOGRAMS),
  ...Object.keys(RATES),
  ...Object.keys(CHAOS_RATES),
  ...Object.keys(COUNTERS),
  ...Object.keys(CHAOS_COUNTERS),
];

/**
 * Parses one expression for `metric`. Returns the parsed threshold, or a message saying what is
 * wrong and how to fix it (the scenario validator prefixes it with the threshold's path).
 */
export function parseThreshold(metric: string, expression: string): ParsedThreshold | string {
  const kind = metricKind(metric);
  if (kind === undefined) {
    const near =
      metric === '' ? [] : THRESHOLD_METRICS.filter((m) => m.startsWith(metric) || metric.startsWith(m));
    const hint = near.length > 0 ? `did you mean ${near.join(' or ')}? ` : '';
    return `unknown metric "${metric}" — ${hint}known: ${THRESHOLD_METRICS.join(', ')}`;
  }
  const expr = expression.trim();
  let at = -1;
  let op: Operator | undefined;
  for (let i = 0; i < expr.length && op === undefined; i++)
    for (const o of OPERATORS)
      if (expr.startsWith(o, i)) {
        at = i;
        op = o;
        break;
      }
  if (op === undefined)
    return `"${expression}" has no comparison operator; write e.g. "${example(kind)}" (operators: ${OPERATORS.join(' ')})`;
  const left = expr.slice(0, at).trim();
  const right = expr.slice(at + op.length).trim();
  if (left === '') return `"${expression}" has no aggregation before "${op}"; write e.g. "${example(kind)}"`;
  if (right === '') return `"${expr.slice(0, at + op.length)}" has no number after the operator`;
  if (!NUMBER_RE.test(right)) return `"${right}" in "${expression}" is not a number`;

  let aggregation: Aggregation;
  const pm = PERCENTILE_RE.exec(left);
  if (pm) {
    const n = pm[1]!;
    const p = Number(n);
    if (n === '' || !NUMBER_RE.test(n) || !(p > 0 && p <= 100))
      return `"${left}" needs a percentile above 0 and at most 100, e.g. p(95) or p(99.9)`;
    aggregation = { method: 'p', p };
  } else if (['avg', 'min', 'max', 'med', 'count', 'rate'].includes(left)) {
    aggregation = { method: left as 'avg' };
  } else {
    return `unknown aggregation "${left}" in "${expression}"; ${metric} is ${KIND_HINT[kind]}`;
  }
  const name = aggregation.method === 'p' ? 'p(N)' : aggregation.method;
  if (!METHODS[kind].includes(name)) return `${name} is not available on ${metric} (${KIND_HINT[kind]})`;
  return { metric, kind, aggregation, op, value: Number(right), expression };
}

function example(kind: MetricKind): string {
  return kind === 'histogram' ? 'p(95)<500' : kind === 'rate' ? 'rate>0.99' : 'count==0';
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** What a threshold can ask of a histogram, in the metric's display unit. */
export interface HistogramView {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** The value at percentile p (0–100). */
  percentile(p: number): number;
}

/** Anything every aggregation can be computed from: a live run, a result file, a merged result. */
export interface ThresholdSource {
  histogram(name: string): HistogramView | undefined;
  /** undefined when the rate has no data (zero denominator). */
  rate(name: string): number | undefined;
  counter(name: string): number | undefined;
  /** Per-second counter rates divide by this. */
  measuredSeconds: number;
}

/** A live or decoded HDR histogram as a view; `scale` as in HISTOGRAMS. Min/max as summarise() reports. */
export function histogramView(h: Histogram, scale: number): HistogramView {
  return {
    count: h.totalCount,
    min: h.getValueAtPercentile(0) / scale,
    max: h.getValueAtPercentile(100) / scale,
    mean: h.mean / scale,
    percentile: (p) => h.getValueAtPercentile(p) / scale,
  };
}

/** What a threshold source is built from: stream counts, token total, and a histogram lookup. */
export interface SourceParts {
  streams: Pick<RunResult['streams'], 'measured' | 'by_outcome' | 'good' | 'dropped_arrivals' | 'arrivals'>;
  outputTotal: number;
  measuredSeconds: number;
  histogram(name: HistogramName): HistogramView | undefined;
  /** Recovery, integrity and leak counts; absent while a run is in progress. */
  chaos?: ChaosResult | undefined;
}

/** A source over counts and histograms (a result file, or a run in progress). */
export function thresholdSource(parts: SourceParts): ThresholdSource {
  const s = parts.streams;
  const ended = s.measured - (s.by_outcome.interrupted ?? 0);
  const denominators: Record<RateName, number> = {
    completion_rate: ended,
    error_rate: ended,
    goodput_rate: ended,
    drop_rate: s.arrivals,
  };
  const rates = computeRates(s);
  const cache = new Map<string, HistogramView | undefined>();
  return {
    measuredSeconds: parts.measuredSeconds,
    histogram(name) {
      if (!cache.has(name))
        cache.set(name, Object.hasOwn(HISTOGRAMS, name) ? parts.histogram(name as HistogramName) : undefined);
      return cache.get(name);
    },
    rate(name) {
      if (Object.hasOwn(CHAOS_RATES, name))
        return parts.chaos ? chaosRate(parts.chaos, name as ChaosRateName) : undefined;
      if (!Object.hasOwn(RATES, name)) return undefined;
      return denominators[name as RateName] > 0 ? rates[name as RateName] : undefined;
    },
    counter(name) {
      if (name === 'streams') return s.measured;
      if (name === 'dropped_arrivals') return s.dropped_arrivals;
      if (name === 'output_tokens_total') return parts.outputTotal;
      if (Object.hasOwn(CHAOS_COUNTERS, name))
        return parts.chaos ? chaosCounter(parts.chaos, name as ChaosCounterName) : undefined;
      const m = /^(.+)_streams$/.exec(name);
      return m ? (s.by_outcome as Record<string, number>)[m[1]!] : undefined;
    },
  };
}

/**
 * A source over a result file. Histograms are decoded on first use so p(N) works for any N,
 * not only the percentiles the summary stores.
 */
export function thresholdSourceFromResult(result: RunResult): ThresholdSource {
  return thresholdSource({
    streams: result.streams,
    outputTotal: result.tokens.output_total,
    measuredSeconds: result.measured_s,
    chaos: result.chaos,
    histogram: (name) => {
      const entry = result.metrics[name];
      return entry ? histogramView(decodeHistogram(entry.hdr), entry.scale) : undefined;
    },
  });
}

/** The value a parsed threshold compares, or null when the metric has no data. */
export function aggregate(t: ParsedThreshold, src: ThresholdSource): number | null {
  const a = t.aggregation;
  if (t.kind === 'histogram') {
    const h = src.histogram(t.metric);
    if (h === undefined || h.count === 0) return null;
    switch (a.method) {
      case 'p':
        return h.percentile(a.p);
      case 'med':
        return h.percentile(50);
      case 'avg':
        return h.mean;
      case 'min':
        return h.min;
      case 'max':
        return h.max;
      default:
        return h.count;
    }
  }
  if (t.kind === 'rate') return src.rate(t.metric) ?? null;
  const c = src.counter(t.metric);
  if (c === undefined) return null;
  if (a.method === 'count') return c;
  return src.measuredSeconds > 0 ? c / src.measuredSeconds : null;
}

export function compare(actual: number, op: Operator, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '!=':
      return actual !== value;
    default:
      return actual === value; // == and === are the same on numbers
  }
}

/** The scenario's `thresholds` section (delayAbortEval already converted to ms by the schema). */
export type ThresholdsConfig = Readonly<
  Record<
    string,
    ReadonlyArray<string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: number }>
  >
>;

export interface ThresholdSpec {
  parsed: ParsedThreshold;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

/**
 * Parses a validated thresholds section once (the runner calls this at setup, then evaluates
 * every second). Throws on an invalid expression: the scenario validator has already reported those.
 */
export function compileThresholds(config: ThresholdsConfig): ThresholdSpec[] {
  const specs: ThresholdSpec[] = [];
  for (const [metric, items] of Object.entries(config))
    for (const item of items) {
      const expr = typeof item === 'string' ? item : item.threshold;
      const parsed = parseThreshold(metric, expr);
      if (typeof parsed === 'string') throw new Error(`thresholds.${metric}: ${parsed}`);
      specs.push({
        parsed,
        abortOnFail: typeof item !== 'string' && item.abortOnFail === true,
        delayAbortEvalMs: typeof item === 'string' ? 0 : (item.delayAbortEval ?? 0),
      });
    }
  return specs;
}

function toSpecs(specs: ThresholdsConfig | readonly ThresholdSpec[]): readonly ThresholdSpec[] {
  return isSpecList(specs) ? specs : compileThresholds(specs);
}

function isSpecList(specs: ThresholdsConfig | readonly ThresholdSpec[]): specs is readonly ThresholdSpec[] {
  return Array.isArray(specs);
}

function evaluateOne(spec: ThresholdSpec, src: ThresholdSource): ThresholdResult {
  const actual = aggregate(spec.parsed, src);
  return {
    metric: spec.parsed.metric,
    expression: spec.parsed.expression,
    actual,
    ok: actual !== null && compare(actual, spec.parsed.op, spec.parsed.value),
    abort_on_fail: spec.abortOnFail,
  };
}

/** Evaluates every threshold, in the order written. No data → actual null, ok false (see top). */
export function evaluateThresholds(
  src: ThresholdSource,
  specs: ThresholdsConfig | readonly ThresholdSpec[],
): ThresholdResult[] {
  const list = toSpecs(specs);
  return list.map((s) => evaluateOne(s, src));
}

/**
 * During the run: the abortOnFail thresholds that fail now, once `elapsedMs` (since run start)
 * has reached their delayAbortEval. Empty means keep going. A metric with no data yet never
 * aborts (nothing has failed; at the end of the run it still fails as "no data").
 */
export function shouldAbort(
  src: ThresholdSource,
  specs: ThresholdsConfig | readonly ThresholdSpec[],
  elapsedMs: number,
): ThresholdResult[] {
  const list = toSpecs(specs);
  const failed: ThresholdResult[] = [];
  for (const s of list) {
    if (!s.abortOnFail || elapsedMs < s.delayAbortEvalMs) continue;
    const r = evaluateOne(s, src);
    if (!r.ok && r.actual !== null) failed.push(r);
  }
  return failed;
}
