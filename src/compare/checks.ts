// Regression checks: which statistic of which metric, which direction is worse, and how much
// worse is tolerated. `--max-regression 'ttft_ms.p95=10%'` (docs/capacity.md) adds a check or
// replaces a default one. A tolerance is max(relative × baseline, absolute): the relative part
// scales with the service, the absolute floor absorbs timer and scheduler jitter that a fast
// service's percentiles would otherwise turn into "regressions" of a few percent.
import { HISTOGRAMS, type HistogramName, RATES, type RateName } from '../stats/metrics.js';

export interface Tolerance {
  /** Fraction of the baseline value, e.g. 0.1 for 10 %. */
  relative: number;
  /** In the metric's unit (ms for `_ms` metrics; a fraction for rates). */
  absolute: number;
}

export type CheckSpec =
  | { kind: 'percentile'; metric: HistogramName; p: number; tolerance: Tolerance }
  | { kind: 'rate'; metric: RateName; tolerance: Tolerance };

/** Higher is worse for every histogram except these (and for error_rate and drop_rate among rates). */
const LOWER_IS_WORSE = new Set<string>(['stream_tokens_per_s', 'completion_rate', 'goodput_rate']);

export function higherIsWorse(metric: string): boolean {
  return !LOWER_IS_WORSE.has(metric);
}

/** The checks `compare` runs unless told otherwise (docs/capacity.md#defaults). */
export const DEFAULT_CHECKS: readonly CheckSpec[] = [
  { kind: 'percentile', metric: 'ttft_ms', p: 50, tolerance: { relative: 0.1, absolute: 5 } },
  { kind: 'percentile', metric: 'ttft_ms', p: 95, tolerance: { relative: 0.1, absolute: 10 } },
  { kind: 'percentile', metric: 'ttft_ms', p: 99, tolerance: { relative: 0.2, absolute: 25 } },
  { kind: 'percentile', metric: 'itl_ms', p: 95, tolerance: { relative: 0.1, absolute: 5 } },
  { kind: 'percentile', metric: 'e2e_ms', p: 95, tolerance: { relative: 0.1, absolute: 20 } },
  { kind: 'rate', metric: 'completion_rate', tolerance: { relative: 0, absolute: 0.01 } },
];

/** The floor a relative-only tolerance keeps, per unit. */
export function defaultFloor(metric: string): number {
  if (Object.hasOwn(RATES, metric)) return 0.01;
  const unit = HISTOGRAMS[metric as HistogramName]?.unit;
  return unit === 'ms' ? 5 : 0;
}

export function checkName(c: CheckSpec): string {
  return c.kind === 'rate' ? c.metric : `${c.metric}.p${c.p}`;
}

/**
 * Parses one `--max-regression` value: `METRIC.pN=TOL` for a histogram (`ttft_ms.p95=10%`,
 * `itl_ms.p99.9=10%,3ms`) or `RATE=TOL` (`completion_rate=0.5%`). TOL is a percentage of the
 * baseline, an absolute value with the metric's unit (`20ms`, or a plain number), or both
 * separated by a comma. Given only a percentage, the default floor stays (5 ms for `_ms` metrics);
 * given only an absolute value, there is no relative part. For rates a percentage is percentage
 * points (`completion_rate=1%` tolerates a drop from 0.99 to 0.98).
 * Returns the check, or a message that says what to write.
 */
export function parseCheck(spec: string): CheckSpec | string {
  const eq = spec.indexOf('=');
  const example = "write e.g. 'ttft_ms.p95=10%', 'itl_ms.p99=10%,3ms' or 'completion_rate=1%'";
  if (eq <= 0) return `"${spec}" is not METRIC.STAT=TOLERANCE; ${example}`;
  const left = spec.slice(0, eq).trim();
  const right = spec.slice(eq + 1).trim();
  const dot = left.indexOf('.');
  const metric = dot < 0 ? left : left.slice(0, dot);
  const stat = dot < 0 ? '' : left.slice(dot + 1);
  const isRate = Object.hasOwn(RATES, metric);
  const isHist = Object.hasOwn(HISTOGRAMS, metric);
  if (!isRate && !isHist)
    return `unknown metric "${metric}" in "${spec}"; histograms: ${Object.keys(HISTOGRAMS).join(', ')}; rates: ${Object.keys(RATES).join(', ')}`;
  let p = 0;
  if (isHist) {
    const m = /^p\(?(\d+(?:\.\d+)?)\)?$/.exec(stat);
    p = m ? Number(m[1]) : Number.NaN;
    if (!(p > 0 && p <= 100))
      return `"${left}" needs a percentile such as ${metric}.p95 or ${metric}.p99.9 (above 0, at most 100)`;
  } else if (stat !== '') return `"${left}": a rate has no statistic; write ${metric}=1%`;
  const unit = isRate ? '' : HISTOGRAMS[metric as HistogramName].unit;
  let relative: number | undefined;
  let absolute: number | undefined;
  const parts = right.split(',').map((s) => s.trim());
  if (right === '' || parts.some((s) => s === '')) return `"${spec}" has no tolerance after "="; ${example}`;
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)\s*(%|ms|tokens\/s|tokens)?$/.exec(part);
    if (!m) return `"${part}" in "${spec}" is not a tolerance: a percentage (10%) or a value (20ms, 0.01)`;
    const v = Number(m[1]);
    const u = m[2];
    if (u === '%') {
      if (isRate) absolute = v / 100;
      else relative = v / 100;
    } else {
      if (u !== undefined && u !== unit)
        return `"${part}" in "${spec}": ${metric} is in ${unit || 'fractions'}, not ${u}`;
      absolute = v;
    }
  }
  const tolerance: Tolerance = {
    relative: relative ?? 0,
    absolute: absolute ?? (relative !== undefined ? defaultFloor(metric) : 0),
  };
  return isRate
    ? { kind: 'rate', metric: metric as RateName, tolerance }
    : { kind: 'percentile', metric: metric as HistogramName, p, tolerance };
}

/** The default checks with `given` added, each replacing a default on the same statistic. */
export function resolveChecks(given: readonly CheckSpec[], defaults = true): CheckSpec[] {
  const out = defaults ? [...DEFAULT_CHECKS] : [];
  for (const c of given) {
    const i = out.findIndex((d) => checkName(d) === checkName(c));
    if (i >= 0) out[i] = c;
    else out.push(c);
  }
  return out;
}
