// `target.embedded: true`: the mock upstream and the reference server, started in-process on a
// worker thread and stopped when the run ends.
import { TokenstormError } from '../errors.js';
import type { MockConfigInput } from '../mock/config.js';
import type { Scenario } from '../scenario/schema.js';
import type { ServeConfigInput } from '../server/config.js';
import { nextMessage, siblingModule, startWorker } from './threads.js';

export interface EmbeddedOptions {
  mock: MockConfigInput;
  server: Partial<ServeConfigInput>;
  direct: boolean;
  protocol: Scenario['target']['protocol'];
}

export interface EmbeddedTarget {
  url: string;
  /** The reference server's Prometheus metrics (undefined for a direct target). */
  metricsUrl: string | undefined;
  /** The server's resume grace, ms (how long it may keep a stream after its client left). */
  resumeGraceMs: number;
  stop(): Promise<void>;
}

export async function startEmbedded(scenario: Scenario): Promise<EmbeddedTarget> {
  const t = scenario.target;
  // faults.upstream are not the mock's: the runner draws them per stream and sends them as a header.
  const opts: EmbeddedOptions = {
    mock: { ...(t.mock ?? {}), seed: t.mock?.seed ?? scenario.seed },
    server: t.server ?? {},
    direct: t.direct,
    protocol: t.protocol,
  };
  const worker = startWorker(siblingModule(import.meta.url, 'embedded-worker'), opts);
  const first = await Promise.race([
    nextMessage<{ type: 'ready'; url: string; metricsUrl?: string; resumeGraceMs: number }>(worker, 'ready'),
    nextMessage<{ type: 'failed'; error: string }>(worker, 'failed'),
  ]);
  if (first.type === 'failed') {
    await worker.terminate();
    throw new TokenstormError('E_LISTEN', `the embedded target did not start: ${first.error}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    url: first.url,
    metricsUrl: first.metricsUrl,
    resumeGraceMs: first.resumeGraceMs,
    stop: () => {
      stopping ??= (async () => {
        const stopped = nextMessage<{ error?: string }>(worker, 'stopped');
        worker.postMessage({ type: 'stop' });
        try {
          await stopped;
        } finally {
          await worker.terminate();
        }
      })();
      return stopping;
    },
  };
}
