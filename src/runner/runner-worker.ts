// Worker-thread entry for `--workers N`: runs one share of the load with its own event loop,
// undici agent and recorder, posts a partial result every second and the final one at the end.
// The main thread merges them exactly (histograms added, counts summed).
import { parentPort, workerData } from 'node:worker_threads';
import { formatError } from '../errors.js';
import type { Scenario } from '../scenario/schema.js';
import type { HistogramName } from '../stats/metrics.js';
import type { Share } from './executors.js';
import { encodeLive } from './live.js';
import { LocalRun } from './local.js';
import { buildResult, type ResultContext } from './result.js';
import { TelemetryBatch } from './telemetry.js';

export interface RunnerWorkerData {
  scenario: Scenario;
  file: string | null;
  url: string;
  share: Share;
  workers: number;
  /** Histograms the main thread reads live (progress, abortOnFail thresholds). */
  liveHistograms: HistogramName[];
  /** Batch telemetry to the main thread (it serves --metrics-port). */
  telemetry: boolean;
  /** Arrivals missed by starting after the common start are dropped (LocalRunOptions.dropLate). */
  dropLate: boolean;
}

const data = workerData as RunnerWorkerData;
const port = parentPort!;

port.on('message', (m: { type: string; startEpochMs?: number; reason?: string }) => {
  if (m.type === 'go') void go(m.startEpochMs!);
  else if (m.type === 'abort') local?.abort(m.reason ?? 'aborted');
});
let local: LocalRun | undefined;

async function go(startEpochMs: number): Promise<void> {
  try {
    const ctx: ResultContext = {
      scenario: data.scenario,
      file: data.file,
      url: data.url,
      startEpochMs,
      workers: 1,
    };
    const batch = data.telemetry ? new TelemetryBatch() : undefined;
    local = new LocalRun({
      scenario: data.scenario,
      url: data.url,
      share: data.share,
      startEpochMs,
      sink: batch,
      dropLate: data.dropLate,
    });
    const run = local;
    const timer = setInterval(() => {
      const live = encodeLive(run.live(data.liveHistograms));
      port.postMessage({ type: 'snapshot', live, telemetry: batch?.drain() });
    }, 1000);
    const done = await run.run();
    clearInterval(timer);
    port.postMessage({ type: 'done', result: buildResult(ctx, done), telemetry: batch?.drain() });
  } catch (err) {
    port.postMessage({ type: 'failed', error: formatError(err) });
  }
  port.close();
}

port.postMessage({ type: 'ready' });
