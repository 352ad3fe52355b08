// Scenarios are data, executors are code: one executor per load type, picked from a registry.
// Both schedule against an absolute clock (the run's t0), so a late event loop shows up as
// schedule lag in the measurements, never as a silently stretched schedule.
//
// closed: N virtual users, each starting its next stream when the previous one ended (plus think
//   time); the user's ready time is the stream's intended start. Stages ramp N linearly (k6
//   ramping-vus); users above the target retire when their current stream ends.
// open: arrivals at precomputed absolute times (constant, poisson or gamma gaps); an arrival that
//   finds max_concurrency streams in flight is dropped and counted, never queued or delayed
//   (k6 constant-arrival-rate's dropped_iterations).
// trace: the arrivals of a trace file at t0 + offset / speed, each with its input and output
//   length; dropped like open arrivals, and counted as late when started after late_ms.
import { type Rng, sampler } from '../random.js';
import type { ClosedLoad, LoadSpec, OpenLoad, TraceLoad } from '../scenario/schema.js';
import { loadTrace, type TraceArrival } from '../workloads/trace.js';
import { arrivalGaps } from './arrivals.js';

/** A closed model's virtual user: sessions keep their conversation here (LocalRun's business). */
export interface VirtualUser {
  session?: unknown;
}

/** What an executor tells about one stream beyond its intended start. */
export interface StreamParams {
  /** Closed model: the user running it (multi-turn sessions). */
  user?: VirtualUser;
  /** Trace replay: the arrival's prompt and output lengths, tokens. */
  inputTokens?: number;
  outputTokens?: number;
}

/** What an executor needs from the engine: start one stream, and learn when it ends. */
export interface ExecutorHost {
  /** performance.now() of the run start. */
  readonly t0: number;
  readonly warmupMs: number;
  now(): number;
  /** Starts a stream intended at `intendedAt`; `onEnd` runs once when it has ended. */
  startStream(intendedAt: number, onEnd: () => void, params?: StreamParams): void;
  /** A trace arrival started more than late_ms after its time. */
  lateArrival?(intendedAt: number): void;
  /** Where relative workload files (traces) are (the scenario file's directory). */
  readonly baseDir?: string;
  /** Streams in flight. */
  active(): number;
  /** Counts an open-model arrival (started or dropped). */
  arrival(intendedAt: number, dropped: boolean): void;
  rng(purpose: string): Rng;
}

export interface Executor {
  /** Begins generating load; resolves when no more streams will be started. */
  run(): Promise<void>;
  /** Stop starting streams now (abortOnFail, SIGINT). */
  stop(): void;
}

/** A share of the load: this process or worker's part when the run is split over `count` workers. */
export interface Share {
  index: number;
  count: number;
}

/** Splits an integer total as evenly as possible: worker `index` of `count` gets its part. */
export function splitInt(total: number, share: Share): number {
  return Math.floor(total / share.count) + (share.index < total % share.count ? 1 : 0);
}

const CONTROL_TICK_MS = 50;
/**
 * Users started per event-loop turn when ramping. Starting thousands in one synchronous loop
 * blocked the loop for 600 ms at 1,000 users (every connect is work), and the burst of SYNs
 * overflowed the target's accept queue; batches let timestamps and the network keep up.
 */
const START_BATCH = 100;

/** Piecewise-linear target concurrency over time (ms since t0) from stages. */
export function concurrencyAt(load: ClosedLoad, tMs: number, share: Share): number {
  const start = load.concurrency ?? 0;
  if (load.stages === undefined) return splitInt(start, share);
  let from = start;
  let t = tMs;
  for (const st of load.stages) {
    if (t < st.duration) return splitInt(Math.round(from + ((st.target - from) * t) / st.duration), share);
    t -= st.duration;
    from = st.target;
  }
  return splitInt(from, share);
}

export function loadEndMs(load: LoadSpec): number {
  const stagesMs = load.type === 'closed' ? (load.stages ?? []).reduce((s, st) => s + st.duration, 0) : 0;
  return load.duration ?? (stagesMs > 0 ? stagesMs : Number.POSITIVE_INFINITY);
}

class ClosedExecutor implements Executor {
  private users = 0;
  private started = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Think-time timers of users between streams: cleared when the load ends (none may outlive the run). */
  private readonly thinking = new Set<NodeJS.Timeout>();
  private resolve: (() => void) | undefined;
  private readonly endMs: number;
  private readonly maxStreams: number;
  private readonly think: (rng: Rng) => number;
  private readonly thinkRng: Rng;

  constructor(
    private readonly load: ClosedLoad,
    private readonly host: ExecutorHost,
    private readonly share: Share,
  ) {
    this.endMs = loadEndMs(load);
    this.maxStreams = load.streams === undefined ? Number.POSITIVE_INFINITY : splitInt(load.streams, share);
    const tt = load.think_time_ms;
    this.think = typeof tt === 'number' ? () => tt : sampler(tt);
    this.thinkRng = host.rng('think');
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.control();
    });
  }

  stop(): void {
    this.stopped = true;
    this.finish();
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.thinking) clearTimeout(t);
    this.thinking.clear();
    this.resolve?.();
    this.resolve = undefined;
  }

  private get ending(): boolean {
    return this.stopped || this.started >= this.maxStreams || this.host.now() - this.host.t0 >= this.endMs;
  }

  /** Adds users up to the current target; checks the end of the load. */
  private control(): void {
    if (this.ending) return this.finish();
    const target = concurrencyAt(this.load, this.host.now() - this.host.t0, this.share);
    let batch = 0;
    while (this.users < target && !this.ending && batch < START_BATCH) {
      this.users++;
      batch++;
      this.next(this.host.now(), {});
    }
    if (this.users < target) this.timer = setTimeout(() => this.control(), 0);
    else this.timer = setTimeout(() => this.control(), CONTROL_TICK_MS);
  }

  /** A user ready at `readyAt` starts its next stream, or retires. */
  private next(readyAt: number, user: VirtualUser): void {
    const tMs = readyAt - this.host.t0;
    if (this.ending || this.users > concurrencyAt(this.load, tMs, this.share)) {
      this.users--;
      if (this.ending && this.resolve !== undefined && this.users === 0) this.finish();
      return;
    }
    this.started++;
    this.host.startStream(
      readyAt,
      () => {
        const think = this.think(this.thinkRng);
        const endedAt = this.host.now();
        if (this.ending)
          this.next(endedAt, user); // the user retires
        // Not synchronously: the stream's connection goes back to the pool only after this callback
        // returns, and starting now would open a new connection per stream. The turn it waits counts
        // as schedule lag (the user was ready at endedAt).
        else if (think <= 0) setImmediate(() => this.next(endedAt, user));
        // A timer can fire up to ~1 ms early against performance.now() (libuv's clock counts whole
        // ms): a stream must never start before its intended time, or TTFT from it is understated.
        else {
          const t = setTimeout(() => {
            this.thinking.delete(t);
            this.next(Math.min(endedAt + think, this.host.now()), user);
          }, think);
          this.thinking.add(t);
        }
      },
      { user },
    );
  }
}

class OpenExecutor implements Executor {
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;
  private stopped = false;
  private nextAt: number;
  private arrivals = 0;
  private readonly gap: () => number;
  private readonly endAt: number;
  private readonly maxArrivals: number;
  private readonly maxConcurrency: number;

  constructor(
    load: OpenLoad,
    private readonly host: ExecutorHost,
    share: Share,
  ) {
    // Each worker runs an independent process at rate/count: their superposition has the full rate
    // (exactly so for poisson; for constant arrivals the workers are phase-shifted to interleave).
    const rate = load.rate / share.count;
    this.gap = arrivalGaps(load.arrival, rate, load.burstiness, host.rng('arrivals'));
    const phase = load.arrival === 'constant' ? (share.index * 1000) / load.rate : this.gap();
    this.nextAt = host.t0 + phase;
    this.endAt = host.t0 + loadEndMs(load);
    this.maxArrivals = load.streams === undefined ? Number.POSITIVE_INFINITY : splitInt(load.streams, share);
    this.maxConcurrency = Math.max(1, splitInt(load.max_concurrency, share));
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      if (this.stopped) return resolve(); // stopped (aborted) before it began
      this.tick();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.resolve?.();
  }

  /** Starts every arrival whose time has come, then sleeps until the next one. */
  private tick(): void {
    const now = this.host.now();
    while (!this.stopped && this.nextAt <= now) {
      if (this.nextAt >= this.endAt || this.arrivals >= this.maxArrivals) return this.stop();
      const at = this.nextAt;
      this.arrivals++;
      this.nextAt += this.gap();
      if (this.host.active() >= this.maxConcurrency) this.host.arrival(at, true);
      else {
        this.host.arrival(at, false);
        this.host.startStream(at, noop);
      }
    }
    if (this.stopped) return;
    if (this.nextAt >= this.endAt || this.arrivals >= this.maxArrivals) return this.stop();
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextAt - this.host.now()));
  }
}

/**
 * Trace replay on an absolute clock: arrival i is due at t0 + offset_i / speed. Like the open
 * executor, each timer wake-up starts every arrival whose time has come (so a late wake-up shows
 * as schedule lag, never as a shifted trace); worker k of n replays arrivals k, k + n, …
 */
class TraceExecutor implements Executor {
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;
  private stopped = false;
  private i: number;
  private started = 0;
  private readonly arrivals: readonly TraceArrival[];
  private readonly endAt: number;
  private readonly maxArrivals: number;
  private readonly maxConcurrency: number;

  constructor(
    private readonly load: TraceLoad,
    private readonly host: ExecutorHost,
    private readonly share: Share,
    arrivals?: readonly TraceArrival[],
  ) {
    this.arrivals = arrivals ?? loadTrace(load.file, host.baseDir ?? process.cwd());
    this.i = share.index;
    this.endAt = host.t0 + loadEndMs(load);
    this.maxArrivals = load.streams === undefined ? Number.POSITIVE_INFINITY : splitInt(load.streams, share);
    this.maxConcurrency = Math.max(1, splitInt(load.max_concurrency, share));
  }

  private at(i: number): number {
    return this.host.t0 + this.arrivals[i]!.offsetMs / this.load.speed;
  }

  run(): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      if (this.stopped) return resolve();
      this.tick();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.resolve?.();
  }

  private get exhausted(): boolean {
    return (
      this.i >= this.arrivals.length || this.started >= this.maxArrivals || this.at(this.i) >= this.endAt
    );
  }

  private tick(): void {
    const now = this.host.now();
    while (!this.stopped && !this.exhausted && this.at(this.i) <= now) {
      const a = this.arrivals[this.i]!;
      const at = this.at(this.i);
      this.i += this.share.count;
      this.started++;
      if (this.host.active() >= this.maxConcurrency) {
        this.host.arrival(at, true);
        continue;
      }
      this.host.arrival(at, false);
      if (this.host.now() - at > this.load.late_ms) this.host.lateArrival?.(at);
      this.host.startStream(at, noop, { inputTokens: a.inputTokens, outputTokens: a.outputTokens });
    }
    if (this.stopped) return;
    if (this.exhausted) return this.stop();
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.at(this.i) - this.host.now()));
  }
}

const noop = (): void => {};

export const EXECUTORS = {
  closed: (load: ClosedLoad, host: ExecutorHost, share: Share): Executor =>
    new ClosedExecutor(load, host, share),
  open: (load: OpenLoad, host: ExecutorHost, share: Share): Executor => new OpenExecutor(load, host, share),
  trace: (load: TraceLoad, host: ExecutorHost, share: Share, arrivals?: readonly TraceArrival[]): Executor =>
    new TraceExecutor(load, host, share, arrivals),
} as const;

export function createExecutor(load: LoadSpec, host: ExecutorHost, share: Share): Executor {
  switch (load.type) {
    case 'closed':
      return EXECUTORS.closed(load, host, share);
    case 'open':
      return EXECUTORS.open(load, host, share);
    case 'trace':
      return EXECUTORS.trace(load, host, share);
  }
}
