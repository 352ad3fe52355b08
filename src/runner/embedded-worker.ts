// Worker-thread entry: the embedded target (mock upstream and, unless direct, the reference server).
// It runs on its own thread, so the servers' work never delays the runner's event loop or its
// timestamps (on a 2-core machine the runner and the servers each get a core).
import { parentPort, workerData } from 'node:worker_threads';
import { formatError } from '../errors.js';
import { startMock } from '../mock/server.js';
import { startReferenceServer } from '../server/app.js';
import type { EmbeddedOptions } from './embedded.js';

const opts = workerData as EmbeddedOptions;
const port = parentPort!;

try {
  let close: () => Promise<void>;
  let url: string;
  let metricsUrl: string | undefined;
  let resumeGraceMs = 0;
  if (opts.direct) {
    const mock = await startMock({ host: '127.0.0.1', port: 0, config: opts.mock });
    url = `${mock.url}${opts.protocol === 'openai' ? '/v1/chat/completions' : '/v1/messages'}`;
    close = () => mock.close();
  } else {
    const server = await startReferenceServer({
      config: {
        log_level: 'warn',
        max_streams: 100_000,
        drain_timeout_ms: 1000,
        // Served on a free port: the runner reads it for the leak check and unread tokens.
        metrics_port: 0,
        ...opts.server,
        host: '127.0.0.1',
        port: 0,
      },
      mock: opts.mock,
    });
    url = `${server.url}/v1/chat/stream`;
    metricsUrl = server.metricsUrl;
    resumeGraceMs = server.config.resume_grace_ms;
    close = () => server.shutdown();
  }
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    void close().then(
      () => {
        port.postMessage({ type: 'stopped' });
        port.close();
      },
      (err: unknown) => port.postMessage({ type: 'stopped', error: formatError(err) }),
    );
  });
  port.postMessage({ type: 'ready', url, metricsUrl, resumeGraceMs });
} catch (err) {
  port.postMessage({ type: 'failed', error: formatError(err) });
}
