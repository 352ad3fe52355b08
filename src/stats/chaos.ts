// The chaos part of a result (docs/chaos.md): every injected fault matched to the outcome it
// caused, recoveries, integrity, stalls, cancels, and the leak check against the server. Pure data
// and arithmetic, so thread results and shards merge by adding.
import type { Outcome } from './metrics.js';

export type OutcomeCounts = Partial<Record<Outcome, number>>;

export interface FaultTally {
  /** Streams the fault struck. */
  injected: number;
  /** Streams drawn for the fault that ended before it could strike (they count as unfaulted). */
  missed: number;
  /** The outcome each struck stream should have had, counted. */
  expected: OutcomeCounts;
  /** The outcome each struck stream had. */
  observed: OutcomeCounts;
  /** Struck streams whose outcome was the expected one. */
  matched: number;
}

export interface RecoveryTally {
  /** Streams that tried to recover (after a disconnect). */
  streams: number;
  /** Reconnect requests sent. */
  attempts: number;
  /** Streams that recovered and completed. */
  succeeded: number;
  failed: number;
}

export interface LeakCheck {
  /** The server metrics read. */
  metrics_url: string;
  ok: boolean;
  /** How long the check waited for zero, ms. */
  waited_ms: number;
  timeout_ms: number;
  /** What was left at the end (0 and 0 when ok). */
  active_streams: number;
  upstream_active: number;
  /** Why the check could not run (metrics unreachable), else null. */
  error: string | null;
}

export interface ServerView {
  /** Upstream tokens generated during the run that no client was sent (server counter delta). */
  unread_tokens: number;
  /** Successful resumes and cancels as the server counted them. */
  resumes: number;
  cancels: number;
  upstream_aborts: number;
  leak_check: LeakCheck | null;
}

export interface ChaosResult {
  /** Keyed `client.<kind>` or `upstream.<kind>` (disconnect: `client.disconnect.<reconnect>`). */
  faults: Record<string, FaultTally>;
  /** Streams no fault struck: their expected outcome is completed. */
  unfaulted: { streams: number; observed: OutcomeCounts; matched: number };
  /** Streams whose outcome was not the one their fault (or its absence) should cause. */
  unexpected_outcomes: number;
  recovery: { resume: RecoveryTally; retry: RecoveryTally };
  integrity: {
    /** Completed reference streams whose text matched done's length and sha256 (ids contiguous). */
    verified: number;
    /** Streams that failed the check (E_PROTOCOL_INTEGRITY). */
    failed: number;
  };
  stalls: {
    /** Streams that ended stalled. */
    detected: number;
    /** … of which still received bytes (pings, heartbeats) while no content came. */
    with_keepalive: number;
  };
  cancels: { sent: number; confirmed: number };
  /** From the reference server's metrics, when known. */
  server: ServerView | null;
}

const recovery = (): RecoveryTally => ({ streams: 0, attempts: 0, succeeded: 0, failed: 0 });

export function emptyChaos(): ChaosResult {
  return {
    faults: {},
    unfaulted: { streams: 0, observed: {}, matched: 0 },
    unexpected_outcomes: 0,
    recovery: { resume: recovery(), retry: recovery() },
    integrity: { verified: 0, failed: 0 },
    stalls: { detected: 0, with_keepalive: 0 },
    cancels: { sent: 0, confirmed: 0 },
    server: null,
  };
}

export function bumpOutcome(c: OutcomeCounts, o: Outcome, by = 1): void {
  c[o] = (c[o] ?? 0) + by;
}

function addCounts(into: OutcomeCounts, from: OutcomeCounts): void {
  for (const [o, n] of Object.entries(from)) bumpOutcome(into, o as Outcome, n);
}

function addRecovery(into: RecoveryTally, from: RecoveryTally): void {
  into.streams += from.streams;
  into.attempts += from.attempts;
  into.succeeded += from.succeeded;
  into.failed += from.failed;
}

/** Adds `from` into `into` (thread results, shards). The server view is the run's, not added: first wins. */
export function addChaos(into: ChaosResult, from: ChaosResult): void {
  for (const [key, f] of Object.entries(from.faults)) {
    const t = (into.faults[key] ??= { injected: 0, missed: 0, expected: {}, observed: {}, matched: 0 });
    t.injected += f.injected;
    t.missed += f.missed;
    t.matched += f.matched;
    addCounts(t.expected, f.expected);
    addCounts(t.observed, f.observed);
  }
  into.unfaulted.streams += from.unfaulted.streams;
  into.unfaulted.matched += from.unfaulted.matched;
  addCounts(into.unfaulted.observed, from.unfaulted.observed);
  into.unexpected_outcomes += from.unexpected_outcomes;
  addRecovery(into.recovery.resume, from.recovery.resume);
  addRecovery(into.recovery.retry, from.recovery.retry);
  into.integrity.verified += from.integrity.verified;
  into.integrity.failed += from.integrity.failed;
  into.stalls.detected += from.stalls.detected;
  into.stalls.with_keepalive += from.stalls.with_keepalive;
  into.cancels.sent += from.cancels.sent;
  into.cancels.confirmed += from.cancels.confirmed;
  into.server ??= from.server;
}

/** Counters thresholds may name (docs/results.md), read from a chaos result. */
export const CHAOS_COUNTERS = {
  faults_injected: 'streams a fault (client or upstream) struck',
  unexpected_outcomes: 'streams whose outcome was not the one their fault, or its absence, should cause',
  integrity_failures: 'streams that lost or duplicated text (E_PROTOCOL_INTEGRITY)',
  integrity_verified: "completed reference streams whose text matched done's length and sha256",
  resumes_succeeded: 'streams that resumed after a disconnect and completed',
  resumes_failed: 'streams that tried to resume and did not complete',
  retries_succeeded: 'streams retried after a disconnect that completed',
  retries_failed: 'streams retried after a disconnect that did not complete',
  stalls_detected: 'streams that ended stalled',
  leaks: 'server streams and upstream requests still active after the leak check timeout',
  unread_tokens: 'upstream tokens the server generated that no client was sent',
} as const;
export type ChaosCounterName = keyof typeof CHAOS_COUNTERS;

export function chaosCounter(c: ChaosResult, name: ChaosCounterName): number {
  switch (name) {
    case 'faults_injected':
      return Object.values(c.faults).reduce((s, f) => s + f.injected, 0);
    case 'unexpected_outcomes':
      return c.unexpected_outcomes;
    case 'integrity_failures':
      return c.integrity.failed;
    case 'integrity_verified':
      return c.integrity.verified;
    case 'resumes_succeeded':
      return c.recovery.resume.succeeded;
    case 'resumes_failed':
      return c.recovery.resume.failed;
    case 'retries_succeeded':
      return c.recovery.retry.succeeded;
    case 'retries_failed':
      return c.recovery.retry.failed;
    case 'stalls_detected':
      return c.stalls.detected;
    case 'leaks': {
      const l = c.server?.leak_check;
      return l ? l.active_streams + l.upstream_active + (l.error !== null ? 1 : 0) : 0;
    }
    case 'unread_tokens':
      return c.server?.unread_tokens ?? 0;
  }
}

/** Rates over recoveries: successes / streams that tried. */
export const CHAOS_RATES = {
  resume_success_rate: 'streams that resumed and completed / streams that tried to resume',
  retry_success_rate: 'streams retried that completed / streams retried',
} as const;
export type ChaosRateName = keyof typeof CHAOS_RATES;

export function chaosRate(c: ChaosResult, name: ChaosRateName): number | undefined {
  const r = name === 'resume_success_rate' ? c.recovery.resume : c.recovery.retry;
  return r.streams > 0 ? r.succeeded / r.streams : undefined;
}
