// HDR histograms as the runner records them: integers in a metric's base unit (µs for every
// `_ms` metric), 3 significant digits, encoded as compressed base64 (HdrHistogram V2) in result
// files so that results from workers, shards and runs merge exactly.
import hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

/** The largest value any histogram tracks: one hour in µs (also ample for token counts and rates). */
export const HIGHEST_TRACKABLE = 3_600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE,
    numberOfSignificantValueDigits: 3,
  });
}

/**
 * Records `value` (in the metric's display unit, e.g. ms) as round(value × scale), clamped to the
 * trackable range so the hot path never throws. Zero is recorded as zero (HDR keeps a zero bucket).
 */
export function recordScaled(h: Histogram, value: number, scale: number): void {
  let v = Math.round(value * scale);
  if (!(v >= 0))
    v = 0; // also catches NaN
  else if (v > HIGHEST_TRACKABLE) v = HIGHEST_TRACKABLE;
  h.recordValue(v);
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(base64: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(base64);
  // Decoded histograms are sized to their content; copy into a standard one so add() never overflows.
  const h = newHistogram();
  h.add(decoded);
  decoded.destroy();
  return h;
}

export interface HistogramStats {
  count: number;
  min: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** The unit in the last place of x (as hdr-histogram-js computes percentile counts). */
function ulp(x: number): number {
  return x === 0 ? Number.MIN_VALUE : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52);
}

/** The count a percentile must reach, exactly as getValueAtPercentile computes it. */
function countAtPercentile(p: number, total: number): number {
  const fp = (Math.min(p, 100) / 100) * total;
  return Math.max(Math.ceil(fp - ulp(fp)), 1);
}

const SUMMARY_PERCENTILES = [0, 50, 90, 95, 99, 99.9, 100] as const;

/**
 * Summary in the display unit (value / scale). One pass over the counts: hdr-histogram-js scans
 * the whole counts array for every getValueAtPercentile, mean and stddev (11 ms per histogram
 * here), too slow for a live summary every second. Percentiles match getValueAtPercentile exactly:
 * 0 is the lowest equivalent value, the others the highest (so a decoded, merged histogram reports
 * the same figures).
 */
export function summarise(h: Histogram, scale: number): HistogramStats {
  const total = h.totalCount;
  if (total === 0)
    return { count: 0, min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  const targets = SUMMARY_PERCENTILES.map((p) => countAtPercentile(p, total));
  const values: number[] = [];
  const raw = h as unknown as {
    countsArrayLength: number;
    getCountAtIndex(i: number): number;
    valueFromIndex(i: number): number;
    lowestEquivalentValue(v: number): number;
    highestEquivalentValue(v: number): number;
    medianEquivalentValue(v: number): number;
  };
  let seen = 0;
  let sum = 0;
  let sumSq = 0;
  let t = 0;
  const n = raw.countsArrayLength;
  for (let i = 0; i < n && seen < total; i++) {
    const c = raw.getCountAtIndex(i);
    if (c === 0) continue;
    const v = raw.valueFromIndex(i);
    seen += c;
    const mid = raw.medianEquivalentValue(v);
    sum += mid * c;
    sumSq += mid * mid * c;
    while (t < targets.length && seen >= targets[t]!) {
      values.push(t === 0 ? raw.lowestEquivalentValue(v) : raw.highestEquivalentValue(v));
      t++;
    }
  }
  while (values.length < targets.length) values.push(values.at(-1) ?? 0);
  const mean = sum / total;
  const variance = Math.max(0, sumSq / total - mean * mean);
  const u = (v: number): number => Math.round(v) / scale;
  const [min, p50, p90, p95, p99, p999, max] = values as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    count: total,
    min: u(min),
    mean: Math.round(mean * 1000) / 1000 / scale,
    stddev: Math.round(Math.sqrt(variance) * 1000) / 1000 / scale,
    p50: u(p50),
    p90: u(p90),
    p95: u(p95),
    p99: u(p99),
    p999: u(p999),
    max: u(max),
  };
}

/** The value at percentile p (0–100) in the display unit. */
export function percentile(h: Histogram, p: number, scale: number): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / scale;
}
