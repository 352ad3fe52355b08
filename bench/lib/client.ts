// Drives bench/lib/load-client.ts in its own process and asks it for its counters.
import { type Child, spawnNode } from './proc.js';

export interface ClientStats {
  open: number;
  bytes: number;
  streams: number;
  errors: number;
  started: number;
  ttft: { count: number; p50: number; p99: number };
}

export interface LoadClient {
  child: Child;
  stats(): Promise<ClientStats>;
  resetTtft(): Promise<void>;
}

export async function startLoadClient(opts: {
  url: string;
  path: string;
  concurrency: number;
  body: unknown;
  /** Count TTFT at the first chunk containing this string. */
  marker?: string;
  rampPerSec?: number;
}): Promise<LoadClient> {
  const port = new URL(opts.url).port;
  const args = [
    '--import',
    'tsx',
    'bench/lib/load-client.ts',
    port,
    opts.path,
    String(opts.concurrency),
    String(opts.rampPerSec ?? 2000),
    JSON.stringify(opts.body),
  ];
  if (opts.marker !== undefined) args.push(opts.marker);
  const { child } = await spawnNode(args, /client ready/, { ipc: true });
  const ask = <T>(cmd: string) =>
    new Promise<T>((resolve) => {
      child.proc.once('message', (m) => resolve(m as T));
      child.proc.send({ cmd });
    });
  return {
    child,
    stats: () => ask<ClientStats>('stats'),
    resetTtft: async () => {
      await ask('reset');
    },
  };
}
