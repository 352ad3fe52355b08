// `tokenstorm compare BASELINE CURRENT`: every metric side by side, and regression checks that
// account for noise. A check flags a regression only when the whole confidence interval of the
// worsening lies beyond the tolerance: sampling noise (a bootstrap over the two HDR histograms)
// widens the interval, and the tolerance's floor absorbs the run-to-run jitter of a busy machine
// that no within-run resampling can see. So an unchanged service does not fail CI by chance.
import { decodeHistogram } from '../stats/histogram.js';
import { HISTOGRAM_NAMES, HISTOGRAMS, RATES, type RateName } from '../stats/metrics.js';
import type { RunResult } from '../stats/result.js';
import { bootstrapPercentileDifference, bucketsOf, percentileOf, proportionDifference } from './bootstrap.js';
import { type CheckSpec, checkName, higherIsWorse, type Tolerance } from './checks.js';

export const COMPARE_FORMAT = 1;

export interface CompareRow {
  metric: string;
  stat: string;
  unit: string;
  baseline: number | null;
  current: number | null;
  /** current − baseline. */
  delta: number | null;
  /** delta / baseline (null when the baseline is 0 or missing). */
  delta_ratio: number | null;
  /** true when the change is in the worse direction. */
  worse: boolean | null;
}

export type CheckStatus = 'ok' | 'regressed' | 'improved' | 'no_data' | 'too_few';

/**
 * A percentile is judged only with at least this many values beyond it in both runs (p99: 1,000
 * streams). With fewer, the percentile is one of the few largest values, and a single stall on a
 * busy machine moves it by any amount: no interval from the run itself can tell that from a
 * regression, so the check reports too_few instead of guessing.
 */
export const MIN_TAIL_SAMPLES = 10;

export interface CheckResult {
  name: string;
  metric: string;
  stat: string;
  unit: string;
  tolerance: Tolerance;
  baseline: number | null;
  current: number | null;
  /** current − baseline. */
  delta: number | null;
  /** 95 % interval of current − baseline. */
  ci: [number, number] | null;
  /** The worsening tolerated, in the metric's unit: max(relative × |baseline|, absolute). */
  limit: number | null;
  status: CheckStatus;
  /** One line for people: why this verdict. */
  message: string;
}

export interface Comparison {
  tokenstorm: { version: string; format: number };
  kind: 'compare';
  baseline: RunRef;
  current: RunRef;
  rows: CompareRow[];
  checks: CheckResult[];
  regressed: boolean;
  warnings: string[];
}

export interface RunRef {
  file: string | null;
  scenario: string;
  started_at: string;
  streams: number;
  client_bound: boolean;
}

export interface CompareOptions {
  baselineFile?: string | null;
  currentFile?: string | null;
  version?: string;
  /** Bootstrap replicates per check. */
  replicates?: number;
  seed?: number;
}

const ROW_STATS = ['p50', 'p95', 'p99', 'mean'] as const;

function row(metric: string, stat: string, unit: string, b: number | null, c: number | null): CompareRow {
  const delta = b === null || c === null ? null : c - b;
  return {
    metric,
    stat,
    unit,
    baseline: b,
    current: c,
    delta,
    delta_ratio: delta === null || b === null || b === 0 ? null : delta / b,
    worse: delta === null || delta === 0 ? null : higherIsWorse(metric) ? delta > 0 : delta < 0,
  };
}

function ended(r: RunResult): number {
  return r.streams.measured - (r.streams.by_outcome.interrupted ?? 0);
}

function rowsOf(b: RunResult, c: RunResult): CompareRow[] {
  const rows: CompareRow[] = [];
  const perS = (r: RunResult) => (r.measured_s > 0 ? ended(r) / r.measured_s : 0);
  rows.push(row('streams', 'count', 'streams', b.streams.measured, c.streams.measured));
  rows.push(row('throughput', 'streams/s', 'streams/s', perS(b), perS(c)));
  rows.push(row('throughput', 'tokens/s', 'tokens/s', b.tokens.output_per_s, c.tokens.output_per_s));
  for (const name of Object.keys(RATES) as RateName[]) {
    if (name === 'drop_rate' && b.streams.arrivals === 0 && c.streams.arrivals === 0) continue;
    rows.push(
      row(name, 'rate', '', ended(b) > 0 ? b.rates[name] : null, ended(c) > 0 ? c.rates[name] : null),
    );
  }
  for (const name of HISTOGRAM_NAMES) {
    const mb = b.metrics[name];
    const mc = c.metrics[name];
    if ((mb?.count ?? 0) === 0 && (mc?.count ?? 0) === 0) continue;
    for (const stat of ROW_STATS) {
      const v = (m: typeof mb) => (m === undefined || m.count === 0 ? null : m[stat]);
      rows.push(row(name, stat, HISTOGRAMS[name].unit, v(mb), v(mc)));
    }
  }
  return rows;
}

function verdict(
  spec: CheckSpec,
  base: number,
  ci: [number, number],
): Pick<CheckResult, 'limit' | 'status' | 'message'> {
  const limit = Math.max(spec.tolerance.relative * Math.abs(base), spec.tolerance.absolute);
  const up = higherIsWorse(spec.metric);
  // Worsening as a positive number: its interval, in the worse direction.
  const [wLow, wHigh] = up ? ci : [-ci[1], -ci[0]];
  const fmt = (x: number) =>
    Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(4);
  const range = `worse by ${fmt(wLow)} to ${fmt(wHigh)} (95 % CI), tolerated ${fmt(limit)}`;
  if (wLow > limit) return { limit, status: 'regressed', message: `regressed: ${range}` };
  if (wHigh < -limit) return { limit, status: 'improved', message: `improved: ${range}` };
  return {
    limit,
    status: 'ok',
    message: wLow > 0 ? `worse, but within the tolerance: ${range}` : `within noise: ${range}`,
  };
}

function runCheck(spec: CheckSpec, b: RunResult, c: RunResult, opts: CompareOptions): CheckResult {
  const name = checkName(spec);
  const base = {
    name,
    metric: spec.metric,
    stat: spec.kind === 'rate' ? 'rate' : `p${spec.p}`,
    unit: spec.kind === 'rate' ? '' : HISTOGRAMS[spec.metric].unit,
    tolerance: spec.tolerance,
  };
  if (spec.kind === 'rate') {
    const successes = (r: RunResult) => {
      const rate = r.rates[spec.metric];
      return Math.round(rate * (spec.metric === 'drop_rate' ? r.streams.arrivals : ended(r)));
    };
    const trials = (r: RunResult) => (spec.metric === 'drop_rate' ? r.streams.arrivals : ended(r));
    if (trials(b) === 0 || trials(c) === 0)
      return noData(
        base,
        trials(b) === 0 ? null : b.rates[spec.metric],
        trials(c) === 0 ? null : c.rates[spec.metric],
      );
    const iv = proportionDifference(
      { successes: successes(b), trials: trials(b) },
      { successes: successes(c), trials: trials(c) },
    );
    const ci: [number, number] = [iv.low, iv.high];
    const bv = b.rates[spec.metric];
    const cv = c.rates[spec.metric];
    return { ...base, baseline: bv, current: cv, delta: cv - bv, ci, ...verdict(spec, bv, ci) };
  }
  const eb = b.metrics[spec.metric];
  const ec = c.metrics[spec.metric];
  if (eb === undefined || ec === undefined || eb.count === 0 || ec.count === 0)
    return noData(base, eb && eb.count > 0 ? eb.p50 : null, ec && ec.count > 0 ? ec.p50 : null);
  const need = Math.ceil(MIN_TAIL_SAMPLES / (1 - spec.p / 100 || 1e-9));
  const fewest = Math.min(eb.count, ec.count);
  if (spec.p < 100 && fewest < need)
    return {
      ...base,
      baseline: null,
      current: null,
      delta: null,
      ci: null,
      limit: null,
      status: 'too_few',
      message: `not judged: p${spec.p} needs ${need} values (${MIN_TAIL_SAMPLES} beyond it), ${eb.count < ec.count ? 'the baseline' : 'the current run'} has ${fewest}; run longer`,
    };
  const hb = decodeHistogram(eb.hdr);
  const hc = decodeHistogram(ec.hdr);
  const bb = bucketsOf(hb, eb.scale);
  const bc = bucketsOf(hc, ec.scale);
  hb.destroy();
  hc.destroy();
  const iv = bootstrapPercentileDifference(bb, bc, spec.p, {
    replicates: opts.replicates ?? 2000,
    seed: `${opts.seed ?? 1}:${name}`,
  });
  const bv = percentileOf(bb, spec.p);
  const cv = percentileOf(bc, spec.p);
  const ci: [number, number] = [iv.low, iv.high];
  return { ...base, baseline: bv, current: cv, delta: cv - bv, ci, ...verdict(spec, bv, ci) };
}

function noData(
  base: Pick<CheckResult, 'name' | 'metric' | 'stat' | 'unit' | 'tolerance'>,
  b: number | null,
  c: number | null,
): CheckResult {
  // No data fails, as with thresholds: a current run that measured nothing is not "no regression".
  const regressed = c === null && b !== null;
  return {
    ...base,
    baseline: b,
    current: c,
    delta: null,
    ci: null,
    limit: null,
    status: regressed ? 'regressed' : 'no_data',
    message: regressed
      ? 'regressed: the current run has no data for this metric'
      : 'no data in the baseline: nothing to compare',
  };
}

function ref(r: RunResult, file: string | null | undefined): RunRef {
  return {
    file: file ?? null,
    scenario: r.scenario.name,
    started_at: r.started_at,
    streams: r.streams.measured,
    client_bound: r.runner.client_bound,
  };
}

export function compareResults(
  baseline: RunResult,
  current: RunResult,
  checks: readonly CheckSpec[],
  opts: CompareOptions = {},
): Comparison {
  const results = checks.map((c) => runCheck(c, baseline, current, opts));
  const warnings: string[] = [];
  if (baseline.scenario.name !== current.scenario.name)
    warnings.push(
      `the runs are of different scenarios (${baseline.scenario.name}, ${current.scenario.name}): compare like with like`,
    );
  for (const [label, r] of [
    ['baseline', baseline],
    ['current', current],
  ] as const)
    if (r.runner.client_bound)
      warnings.push(`the ${label} run was client-bound: its latencies include the runner's own delay`);
  return {
    tokenstorm: { version: opts.version ?? baseline.tokenstorm.version, format: COMPARE_FORMAT },
    kind: 'compare',
    baseline: ref(baseline, opts.baselineFile),
    current: ref(current, opts.currentFile),
    rows: rowsOf(baseline, current),
    checks: results,
    regressed: results.some((c) => c.status === 'regressed'),
    warnings,
  };
}
