// The open model and coordinated omission (docs/results.md): arrivals are never delayed — one that
// finds max_concurrency streams in flight is dropped and counted — and TTFT is measured from the
// scheduled arrival, so a runner that starts streams late shows it in ttft_ms and schedule_lag_ms
// while ttft_service_ms (from the request being written) leaves it out.
// The mock runs in its own process (the built CLI), so blocking this thread's event loop delays the
// runner only.
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamEnd } from '../../src/runner/recorder.js';
import { runScenario } from '../../src/runner/run.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import {
  blockEventLoop,
  expectOneOutcomeEach,
  runLocal,
  scenario,
  startMockProcess,
} from '../helpers/runner.js';
import { within } from '../helpers/server.js';

const cli = useCli();

beforeAll(() => {
  assertBuilt(['src/cli', 'src/mock', 'src/config', 'src/errors.ts', 'src/random.ts']);
});

describe('open model', () => {
  it('arrivals beyond max_concurrency are dropped and counted, never queued; the mock queue is in both TTFTs', async () => {
    // 5 slots, each held ~105 ms (TTFT 100 ms + 1 × ITL 5 ms): the mock serves ~48 streams/s.
    const mock = await startMockProcess(cli, ['--slots', '5', '--ttft-ms', '100', '--itl-ms', '5']);
    const s = scenario({
      target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
      request: { max_tokens: 2 },
      // 100 arrivals/s for 1 s; at most 10 in flight (5 decoding, 5 queued at the mock).
      load: { type: 'open', rate: 100, arrival: 'constant', max_concurrency: 10, duration: '1s' },
    });
    const r = await within('the run', runScenario({ scenario: s }), 20_000);
    const st = await mock.stats();
    expectOneOutcomeEach(r);
    const { started, dropped_arrivals, arrivals } = r.streams;
    // A constant schedule over 1 s: exactly 100 arrivals, at 0, 10, …, 990 ms.
    expect(arrivals).toBe(100);
    expect(started + dropped_arrivals).toBe(arrivals);
    expect(dropped_arrivals).toBeGreaterThan(20);
    expect(started).toBeGreaterThanOrEqual(10);
    expect(r.rates.drop_rate).toBeCloseTo(dropped_arrivals / arrivals, 6);
    expect(r.streams.by_outcome.completed).toBe(started);
    // Dropped arrivals never reached the mock.
    expect(st.streams_started).toBe(started);
    // The mock queued requests; that wait is the server's, so the service-side TTFT includes it:
    // the stream that waited longest took at least that wait + 100 ms from its request.
    expect(st.queue_wait_ms.max).toBeGreaterThan(20);
    expect(r.metrics.ttft_service_ms!.max).toBeGreaterThanOrEqual((st.queue_wait_ms.max + 100) * 0.999);
    expect(r.metrics.ttft_ms!.p50).toBeGreaterThanOrEqual(r.metrics.ttft_service_ms!.p50);
    expect(r.metrics.ttft_ms!.min).toBeGreaterThanOrEqual(100);
    expect(await mock.stop()).toBe(0);
  });

  it('a runner that falls behind starts arrivals late: the lag is in ttft_ms and schedule_lag_ms, not in ttft_service_ms', async () => {
    const mock = await startMockProcess(cli, ['--ttft-ms', '10', '--itl-ms', '2']);
    const s = scenario({
      target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
      request: { max_tokens: 3 },
      // One arrival every 100 ms; a stream takes ~15 ms, so none is in flight between arrivals.
      load: { type: 'open', rate: 10, arrival: 'constant', duration: '1500ms' },
    });
    const BLOCK_MS = 400;
    const ends: StreamEnd[] = [];
    let blocked = 0;
    let blockTimer: NodeJS.Timeout | undefined;
    try {
      const r = await runLocal(
        s,
        (e) => {
          ends.push(e);
          // After the 4th stream, with nothing in flight, this thread stops for 400 ms: the
          // arrivals due meanwhile (~4) can only start when it is free again.
          if (ends.length === 4) blockTimer = setTimeout(() => (blocked = blockEventLoop(BLOCK_MS)), 0);
        },
        20_000,
      );
      expectOneOutcomeEach(r);
      expect(blocked).toBeGreaterThanOrEqual(BLOCK_MS);
      expect(r.streams.arrivals).toBe(15);
      expect(r.streams.by_outcome.completed).toBe(15);
      expect(ends).toHaveLength(15);

      const ttft = (e: StreamEnd) => e.firstTokenAt - e.intendedAt;
      const service = (e: StreamEnd) => e.firstTokenAt - e.sentAt;
      const lag = (e: StreamEnd) => e.startedAt - e.intendedAt;
      // The first arrival due after the block began waited nearly all of it.
      expect(Math.max(...ends.map(lag))).toBeGreaterThanOrEqual(BLOCK_MS - 100);
      expect(r.metrics.schedule_lag_ms!.max).toBeGreaterThanOrEqual(BLOCK_MS - 100);
      const late = ends.filter((e) => lag(e) >= 50);
      expect(late.length).toBeGreaterThanOrEqual(3);
      for (const e of late) {
        // ttft_ms includes the lag (from the scheduled arrival) …
        expect(ttft(e)).toBeGreaterThanOrEqual(lag(e) + 10);
        expect(ttft(e) - service(e)).toBeGreaterThanOrEqual(lag(e));
        // … ttft_service_ms does not: the request was written after the block.
        expect(service(e)).toBeLessThan(lag(e));
        expect(e.sentAt).toBeGreaterThanOrEqual(e.startedAt);
      }
      // The same in the result's histograms: the worst TTFT is a lagged stream's, far above any
      // service time the mock needed for it.
      expect(r.metrics.ttft_ms!.max).toBeGreaterThanOrEqual(BLOCK_MS - 100 + 10);
      const lateService = Math.max(...late.map(service));
      expect(r.metrics.ttft_ms!.max - lateService).toBeGreaterThanOrEqual(BLOCK_MS - 100);
    } finally {
      clearTimeout(blockTimer);
    }
    expect(await mock.stop()).toBe(0);
  });
});
