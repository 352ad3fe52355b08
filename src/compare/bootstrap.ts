// Confidence intervals for the difference of a percentile between two runs, from their HDR
// histograms alone (the result file keeps the whole distribution, not the samples).
//
// A bootstrap resample of n values from the empirical distribution F has, as its k-th smallest
// value, F⁻¹(U₍ₖ₎) where U₍ₖ₎ ~ Beta(k, n − k + 1) is the k-th order statistic of n uniforms. So one
// replicate of the percentile is one Beta draw and one binary search over the buckets: exactly
// the percentile bootstrap (Efron & Tibshirani, ch. 13), in O(log buckets) instead of O(n) per
// replicate. Both runs are resampled independently; the interval is the percentile interval of
// the replicated differences. Seeded, so a verdict is reproducible from the two files.
import { Rng } from '../random.js';
import type { Histogram } from '../stats/histogram.js';

/** A histogram's non-empty buckets, ascending: value (display unit) and cumulative count. */
export interface Buckets {
  values: Float64Array;
  cumulative: Float64Array;
  total: number;
}

interface RawHistogram {
  countsArrayLength: number;
  getCountAtIndex(i: number): number;
  valueFromIndex(i: number): number;
  highestEquivalentValue(v: number): number;
}

/** The buckets of `h`; values as getValueAtPercentile reports them (highest equivalent), / scale. */
export function bucketsOf(h: Histogram, scale: number): Buckets {
  const raw = h as unknown as RawHistogram;
  const values: number[] = [];
  const cumulative: number[] = [];
  const total = h.totalCount;
  let seen = 0;
  for (let i = 0; i < raw.countsArrayLength && seen < total; i++) {
    const c = raw.getCountAtIndex(i);
    if (c === 0) continue;
    seen += c;
    values.push(raw.highestEquivalentValue(raw.valueFromIndex(i)) / scale);
    cumulative.push(seen);
  }
  return { values: Float64Array.from(values), cumulative: Float64Array.from(cumulative), total };
}

/** The value of the sample of rank k (1-based) in ascending order. */
export function valueAtRank(b: Buckets, k: number): number {
  let lo = 0;
  let hi = b.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.cumulative[mid]! >= k) hi = mid;
    else lo = mid + 1;
  }
  return b.values[lo] ?? 0;
}

/** The rank percentile p (0–100] selects among n values, as HdrHistogram's getValueAtPercentile does. */
export function rankOf(p: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil((Math.min(p, 100) / 100) * n - 1e-9)));
}

export function percentileOf(b: Buckets, p: number): number {
  return b.total === 0 ? 0 : valueAtRank(b, rankOf(p, b.total));
}

function beta(rng: Rng, a: number, b: number): number {
  const x = rng.gamma(a, 1);
  const y = rng.gamma(b, 1);
  return x / (x + y);
}

/** One bootstrap replicate of percentile p of `b`. */
export function resamplePercentile(b: Buckets, p: number, rng: Rng): number {
  const n = b.total;
  const k = rankOf(p, n);
  const u = beta(rng, k, n - k + 1);
  return valueAtRank(b, Math.min(n, Math.max(1, Math.ceil(u * n))));
}

export interface DifferenceInterval {
  /** current − baseline, from the histograms themselves. */
  estimate: number;
  /** The central `level` interval of the bootstrap replicates of current − baseline. */
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** Replicates; 2,000 takes about a millisecond. */
  replicates?: number;
  /** Two-sided confidence level, e.g. 0.95. */
  level?: number;
  seed?: number | string;
}

/** Percentile-bootstrap interval for percentile(current, p) − percentile(baseline, p). Both non-empty. */
export function bootstrapPercentileDifference(
  baseline: Buckets,
  current: Buckets,
  p: number,
  opts: BootstrapOptions = {},
): DifferenceInterval {
  const replicates = opts.replicates ?? 2000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? `bootstrap:${p}`);
  const diffs = new Float64Array(replicates);
  for (let i = 0; i < replicates; i++)
    diffs[i] = resamplePercentile(current, p, rng) - resamplePercentile(baseline, p, rng);
  diffs.sort();
  const tail = (1 - level) / 2;
  const at = (q: number): number => diffs[Math.min(replicates - 1, Math.max(0, Math.floor(q * replicates)))]!;
  return {
    estimate: percentileOf(current, p) - percentileOf(baseline, p),
    low: at(tail),
    high: at(1 - tail),
  };
}

/**
 * Interval for the difference of two proportions (current − baseline), Agresti–Caffo: add one
 * success and one failure to each sample, then the Wald interval. Well behaved at rates of 0 and 1,
 * where the plain Wald interval collapses to a point.
 */
export function proportionDifference(
  baseline: { successes: number; trials: number },
  current: { successes: number; trials: number },
  level = 0.95,
): DifferenceInterval {
  const z = normalQuantile(1 - (1 - level) / 2);
  const adj = (s: { successes: number; trials: number }) => {
    const p = (s.successes + 1) / (s.trials + 2);
    return { p, v: (p * (1 - p)) / (s.trials + 2) };
  };
  const a = adj(baseline);
  const b = adj(current);
  const raw = (s: { successes: number; trials: number }) => (s.trials > 0 ? s.successes / s.trials : 0);
  const d = b.p - a.p;
  const half = z * Math.sqrt(a.v + b.v);
  return { estimate: raw(current) - raw(baseline), low: d - half, high: d + half };
}

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(q: number): number {
  const a = [
    -39.6968302866538, 220.946098424521, -275.928510446969, 138.357751867269, -30.6647980661472,
    2.50662827745924,
  ];
  const b = [-54.4760987982241, 161.585836858041, -155.698979859887, 66.8013118877197, -13.2806815528857];
  const c = [
    -0.00778489400243029, -0.322396458041136, -2.40075827716184, -2.54973253934373, 4.37466414146497,
    2.93816398269878,
  ];
  const d = [0.00778469570904146, 0.32246712907004, 2.445134137143, 3.75440866190742];
  const lowTail = 0.02425;
  const poly = (cs: number[], x: number): number => cs.reduce((s, k) => s * x + k, 0);
  if (q < lowTail) {
    const t = Math.sqrt(-2 * Math.log(q));
    return poly(c, t) / (poly(d, t) * t + 1);
  }
  if (q > 1 - lowTail) {
    const t = Math.sqrt(-2 * Math.log(1 - q));
    return -poly(c, t) / (poly(d, t) * t + 1);
  }
  const t = q - 0.5;
  const r = t * t;
  return (poly(a, r) * t) / (poly(b, r) * r + 1);
}
