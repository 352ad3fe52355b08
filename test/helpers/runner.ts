// Test helpers for the scenario runner: scenarios built in code (validated like a file), tiny
// node:http servers that are always closed and whose connections can be awaited, the mock
// upstream in its own process (so it never shares the runner's event loop), and the invariants
// every run result must hold.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, expect } from 'vitest';
import type { MockStatsSnapshot } from '../../src/mock/stats.js';
import { LocalRun } from '../../src/runner/local.js';
import type { StreamEnd } from '../../src/runner/recorder.js';
import { buildResult } from '../../src/runner/result.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { OUTCOMES } from '../../src/stats/metrics.js';
import type { RunResult } from '../../src/stats/result.js';
import type { Cli } from './cli.js';
import { rawRequest, within } from './server.js';

/** A scenario from a plain object, validated exactly as a YAML file would be. */
export function scenario(doc: Record<string, unknown>): Scenario {
  return parseScenario({ name: 'test', ...doc }, 'test scenario', {});
}

/** Every stream exactly one outcome: the outcomes add up to the measured streams. */
export function expectOneOutcomeEach(r: RunResult): void {
  const sum = OUTCOMES.reduce((s, o) => s + r.streams.by_outcome[o], 0);
  expect(sum).toBe(r.streams.measured);
  expect(r.streams.measured + r.streams.warmup).toBe(r.streams.started);
}

/** The outcomes that are not zero, e.g. { completed: 3, truncated: 1 }. */
export function outcomes(r: RunResult): Record<string, number> {
  return Object.fromEntries(Object.entries(r.streams.by_outcome).filter(([, n]) => n > 0));
}

export interface TestServer {
  server: Server;
  url: string;
  /** Resolves when every connection the server has accepted so far is closed. */
  connectionsClosed(): Promise<void>;
  /** server.getConnections(), as a promise. */
  connections(): Promise<number>;
}

/**
 * Watches a server's connections so a test can await them all closing (no polling).
 *
 * connectionsClosed() first makes sure the server has accepted every connection a client opened
 * before the call: it opens a probe connection and waits for the server to see it (the kernel's
 * accept queue is FIFO, so anything opened earlier has been accepted by then). This matters
 * because undici reconnects once after a request it was told to abort, and the client may have
 * opened and closed that connection before the server got round to accepting it.
 */
export function trackConnections(server: Server): Pick<TestServer, 'connectionsClosed' | 'connections'> {
  const closed = new Map<Socket, Promise<void>>();
  const probes = new Map<number, () => void>();
  /** Remote ports of the connections open now. */
  const seenPorts = new Set<number>();
  server.on('connection', (s: Socket) => {
    const port = s.remotePort ?? -1;
    seenPorts.add(port);
    closed.set(
      s,
      new Promise((resolve) =>
        s.once('close', () => {
          seenPorts.delete(port);
          resolve();
        }),
      ),
    );
    probes.get(s.remotePort ?? -1)?.();
  });
  const barrier = async (): Promise<void> => {
    const { port } = server.address() as AddressInfo;
    const probe = connect(port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.once('connect', () => {
          const local = probe.localPort!;
          if (seenPorts.has(local)) return resolve(); // the server was quicker than this callback
          probes.set(local, () => {
            probes.delete(local);
            resolve();
          });
        });
      });
    } finally {
      probe.destroy();
    }
  };
  return {
    connectionsClosed: () =>
      within(
        'every connection to the server to close',
        barrier().then(() => Promise.all(closed.values()).then(() => {})),
        5000,
      ),
    connections: () =>
      new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
  };
}

/**
 * Registers an afterEach that closes every server started through the returned function (and
 * destroys its connections), so a failing test leaves no listener or socket behind.
 */
export function useHttpServers(): (
  handler: (req: IncomingMessage, res: ServerResponse) => void,
) => Promise<TestServer> {
  const started = new Set<Server>();
  afterEach(async () => {
    const all = [...started];
    started.clear();
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  });
  return async (handler) => {
    const server = createServer(handler);
    const tracked = trackConnections(server);
    started.add(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { server, url: `http://127.0.0.1:${port}`, ...tracked };
  };
}

/** A port nothing listens on: listen on a free one, then close it. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** `tokenstorm mock` (the built CLI) in a child process; killed by useCli's afterEach. */
export interface MockProcess {
  url: string;
  stats(): Promise<MockStatsSnapshot>;
  resetStats(): Promise<void>;
  /** SIGTERM, and the exit code once it has exited. */
  stop(): Promise<number | null>;
}

export async function startMockProcess(
  cli: (args: string[]) => Cli,
  args: readonly string[],
): Promise<MockProcess> {
  const { child, exited, stdout } = cli(['mock', '--port', '0', ...args]);
  const url = await within(
    'the mock process to listen',
    new Promise<string>((resolve, reject) => {
      const onData = () => {
        const m = /listening on (http:\/\/\S+)/.exec(stdout());
        if (m) {
          child.stdout.off('data', onData);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', onData);
      onData();
      void exited.then((r) => reject(new Error(`mock exited (${r.code}) before listening:\n${r.stderr}`)));
    }),
    15_000,
  );
  return {
    url,
    // One connection per request (no keep-alive pool left open to the mock).
    stats: async () => JSON.parse((await rawRequest(`${url}/mock/stats`)).body) as MockStatsSnapshot,
    resetStats: async () => {
      expect((await rawRequest(`${url}/mock/stats/reset`, { method: 'POST' })).status).toBe(200);
    },
    stop: async () => {
      child.kill('SIGTERM');
      return (await within('the mock process to exit', exited, 10_000)).code;
    },
  };
}

/** A synchronous busy-wait: blocks this thread's event loop for `ms` (the point of the tests using it). */
export function blockEventLoop(ms: number): number {
  const start = performance.now();
  while (performance.now() - start < ms) {
    // spin
  }
  return performance.now() - start;
}

/**
 * Runs a scenario on this thread (no embedded target) and returns its result; `onEnd` sees every
 * stream as it ends (warm-up ones included), for tests that need per-stream timestamps.
 */
export async function runLocal(
  s: Scenario,
  onEnd: (e: StreamEnd) => void = () => {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  const local = new LocalRun({
    scenario: s,
    url: s.target.url!,
    share: { index: 0, count: 1 },
    startEpochMs: performance.timeOrigin + performance.now(),
    sink: { chunkGap: () => {}, streamEnded: onEnd },
  });
  const done = await within('the run', local.run(), timeoutMs);
  const ctx = {
    scenario: s,
    file: null,
    url: s.target.url!,
    startEpochMs: performance.timeOrigin + local.t0,
    workers: 1,
  };
  return buildResult(ctx, done);
}
