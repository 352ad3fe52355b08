// The result file contract (`--out run.json`, docs/results.md). Times in ms as floating point;
// histograms recorded in integer base units (µs for `_ms`), encoded so results merge exactly.
import type { ChaosResult } from './chaos.js';
import type { HistogramStats } from './histogram.js';
import type { HistogramName, Outcome, RateName } from './metrics.js';
import type { WorkloadResult } from './workload.js';

export const RESULT_FORMAT = 1;

export interface MetricEntry extends HistogramStats {
  unit: string;
  /** Stored integer = display value × scale. */
  scale: number;
  /** HdrHistogram V2 compressed, base64. */
  hdr: string;
}

export interface ThresholdResult {
  metric: string;
  /** As written, e.g. "p(95)<500". */
  expression: string;
  /** The metric's value the expression compared; null when the metric had no data. */
  actual: number | null;
  ok: boolean;
  abort_on_fail: boolean;
}

export interface SeriesPoint {
  /** Seconds since the run started (end of the 1 s interval). */
  t: number;
  active_streams: number;
  started: number;
  ended: number;
  output_tokens: number;
  errors: number;
}

/** A result keeps at most this many error kinds (the most frequent when merged). */
export const MAX_ERROR_KINDS = 20;

export interface ErrorSample {
  outcome: Outcome;
  /** http_error: the status; stream_error: the server's error type; otherwise a code or reason. */
  type: string;
  message: string;
  count: number;
}

export interface RunnerHealth {
  workers: number;
  event_loop_delay_ms: { p50: number; p99: number; max: number };
  /** Event-loop utilisation over the run, 0–1 (the busiest worker when several). */
  event_loop_utilization: number;
  cpu_s: number;
  cpu_ms_per_stream: number;
  /** Intended-start lag growing through the run, ms per minute (least-squares slope of per-second p99). */
  schedule_lag_growth_ms_per_min: number;
  client_bound: boolean;
  warnings: string[];
}

export interface RunResult {
  tokenstorm: { version: string; format: number };
  scenario: {
    name: string;
    file: string | null;
    seed: number;
    target: { url: string; protocol: string; embedded: boolean };
    load: Record<string, unknown>;
    /** A stable hash of the validated scenario: `merge` refuses shards whose hashes differ. */
    hash?: string;
  };
  /** This result is one shard of a distributed run (docs/distributed.md); null or absent: the whole run. */
  shard?: { index: number; count: number; start_at: string | null } | null;
  /** A merged result: the shards it was merged from. */
  merged_from?: { index: number; count: number; file: string; client_bound: boolean }[];
  started_at: string;
  ended_at: string;
  /** Wall time from start to the end of the last stream, s. */
  duration_s: number;
  /** Time after warm-up, the denominator of per-second rates, s. */
  measured_s: number;
  /** True when the run stopped early (abortOnFail threshold, SIGINT). */
  aborted: boolean;
  abort_reason: string | null;
  streams: {
    /** Every stream started, including warm-up. */
    started: number;
    warmup: number;
    /** Streams after warm-up, by outcome (these are what metrics and rates describe). */
    measured: number;
    by_outcome: Record<Outcome, number>;
    dropped_arrivals: number;
    /** Arrivals the open model scheduled (started + dropped), for drop_rate. */
    arrivals: number;
    /** Completed streams that met every `slo` limit. */
    good: number;
  };
  rates: Record<RateName, number>;
  tokens: {
    output_total: number;
    input_total: number;
    /** usage: every stream reported usage; counted: content events counted; mixed: some of each. */
    source: 'usage' | 'counted' | 'mixed' | 'none';
    output_per_s: number;
  };
  metrics: Record<HistogramName, MetricEntry>;
  series: SeriesPoint[];
  /** Failed streams by (outcome, type), most frequent first, each with one example message (at most 20 kinds). */
  errors: ErrorSample[];
  /** Faults, recoveries, integrity and the leak check (docs/chaos.md); zeros when nothing was injected. */
  chaos: ChaosResult;
  /** Content by channel, tool calls, late trace arrivals, per-turn metrics (absent in files before it). */
  workload?: WorkloadResult;
  thresholds: ThresholdResult[];
  thresholds_ok: boolean;
  runner: RunnerHealth;
}
