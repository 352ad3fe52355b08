// The stream client against real servers on 127.0.0.1: every way a stream can end maps to exactly
// one outcome (docs/results.md, Outcomes), the error samples say why, and when the run is over
// no connection is left open on the server side.
import { afterEach, describe, expect, it } from 'vitest';
import type { MockConfigInput } from '../../src/mock/config.js';
import { type MockServer, startMock } from '../../src/mock/server.js';
import { runScenario } from '../../src/runner/run.js';
import type { RunResult } from '../../src/stats/result.js';
import {
  closedPort,
  expectOneOutcomeEach,
  outcomes,
  scenario,
  type TestServer,
  trackConnections,
  useHttpServers,
} from '../helpers/runner.js';
import { within } from '../helpers/server.js';

const serve = useHttpServers();

interface TrackedMock {
  mock: MockServer;
  url: string;
  connectionsClosed: TestServer['connectionsClosed'];
  connections: TestServer['connections'];
}
const mocks = new Set<MockServer>();
afterEach(async () => {
  const all = [...mocks];
  mocks.clear();
  await Promise.all(all.map((m) => m.close()));
});

async function mockWith(config: MockConfigInput): Promise<TrackedMock> {
  const mock = await startMock({ config: { seed: 5, ...config } });
  mocks.add(mock);
  return { mock, url: `${mock.url}/v1/messages`, ...trackConnections(mock.server) };
}

/** A fast mock (2 ms TTFT, 1 ms ITL) with one fault on every request. */
const faulty = (fault: NonNullable<MockConfigInput['faults']>[number]) =>
  mockWith({
    latency: { ttft_base_ms: 2, itl_ms: { type: 'fixed', mean: 1 } },
    faults: [{ ...fault, probability: 1 }],
  });

/** Runs `streams` streams, `concurrency` at a time, against `url`, and checks the invariants. */
async function run(
  url: string,
  opts: {
    streams?: number;
    concurrency?: number;
    protocol?: string;
    timeouts?: Record<string, number>;
    load?: Record<string, unknown>;
    max_tokens?: number;
    signal?: AbortSignal;
  } = {},
): Promise<RunResult> {
  const s = scenario({
    target: { url, protocol: opts.protocol ?? 'anthropic' },
    request: { max_tokens: opts.max_tokens ?? 8 },
    load: opts.load ?? {
      type: 'closed',
      concurrency: opts.concurrency ?? 2,
      streams: opts.streams ?? 4,
      duration: '20s',
      graceful_stop: '10s',
    },
    timeouts: opts.timeouts ?? {},
  });
  const r = await within('the run to end', runScenario({ scenario: s, signal: opts.signal }), 20_000);
  expectOneOutcomeEach(r);
  return r;
}

/** After the run, the server has no connection left: every socket closed, getConnections() 0. */
async function expectNoConnections(t: Pick<TestServer, 'connectionsClosed' | 'connections'>): Promise<void> {
  await t.connectionsClosed();
  expect(await t.connections()).toBe(0);
}

describe('outcomes', () => {
  it('completed: every stream got its terminal event; tokens from usage; one ITL per gap', async () => {
    const m = await mockWith({ latency: { ttft_base_ms: 5, itl_ms: { type: 'fixed', mean: 2 } } });
    const r = await run(m.url, { streams: 6, concurrency: 3, max_tokens: 10 });
    expect(outcomes(r)).toEqual({ completed: 6 });
    expect(r.tokens).toMatchObject({ output_total: 60, source: 'usage' });
    expect(r.metrics.ttft_ms!.count).toBe(6);
    expect(r.metrics.itl_ms!.count).toBe(6 * 9);
    expect(r.metrics.e2e_ms!.count).toBe(6);
    // The mock's TTFT is 5 ms from the request: nothing measured can be shorter.
    expect(r.metrics.ttft_service_ms!.min).toBeGreaterThanOrEqual(5);
    expect(r.errors).toEqual([]);
    expect(r.rates.completion_rate).toBe(1);
    expect(m.mock.stats.completed).toBe(6);
    await expectNoConnections(m);
  });

  it('http_error: a 500 is an error, with the status and the body in the sample', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"type":"api_error","message":"boom"}}');
    });
    const r = await run(`${t.url}/v1/messages`, { streams: 5 });
    expect(outcomes(r)).toEqual({ http_error: 5 });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ outcome: 'http_error', type: '500', count: 5 });
    expect(r.errors[0]!.message).toMatch(/^HTTP 500: .*boom/);
    expect(r.metrics.headers_ms!.count).toBe(5);
    expect(r.metrics.ttft_ms!.count).toBe(0);
    expect(r.rates.error_rate).toBe(1);
    await expectNoConnections(t);
  });

  it('connection_error: nothing listening on the port', async () => {
    const port = await closedPort();
    const r = await run(`http://127.0.0.1:${port}/v1/messages`, { streams: 3 });
    expect(outcomes(r)).toEqual({ connection_error: 3 });
    expect(r.errors[0]).toMatchObject({ outcome: 'connection_error', type: 'ECONNREFUSED', count: 3 });
    expect(r.metrics.headers_ms!.count).toBe(0);
  });

  it('timed_out: no response headers within timeouts.headers_ms', async () => {
    let requests = 0;
    const t = await serve(() => {
      requests++; // and never answer
    });
    const r = await run(`${t.url}/v1/messages`, { streams: 2, timeouts: { headers_ms: 150 } });
    expect(outcomes(r)).toEqual({ timed_out: 2 });
    expect(requests).toBe(2);
    expect(r.errors[0]).toMatchObject({ outcome: 'timed_out', type: 'headers_timeout', count: 2 });
    await expectNoConnections(t);
  });

  it('timed_out: timeouts.total_ms ends a stream that is still flowing', async () => {
    const m = await mockWith({ latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 20 } } });
    const r = await run(m.url, {
      streams: 2,
      max_tokens: 1000,
      timeouts: { total_ms: 200, stall_ms: 10_000 },
    });
    expect(outcomes(r)).toEqual({ timed_out: 2 });
    expect(m.mock.stats.clientAborts).toBe(2);
    await expectNoConnections(m);
  });

  it('stalled: content stops while pings keep coming (pings do not reset the stall clock)', async () => {
    const m = await faulty({
      kind: 'ping_stall',
      after_tokens: 2,
      duration_ms: 10_000,
      ping_interval_ms: 20,
    });
    const r = await run(m.url, { streams: 3, concurrency: 3, timeouts: { stall_ms: 250 } });
    expect(outcomes(r)).toEqual({ stalled: 3 });
    expect(r.errors[0]).toMatchObject({ outcome: 'stalled', count: 3 });
    // Two tokens each arrived before the stall.
    expect(r.tokens.output_total).toBe(6);
    expect(m.mock.stats.faults.ping_stall).toBe(3);
    // The mock sent pings during the stall (1 ping after content_block_start + every 20 ms).
    expect(m.mock.stats.events).toBeGreaterThan(3 * (3 + 2 + 1) + 3);
    expect(m.mock.stats.clientAborts).toBe(3);
    await expectNoConnections(m);
  });

  it('a ping stall shorter than stall_ms is only a gap: the streams complete', async () => {
    const m = await faulty({ kind: 'ping_stall', after_tokens: 2, duration_ms: 150, ping_interval_ms: 20 });
    const r = await run(m.url, { streams: 2, timeouts: { stall_ms: 2000 } });
    expect(outcomes(r)).toEqual({ completed: 2 });
    expect(r.metrics.itl_ms!.max).toBeGreaterThanOrEqual(150);
    await expectNoConnections(m);
  });

  it('protocol_error: a 200 that is not text/event-stream', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"type":"message","content":[]}');
    });
    const r = await run(`${t.url}/v1/messages`, { streams: 3 });
    expect(outcomes(r)).toEqual({ protocol_error: 3 });
    expect(r.errors[0]).toMatchObject({ outcome: 'protocol_error', type: 'E_PROTOCOL_MALFORMED', count: 3 });
    expect(r.errors[0]!.message).toContain('application/json');
    await expectNoConnections(t);
  });

  it('protocol_error: malformed JSON in an event', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start", oops\n\n');
    });
    const r = await run(`${t.url}/v1/messages`, { streams: 2 });
    expect(outcomes(r)).toEqual({ protocol_error: 2 });
    await expectNoConnections(t);
  });

  it('stream_error: an in-band error event', async () => {
    const m = await faulty({ kind: 'inband_error', after_tokens: 3, error_type: 'overloaded_error' });
    const r = await run(m.url, { streams: 4 });
    expect(outcomes(r)).toEqual({ stream_error: 4 });
    expect(r.errors[0]).toMatchObject({ outcome: 'stream_error', type: 'overloaded_error', count: 4 });
    expect(r.metrics.ttft_ms!.count).toBe(4);
    expect(r.metrics.e2e_ms!.count).toBe(0);
    await expectNoConnections(m);
  });

  it.each([
    ['truncate', { kind: 'truncate', after_tokens: 3 }],
    ['reset', { kind: 'reset', after_tokens: 3 }],
  ] as const)(
    'truncated: the server ends the stream without its terminal event (%s)',
    async (_name, fault) => {
      const m = await faulty(fault);
      const r = await run(m.url, { streams: 4 });
      expect(outcomes(r)).toEqual({ truncated: 4 });
      expect(r.errors[0]).toMatchObject({ outcome: 'truncated', count: 4 });
      expect(r.tokens.output_total).toBe(4 * 3);
      expect(m.mock.stats.faults[fault.kind]).toBe(4);
      await expectNoConnections(m);
    },
  );

  it('interrupted: streams still running when graceful_stop expires; not counted as errors', async () => {
    const m = await mockWith({ latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 50 } } });
    const start = performance.now();
    const r = await run(m.url, {
      max_tokens: 10_000, // 500 s of tokens: only the graceful stop ends these
      load: { type: 'closed', concurrency: 3, duration: '300ms', graceful_stop: '200ms' },
    });
    expect(outcomes(r)).toEqual({ interrupted: 3 });
    expect(r.rates.error_rate).toBe(0);
    expect(r.errors).toEqual([]);
    expect(r.aborted).toBe(false);
    // Ended by the graceful stop (300 + 200 ms), not by the streams (bounded generously).
    expect(performance.now() - start).toBeLessThan(5000);
    expect(m.mock.stats.clientAborts).toBe(3);
    await expectNoConnections(m);
  });

  it('an aborted run (SIGINT) interrupts the streams in flight and says so', async () => {
    const m = await mockWith({ latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 50 } } });
    const controller = new AbortController();
    const s = scenario({
      target: { url: m.url, protocol: 'anthropic' },
      request: { max_tokens: 10_000 },
      load: { type: 'closed', concurrency: 2, duration: '1m' },
    });
    // Abort once both streams have their first token (no timer: driven by the mock's own count).
    const running = runScenario({ scenario: s, signal: controller.signal });
    await within(
      'two streams to start',
      new Promise<void>((resolve) => {
        const check = () => (m.mock.stats.tokens >= 2 ? resolve() : setImmediate(check));
        check();
      }),
    );
    controller.abort();
    const r = await within('the aborted run to end', running);
    expectOneOutcomeEach(r);
    expect(outcomes(r)).toEqual({ interrupted: 2 });
    expect(r.aborted).toBe(true);
    expect(r.abort_reason).toMatch(/interrupted/);
    await expectNoConnections(m);
  });

  it('a mix of faults: every stream exactly one outcome, each count what the mock injected', async () => {
    const m = await mockWith({
      seed: 11,
      latency: { ttft_base_ms: 2, itl_ms: { type: 'fixed', mean: 1 } },
      faults: [
        { kind: 'http_error', status: 529, probability: 0.1 },
        { kind: 'inband_error', after_tokens: [1, 4], probability: 0.1 },
        { kind: 'truncate', after_tokens: 2, probability: 0.1 },
        { kind: 'reset', after_tokens: [0, 5], probability: 0.1 },
      ],
    });
    const r = await run(m.url, { streams: 200, concurrency: 20 });
    const f = m.mock.stats.faults;
    expect(f.http_error + f.inband_error + f.truncate + f.reset).toBeGreaterThan(40);
    expect(r.streams.by_outcome).toMatchObject({
      http_error: f.http_error,
      stream_error: f.inband_error,
      truncated: f.truncate + f.reset,
      completed: 200 - f.http_error - f.inband_error - f.truncate - f.reset,
      connection_error: 0,
      protocol_error: 0,
    });
    expect(m.mock.stats.requests).toBe(200);
    await expectNoConnections(m);
  });
});
