// A whole run: start the embedded target if asked, run the load on this thread or on N worker
// threads, watch abortOnFail thresholds and report progress once a second, then merge, evaluate
// thresholds and stop everything that was started. Measuring and presenting are separate:
// progress and the final result go to subscribers (the CLI prints them).
import type { Worker } from 'node:worker_threads';
import { TokenstormError } from '../errors.js';
import type { ProgressSnapshot } from '../report/progress.js';
import type { Scenario } from '../scenario/schema.js';
import { globalShare, type Shard, scenarioHash } from '../shard/spec.js';
import { chaosCounter } from '../stats/chaos.js';
import { mergeResults } from '../stats/merge.js';
import type { HistogramName } from '../stats/metrics.js';
import type { RunResult, ThresholdResult } from '../stats/result.js';
import {
  compileThresholds,
  evaluateThresholds,
  shouldAbort,
  type ThresholdSpec,
  thresholdSourceFromResult,
} from '../stats/thresholds.js';
import { type EmbeddedTarget, startEmbedded } from './embedded.js';
import { loadEndMs } from './executors.js';
import { readServerMetrics, type ServerReading, serverView, waitForNoLeaks } from './leaks.js';
import { type LiveSnapshot, type LiveWire, liveErrors, liveThresholdSource, mergeLive } from './live.js';
import { LocalRun } from './local.js';
import { buildResult, type ResultContext } from './result.js';
import type { RunnerWorkerData } from './runner-worker.js';
import { type RunnerTelemetry, replayBatch, type TelemetryBatch } from './telemetry.js';
import { nextMessage, siblingModule, startWorker } from './threads.js';

export interface RunOptions {
  scenario: Scenario;
  file?: string | null;
  /** Worker threads that generate load (1: this thread). */
  workers?: number;
  /** Called about once a second with the run so far. */
  onProgress?: (p: ProgressSnapshot, live: LiveSnapshot) => void;
  /** Aborting stops new streams and interrupts running ones; the result is still complete. */
  signal?: AbortSignal;
  /** Called when the target is known (embedded: once it listens). */
  onTarget?: (url: string) => void;
  /** Live metrics (--metrics-port): fed every stream end and content gap, from every worker. */
  telemetry?: RunnerTelemetry | undefined;
  /** This process's shard of a distributed run (docs/distributed.md); undefined: the whole run. */
  shard?: Shard | undefined;
  /**
   * The run's common start (ms since the epoch) that lines shards up: the load waits for it, and
   * when this process starts later, the arrivals it missed are counted as dropped, never shifted.
   */
  startAtEpochMs?: number | undefined;
}

const TICK_MS = 1000;

/** The leak check waits for the server's resume grace plus this (embedded), or the default timeout. */
const LEAK_MARGIN_MS = 5000;
const DEFAULT_LEAK_TIMEOUT_MS = 15_000;

const ZERO_READING: ServerReading = {
  activeStreams: 0,
  upstreamActive: 0,
  unreadTokens: 0,
  resumes: 0,
  cancels: 0,
  upstreamAborts: 0,
};

/**
 * Checks every chaos run makes without being asked (unless the scenario states its own threshold on
 * the same counter): nothing leaked on the server, and no stream lost or duplicated text.
 */
function builtInChecks(result: RunResult, scenario: Scenario): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  const own = (metric: string) => Object.hasOwn(scenario.thresholds, metric);
  const check = (metric: 'leaks' | 'integrity_failures', actual: number) =>
    out.push({ metric, expression: 'count==0', actual, ok: actual === 0, abort_on_fail: false });
  if (result.chaos.server?.leak_check && !own('leaks')) check('leaks', chaosCounter(result.chaos, 'leaks'));
  const chaos = scenario.faults.client.length + scenario.faults.upstream.length > 0;
  if (chaos && !own('integrity_failures'))
    check('integrity_failures', chaosCounter(result.chaos, 'integrity_failures'));
  return out;
}

/** Something that generates load: this thread, or a set of workers. */
interface LoadGenerator {
  /** The run so far; undefined before the first data. */
  live(): LiveSnapshot | undefined;
  abort(reason: string): void;
  done: Promise<RunResult>;
}

function localGenerator(
  ctx: ResultContext,
  liveNames: HistogramName[],
  telemetry: RunnerTelemetry | undefined,
  opts: RunOptions,
): LoadGenerator {
  const local = new LocalRun({
    scenario: ctx.scenario,
    url: ctx.url,
    share: globalShare(opts.shard, { index: 0, count: 1 }),
    startEpochMs: ctx.startEpochMs,
    sink: telemetry,
    dropLate: opts.startAtEpochMs !== undefined,
  });
  return {
    live: () => local.live(liveNames),
    abort: (reason) => local.abort(reason),
    done: local.run().then((d) => buildResult(ctx, d)),
  };
}

type Batch = ReturnType<TelemetryBatch['drain']>;

async function workerGenerator(
  ctx: ResultContext,
  count: number,
  liveNames: HistogramName[],
  telemetry: RunnerTelemetry | undefined,
  opts: RunOptions,
): Promise<LoadGenerator> {
  const workers: Worker[] = [];
  const latest: (LiveWire | undefined)[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const data: RunnerWorkerData = {
        scenario: ctx.scenario,
        file: ctx.file,
        url: ctx.url,
        share: globalShare(opts.shard, { index, count }),
        workers: count,
        dropLate: opts.startAtEpochMs !== undefined,
        liveHistograms: liveNames,
        telemetry: telemetry !== undefined,
      };
      const w = startWorker(siblingModule(import.meta.url, 'runner-worker'), data);
      workers.push(w);
      w.on('message', (m: { type: string; live?: LiveWire; telemetry?: Batch }) => {
        if (m.type === 'snapshot') latest[index] = m.live;
        if (telemetry !== undefined && m.telemetry !== undefined) replayBatch(telemetry, m.telemetry);
      });
    }
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  // Every worker measures from the same instant, a little ahead so that all have received it.
  const startEpochMs = opts.startAtEpochMs ?? performance.timeOrigin + performance.now() + 20;
  ctx.startEpochMs = startEpochMs;
  const finals = workers.map((w) =>
    Promise.race([
      nextMessage<{ result: RunResult }>(w, 'done').then((m) => m.result),
      nextMessage<{ error: string }>(w, 'failed').then((m) => {
        throw new TokenstormError('E_INTERNAL', `a runner worker failed: ${m.error}`);
      }),
    ]),
  );
  for (const w of workers) w.postMessage({ type: 'go', startEpochMs });
  const done = Promise.all(finals)
    .then((results) => {
      const merged = mergeResults(results);
      merged.runner.workers = count;
      return merged;
    })
    .finally(() => Promise.all(workers.map((w) => w.terminate())));
  return {
    live: () => {
      const have = latest.filter((x) => x !== undefined);
      return have.length === 0 ? undefined : mergeLive(have);
    },
    abort: (reason) => {
      for (const w of workers) w.postMessage({ type: 'abort', reason });
    },
    done,
  };
}

function progressOf(s: LiveSnapshot, prevDone: number, phase: ProgressSnapshot['phase']): ProgressSnapshot {
  const done = s.started - s.active;
  const ttft = s.histograms.ttft_ms;
  const has = ttft !== undefined && ttft.totalCount > 0;
  return {
    elapsedS: Math.round(s.elapsedMs) / 1000,
    active: s.active,
    done,
    errors: liveErrors(s),
    dropped: s.dropped_arrivals,
    streamsPerS: Math.max(0, done - prevDone) / (TICK_MS / 1000),
    ttftP50Ms: has ? ttft.getValueAtPercentile(50) / 1000 : null,
    ttftP95Ms: has ? ttft.getValueAtPercentile(95) / 1000 : null,
    phase,
  };
}

export async function runScenario(opts: RunOptions): Promise<RunResult> {
  const scenario = opts.scenario;
  const workers = Math.max(1, opts.workers ?? 1);
  const specs: ThresholdSpec[] = compileThresholds(scenario.thresholds);
  const abortSpecs = specs.filter((s) => s.abortOnFail);
  const liveNames = [
    ...new Set<HistogramName>([
      'ttft_ms',
      ...abortSpecs.filter((s) => s.parsed.kind === 'histogram').map((s) => s.parsed.metric as HistogramName),
    ]),
  ];
  let embedded: EmbeddedTarget | undefined;
  try {
    if (scenario.target.embedded) embedded = await startEmbedded(scenario);
    const url = embedded?.url ?? scenario.target.url!;
    opts.onTarget?.(url);
    // The reference server's own metrics: unread upstream tokens, and the leak check at the end.
    const metricsUrl = embedded !== undefined ? embedded.metricsUrl : scenario.target.metrics_url;
    const before: ServerReading =
      metricsUrl === undefined ? ZERO_READING : await readServerMetrics(metricsUrl).catch(() => ZERO_READING);
    const ctx: ResultContext = {
      scenario,
      file: opts.file ?? null,
      url,
      startEpochMs: opts.startAtEpochMs ?? performance.timeOrigin + performance.now(),
      workers,
    };
    const gen =
      workers === 1
        ? localGenerator(ctx, liveNames, opts.telemetry, opts)
        : await workerGenerator(ctx, workers, liveNames, opts.telemetry, opts);
    let aborted = false;
    const abort = (reason: string): void => {
      if (aborted) return;
      aborted = true;
      gen.abort(reason);
    };
    const onSignal = (): void => abort('interrupted (SIGINT or SIGTERM)');
    opts.signal?.addEventListener('abort', onSignal, { once: true });
    if (opts.signal?.aborted) onSignal();
    let prevDone = 0;
    // When no new streams start any more (duration, or the end of the stages): 'stopping' after it.
    const loadEnd = loadEndMs(scenario.load);
    const tick = setInterval(() => {
      const live = gen.live();
      if (live === undefined) return;
      opts.telemetry?.observe(live);
      if (!aborted && abortSpecs.length > 0) {
        const failed = shouldAbort(liveThresholdSource(live), abortSpecs, live.elapsedMs);
        const f = failed[0];
        if (f !== undefined)
          abort(`threshold ${f.metric} ${f.expression} failed (actual ${f.actual}) and has abortOnFail`);
      }
      const phase: ProgressSnapshot['phase'] =
        aborted || live.elapsedMs > loadEnd
          ? 'stopping'
          : live.elapsedMs < scenario.load.warmup
            ? 'warmup'
            : 'measuring';
      const snap = progressOf(live, prevDone, phase);
      prevDone = snap.done;
      opts.onProgress?.(snap, live);
    }, TICK_MS);
    let result: RunResult;
    try {
      result = await gen.done;
    } finally {
      clearInterval(tick);
      opts.signal?.removeEventListener('abort', onSignal);
    }
    if (metricsUrl !== undefined) {
      const leakCheck = scenario.leak_check;
      const chaos = scenario.faults.client.length + scenario.faults.upstream.length > 0;
      const leak = !(leakCheck.enabled ?? chaos)
        ? null
        : await waitForNoLeaks(
            metricsUrl,
            leakCheck.timeout_ms ??
              (embedded ? embedded.resumeGraceMs + LEAK_MARGIN_MS : DEFAULT_LEAK_TIMEOUT_MS),
          );
      const after = await readServerMetrics(metricsUrl).catch(() => before);
      result.chaos.server = serverView(before, after, leak);
    }
    result.thresholds = [
      ...evaluateThresholds(thresholdSourceFromResult(result), specs),
      ...builtInChecks(result, scenario),
    ];
    result.thresholds_ok = result.thresholds.every((t) => t.ok);
    result.scenario.hash = scenarioHash(scenario);
    result.shard =
      opts.shard === undefined
        ? null
        : {
            index: opts.shard.index,
            count: opts.shard.count,
            start_at: opts.startAtEpochMs === undefined ? null : new Date(opts.startAtEpochMs).toISOString(),
          };
    return result;
  } finally {
    await embedded?.stop();
  }
}
