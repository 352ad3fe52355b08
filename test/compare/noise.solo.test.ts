// Acceptance for `compare`: two runs of the same unchanged scenario never flag a regression
// (20 seeded repeats, each a fresh pair of runs), and a mock slowed by 30 % (TTFT base and ITL
// × 1.3) is flagged on ttft_ms. Default checks and tolerances throughout. The mocks run in their
// own processes (as a real service would), started once, so every run is all measurement.
// Solo: it measures latency, so it runs alone after the main suite.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveChecks } from '../../src/compare/checks.js';
import { compareResults } from '../../src/compare/compare.js';
import { runScenario } from '../../src/runner/run.js';
import type { RunResult } from '../../src/stats/result.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { type MockProcess, scenario, startMockProcess } from '../helpers/runner.js';

const cli = useCli();
const TTFT_MS = 50;
const ITL_MS = 2;

beforeAll(() => assertBuilt());

/** A mock process for one test (useCli kills it after the test). */
function mock(slowdown = 1): Promise<MockProcess> {
  return startMockProcess(cli, [
    '--ttft-ms',
    String(TTFT_MS * slowdown),
    '--itl-ms',
    String(ITL_MS * slowdown),
  ]);
}

function run(mock: MockProcess, seed: number): Promise<RunResult> {
  return runScenario({
    scenario: scenario({
      seed,
      target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
      request: { max_tokens: 4 },
      // The first streams pay for connections and JIT: warm-up keeps them out of the comparison.
      load: { type: 'closed', concurrency: 16, duration: '1.2s', warmup: '0.2s', graceful_stop: '5s' },
    }),
  });
}

describe('compare: noise and a real regression', () => {
  it('20 of 20 seeded repeats of an unchanged scenario do not flag a regression', async () => {
    const checks = resolveChecks([]);
    const flagged: string[] = [];
    const worst: Record<string, number> = {};
    const tooFew = new Set<string>();
    const normal = await mock();
    const started = performance.now();
    for (let seed = 1; seed <= 20; seed++) {
      const a = await run(normal, seed);
      const b = await run(normal, seed);
      const c = compareResults(a, b, checks, { seed });
      for (const k of c.checks) {
        if (k.status === 'too_few') tooFew.add(k.name);
        if (k.status === 'regressed') flagged.push(`seed ${seed}: ${k.name} ${k.message}`);
        if (k.ci !== null && k.limit !== null)
          worst[k.name] = Math.max(worst[k.name] ?? -1, k.ci[0] / k.limit);
      }
    }
    console.log(
      `20 pairs in ${((performance.now() - started) / 1000).toFixed(1)} s; flagged ${flagged.length}; worst CI lower bound / tolerance per check: ${JSON.stringify(worst)}; not judged (too few values): ${[...tooFew].join(', ')}`,
    );
    expect(flagged).toEqual([]);
    // The checks that decide were judged: p50 and p95 of TTFT had enough values in every pair.
    // (worst: the largest lower CI bound / tolerance; below 1 is "not a regression".)
    expect(worst['ttft_ms.p50']).toBeLessThanOrEqual(1);
    expect(worst['ttft_ms.p95']).toBeLessThanOrEqual(1);
  }, 120_000);

  it('flags ttft_ms when the mock is 30 % slower', async () => {
    const base = await run(await mock(), 1);
    const slowed = await run(await mock(1.3), 1);
    const c = compareResults(base, slowed, resolveChecks([]), { seed: 1 });
    for (const k of c.checks.filter((x) => x.metric === 'ttft_ms'))
      console.log(`${k.name}: ${k.baseline} → ${k.current} ms, CI [${k.ci}], ${k.message}`);
    expect(c.regressed).toBe(true);
    const p50 = c.checks.find((k) => k.name === 'ttft_ms.p50')!;
    expect(p50.status).toBe('regressed');
    expect(p50.current! / p50.baseline!).toBeGreaterThan(1.2);
    // Completion did not change: the rate check stays quiet.
    expect(c.checks.find((k) => k.name === 'completion_rate')!.status).toBe('ok');
  }, 60_000);
});
