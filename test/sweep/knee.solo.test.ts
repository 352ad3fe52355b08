// Acceptance: against the mock's capacity model, `sweep` finds the knee within 10 % of the
// capacity the model states analytically (capacityEstimate, docs/mock.md). Closed model: the
// knee is the number of decode slots. Small scale so it fits a 2-core machine: 8 slots, a request
// holds one for 50 ms TTFT + 4 × 10 ms ITL (uniform 5–15 ms, so completions do not march in
// lockstep), 3 s steps. Solo: timing-sensitive, it runs alone after the main suite.
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capacityEstimate, parseMockConfig } from '../../src/mock/config.js';
import { runScenario } from '../../src/runner/run.js';
import type { ParsedThreshold } from '../../src/stats/thresholds.js';
import { parseSlo } from '../../src/sweep/slo.js';
import { runSweep } from '../../src/sweep/sweep.js';
import { scenario } from '../helpers/runner.js';

const MOCK = {
  latency: { ttft_base_ms: 50, itl_ms: { type: 'uniform', min: 5, max: 15 } },
  capacity: { slots: 8 },
};
const TOKENS = 5;

describe('sweep against the mock capacity model', () => {
  it('finds the concurrency knee within 10 % of the analytical capacity (slots)', async () => {
    const cap = capacityEstimate(parseMockConfig(MOCK), { inputTokens: 0, outputTokens: TOKENS });
    expect(cap.slots).toBe(8);
    expect(cap.holdMs).toBe(90);
    const s = scenario({
      target: { embedded: true, direct: true, protocol: 'anthropic', mock: MOCK },
      request: { max_tokens: TOKENS },
      load: { type: 'closed', concurrency: 1, duration: '3s', graceful_stop: '5s' },
    });
    const slos = ['ttft_ms p(95)<75', 'completion_rate>0.99'].map((t) => parseSlo(t) as ParsedThreshold);
    const started = performance.now();
    const result = await runSweep({
      scenario: s,
      slos,
      plan: { start: 1, factor: 2, max: 64, precision: 0.05 },
      repeats: 0,
      runStep: (sc) => runScenario({ scenario: sc }),
    });
    const elapsedS = (performance.now() - started) / 1000;
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/sweep-knee.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `sweep: ${result.steps.length} steps in ${elapsedS.toFixed(1)} s; knee ${result.knee?.load.toFixed(2)} (analytical ${cap.slots}), plateau ${result.knee?.streams_per_s.toFixed(1)} streams/s (analytical ${cap.maxStreamsPerSec.toFixed(1)}); answer ${result.answer?.load}`,
    );
    expect(result.steps.every((st) => !st.client.client_bound)).toBe(true);
    expect(result.knee).not.toBeNull();
    expect(Math.abs(result.knee!.load - cap.slots) / cap.slots).toBeLessThanOrEqual(0.1);
    // The plateau is the analytical throughput, less the client's turnaround between streams.
    expect(
      Math.abs(result.knee!.streams_per_s - cap.maxStreamsPerSec) / cap.maxStreamsPerSec,
    ).toBeLessThanOrEqual(0.1);
    // It stepped past the knee (to see the plateau) and stopped there: saturation, not --max.
    expect(Math.max(...result.steps.map((st) => st.load))).toBeLessThanOrEqual(32);
    // The SLO answer lies at or below the knee: past it every extra stream only queues.
    expect(result.answer).not.toBeNull();
    expect(result.answer!.load).toBeGreaterThanOrEqual(6);
    expect(result.answer!.load).toBeLessThanOrEqual(cap.slots);
    expect(result.ok).toBe(true);
  }, 120_000);
});
