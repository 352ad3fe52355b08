// The live progress line. Pure: the runner's progress subscriber builds a snapshot once a second
// and writes the string; on a TTY it rewrites one line with \r (so the line must never wrap),
// elsewhere (CI logs, pipes) it appends a plain, greppable log line.
import { fmtClock, fmtFixed, fmtInt } from './format.js';

export interface ProgressSnapshot {
  /** Seconds since the run started. */
  elapsedS: number;
  /** Streams in flight. */
  active: number;
  /** Streams ended so far (any outcome). */
  done: number;
  /** Ended streams whose outcome counts as an error (see error_rate). */
  errors: number;
  /** Arrivals dropped for want of a free slot (open model). */
  dropped: number;
  /** Streams ended per second over the last interval. */
  streamsPerS: number;
  /** TTFT percentiles so far; null before the first token. */
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  phase: 'warmup' | 'measuring' | 'stopping';
}

/** A TTY line never exceeds this, so \r rewrites cleanly on a 100-column terminal. */
export const TTY_WIDTH = 100;

/** Counts in at most 7 columns: 99,999 → "99,999"; 123456 → "123.5k"; 1234567 → "1.23M". */
function compact(n: number): string {
  if (n < 1e5) return fmtInt(n);
  // The first unit whose rounded value stays below 1000 (999,999 is "1.00M", not "1,000.0k").
  if (Number((n / 1e3).toFixed(1)) < 1000) return `${(n / 1e3).toFixed(1)}k`;
  if (Number((n / 1e6).toFixed(2)) < 1000) return `${(n / 1e6).toFixed(2)}M`;
  return `${fmtFixed(n / 1e9, 2)}G`;
}

/** A TTFT in at most 6 columns: 12.3ms, 340ms, 1.23s, 3600s. "–" before the first token. */
function ttft(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.round(ms / 1000)}s`;
}

const rate = (perS: number): string => (perS < 1000 ? perS.toFixed(1) : compact(perS));

const SHORT_PHASE: Record<ProgressSnapshot['phase'], string> = {
  warmup: 'warm',
  measuring: 'meas',
  stopping: 'stop',
};

function ttyLine(p: ProgressSnapshot, short: boolean): string {
  const parts = [
    `${fmtClock(p.elapsedS)} ${short ? SHORT_PHASE[p.phase] : p.phase}`,
    `${short ? 'act' : 'active'} ${compact(p.active)}`,
    `done ${compact(p.done)}`,
    `${rate(p.streamsPerS)}/s`,
    `${short ? '' : 'TTFT '}p50 ${ttft(p.ttftP50Ms)} p95 ${ttft(p.ttftP95Ms)}`,
    `err ${compact(p.errors)}`,
  ];
  if (p.dropped > 0) parts.push(`drop ${compact(p.dropped)}`);
  return parts.join('  ');
}

export function formatProgress(p: ProgressSnapshot, tty: boolean): string {
  if (!tty) {
    // key=value so logs are greppable; no timestamp (the log collector adds one).
    const parts = [
      '[progress]',
      p.phase,
      `elapsed=${p.elapsedS.toFixed(1)}s`,
      `active=${p.active}`,
      `done=${p.done}`,
      `streams_per_s=${p.streamsPerS.toFixed(1)}`,
      `ttft_p50_ms=${p.ttftP50Ms === null ? 'null' : p.ttftP50Ms.toFixed(2)}`,
      `ttft_p95_ms=${p.ttftP95Ms === null ? 'null' : p.ttftP95Ms.toFixed(2)}`,
      `errors=${p.errors}`,
    ];
    if (p.dropped > 0) parts.push(`dropped=${p.dropped}`);
    return parts.join(' ');
  }
  // Realistic values fit the long form with room to spare; absurd ones (a run of days, billions
  // of streams) get short labels, then a cut, because a wrapped line breaks the \r rewrite.
  let line = ttyLine(p, false);
  if (line.length > TTY_WIDTH) line = ttyLine(p, true);
  return line.length > TTY_WIDTH ? `${line.slice(0, TTY_WIDTH - 1)}…` : line;
}
