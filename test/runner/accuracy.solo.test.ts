// Accuracy at scale: 1,000 concurrent streams against the mock, whose schedule is the ground truth
// (docs/mock.md: fixed TTFT 200 ms, fixed ITL 20 ms, token times on an absolute schedule, never
// early). The mock runs in its own process (the built CLI) so it does not share the runner's event
// loop; its own lateness against that schedule comes from GET /mock/stats.
//
// What the runner is checked against, and why:
// - ITL: every gap between content events should be the configured 20 ms; the mock's lateness
//   shifts neighbouring tokens alike, so the median gap is within 1 ms of 20 ms.
// - TTFT: the mock starts its 200 ms clock when it has read the request, in the same tick in which
//   it writes the response headers and message_start (src/mock/engine.ts, admit → takeSlot). So
//   the first token 200 ms after the headers, as the runner timestamps both, is the mock's TTFT
//   seen through the runner's clock: its median is within 2 ms of 200 ms plus the mock's own
//   median lateness. ttft_ms itself also holds the time before the mock's clock started — the
//   runner's dispatch, the request on the wire, and the mock process getting round to reading it
//   while it writes 50,000 tokens a second — which is real latency a user would see; the runner
//   reports it (schedule_lag_ms, headers_ms) rather than the mock. It is never below 200 ms.
// - Counts: with seeded fault probabilities, the outcomes equal what the mock says it injected.
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamEnd } from '../../src/runner/recorder.js';
import { runScenario } from '../../src/runner/run.js';
import type { Scenario } from '../../src/scenario/schema.js';
import type { RunResult } from '../../src/stats/result.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import {
  expectOneOutcomeEach,
  type MockProcess,
  runLocal,
  scenario,
  startMockProcess,
} from '../helpers/runner.js';
import { within } from '../helpers/server.js';

const cli = useCli();
const TTFT_MS = 200;
const ITL_MS = 20;
const USERS = 1000;
/** The mock's median lateness against its own schedule up to which it is a usable ground truth. */
const MOCK_ON_TIME_MS = 5;

beforeAll(() => {
  assertBuilt(['src/cli', 'src/mock', 'src/config', 'src/errors.ts', 'src/random.ts']);
});

function startMock(): Promise<MockProcess> {
  return startMockProcess(cli, [
    '--ttft-ms',
    String(TTFT_MS),
    '--itl-ms',
    String(ITL_MS),
    '--slots',
    '5000', // no queueing: TTFT is the configured value for every stream
    '--seed',
    '3',
    '--fault',
    'inband_error;after_tokens=5;probability=0.03',
    '--fault',
    'truncate;after_tokens=8;probability=0.02',
  ]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs on this thread, keeping every measured stream's timestamps. */
async function runKeepingStreams(s: Scenario): Promise<{ result: RunResult; ends: StreamEnd[] }> {
  const ends: StreamEnd[] = [];
  const result = await runLocal(s, (e) => {
    if (!e.warmup) ends.push(e);
  });
  return { result, ends };
}

describe(`${USERS} concurrent streams against the mock`, () => {
  it('TTFT and ITL as the mock scheduled them; exact outcome counts with seeded faults', async () => {
    const mock = await startMock();

    // 1. Accuracy. Faults off for these requests (x-tokenstorm-fault: none overrides the profile).
    //    A think time of 0–40 ms spreads the users' phases: started together and kept in lockstep,
    //    1,000 requests would reach the mock in the same millisecond every cycle and their tokens
    //    fall due in the same wheel tick, which measures the mock's burst handling, not the runner.
    //    The first 2 s (the 1,000-connection storm, JIT) are warm-up.
    const acc = scenario({
      target: {
        url: `${mock.url}/v1/messages`,
        protocol: 'anthropic',
        headers: { 'x-tokenstorm-fault': 'none' },
      },
      request: { max_tokens: 20 },
      load: {
        type: 'closed',
        concurrency: USERS,
        think_time_ms: { type: 'uniform', min: 0, max: 40 },
        duration: '4500ms',
        warmup: '2s',
        graceful_stop: '20s',
      },
    });
    // The mock is the ground truth only while it keeps its own schedule. On a shared 2-core machine
    // another busy process can starve it (its lateness then runs to tens of ms and tokens due 20 ms
    // apart leave in one write): such a run says nothing about the runner, so it is repeated, at
    // most twice. A mock that never keeps up fails the test, saying so.
    let attempt = 0;
    let run: { result: RunResult; ends: StreamEnd[] };
    let st: Awaited<ReturnType<MockProcess['stats']>>;
    for (;;) {
      attempt++;
      await mock.resetStats();
      run = await runKeepingStreams(acc);
      st = await mock.stats();
      if (st.lateness_ms.p50 <= MOCK_ON_TIME_MS || attempt === 3) break;
      console.warn(
        `accuracy attempt ${attempt}: the mock was late (p50 ${st.lateness_ms.p50} ms); repeating`,
      );
    }
    expect(
      st.lateness_ms.p50,
      `the mock kept its schedule (lateness p50 ${st.lateness_ms.p50} ms in ${attempt} attempts): the machine is too busy to measure the runner`,
    ).toBeLessThanOrEqual(MOCK_ON_TIME_MS);
    const { result: r, ends } = run;
    expectOneOutcomeEach(r);
    expect(r.streams.by_outcome.completed).toBe(r.streams.measured);
    expect(r.streams.measured).toBeGreaterThan(USERS);
    expect(ends).toHaveLength(r.streams.measured);
    expect(r.metrics.itl_ms!.count).toBe(r.streams.measured * 19);

    const ttft = r.metrics.ttft_ms!;
    const itl = r.metrics.itl_ms!;
    const lateness = st.lateness_ms.p50;
    const mockTtft = median(ends.map((e) => e.firstTokenAt - e.headersAt));
    const report = `ttft_ms p50 ${ttft.p50} (first token − headers p50 ${mockTtft.toFixed(3)}), itl_ms p50 ${itl.p50}, mock lateness p50 ${lateness}, headers_ms p50 ${r.metrics.headers_ms!.p50}, runner ${JSON.stringify(r.runner.event_loop_delay_ms)}`;
    // ITL: median gap within 1 ms of the configured 20 ms.
    expect(Math.abs(itl.p50 - ITL_MS), report).toBeLessThanOrEqual(1);
    // TTFT as the mock scheduled it, through the runner's clock: within 2 ms (+ the mock's own lateness).
    expect(mockTtft - TTFT_MS, report).toBeGreaterThanOrEqual(-2);
    expect(mockTtft - TTFT_MS, report).toBeLessThanOrEqual(2 + lateness);
    // Nothing arrives early: no TTFT, from the intended start or from the request, is more than 2 ms
    // (the accuracy the issue asks for) below 200 ms. min is the HDR bucket's lowest equivalent (up
    // to 128 µs under the truth here). In some runs a few of ~4,000 streams read 0.3–1.7 ms under
    // 200 ms, for a cause not yet found (both clocks are CLOCK_MONOTONIC; the mock's wheel never
    // fires early): an open question, recorded in the issue note. Streams started before their
    // intended time (the early-timer bug) would read up to a whole think time under.
    expect(ttft.min, report).toBeGreaterThanOrEqual(TTFT_MS - 2);
    expect(r.metrics.ttft_service_ms!.min, report).toBeGreaterThanOrEqual(TTFT_MS - 2);
    // The result's histogram is these streams: its median is theirs (HDR: within 0.1 %).
    const ttftMedian = median(ends.map((e) => e.firstTokenAt - e.intendedAt));
    expect(Math.abs(ttft.p50 - ttftMedian)).toBeLessThanOrEqual(ttftMedian * 0.001 + 0.01);
    // ttft_ms p50 is the configured TTFT plus what happened before the mock's clock started.
    const before = median(ends.map((e) => e.headersAt - e.intendedAt));
    expect(ttft.p50 - TTFT_MS, report).toBeGreaterThanOrEqual(-2);
    expect(ttft.p50 - TTFT_MS - before, report).toBeLessThanOrEqual(2 + lateness);

    // 2. Exact counts: N streams with the profile's seeded faults; each stream one outcome, each
    //    count what the mock injected.
    await mock.resetStats();
    const N = 2000;
    const counted = scenario({
      target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
      request: { max_tokens: 20 },
      load: { type: 'closed', concurrency: USERS, streams: N, duration: '60s', graceful_stop: '20s' },
    });
    const c = await within('the counted run', runScenario({ scenario: counted }), 60_000);
    const cs = await mock.stats();
    expectOneOutcomeEach(c);
    const o = c.streams.by_outcome;
    expect(c.streams.started).toBe(N);
    expect(c.streams.measured).toBe(N);
    expect(cs.streams_started).toBe(N);
    expect(cs.faults.inband_error).toBeGreaterThan(20);
    expect(cs.faults.truncate).toBeGreaterThan(10);
    expect(o.stream_error).toBe(cs.faults.inband_error);
    expect(o.truncated).toBe(cs.faults.truncate);
    expect(o.completed).toBe(cs.completed);
    expect(o.completed + o.stream_error + o.truncated).toBe(N);
    expect(c.errors.find((e) => e.outcome === 'stream_error')).toMatchObject({
      type: 'overloaded_error',
      count: cs.faults.inband_error,
    });
    // Tokens: 20 per completed stream, 5 per in-band error, 8 per truncation (counted: no final usage).
    expect(c.tokens.output_total).toBe(20 * o.completed + 5 * o.stream_error + 8 * o.truncated);

    expect(await mock.stop()).toBe(0);
  });
});
