// One thread's share of a run: the executor, the stream client, the recorder and the sweeps for
// stalls and timeouts. Used directly for `--workers 1` and inside each worker thread otherwise.
import { Agent } from 'undici';
import { Rng } from '../random.js';
import type { Scenario } from '../scenario/schema.js';
import type { HistogramName } from '../stats/metrics.js';
import { type ClientContext, StreamRun } from './client.js';
import {
  createExecutor,
  type Executor,
  type ExecutorHost,
  type Share,
  type StreamParams,
} from './executors.js';
import { FaultPlanner } from './faults.js';
import { HealthMonitor, type HealthReport } from './health.js';
import { type LiveSnapshot, liveFromRecorder } from './live.js';
import { Recorder } from './recorder.js';
import { type BodyParams, type ChatMessage, requestSpec } from './request.js';
import type { TelemetrySink } from './telemetry.js';

export interface LocalRunOptions {
  scenario: Scenario;
  /** The streaming endpoint (for an embedded target, the URL it got). */
  url: string;
  share: Share;
  /** performance.timeOrigin-based start, shared by all workers (ms since the epoch). */
  startEpochMs: number;
  /** Live telemetry, fed every stream end and content gap. */
  sink?: TelemetrySink | undefined;
  /**
   * A shard lined up by --start-at: when this thread begins more than LATE_MS after the common
   * start, arrivals intended before it began are counted as dropped, not started late.
   */
  dropLate?: boolean | undefined;
  /** Where the scenario's relative workload files (dataset, trace) are; default the working directory. */
  baseDir?: string | undefined;
}

/** A virtual user's conversation (multi-turn sessions): the history so far and the next turn. */
interface Session {
  history: ChatMessage[];
  turn: number;
}

export interface LocalRunDone {
  recorder: Recorder;
  health: HealthReport;
  /** When the last stream ended, ms since t0. */
  durationMs: number;
  aborted: boolean;
  abortReason: string | null;
}

/** The runner's own warm-up (JIT of the hot paths): its event-loop delay is not judged before this. */
const RUNNER_WARMUP_MS = 1000;

/** A shard that begins this much after the common start counts the arrivals it missed as dropped. */
const LATE_MS = 50;

/** Largest SSE event the client accepts. */
const MAX_EVENT_BYTES = 1024 * 1024;

export class LocalRun {
  readonly recorder: Recorder;
  readonly t0: number;
  private readonly runs = new Set<StreamRun>();
  private readonly ctx: ClientContext;
  private readonly dispatcher: Agent;
  private readonly executor: Executor;
  private readonly health = new HealthMonitor();
  private readonly bodyRng: Rng;
  private readonly faults: FaultPlanner;
  private readonly warmupEnd: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private drainResolve: (() => void) | undefined;
  private abortReason: string | null = null;
  /** Arrivals intended before this (performance.now()) were missed by a late start: dropped. */
  private missedBefore = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: LocalRunOptions) {
    const s = opts.scenario;
    // The shared start, as this thread's performance.now() (workers have their own time origin).
    this.t0 = opts.startEpochMs - performance.timeOrigin;
    this.recorder = new Recorder(this.t0, s.slo, opts.sink);
    this.warmupEnd = this.t0 + s.load.warmup;
    const t = s.timeouts;
    this.dispatcher = new Agent({
      connect: { timeout: t.connect_ms },
      // One connection per concurrent stream (HTTP/1.1 without pipelining); idle ones are reused.
      pipelining: 1,
      keepAliveTimeout: 10_000,
      allowH2: s.target.http2,
    });
    this.ctx = {
      dispatcher: this.dispatcher,
      spec: requestSpec(opts.url, s.target.protocol, s, opts.baseDir),
      recorder: this.recorder,
      headersTimeoutMs: t.headers_ms,
      maxEventBytes: MAX_EVENT_BYTES,
    };
    const seedKey = `${s.seed}:${opts.share.index}`;
    this.bodyRng = new Rng(`${seedKey}:prompts`);
    this.faults = new FaultPlanner(s, opts.share);
    const host: ExecutorHost = {
      t0: this.t0,
      warmupMs: s.load.warmup,
      now: () => performance.now(),
      startStream: (intendedAt, onEnd, params) => this.startStream(intendedAt, onEnd, params),
      lateArrival: (intendedAt) => this.recorder.lateArrival(intendedAt < this.warmupEnd),
      baseDir: opts.baseDir ?? process.cwd(),
      active: () => this.runs.size,
      arrival: (intendedAt, dropped) => {
        const warm = intendedAt < this.warmupEnd;
        this.recorder.arrival(warm);
        if (dropped || intendedAt < this.missedBefore) this.recorder.arrivalDropped(warm);
      },
      rng: (purpose) => new Rng(`${seedKey}:${purpose}`),
    };
    this.executor = createExecutor(s.load, host, opts.share);
  }

  get active(): number {
    return this.runs.size;
  }

  private startStream(intendedAt: number, onEnd: () => void, params: StreamParams = {}): void {
    if (intendedAt < this.missedBefore) return onEnd(); // missed by a late start: counted as dropped
    const now = performance.now();
    const turns = this.opts.scenario.request.turns;
    const p: BodyParams = {};
    if (params.inputTokens !== undefined) p.inputTokens = params.inputTokens;
    if (params.outputTokens !== undefined) p.maxTokens = params.outputTokens;
    // Multi-turn: the user's conversation so far goes with the next message; a finished one starts anew.
    let session: Session | undefined;
    if (turns > 1 && params.user !== undefined) {
      session = params.user.session as Session | undefined;
      if (session === undefined || session.turn > turns) {
        session = { history: [], turn: 1 };
        params.user.session = session;
      }
      p.history = session.history;
    }
    const built = this.ctx.spec.build(this.bodyRng, p);
    const run = new StreamRun(
      this.ctx,
      built.body,
      intendedAt,
      intendedAt < this.warmupEnd,
      (r) => {
        this.runs.delete(r);
        if (session !== undefined) {
          // The turn joins the history with the answer as received (a placeholder if none arrived).
          session.history = [
            ...session.history,
            ...built.user,
            { role: 'assistant', content: r.answerText || '(no answer)' },
          ];
          session.turn++;
        }
        onEnd();
        if (this.runs.size === 0) this.drainResolve?.();
      },
      this.faults.draw(),
      session?.turn ?? 0,
      session !== undefined,
    );
    this.runs.add(run);
    this.recorder.lag(now, now - intendedAt);
    run.start(now);
  }

  /** The run so far, cheaply: counts and the named histograms (live, not copied). */
  live(names: readonly HistogramName[]): LiveSnapshot {
    const now = performance.now();
    this.recorder.tick(now);
    return liveFromRecorder(
      this.recorder,
      names,
      now - this.t0,
      this.opts.scenario.load.warmup,
      this.runs.size,
      this.health.loopDelayP99(),
    );
  }

  /** Stops starting streams and interrupts those in flight (abortOnFail, SIGINT). */
  abort(reason: string): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason;
    this.executor.stop();
    for (const r of this.runs) r.abort('interrupted');
  }

  async run(): Promise<LocalRunDone> {
    const s = this.opts.scenario;
    // Worker threads are given a common start a little ahead (run.ts): begin there, or a closed
    // load's first streams are intended before t0 and counted as warm-up (not measured) even with
    // warmup 0. (A timer may fire up to ~1 ms early against performance.now(), hence the loop.)
    while (performance.now() < this.t0)
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(this.t0 - performance.now())));
    const begin = performance.now();
    if (this.opts.dropLate === true && begin - this.t0 > LATE_MS) this.missedBefore = begin;
    this.health.start();
    const sweepMs = Math.max(10, Math.min(250, s.timeouts.stall_ms / 4));
    const settle = setTimeout(() => this.health.resetLoopDelay(), Math.max(s.load.warmup, RUNNER_WARMUP_MS));
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    try {
      await this.executor.run();
      // Load is over: running streams get graceful_stop to finish, then are interrupted.
      if (this.runs.size > 0) {
        const grace = setTimeout(() => {
          for (const r of this.runs) r.abort('interrupted');
        }, s.load.graceful_stop);
        await new Promise<void>((resolve) => {
          this.drainResolve = resolve;
          if (this.runs.size === 0) resolve();
        });
        clearTimeout(grace);
      }
      const end = performance.now();
      this.recorder.tick(end);
      return {
        recorder: this.recorder,
        health: this.health.report(),
        durationMs: end - this.t0,
        aborted: this.abortReason !== null,
        abortReason: this.abortReason,
      };
    } finally {
      clearInterval(this.sweepTimer);
      clearTimeout(settle);
      this.health.stop();
      await this.dispatcher.close();
    }
  }

  /** Stall and overall timeouts for every stream in flight; also samples the active-stream series. */
  private sweep(): void {
    const now = performance.now();
    this.recorder.tick(now);
    const { stall_ms, total_ms } = this.opts.scenario.timeouts;
    for (const r of this.runs) {
      if (now - r.startedAt > total_ms) r.abort('timed_out');
      else if (!r.paused && !Number.isNaN(r.lastContentAt) && now - r.lastContentAt > stall_ms)
        r.abort('stalled');
    }
  }
}
