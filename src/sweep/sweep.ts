// `tokenstorm sweep`: runs the scenario at one load after another (concurrency for a closed
// model, rate for an open one), judges each step against the SLOs, and lets the planner
// (plan.ts) pick the next load. Each step is a whole runScenario with the load overridden, so
// every step is measured exactly as `tokenstorm run` would measure it, client health included.
import { TokenstormError } from '../errors.js';
import type { Scenario } from '../scenario/schema.js';
import { mergeResults } from '../stats/merge.js';
import type { RunResult } from '../stats/result.js';
import { evaluateThresholds, type ParsedThreshold, thresholdSourceFromResult } from '../stats/thresholds.js';
import {
  findKnee,
  type Knee,
  marginal,
  nextStep,
  type PlanConfig,
  STOP_REASONS,
  type StopReason,
  type Verdict,
} from './plan.js';
import { sloSpecs, sloText } from './slo.js';

export const SWEEP_FORMAT = 1;

export interface SweepSlo {
  slo: string;
  actual: number | null;
  ok: boolean;
}

export interface SweepStep {
  load: number;
  /** Runs merged into this step (more than 1 when it was marginal and repeated). */
  runs: number;
  streams: number;
  streams_per_s: number;
  tokens_per_s: number;
  ttft_ms: { p50: number; p95: number; p99: number };
  itl_p95_ms: number;
  completion_rate: number;
  goodput_rate: number;
  dropped_arrivals: number;
  client: { client_bound: boolean; event_loop_utilization: number; event_loop_delay_p99_ms: number };
  slos: SweepSlo[];
  verdict: Verdict;
}

export interface SweepResult {
  tokenstorm: { version: string; format: number };
  kind: 'sweep';
  scenario: {
    name: string;
    file: string | null;
    seed: number;
    target: RunResult['scenario']['target'] | null;
  };
  load: { model: 'closed' | 'open'; parameter: 'concurrency' | 'rate'; unit: string } & PlanConfig;
  slos: string[];
  /** In the order they ran. */
  steps: SweepStep[];
  /** The highest load that met every SLO (null: none did). */
  answer: { load: number; step: number; ttft_p95_ms: number; streams_per_s: number } | null;
  knee: Knee | null;
  stop_reason: StopReason;
  stop_message: string;
  /** false when no load met the SLOs or when --min-load was not reached. */
  ok: boolean;
  min_load: number | null;
}

export interface SweepOptions {
  scenario: Scenario;
  file?: string | null;
  slos: readonly ParsedThreshold[];
  plan: Omit<PlanConfig, 'integer' | 'min' | 'beyond'> & Partial<Pick<PlanConfig, 'min' | 'beyond'>>;
  /** ms per step, overriding the scenario's load.duration. */
  stepDurationMs?: number;
  /** Repeat a step whose SLO value lies within this fraction of its limit. */
  noise?: number;
  /** Extra runs of a marginal step. */
  repeats?: number;
  /** Fail (ok: false) unless the answer is at least this load. */
  minLoad?: number | null;
  version?: string;
  /** Runs one step; the CLI passes runScenario with its workers and signal. */
  runStep: (scenario: Scenario) => Promise<RunResult>;
  onStep?: (step: SweepStep, index: number) => void;
  signal?: AbortSignal;
}

/** The scenario with its load set to `load` (and no thresholds: the sweep judges the SLOs). */
export function scenarioAtLoad(s: Scenario, load: number, seed: number, durationMs?: number): Scenario {
  const l = s.load;
  const duration = durationMs ?? l.duration;
  const next = l.type === 'closed' ? { ...l, concurrency: load, duration } : { ...l, rate: load, duration };
  return { ...s, seed, load: next, thresholds: {} } as Scenario;
}

/** Problems that make a scenario unsweepable, each saying what to change. */
export function sweepProblems(s: Scenario, stepDurationMs: number | undefined): string[] {
  const problems: string[] = [];
  if (s.load.type === 'trace')
    problems.push('load.type: a trace replays its own arrival times; sweep a closed or open load instead');
  if (s.load.type === 'closed' && s.load.stages !== undefined)
    problems.push(
      'load.stages: a sweep sets the concurrency of each step itself; use concurrency (the first step) instead of stages',
    );
  if (s.load.duration === undefined && stepDurationMs === undefined)
    problems.push('load.duration: each step needs a length; give load.duration or --step-duration');
  return problems;
}

/**
 * Completed streams and output tokens per second in the steady part of a step: the whole seconds
 * after the first (and after warm-up) up to the end of the load, so start-up and the drain after
 * the load stops do not dilute it. Falls back to the whole measured time for steps too short.
 */
export function steadyThroughput(r: RunResult): { streams: number; tokens: number } {
  const load = r.scenario.load as { duration_s?: number; warmup_s?: number };
  const from = Math.max(2, (load.warmup_s ?? 0) + 1);
  const to = load.duration_s ?? Number.POSITIVE_INFINITY;
  const pts = r.series.filter((p) => p.t >= from && p.t <= to);
  if (pts.length === 0 || r.aborted) {
    const s = r.measured_s > 0 ? r.streams.by_outcome.completed / r.measured_s : 0;
    return { streams: s, tokens: r.tokens.output_per_s };
  }
  const mean = (f: (p: (typeof pts)[number]) => number) => pts.reduce((a, p) => a + f(p), 0) / pts.length;
  return { streams: mean((p) => Math.max(0, p.ended - p.errors)), tokens: mean((p) => p.output_tokens) };
}

function summarizeStep(load: number, runs: RunResult[], slos: readonly ParsedThreshold[]): SweepStep {
  const merged = runs.length === 1 ? runs[0]! : mergeResults(runs);
  const evaluated = evaluateThresholds(thresholdSourceFromResult(merged), sloSpecs(slos));
  const tput = runs.map(steadyThroughput);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const clientBound = runs.some((r) => r.runner.client_bound);
  const ok = evaluated.every((t) => t.ok);
  const m = merged.metrics;
  return {
    load,
    runs: runs.length,
    streams: merged.streams.measured,
    streams_per_s: avg(tput.map((t) => t.streams)),
    tokens_per_s: avg(tput.map((t) => t.tokens)),
    ttft_ms: { p50: m.ttft_ms.p50, p95: m.ttft_ms.p95, p99: m.ttft_ms.p99 },
    itl_p95_ms: m.itl_ms.p95,
    completion_rate: merged.rates.completion_rate,
    goodput_rate: merged.rates.goodput_rate,
    dropped_arrivals: merged.streams.dropped_arrivals,
    client: {
      client_bound: clientBound,
      event_loop_utilization: merged.runner.event_loop_utilization,
      event_loop_delay_p99_ms: merged.runner.event_loop_delay_ms.p99,
    },
    slos: evaluated.map((t, i) => ({ slo: sloText(slos[i]!), actual: t.actual, ok: t.ok })),
    // A client-bound step says nothing about the server: it is neither a pass nor a fail.
    verdict: clientBound ? 'client_bound' : ok ? 'pass' : 'fail',
  };
}

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const s = opts.scenario;
  const problems = sweepProblems(s, opts.stepDurationMs);
  if (problems.length > 0)
    throw new TokenstormError('E_SWEEP_INVALID', `${opts.file ?? s.name} cannot be swept as it is`, {
      problems,
    });
  const closed = s.load.type === 'closed';
  const cfg: PlanConfig = {
    min: closed ? 1 : opts.plan.start / 64,
    ...opts.plan,
    beyond: opts.plan.beyond ?? 2,
    integer: closed,
  };
  const noise = opts.noise ?? 0.1;
  const repeats = opts.repeats ?? 1;
  const steps: SweepStep[] = [];
  let target: RunResult['scenario']['target'] | null = null;
  let reason: StopReason;
  for (;;) {
    const next = nextStep(
      steps.map((st) => ({
        load: st.load,
        verdict: st.verdict,
        streams_per_s: st.streams_per_s,
        ttft_p95_ms: st.ttft_ms.p95,
      })),
      cfg,
    );
    if ('done' in next) {
      reason = next.done;
      break;
    }
    const runs: RunResult[] = [];
    let step: SweepStep;
    for (;;) {
      if (opts.signal?.aborted) throw new TokenstormError('E_INTERRUPTED', 'the sweep was interrupted');
      const r = await opts.runStep(scenarioAtLoad(s, next.load, s.seed + runs.length, opts.stepDurationMs));
      target ??= r.scenario.target;
      runs.push(r);
      if (opts.signal?.aborted) throw new TokenstormError('E_INTERRUPTED', 'the sweep was interrupted');
      step = summarizeStep(next.load, runs, opts.slos);
      const limits = opts.slos.map((t, i) => ({
        actual: step.slos[i]!.actual,
        limit: t.value,
        kind: t.kind,
      }));
      if (runs.length > repeats || step.verdict === 'client_bound' || !marginal(limits, noise)) break;
    }
    steps.push(step);
    opts.onStep?.(step, steps.length - 1);
  }
  const passing = steps
    .map((st, i) => ({ st, i }))
    .filter(({ st }) => st.verdict === 'pass')
    .sort((a, b) => b.st.load - a.st.load)[0];
  const answer =
    passing === undefined
      ? null
      : {
          load: passing.st.load,
          step: passing.i,
          ttft_p95_ms: passing.st.ttft_ms.p95,
          streams_per_s: passing.st.streams_per_s,
        };
  const minLoad = opts.minLoad ?? null;
  const knee = findKnee(
    steps.map((st) => ({
      load: st.load,
      verdict: st.verdict,
      streams_per_s: st.streams_per_s,
      ttft_p95_ms: st.ttft_ms.p95,
    })),
  );
  return {
    tokenstorm: { version: opts.version ?? '0.0.0', format: SWEEP_FORMAT },
    kind: 'sweep',
    scenario: { name: s.name, file: opts.file ?? null, seed: s.seed, target },
    load: {
      model: closed ? 'closed' : 'open',
      parameter: closed ? 'concurrency' : 'rate',
      unit: closed ? 'concurrent streams' : 'streams/s',
      ...cfg,
    },
    slos: opts.slos.map(sloText),
    steps,
    answer,
    knee,
    stop_reason: reason,
    stop_message: STOP_REASONS[reason],
    ok: answer !== null && (minLoad === null || answer.load >= minLoad),
    min_load: minLoad,
  };
}
