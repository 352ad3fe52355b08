// Where measurements land: HDR histograms for the measured streams (warm-up streams are counted
// but never recorded), outcome counts, token totals and a per-second series. The stream client
// calls itl() per content event (hot path: one branch, one HDR record) and ended() once per stream.

import { bumpOutcome, emptyChaos } from '../stats/chaos.js';
import { type Histogram, newHistogram, recordScaled } from '../stats/histogram.js';
import { HISTOGRAM_NAMES, HISTOGRAMS, type HistogramName, OUTCOMES, type Outcome } from '../stats/metrics.js';
import { type ErrorSample, MAX_ERROR_KINDS, type SeriesPoint } from '../stats/result.js';
import { emptyWorkload, MAX_TURNS, newTurn, type TurnHistograms } from '../stats/workload.js';
import type { FaultPlan } from './faults.js';
import type { TelemetrySink } from './telemetry.js';

/** Everything a stream reports when it ends. Times are performance.now() ms; NaN when they never happened. */
export interface StreamEnd {
  outcome: Outcome;
  warmup: boolean;
  /** When the stream should have started (open: its arrival; closed: when its user was ready). */
  intendedAt: number;
  /** When the request was handed to the HTTP client. */
  startedAt: number;
  /** When the request was written to the socket. */
  sentAt: number;
  headersAt: number;
  firstTokenAt: number;
  /** When the terminal event arrived (or the stream otherwise ended). */
  endAt: number;
  contentEvents: number;
  /** From the protocol's usage when reported. */
  outputTokens: number | undefined;
  inputTokens: number | undefined;
  /** http_error: the status; stream_error: the server's error type; others: a short reason. */
  errorType: string | undefined;
  errorMessage: string | undefined;
  /** Reference protocol: done's length and sha256 matched the text, event ids contiguous. */
  verified: boolean;
  /** Bytes (pings, heartbeats) arrived after the last content: a stalled stream kept alive. */
  keepalive: boolean;
  /** The fault drawn for this stream (undefined: none) and whether it struck before the stream ended. */
  fault: FaultPlan | undefined;
  struck: boolean;
  /** After a disconnect: how the stream tried to recover. */
  recovery: { kind: 'resume' | 'retry'; attempts: number } | undefined;
  /** Reconnect to the first new content (ms), NaN when none. */
  resumeMs: number;
  /** A cancel was sent; cancelMs: sent to the terminal event confirming it (NaN when not confirmed). */
  cancelSent: boolean;
  cancelMs: number;
  /** Content channels (NaN: never): first thinking, first answer, first tool call, its complete arguments. */
  firstThinkingAt: number;
  firstAnswerAt: number;
  toolCallAt: number;
  toolArgsAt: number;
  /** Structured output: the first complete top-level field of the answer. */
  firstFieldAt: number;
  thinkingEvents: number;
  toolInputEvents: number;
  toolCalls: number;
  toolCallsCompleted: number;
  /** Tool calls whose arguments were not valid JSON when they ended, or never ended. */
  invalidToolArgs: number;
  /** Turn within a multi-turn session (1-based), 0 outside sessions. */
  turn: number;
}

export interface Slo {
  ttft_ms?: number | undefined;
  tpot_ms?: number | undefined;
  e2e_ms?: number | undefined;
}

export class Recorder {
  readonly histograms = Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, newHistogram()])) as Record<
    HistogramName,
    Histogram
  >;
  private readonly itlHist: Histogram;
  readonly byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  started = 0;
  warmupStarted = 0;
  warmupEnded = 0;
  measured = 0;
  good = 0;
  dropped = 0;
  arrivals = 0;
  active = 0;
  outputTotal = 0;
  inputTotal = 0;
  usageStreams = 0;
  countedStreams = 0;
  readonly errors = new Map<string, ErrorSample>();
  /** Faults matched to outcomes, recoveries, integrity (measured streams). */
  readonly chaos = emptyChaos();
  /** Content channels, tool calls, late arrivals (per_turn is built from `turns`). */
  readonly workload = emptyWorkload();
  /** Per-turn histograms of multi-turn sessions, index = turn − 1 (at most MAX_TURNS). */
  readonly turns: TurnHistograms[] = [];
  /** Per-second buckets since `t0`: started, ended, tokens, errors; active is sampled by tick(). */
  private readonly buckets: { started: number[]; ended: number[]; tokens: number[]; errors: number[] } = {
    started: [],
    ended: [],
    tokens: [],
    errors: [],
  };
  private readonly activeAt: number[] = [];

  constructor(
    /** performance.now() at the start of the run. */
    readonly t0: number,
    private readonly slo: Slo = {},
    /** Live telemetry (--metrics-port), fed the same measurements. */
    private readonly sink?: TelemetrySink,
  ) {
    this.itlHist = this.histograms.itl_ms;
  }

  private bucket(now: number): number {
    const i = Math.floor((now - this.t0) / 1000);
    return Math.max(0, i);
  }

  private bump(series: number[], now: number, by = 1): void {
    const i = this.bucket(now);
    while (series.length <= i) series.push(0);
    series[i]! += by;
  }

  /** A stream is about to start. */
  streamStarted(now: number, warmup: boolean): void {
    this.started++;
    this.active++;
    if (warmup) this.warmupStarted++;
    this.bump(this.buckets.started, now);
  }

  /** A trace arrival that started later than the load's late_ms. */
  lateArrival(warmup: boolean): void {
    if (!warmup) this.workload.late_arrivals++;
  }

  /** An open-model arrival that found no free slot. */
  arrivalDropped(warmup: boolean): void {
    if (!warmup) this.dropped++;
  }

  /** An open-model arrival (started or dropped), for drop_rate. */
  arrival(warmup: boolean): void {
    if (!warmup) this.arrivals++;
  }

  /** One content event after the first: the gap since the previous one. Hot path. */
  itl(gapMs: number): void {
    recordScaled(this.itlHist, gapMs, 1000);
    this.sink?.chunkGap(gapMs);
  }

  /** Content events arriving at `now` (for the aggregate tokens/s series). */
  tokens(now: number, n: number): void {
    this.bump(this.buckets.tokens, now, n);
  }

  ended(e: StreamEnd): void {
    this.sink?.streamEnded(e);
    this.active--;
    this.bump(this.buckets.ended, e.endAt);
    if (e.warmup) {
      this.warmupEnded++;
      return;
    }
    this.measured++;
    this.byOutcome[e.outcome]++;
    // Errors as error_rate counts them: client-side cuts (injected aborts, cancels, the end of the run) are not.
    const o = e.outcome;
    if (o !== 'completed' && o !== 'interrupted' && o !== 'client_aborted' && o !== 'cancelled') {
      this.bump(this.buckets.errors, e.endAt);
      this.sampleError(e);
    }
    const h = this.histograms;
    const ms = (name: HistogramName, v: number): void => {
      if (!Number.isNaN(v)) recordScaled(h[name], v, HISTOGRAMS[name].scale);
    };
    this.tallyChaos(e);
    ms('resume_ms', e.resumeMs);
    ms('cancel_ms', e.cancelMs);
    ms('schedule_lag_ms', e.startedAt - e.intendedAt);
    ms('headers_ms', e.headersAt - e.sentAt);
    const ttft = e.firstTokenAt - e.intendedAt;
    ms('ttft_ms', ttft);

    ms('ttft_service_ms', e.firstTokenAt - e.sentAt);
    ms('ttft_thinking_ms', e.firstThinkingAt - e.intendedAt);
    ms('ttfa_ms', e.firstAnswerAt - e.intendedAt);
    ms('tool_call_first_ms', e.toolCallAt - e.intendedAt);
    ms('tool_args_complete_ms', e.toolArgsAt - e.intendedAt);
    ms('first_field_ms', e.firstFieldAt - e.intendedAt);
    const w = this.workload;
    w.content_events.thinking += e.thinkingEvents;
    w.content_events.tool_input += e.toolInputEvents;
    w.content_events.answer += e.contentEvents - e.thinkingEvents - e.toolInputEvents;
    w.tool_calls.started += e.toolCalls;
    w.tool_calls.completed += e.toolCallsCompleted;
    w.tool_calls.invalid_args += e.invalidToolArgs;
    if (e.turn > 0 && e.turn <= MAX_TURNS) {
      while (this.turns.length < e.turn) this.turns.push(newTurn());
      const t = this.turns[e.turn - 1]!;
      t.streams++;
      if (!Number.isNaN(ttft)) recordScaled(t.ttft, ttft, 1000);
      if (e.inputTokens !== undefined) t.input.recordValue(Math.min(e.inputTokens, 3_600_000_000));
    }
    // Usage is cumulative, so a stream that ended before its final usage (truncated, stalled, …) may
    // carry only the opening figure (Anthropic's message_start says output_tokens: 1): then the
    // content events that did arrive are the better count.
    const tokens =
      e.outputTokens === undefined
        ? e.contentEvents
        : e.outcome === 'completed'
          ? e.outputTokens
          : Math.max(e.outputTokens, e.contentEvents);
    if (e.outputTokens !== undefined) this.usageStreams++;
    else this.countedStreams++;
    this.outputTotal += tokens;
    this.inputTotal += e.inputTokens ?? 0;
    if (e.outcome !== 'completed') return;
    const e2e = e.endAt - e.intendedAt;
    ms('e2e_ms', e2e);
    h.output_tokens.recordValue(Math.min(tokens, 3_600_000_000));
    if (e2e > 0) ms('stream_tokens_per_s', (tokens * 1000) / e2e);
    const tpot = tokens > 1 && !Number.isNaN(ttft) ? (e2e - ttft) / (tokens - 1) : Number.NaN;
    ms('tpot_ms', tpot);
    const slo = this.slo;
    if (
      (slo.ttft_ms === undefined || ttft <= slo.ttft_ms) &&
      (slo.e2e_ms === undefined || e2e <= slo.e2e_ms) &&
      (slo.tpot_ms === undefined || !(tpot > slo.tpot_ms))
    )
      this.good++;
  }

  /** Matches the stream's fault (or its absence) to its outcome; recoveries, integrity, stalls. */
  private tallyChaos(e: StreamEnd): void {
    const c = this.chaos;
    const o = e.outcome;
    if (o === 'stalled') {
      c.stalls.detected++;
      if (e.keepalive) c.stalls.with_keepalive++;
    }
    if (e.verified) c.integrity.verified++;
    if (e.errorType === 'E_PROTOCOL_INTEGRITY') c.integrity.failed++;
    if (e.cancelSent) {
      c.cancels.sent++;
      if (!Number.isNaN(e.cancelMs)) c.cancels.confirmed++;
    }
    if (e.recovery !== undefined) {
      const r = c.recovery[e.recovery.kind];
      r.streams++;
      r.attempts += e.recovery.attempts;
      if (o === 'completed') r.succeeded++;
      else r.failed++;
    }
    // The end of the run cut these: no fault and no server is to blame.
    if (o === 'interrupted') return;
    const f = e.fault;
    if (f !== undefined && e.struck) {
      const t = (c.faults[f.key] ??= { injected: 0, missed: 0, expected: {}, observed: {}, matched: 0 });
      t.injected++;
      bumpOutcome(t.expected, f.expected);
      bumpOutcome(t.observed, o);
      if (o === f.expected) t.matched++;
      else c.unexpected_outcomes++;
      return;
    }
    if (f !== undefined) {
      (c.faults[f.key] ??= { injected: 0, missed: 0, expected: {}, observed: {}, matched: 0 }).missed++;
    }
    c.unfaulted.streams++;
    bumpOutcome(c.unfaulted.observed, o);
    if (o === 'completed') c.unfaulted.matched++;
    else c.unexpected_outcomes++;
  }

  private sampleError(e: StreamEnd): void {
    const type = e.errorType ?? e.outcome;
    const key = `${e.outcome}\u0000${type}`;
    const s = this.errors.get(key);
    if (s !== undefined) s.count++;
    else if (this.errors.size < MAX_ERROR_KINDS)
      this.errors.set(key, { outcome: e.outcome, type, message: e.errorMessage ?? '', count: 1 });
  }

  /** Samples the active-stream count for the series; call about once a second. */
  tick(now: number): void {
    const i = this.bucket(now);
    while (this.activeAt.length <= i) this.activeAt.push(this.active);
  }

  /** Worst schedule lag per second (ms), for detecting a client that falls behind. */
  readonly lagBySecond: number[] = [];

  lag(now: number, lagMs: number): void {
    const i = this.bucket(now);
    while (this.lagBySecond.length <= i) this.lagBySecond.push(0);
    if (lagMs > this.lagBySecond[i]!) this.lagBySecond[i] = lagMs;
  }

  series(): SeriesPoint[] {
    const b = this.buckets;
    const n = Math.max(
      b.started.length,
      b.ended.length,
      b.tokens.length,
      b.errors.length,
      this.activeAt.length,
    );
    const out: SeriesPoint[] = [];
    for (let i = 0; i < n; i++)
      out.push({
        t: i + 1,
        active_streams: this.activeAt[i] ?? this.activeAt.at(-1) ?? 0,
        started: b.started[i] ?? 0,
        ended: b.ended[i] ?? 0,
        output_tokens: b.tokens[i] ?? 0,
        errors: b.errors[i] ?? 0,
      });
    return out;
  }

  /** usage: every measured stream reported usage; counted: none did; mixed: some. */
  tokenSource(): 'usage' | 'counted' | 'mixed' | 'none' {
    if (this.usageStreams + this.countedStreams === 0) return 'none';
    if (this.countedStreams === 0) return 'usage';
    return this.usageStreams === 0 ? 'counted' : 'mixed';
  }
}
