// JUnit XML: well-formed, and the shape every CI reader accepts (testsuites > testsuite >
// testcase > failure|skipped, with matching tests/failures/skipped counts); a failed threshold or
// regression is a <failure>.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveChecks } from '../../src/compare/checks.js';
import { compareResults } from '../../src/compare/compare.js';
import { compareJunit, escapeXml, runJunit, sweepJunit } from '../../src/report/junit.js';
import type { RunResult } from '../../src/stats/result.js';
import type { SweepResult } from '../../src/sweep/sweep.js';
import { junitCases, parseXml } from '../helpers/junit.js';

const load = <T>(p: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8')) as T;

describe('JUnit XML', () => {
  it('run: one case per threshold, failed thresholds as failures with the actual value', () => {
    const r = load<RunResult>('results/errors.json');
    const cases = junitCases(runJunit(r));
    expect(cases.map((c) => c.name)).toEqual(r.thresholds.map((t) => `${t.metric} ${t.expression}`));
    expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual(
      r.thresholds.filter((t) => !t.ok).map((t) => `${t.metric} ${t.expression}`),
    );
    expect(cases.find((c) => c.name === 'ttft_ms p(95)<500')!.message).toMatch(/failed: actual 823/);
    expect(junitCases(runJunit(load<RunResult>('results/clean.json'))).every((c) => !c.failed)).toBe(true);
  });

  it('a "no data" threshold fails and says so', () => {
    const cases = junitCases(runJunit(load<RunResult>('results/empty.json')));
    expect(cases.find((c) => c.name === 'ttft_ms p(95)<500')).toMatchObject({
      failed: true,
      message: expect.stringMatching(/no data/),
    });
  });

  it('compare: one case per check; a regression is a failure', () => {
    const a = load<RunResult>('results/clean.json');
    const b = load<RunResult>('results/errors.json');
    const same = junitCases(compareJunit(compareResults(a, a, resolveChecks([]))));
    expect(same).toHaveLength(resolveChecks([]).length);
    expect(same.some((c) => c.failed)).toBe(false);
    const worse = junitCases(compareJunit(compareResults(a, b, resolveChecks([]))));
    expect(worse.find((c) => c.name === 'ttft_ms.p95 no regression')!.failed).toBe(true);
  });

  it('sweep: the answer and its SLOs as cases; --min-load not met is a failure', () => {
    const s = load<SweepResult>('sweep/knee.json');
    const cases = junitCases(sweepJunit(s));
    expect(cases[0]).toMatchObject({ name: 'a load met every SLO', failed: false });
    expect(cases.slice(1).map((c) => c.name)).toEqual(
      s.slos.map((x) => `${x} at concurrency ${s.answer!.load}`),
    );
    const strict = junitCases(sweepJunit({ ...s, min_load: 100, ok: false }));
    expect(strict.at(-1)).toMatchObject({ name: 'capacity at least 100 concurrent streams', failed: true });
  });

  it('escapes what XML needs escaped and drops control characters', () => {
    expect(escapeXml(`a<b>&"c'\u0001`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    // Escaped, the value survives a strict parser unchanged.
    expect(parseXml(`<a x="${escapeXml('<&>"')}"/>`).attrs['x']).toBe('<&>"');
  });
});
