// The sweep's decisions, pure so they can be tested without running load: which load to run
// next (grow geometrically, then bisect between the highest load that met every SLO and the
// lowest that did not), when a step is marginal enough to repeat, when the service is clearly
// saturated, and where the knee of the load curve lies.

export type Verdict = 'pass' | 'fail' | 'client_bound';

/** What the planner needs of a step. */
export interface StepPoint {
  load: number;
  verdict: Verdict;
  /** Achieved completed streams per second. */
  streams_per_s: number;
  /** TTFT p95, ms (0 when nothing was measured). */
  ttft_p95_ms: number;
}

export interface PlanConfig {
  start: number;
  /** Geometric growth per step while every SLO holds, > 1. */
  factor: number;
  /** Never run a load above this. */
  max: number;
  /** Bisection stops when hi − lo ≤ max(precision × lo, 1 for integer loads). */
  precision: number;
  /** Concurrency is an integer; a rate is not. */
  integer: boolean;
  /** The smallest load worth running when even the start fails. */
  min: number;
  /**
   * Steps to run above the first load that broke an SLO, growing geometrically, until the
   * throughput plateau shows (saturation): without a step past the knee it cannot be located.
   */
  beyond: number;
}

export type Next = { load: number } | { done: StopReason };

export type StopReason = 'bisected' | 'saturated' | 'max_load' | 'client_bound' | 'no_load_met_slos';

export const STOP_REASONS: Record<StopReason, string> = {
  bisected: 'bisected to the resolution between the highest passing and the lowest failing load',
  saturated: 'the service is saturated: throughput stopped growing while TTFT climbed',
  max_load: 'reached --max without breaking an SLO',
  client_bound: 'the runner itself was the bottleneck; rerun with --workers N for higher loads',
  no_load_met_slos: 'no load met every SLO, down to the smallest load tried',
};

/**
 * Throughput flat while TTFT climbs: going from `a` to the higher load `b`, less than a quarter of
 * the extra load became throughput, and TTFT p95 rose by more than a quarter.
 */
export function saturated(a: StepPoint, b: StepPoint): boolean {
  if (b.load <= a.load || a.streams_per_s <= 0) return false;
  const loadGain = b.load / a.load - 1;
  const tputGain = b.streams_per_s / a.streams_per_s - 1;
  return tputGain < 0.25 * loadGain && b.ttft_p95_ms > 1.25 * a.ttft_p95_ms;
}

function round(cfg: PlanConfig, x: number): number {
  return cfg.integer ? Math.max(1, Math.round(x)) : Number(x.toPrecision(3));
}

export function nextStep(steps: readonly StepPoint[], cfg: PlanConfig): Next {
  if (steps.length === 0) return { load: round(cfg, cfg.start) };
  if (steps.some((s) => s.verdict === 'client_bound')) return { done: 'client_bound' };
  const passes = steps.filter((s) => s.verdict === 'pass').map((s) => s.load);
  const fails = steps.filter((s) => s.verdict === 'fail').map((s) => s.load);
  if (passes.length === 0) {
    const below = round(cfg, Math.min(...fails) / cfg.factor);
    return below < cfg.min || below >= Math.min(...fails) ? { done: 'no_load_met_slos' } : { load: below };
  }
  const lo = Math.max(...passes);
  const above = fails.filter((f) => f > lo);
  if (above.length === 0) {
    const byLoad = [...steps].sort((a, b) => a.load - b.load);
    const top = byLoad.at(-1)!;
    const prev = byLoad.at(-2);
    if (prev !== undefined && saturated(prev, top)) return { done: 'saturated' };
    if (lo >= cfg.max) return { done: 'max_load' };
    return { load: Math.min(cfg.max, round(cfg, lo * cfg.factor)) };
  }
  const hi = Math.min(...above);
  const usable = steps.filter((s) => s.verdict !== 'client_bound').sort((a, b) => a.load - b.load);
  const plateauSeen = usable.some((s, i) => i > 0 && saturated(usable[i - 1]!, s));
  const top = usable.at(-1)!;
  const past = usable.filter((s) => s.load > hi).length;
  if (!plateauSeen && past < cfg.beyond && top.load < cfg.max)
    return { load: Math.min(cfg.max, round(cfg, top.load * cfg.factor)) };
  const resolution = Math.max(cfg.precision * lo, cfg.integer ? 1 : 0);
  if (hi - lo <= resolution) return { done: 'bisected' };
  const mid = round(cfg, (lo + hi) / 2);
  return mid <= lo || mid >= hi ? { done: 'bisected' } : { load: mid };
}

export interface Knee {
  /** Where the linear part of the load curve meets its plateau, in load units. */
  load: number;
  /** The plateau: the highest throughput measured, streams/s. */
  streams_per_s: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The knee of the load curve: the load at which throughput, growing in proportion to load
 * below it, meets its plateau (plateau / slope of the linear part). The plateau is the highest
 * throughput measured; the slope is the median throughput per unit of load over the steps
 * clearly below the plateau (under 80 % of it). Null when the curve never flattened: no step ran
 * at under 80 % of the linear part's efficiency, so the knee lies above the loads tried.
 * Client-bound steps are left out: their throughput is the runner's limit.
 */
export function findKnee(steps: readonly StepPoint[]): Knee | null {
  const usable = steps.filter((s) => s.verdict !== 'client_bound' && s.load > 0 && s.streams_per_s > 0);
  if (usable.length < 2) return null;
  const plateau = Math.max(...usable.map((s) => s.streams_per_s));
  const linear = usable.filter((s) => s.streams_per_s < 0.8 * plateau);
  const efficiency = (s: StepPoint) => s.streams_per_s / s.load;
  const slope = linear.length > 0 ? median(linear.map(efficiency)) : Math.max(...usable.map(efficiency));
  if (!usable.some((s) => efficiency(s) < 0.8 * slope)) return null;
  return { load: plateau / slope, streams_per_s: plateau };
}

/** A step whose SLO value lies within `noise` (relative) of its limit is repeated before it is judged. */
export function marginal(
  slos: readonly { actual: number | null; limit: number; kind: string }[],
  noise: number,
): boolean {
  return slos.some(
    (s) =>
      s.kind === 'histogram' &&
      s.actual !== null &&
      Math.abs(s.actual - s.limit) <= noise * Math.abs(s.limit),
  );
}
