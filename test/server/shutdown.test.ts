// Graceful shutdown (docs/server.md): while draining /readyz and new streams answer 503,
// in-flight streams may finish, the rest end with a retryable `server_shutdown` error; then
// nothing is left open. And the built CLI under SIGTERM with 200 streams in flight.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceServer } from '../../src/server/app.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import {
  BASE_CONFIG,
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  rawRequest,
  type SseEvent,
  type SseResult,
  useServers,
  waitFor,
} from '../helpers/server.js';
import { deferred, nextServerResponse } from '../helpers/stream.js';

const start = useServers();
const cli = useCli();

/** Active handles by kind (TCPServerWrap, TCPSocketWrap, Timeout, …). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Immediate') out[r] = (out[r] ?? 0) + 1;
  return out;
}

const sockets = (h: Record<string, number>) => (h.TCPServerWrap ?? 0) + (h.TCPSocketWrap ?? 0);

/** Waits for sockets of earlier tests to finish closing, then returns the handle counts. */
async function quietHandles(): Promise<Record<string, number>> {
  await waitFor('sockets of earlier tests to close', () => sockets(handles()) === 0);
  return handles();
}

/** Polls until no socket is open and no kind of handle outnumbers the baseline. */
async function expectNothingLeftOpen(baseline: Record<string, number>): Promise<void> {
  await waitFor(`handles back to ${JSON.stringify(baseline)} (now ${JSON.stringify(handles())})`, () => {
    const now = handles();
    return sockets(now) === 0 && Object.entries(now).every(([k, v]) => v <= (baseline[k] ?? 0));
  });
}

/** Ids contiguous from 1, exactly one terminal event, and it is the last. */
function expectOneTerminal(events: readonly SseEvent[], id: string): SseEvent {
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `${id}:${i + 1}`));
  const terminals = events.filter((e) => e.type === 'done' || e.type === 'error');
  expect(terminals).toHaveLength(1);
  expect(events.at(-1)).toBe(terminals[0]);
  return terminals[0]!;
}

describe('a failed start', () => {
  it.each(['port', 'metrics_port'] as const)('(%s busy) leaves nothing open', async (which) => {
    const baseline = await quietHandles();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const busy = (blocker.address() as { port: number }).port;
      const config = which === 'port' ? { port: busy } : { metrics_port: busy };
      await expect(
        startReferenceServer({ config: { ...BASE_CONFIG, ...config }, mock: fastMock() }),
      ).rejects.toThrow(/cannot listen.*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    await expectNothingLeftOpen(baseline);
  });
});

describe('graceful shutdown in-process', () => {
  it('drains: 503 on fresh connections, short streams finish, long ones get server_shutdown; nothing left open', async () => {
    const baseline = await quietHandles();
    const server = await startReferenceServer({
      config: { ...BASE_CONFIG, drain_timeout_ms: 400, metrics_port: 0 },
      mock: fastMock(10),
    });
    let shutdown: Promise<void> | undefined;
    try {
      const started = [deferred(), deferred(), deferred(), deferred()];
      const streams: Promise<SseResult>[] = [20, 20, 5000, 5000].map((max_tokens, i) =>
        openStream(
          server.url,
          { prompt: `drain ${i}`, max_tokens },
          { onEvent: (ev) => ev.type === 'delta' && started[i]!.resolve() },
        ),
      );
      await Promise.all(started.map((d) => d.promise));
      shutdown = server.shutdown();
      expect(server.shutdown()).toBe(shutdown); // idempotent

      // Still listening while draining: probes and new clients get an answer, not ECONNREFUSED.
      const ready = await rawRequest(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'draining' });
      expect((await rawRequest(`${server.url}/healthz`)).status).toBe(200);
      const refused = await rawRequest(`${server.url}/v1/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'too late', max_tokens: 2 }),
      });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { type: 'draining' } });
      expect(refused.headers['retry-after']).toBe('1');

      const results = await Promise.all(streams);
      await shutdown;
      for (const [i, r] of results.entries()) {
        const id = r.headers.get('x-stream-id')!;
        const terminal = expectOneTerminal(r.events, id);
        if (i < 2) {
          expect(terminal.type).toBe('done');
          expect(expectWholeStream(r.events, id).done.stop_reason).toBe('max_tokens');
        } else {
          expect(terminal.type).toBe('error');
          expect(dataOf(terminal)).toEqual({
            type: 'server_shutdown',
            message: expect.any(String),
            retryable: true,
          });
        }
      }
      expect(server.activeStreams()).toBe(0);
      expect(server.upstreamInFlight()).toBe(0);
      expect(server.server.listening).toBe(false);
      // Every listener, socket and timer is gone (client sides of closed sockets within moments).
      await expectNothingLeftOpen(baseline);
    } finally {
      await (shutdown ?? server.shutdown());
    }
  });

  it('a stream whose upstream is still opening when the drain ends gets server_shutdown', async () => {
    const server = await startReferenceServer({
      config: { ...BASE_CONFIG, drain_timeout_ms: 100 },
      mock: fastMock(5, { faults: [{ kind: 'slow_headers', delay_ms: 60_000, probability: 1 }] }),
    });
    let shutdown: Promise<void> | undefined;
    try {
      const upstreamRes = nextServerResponse(server.mock!);
      const stream = openStream(server.url, { prompt: 'still opening', max_tokens: 5 });
      await upstreamRes; // the upstream has the request; its headers are 60 s away
      expect(server.activeStreams()).toBe(1);
      shutdown = server.shutdown();
      const r = await stream;
      await shutdown;
      expect(r.status).toBe(200);
      const id = r.headers.get('x-stream-id')!;
      const terminal = expectOneTerminal(r.events, id);
      expect(r.events.map((e) => e.type)).toEqual(['meta', 'error']);
      expect(dataOf(terminal)).toEqual({
        type: 'server_shutdown',
        message: expect.any(String),
        retryable: true,
      });
      expect(server.activeStreams()).toBe(0);
      expect(server.upstreamInFlight()).toBe(0);
    } finally {
      await (shutdown ?? server.shutdown());
    }
  });

  it('with nothing in flight, shutdown does not wait for the drain timeout', async () => {
    const server = await start({ drain_timeout_ms: 20_000 });
    const r = await openStream(server.url, { prompt: 'quick', max_tokens: 3 });
    expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    const t = performance.now();
    await server.shutdown();
    expect(performance.now() - t).toBeLessThan(2000);
    expect(server.server.listening).toBe(false);
  });
});

describe('SIGTERM to the built CLI with 200 streams in flight', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokenstorm-serve-'));
    assertBuilt();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every client gets done or a server_shutdown error, and the process exits 0', async () => {
    const profile = join(dir, 'slow.yaml');
    writeFileSync(profile, 'seed: 3\nlatency:\n  ttft_base_ms: 5\n  itl_ms: { type: fixed, mean: 25 }\n');
    const proc = cli([
      'serve',
      '--port',
      '0',
      '--metrics-port',
      '-1',
      '--mock-profile',
      profile,
      '--drain-timeout-ms',
      '2500',
      '--log-level',
      'info',
    ]);
    const { url } = (await proc.logLine('listening')) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // Half finish within the drain (80 tokens ≈ 2 s), half cannot (4000 tokens ≈ 100 s).
    const n = 200;
    const started = Array.from({ length: n }, () => deferred());
    const streams = Array.from({ length: n }, (_, i) =>
      openStream(
        url,
        { prompt: `stream ${i}`, max_tokens: i % 2 === 0 ? 80 : 4000 },
        { onEvent: (ev) => ev.type === 'delta' && started[i]!.resolve() },
      ),
    );
    await Promise.all(started.map((d) => d.promise));
    const killedAt = performance.now();
    process.kill(proc.child.pid!, 'SIGTERM');
    const results = await Promise.all(streams);
    const exit = await proc.exited;

    expect(exit.code).toBe(0);
    expect(exit.signal).toBeNull();
    let completedAfterSigterm = 0;
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe(200);
      const id = r.headers.get('x-stream-id')!;
      const terminal = expectOneTerminal(r.events, id);
      if (i % 2 === 0) {
        expect(terminal.type, `stream ${i}`).toBe('done');
        expectWholeStream(r.events, id);
        if (terminal.at > killedAt) completedAfterSigterm++;
      } else {
        expect(terminal.type, `stream ${i}`).toBe('error');
        expect(dataOf(terminal)).toMatchObject({ type: 'server_shutdown', retryable: true });
      }
    }
    // The drain let in-flight streams finish rather than cutting them at once.
    expect(completedAfterSigterm).toBeGreaterThan(n / 4);
    const ends = exit.stdout.split('\n').filter((l) => l.includes('"msg":"stream_end"'));
    expect(ends).toHaveLength(n);
    expect(exit.stdout).toContain('"msg":"shutdown"');
  });
});
