// The mock's own bookkeeping: what it emitted, what it refused, how late it was against its
// own schedule. Served as JSON on GET /mock/stats so tests and benchmarks can compare what a
// client saw with what the ground truth did. (Prometheus metrics come with the dashboards.)
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { type Histogram, newHistogram } from '../stats/histogram.js';
import type { FaultKind } from './config.js';

export type { Histogram };

/** A histogram of microsecond values up to one hour, 3 significant digits (the runner's too). */
export const microsecondHistogram = newHistogram;

export interface HistogramSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Summarises a microsecond histogram in milliseconds. */
export function summariseUs(h: Histogram): HistogramSummary {
  const ms = (v: number): number => Math.round(v) / 1000;
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

// The event-loop delay histogram records whole sampling intervals; the delay is the excess.
const LOOP_RESOLUTION_MS = 10;

export class MockStats {
  requests = 0;
  /** Requests answered with a 4xx for bad input, auth or unknown routes. */
  rejected = 0;
  streamsStarted = 0;
  completed = 0;
  /** Clients that went away before the response ended. */
  clientAborts = 0;
  /** Requests refused because the queue was full (529). */
  shed = 0;
  tokens = 0;
  /** SSE events written (tokens, pings, start and end events). */
  events = 0;
  active = 0;
  queued = 0;
  faults: Record<FaultKind, number> = {
    http_error: 0,
    inband_error: 0,
    stall: 0,
    ping_stall: 0,
    reset: 0,
    slow_headers: 0,
    truncate: 0,
  };
  /** Token emission time minus its scheduled time, µs. */
  readonly lateness = microsecondHistogram();
  /** Time from arrival to taking a decode slot, µs. */
  readonly queueWait = microsecondHistogram();
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private cpuStart = process.cpuUsage();
  private startedAt = performance.now();

  start(): void {
    this.loopDelay.enable();
  }

  stop(): void {
    this.loopDelay.disable();
  }

  /** Resets histograms, the CPU baseline and counters of events (not the live gauges). */
  reset(): void {
    this.lateness.reset();
    this.queueWait.reset();
    this.loopDelay.reset();
    this.cpuStart = process.cpuUsage();
    this.startedAt = performance.now();
    this.requests = this.rejected = this.streamsStarted = this.completed = this.clientAborts = this.shed = 0;
    this.tokens = this.events = 0;
    for (const k of Object.keys(this.faults) as FaultKind[]) this.faults[k] = 0;
  }

  snapshot() {
    const cpu = process.cpuUsage(this.cpuStart);
    // ns → ms with 3 decimals, less the sampling interval; NaN when nothing was sampled yet.
    const ns = (v: number): number =>
      this.loopDelay.count === 0 ? 0 : Math.max(0, Math.round(v / 1000) / 1000 - LOOP_RESOLUTION_MS);
    return {
      requests: this.requests,
      rejected: this.rejected,
      streams_started: this.streamsStarted,
      completed: this.completed,
      client_aborts: this.clientAborts,
      shed: this.shed,
      tokens: this.tokens,
      events: this.events,
      active: this.active,
      queued: this.queued,
      faults: { ...this.faults },
      lateness_ms: summariseUs(this.lateness),
      queue_wait_ms: summariseUs(this.queueWait),
      event_loop_delay_ms: {
        p50: ns(this.loopDelay.percentile(50)),
        p99: ns(this.loopDelay.percentile(99)),
        max: ns(this.loopDelay.max),
      },
      cpu_ms: { user: cpu.user / 1000, system: cpu.system / 1000 },
      elapsed_ms: performance.now() - this.startedAt,
    };
  }
}

export type MockStatsSnapshot = ReturnType<MockStats['snapshot']>;
