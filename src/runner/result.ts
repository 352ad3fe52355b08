// From one thread's recorder to the result-file shape (src/stats/result.ts). Thresholds are
// evaluated by the caller on the final (possibly merged) result.

import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenario/schema.js';
import { buildMetricEntries, computeRates } from '../stats/merge.js';
import { RESULT_FORMAT, type RunResult } from '../stats/result.js';
import { turnEntries } from '../stats/workload.js';
import { clientBoundWarnings, type HealthReport, lagGrowthMsPerMin } from './health.js';
import type { Recorder } from './recorder.js';

/** The package version (package.json sits two levels up from both src/runner and dist/runner). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface ResultContext {
  scenario: Scenario;
  file: string | null;
  url: string;
  /** Wall-clock start (ms since the epoch). */
  startEpochMs: number;
  workers: number;
}

export interface ThreadOutcome {
  recorder: Recorder;
  health: HealthReport;
  durationMs: number;
  aborted: boolean;
  abortReason: string | null;
}

/** A plain summary of the load section for the result (durations in seconds). */
function loadSummary(load: Scenario['load']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(load)) {
    if (v === undefined) continue;
    if (k === 'duration' || k === 'warmup' || k === 'graceful_stop') out[`${k}_s`] = (v as number) / 1000;
    else if (k === 'stages')
      out[k] = (v as { duration: number; target: number }[]).map((s) => ({
        duration_s: s.duration / 1000,
        target: s.target,
      }));
    else out[k] = v;
  }
  return out;
}

export function buildResult(ctx: ResultContext, t: ThreadOutcome): RunResult {
  const r = t.recorder;
  const s = ctx.scenario;
  const durationS = t.durationMs / 1000;
  const measuredS = Math.max(0, (t.durationMs - s.load.warmup) / 1000);
  const streams = {
    started: r.started,
    warmup: r.warmupStarted,
    measured: r.measured,
    by_outcome: { ...r.byOutcome },
    dropped_arrivals: r.dropped,
    arrivals: r.arrivals,
    good: r.good,
  };
  const lagGrowth = lagGrowthMsPerMin(r.lagBySecond.slice(Math.ceil(s.load.warmup / 1000)));
  const warnings = clientBoundWarnings(t.health, lagGrowth);
  return {
    tokenstorm: { version: VERSION, format: RESULT_FORMAT },
    scenario: {
      name: s.name,
      file: ctx.file,
      seed: s.seed,
      target: { url: ctx.url, protocol: s.target.protocol, embedded: s.target.embedded },
      load: loadSummary(s.load),
    },
    started_at: new Date(ctx.startEpochMs).toISOString(),
    ended_at: new Date(ctx.startEpochMs + t.durationMs).toISOString(),
    duration_s: Math.round(durationS * 1000) / 1000,
    measured_s: Math.round(measuredS * 1000) / 1000,
    aborted: t.aborted,
    abort_reason: t.abortReason,
    streams,
    rates: computeRates(streams),
    tokens: {
      output_total: r.outputTotal,
      input_total: r.inputTotal,
      source: r.tokenSource(),
      output_per_s: measuredS > 0 ? Math.round((r.outputTotal / measuredS) * 100) / 100 : 0,
    },
    metrics: buildMetricEntries(r.histograms),
    series: r.series(),
    errors: [...r.errors.values()].sort((a, b) => b.count - a.count),
    chaos: structuredClone(r.chaos),
    workload: { ...structuredClone(r.workload), per_turn: turnEntries(r.turns) },
    thresholds: [],
    thresholds_ok: true,
    runner: {
      workers: ctx.workers,
      event_loop_delay_ms: t.health.loopDelayMs,
      event_loop_utilization: t.health.utilization,
      cpu_s: t.health.cpuS,
      cpu_ms_per_stream: r.started > 0 ? Math.round((t.health.cpuS * 1e6) / r.started) / 1000 : 0,
      schedule_lag_growth_ms_per_min: lagGrowth,
      client_bound: warnings.length > 0,
      warnings,
    },
  };
}
