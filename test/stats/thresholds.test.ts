import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newHistogram, recordScaled } from '../../src/stats/histogram.js';
import type { RunResult } from '../../src/stats/result.js';
import {
  compileThresholds,
  evaluateThresholds,
  histogramView,
  type ParsedThreshold,
  parseThreshold,
  shouldAbort,
  type ThresholdSource,
  thresholdSourceFromResult,
} from '../../src/stats/thresholds.js';

function parsed(metric: string, expr: string): ParsedThreshold {
  const r = parseThreshold(metric, expr);
  if (typeof r === 'string') throw new Error(`expected ${expr} to parse: ${r}`);
  return r;
}

function problem(metric: string, expr: string): string {
  const r = parseThreshold(metric, expr);
  if (typeof r !== 'string') throw new Error(`expected ${expr} to be rejected`);
  return r;
}

const loadResult = (name: string): RunResult =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}.json`, import.meta.url), 'utf8')) as RunResult;

describe('parseThreshold', () => {
  it('parses every histogram aggregation', () => {
    expect(parsed('ttft_ms', 'p(95)<500').aggregation).toEqual({ method: 'p', p: 95 });
    expect(parsed('ttft_ms', 'p(99.9)<500').aggregation).toEqual({ method: 'p', p: 99.9 });
    expect(parsed('ttft_ms', 'p(100)<500').aggregation).toEqual({ method: 'p', p: 100 });
    for (const m of ['avg', 'min', 'max', 'med', 'count'] as const)
      expect(parsed('itl_ms', `${m}<5`).aggregation).toEqual({ method: m });
  });

  it('parses rate on rates and count/rate on counters', () => {
    expect(parsed('completion_rate', 'rate>0.99')).toMatchObject({
      kind: 'rate',
      aggregation: { method: 'rate' },
    });
    expect(parsed('http_error_streams', 'count==0')).toMatchObject({ kind: 'counter', value: 0 });
    expect(parsed('output_tokens_total', 'rate>1000')).toMatchObject({
      kind: 'counter',
      aggregation: { method: 'rate' },
    });
  });

  it('parses every operator, longest first, with optional spaces', () => {
    for (const op of ['<', '<=', '>', '>=', '==', '===', '!='] as const) {
      expect(parsed('ttft_ms', `p(95)${op}500`).op).toBe(op);
      const spaced = parsed('ttft_ms', `  p( 95 ) ${op}  500 `);
      expect(spaced).toMatchObject({ op, value: 500, aggregation: { method: 'p', p: 95 } });
    }
    expect(parsed('ttft_ms', 'avg<=1.5e3').value).toBe(1500);
    expect(parsed('ttft_ms', 'avg<.5').value).toBe(0.5);
    expect(parsed('ttft_ms', 'p(95)<500').expression).toBe('p(95)<500');
  });

  it('explains unknown metrics and suggests near names', () => {
    const msg = problem('ttft', 'p(95)<500');
    expect(msg).toMatch(
      /^unknown metric "ttft" — did you mean ttft_ms or ttft_service_ms or ttft_thinking_ms\? known: ttft_ms, /,
    );
    expect(msg).toContain('completion_rate');
    expect(msg).toContain('http_error_streams');
    expect(problem('latency', 'p(95)<500')).not.toContain('did you mean');
  });

  it('explains a missing number, operator or aggregation', () => {
    expect(problem('ttft_ms', 'p(95)<')).toBe('"p(95)<" has no number after the operator');
    expect(problem('ttft_ms', 'p(95)<=  ')).toBe('"p(95)<=" has no number after the operator');
    expect(problem('ttft_ms', 'p(95) 500')).toMatch(/has no comparison operator; write e\.g\. "p\(95\)<500"/);
    expect(problem('ttft_ms', 'p(95)=500')).toMatch(/no comparison operator/);
    expect(problem('completion_rate', '<0.5')).toBe(
      '"<0.5" has no aggregation before "<"; write e.g. "rate>0.99"',
    );
    expect(problem('ttft_ms', 'p(95)<500ms')).toBe('"500ms" in "p(95)<500ms" is not a number');
  });

  it('rejects percentiles outside (0, 100]', () => {
    for (const p of ['0', '101', '-5', 'x', ''])
      expect(problem('ttft_ms', `p(${p})<500`)).toMatch(
        /needs a percentile above 0 and at most 100, e\.g\. p\(95\)/,
      );
  });

  it('explains unknown aggregations and ones the metric kind does not have', () => {
    expect(problem('ttft_ms', 'p95<500')).toBe(
      'unknown aggregation "p95" in "p95<500"; ttft_ms is a histogram: use p(N), avg, min, max, med or count',
    );
    expect(problem('completion_rate', 'avg<0.5')).toBe(
      'avg is not available on completion_rate (a rate: use rate)',
    );
    expect(problem('completion_rate', 'p(95)<0.5')).toBe(
      'p(N) is not available on completion_rate (a rate: use rate)',
    );
    expect(problem('ttft_ms', 'rate<5')).toMatch(/^rate is not available on ttft_ms \(a histogram: /);
    expect(problem('streams', 'p(50)<5')).toBe(
      'p(N) is not available on streams (a counter: use count, or rate for per second)',
    );
  });
});

/**
 * A source over hand-made values: ttft_ms 1..100 (scale 1, so every value has its own HDR bucket
 * and percentiles are exact), some rates and counters.
 */
function source(): ThresholdSource {
  const h = newHistogram();
  for (let i = 1; i <= 100; i++) recordScaled(h, i, 1);
  const empty = newHistogram();
  return {
    measuredSeconds: 10,
    histogram: (n) =>
      n === 'ttft_ms' ? histogramView(h, 1) : n === 'itl_ms' ? histogramView(empty, 1000) : undefined,
    rate: (n) => (n === 'completion_rate' ? 0.98 : undefined),
    counter: (n) => ({ streams: 100, http_error_streams: 0, output_tokens_total: 5000 })[n as 'streams'],
  };
}

describe('evaluateThresholds', () => {
  it('computes each aggregation and compares with each operator', () => {
    const results = evaluateThresholds(source(), {
      ttft_ms: [
        'p(95)<96',
        'p(95)<95',
        'med==50',
        'avg>50',
        'min>=1',
        'max<=100',
        'count===100',
        'p(99.5)!=100',
      ],
      completion_rate: ['rate>0.99', 'rate>=0.98'],
      http_error_streams: ['count==0'],
      output_tokens_total: ['rate>499', 'rate>500'],
    });
    expect(results.map((r) => [r.expression, r.ok])).toEqual([
      ['p(95)<96', true],
      ['p(95)<95', false],
      ['med==50', true],
      ['avg>50', true],
      ['min>=1', true],
      ['max<=100', true],
      ['count===100', true],
      ['p(99.5)!=100', false],
      ['rate>0.99', false],
      ['rate>=0.98', true],
      ['count==0', true],
      ['rate>499', true],
      ['rate>500', false],
    ]);
    expect(results[0]).toEqual({
      metric: 'ttft_ms',
      expression: 'p(95)<96',
      actual: 95,
      ok: true,
      abort_on_fail: false,
    });
    expect(results[3]!.actual).toBeCloseTo(50.5, 1);
    expect(results[11]!.actual).toBe(500);
  });

  it('fails a histogram or rate with no data, with actual null; a zero counter is data', () => {
    const results = evaluateThresholds(source(), {
      itl_ms: ['p(95)<1000'],
      goodput_rate: ['rate>=0'],
      http_error_streams: ['count<1'],
    });
    expect(results.map((r) => [r.actual, r.ok])).toEqual([
      [null, false],
      [null, false],
      [0, true],
    ]);
  });

  it('counter rates with no measured time have no data', () => {
    const src = { ...source(), measuredSeconds: 0 };
    expect(evaluateThresholds(src, { streams: ['rate>0'] })[0]).toMatchObject({ actual: null, ok: false });
  });

  it('carries abort_on_fail', () => {
    const r = evaluateThresholds(source(), {
      ttft_ms: [{ threshold: 'p(95)<10', abortOnFail: true, delayAbortEval: 0 }, 'p(95)<10'],
    });
    expect(r.map((x) => x.abort_on_fail)).toEqual([true, false]);
  });

  it('reads any percentile from a result file, not only the summary ones', () => {
    const result = loadResult('errors');
    const src = thresholdSourceFromResult(result);
    const [p95, p75, rate, drop, http, streams, tokRate] = evaluateThresholds(src, {
      ttft_ms: ['p(95)<1', 'p(75)<1'],
      completion_rate: ['rate>0'],
      drop_rate: ['rate<1'],
      http_error_streams: ['count>0'],
      streams: ['count>0'],
      output_tokens_total: ['rate>0'],
    });
    expect(p95!.actual).toBe(result.metrics.ttft_ms.p95);
    expect(p75!.actual).toBeGreaterThan(result.metrics.ttft_ms.p50);
    expect(p75!.actual).toBeLessThan(result.metrics.ttft_ms.p90);
    expect(rate!.actual).toBe(result.rates.completion_rate);
    expect(drop!.actual).toBe(result.rates.drop_rate);
    expect(http!.actual).toBe(60);
    expect(streams!.actual).toBe(result.streams.measured);
    expect(tokRate!.actual).toBeCloseTo(result.tokens.output_total / result.measured_s, 9);
  });

  it('a result with no streams has no data for rates and histograms', () => {
    const src = thresholdSourceFromResult(loadResult('empty'));
    const [ttft, completion, drop, streams] = evaluateThresholds(src, {
      ttft_ms: ['p(95)<500'],
      completion_rate: ['rate>0.99'],
      drop_rate: ['rate<0.01'],
      streams: ['count==0'],
    });
    expect([ttft!.actual, completion!.actual, drop!.actual, streams!.actual]).toEqual([null, null, null, 0]);
    expect(streams!.ok).toBe(true);
  });

  it('compileThresholds rejects what the validator would', () => {
    expect(() => compileThresholds({ ttft: ['p(95)<1'] })).toThrow(/unknown metric "ttft"/);
  });
});

describe('shouldAbort', () => {
  const specs = compileThresholds({
    ttft_ms: [{ threshold: 'p(95)<10', abortOnFail: true, delayAbortEval: 5000 }, 'p(50)<1'],
    completion_rate: [{ threshold: 'rate>0.5', abortOnFail: true }],
    itl_ms: [{ threshold: 'p(95)<1', abortOnFail: true }],
  });

  it('waits for delayAbortEval, then reports failing abortOnFail thresholds only', () => {
    expect(shouldAbort(source(), specs, 4999)).toEqual([]);
    expect(shouldAbort(source(), specs, 5000)).toEqual([
      { metric: 'ttft_ms', expression: 'p(95)<10', actual: 95, ok: false, abort_on_fail: true },
    ]);
  });

  it('never aborts on a metric with no data yet (itl_ms is empty in the source)', () => {
    const r = shouldAbort(source(), specs, 60_000);
    expect(r.map((x) => x.metric)).toEqual(['ttft_ms']);
  });

  it('accepts the scenario section directly', () => {
    const r = shouldAbort(source(), { completion_rate: [{ threshold: 'rate>0.99', abortOnFail: true }] }, 0);
    expect(r).toHaveLength(1);
  });
});
