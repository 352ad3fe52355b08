// The runner watching itself: event-loop delay, event-loop utilisation and CPU of the thread that
// runs the streams. When they say the client is the bottleneck, the result says so
// (client_bound) instead of passing the client's own delay off as the target's latency.
import { readFileSync } from 'node:fs';
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Thresholds from the issue: above these the client, not the target, limits what is measured. */
export const CLIENT_BOUND = { utilization: 0.9, loopDelayP99Ms: 20, lagGrowthMsPerMin: 60 } as const;

const LOOP_RESOLUTION_MS = 10;
const CLOCK_TICKS_PER_S = 100; // Linux USER_HZ

/**
 * CPU seconds of the calling thread: /proc/thread-self/stat on Linux (so embedded servers in other
 * threads are not charged to the runner), else the whole process.
 */
export function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", utime and stime are fields 14 and 15 of the full line, 12 and 13 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}

export interface HealthReport {
  loopDelayMs: { p50: number; p99: number; max: number };
  utilization: number;
  cpuS: number;
}

export class HealthMonitor {
  private readonly loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private elu0: EventLoopUtilization | undefined;
  private cpu0 = 0;

  start(): void {
    this.loop.enable();
    this.elu0 = performance.eventLoopUtilization();
    this.cpu0 = threadCpuSeconds();
  }

  report(): HealthReport {
    // The histogram records whole sampling intervals (ns); the delay is the excess over the resolution.
    const excess = (ns: number): number => Math.max(0, Math.round(ns / 1e3 - LOOP_RESOLUTION_MS * 1e3) / 1e3);
    const n = this.loop.count;
    return {
      loopDelayMs: {
        p50: n === 0 ? 0 : excess(this.loop.percentile(50)),
        p99: n === 0 ? 0 : excess(this.loop.percentile(99)),
        max: n === 0 ? 0 : excess(this.loop.max),
      },
      utilization: Math.round(performance.eventLoopUtilization(this.elu0).utilization * 1000) / 1000,
      cpuS: Math.round((threadCpuSeconds() - this.cpu0) * 1000) / 1000,
    };
  }

  /**
   * Forgets the event-loop delay seen so far. Called once the runner itself is warm: the first
   * streams compile undici's and our hot paths (one-off pauses of tens of ms), which says nothing
   * about whether the client keeps up under load.
   */
  resetLoopDelay(): void {
    this.loop.reset();
  }

  /** The event-loop delay p99 so far, ms (cheap: read from the native histogram). */
  loopDelayP99(): number {
    return this.loop.count === 0
      ? 0
      : Math.max(0, Math.round(this.loop.percentile(99) / 1e3 - LOOP_RESOLUTION_MS * 1e3) / 1e3);
  }

  stop(): void {
    this.loop.disable();
  }
}

/** Least-squares slope of per-second worst schedule lag, in ms per minute. */
export function lagGrowthMsPerMin(lagBySecond: readonly number[]): number {
  const n = lagBySecond.length;
  if (n < 5) return 0;
  let sx = 0;
  let sy = 0;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const y = lagBySecond[i]!;
    sx += i;
    sy += y;
    sxy += i * y;
    sxx += i * i;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return Math.round(slope * 60 * 100) / 100;
}

/** The warnings that make a result client_bound; empty when the client kept up. */
export function clientBoundWarnings(h: HealthReport, lagGrowth: number): string[] {
  const w: string[] = [];
  if (h.utilization > CLIENT_BOUND.utilization)
    w.push(
      `runner event-loop utilisation ${h.utilization.toFixed(2)} > ${CLIENT_BOUND.utilization}: the client is saturated; use --workers or fewer streams`,
    );
  if (h.loopDelayMs.p99 > CLIENT_BOUND.loopDelayP99Ms)
    w.push(
      `runner event-loop delay p99 ${h.loopDelayMs.p99} ms > ${CLIENT_BOUND.loopDelayP99Ms} ms: timestamps are late by up to that much`,
    );
  if (lagGrowth > CLIENT_BOUND.lagGrowthMsPerMin)
    w.push(`schedule lag grows ${lagGrowth} ms/min: the client cannot start streams on time`);
  return w;
}
