// Starting a worker thread on one of our own modules, from dist/ (plain .js) or, in development
// and tests, from the TypeScript sources (through tsx's loader, a dev dependency).
import { Worker } from 'node:worker_threads';

export function startWorker(moduleUrl: URL, workerData: unknown): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { workerData });
  // Node 20 does not carry --import loaders into workers: register tsx inside the worker instead.
  const bootstrap = `const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(moduleUrl.href)});`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: [] });
}

/** The URL of a sibling module, with the same extension as the calling module (.ts or .js). */
export function siblingModule(callerUrl: string, name: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, callerUrl);
}

/** Resolves with the first message of `type`; rejects if the worker errors or exits first. */
export function nextMessage<T>(worker: Worker, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }): void => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m as T);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`worker exited (code ${code}) before sending ${type}`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
