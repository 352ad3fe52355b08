// Issue 5's acceptance run: scenarios/chaos-mixed.yaml (300 concurrent streams, every client and
// upstream fault kind, embedded reference server over the mock), shortened to fit the suite.
// Every injected fault must cause exactly the outcome it should, every completed, cancelled or
// resumed stream must arrive intact, and the server must hold nothing afterwards.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/runner/run.js';
import { CLIENT_FAULT_KINDS } from '../../src/scenario/chaos.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { OUTCOMES, type Outcome } from '../../src/stats/metrics.js';
import type { RunResult } from '../../src/stats/result.js';
import { expectOneOutcomeEach } from '../helpers/runner.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('chaos-mixed: 300 streams, every fault kind, embedded reference server', () => {
  let result: RunResult;
  let scenario: Scenario;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    const s = loadScenario(join(ROOT, 'scenarios', 'chaos-mixed.yaml'));
    // The shipped scenario runs 15 s; 6 s still gives every fault kind dozens of strikes.
    scenario = { ...s, load: { ...s.load, duration: 6000, warmup: 1000 } } as Scenario;
    result = await runScenario({ scenario, file: 'scenarios/chaos-mixed.yaml' });
  }, 120_000);

  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('holds 300 concurrent streams and injects every fault kind', () => {
    expect(scenario.load).toMatchObject({ type: 'closed', concurrency: 300 });
    expect(Math.max(...result.series.map((p) => p.active_streams))).toBeGreaterThanOrEqual(300);
    const keys = Object.keys(result.chaos.faults);
    for (const kind of CLIENT_FAULT_KINDS)
      expect(keys.some((k) => k.startsWith(`client.${kind}`))).toBe(true);
    for (const k of ['client.disconnect.resume', 'client.disconnect.retry', 'client.disconnect.none'])
      expect(result.chaos.faults[k]?.injected).toBeGreaterThan(0);
    for (const kind of ['http_error', 'inband_error', 'reset', 'truncate', 'ping_stall'])
      expect(result.chaos.faults[`upstream.${kind}`]?.injected).toBeGreaterThan(0);
  });

  it('every outcome count equals the seeded faults that cause it', () => {
    expectOneOutcomeEach(result);
    const c = result.chaos;
    const expected = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    for (const f of Object.values(c.faults))
      for (const [o, n] of Object.entries(f.expected)) expected[o as Outcome] += n ?? 0;
    expected.completed += c.unfaulted.streams;
    expect(result.streams.by_outcome).toEqual(expected);
    for (const [key, f] of Object.entries(c.faults))
      expect({ key, matched: f.matched }).toEqual({ key, matched: f.injected });
    expect(c.unexpected_outcomes).toBe(0);
    // The seeded draws, not chance, decide: the shares are near the configured probabilities.
    const resume = c.faults['client.disconnect.resume']!;
    const all = result.streams.measured;
    expect((resume.injected + resume.missed) / all).toBeGreaterThan(0.05);
    expect((resume.injected + resume.missed) / all).toBeLessThan(0.11);
  });

  it('every completed, cancelled and resumed stream arrived intact', () => {
    const c = result.chaos;
    expect(c.integrity.failed).toBe(0);
    const b = result.streams.by_outcome;
    // Every stream that got its `done` event had contiguous event ids and the text's sha256.
    expect(c.integrity.verified).toBe(b.completed + b.cancelled);
    expect(c.recovery.resume.streams).toBe(c.faults['client.disconnect.resume']!.injected);
    expect(c.recovery.resume.succeeded).toBe(c.recovery.resume.streams);
    expect(c.recovery.retry.succeeded).toBe(c.recovery.retry.streams);
    expect(result.metrics.resume_ms.count).toBe(c.recovery.resume.streams + c.recovery.retry.streams);
    // A cancel the server answered already_finished (the stream beat it) is a missed fault, not a cancel.
    expect(c.cancels.confirmed).toBe(c.faults['client.cancel']!.injected);
    expect(c.cancels.sent).toBe(c.faults['client.cancel']!.injected + c.faults['client.cancel']!.missed);
    expect(result.metrics.cancel_ms.count).toBe(b.cancelled);
    // The upstream stalls sent no content but the server's heartbeats (every 500 ms) kept coming.
    expect(c.stalls.detected).toBe(b.stalled);
    expect(c.stalls.with_keepalive).toBe(b.stalled);
  });

  it('the server holds nothing at the end, and counted what no client read', () => {
    const sv = result.chaos.server!;
    expect(sv.leak_check).toMatchObject({ ok: true, active_streams: 0, upstream_active: 0, error: null });
    expect(sv.unread_tokens).toBeGreaterThan(0);
    expect(sv.cancels).toBeGreaterThanOrEqual(result.chaos.cancels.confirmed);
    expect(sv.resumes).toBeGreaterThanOrEqual(result.chaos.recovery.resume.succeeded);
    expect(result.thresholds.find((t) => t.metric === 'leaks')).toMatchObject({ ok: true, actual: 0 });
    expect(result.thresholds_ok).toBe(true);
    expect(unhandled).toEqual([]);
  });
});
