// JUnit XML for CI systems (GitHub, GitLab, Jenkins, Azure all read it): one <testcase> per
// threshold, SLO or regression check, a <failure> for each that failed. The shape is the common
// denominator of the JUnit schemas in use (testsuites > testsuite > testcase > failure|skipped),
// with tests/failures/errors/skipped counts on both levels. Pure: a function of the result.
import type { Comparison } from '../compare/compare.js';
import type { RunResult } from '../stats/result.js';
import type { SweepResult } from '../sweep/sweep.js';

export interface JunitCase {
  name: string;
  classname: string;
  /** Seconds. */
  time?: number;
  failure?: { message: string; detail: string };
  skipped?: string;
}

export interface JunitSuite {
  name: string;
  time?: number;
  timestamp?: string;
  cases: JunitCase[];
}

export function escapeXml(s: string): string {
  const out = s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
  // XML 1.0 forbids control characters other than tab, LF and CR, even escaped.
  let clean = '';
  for (const ch of out) {
    const c = ch.charCodeAt(0);
    if (c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) clean += ch;
  }
  return clean;
}

const attr = (k: string, v: string | number): string => ` ${k}="${escapeXml(String(v))}"`;
const secs = (s: number | undefined): string => (s === undefined ? '' : attr('time', s.toFixed(3)));

export function formatJunit(name: string, suites: readonly JunitSuite[]): string {
  const count = (f: (c: JunitCase) => boolean) => suites.reduce((n, s) => n + s.cases.filter(f).length, 0);
  const total = count(() => true);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attr('name', name)}${attr('tests', total)}${attr(
      'failures',
      count((c) => c.failure !== undefined),
    )}${attr('errors', 0)}${attr(
      'skipped',
      count((c) => c.skipped !== undefined),
    )}${secs(suites.reduce((t, s) => t + (s.time ?? 0), 0))}>`,
  ];
  for (const s of suites) {
    const failures = s.cases.filter((c) => c.failure !== undefined).length;
    const skipped = s.cases.filter((c) => c.skipped !== undefined).length;
    out.push(
      `  <testsuite${attr('name', s.name)}${attr('tests', s.cases.length)}${attr('failures', failures)}${attr('errors', 0)}${attr('skipped', skipped)}${secs(s.time)}${s.timestamp ? attr('timestamp', s.timestamp) : ''}>`,
    );
    for (const c of s.cases) {
      const open = `    <testcase${attr('name', c.name)}${attr('classname', c.classname)}${secs(c.time)}`;
      if (c.failure !== undefined)
        out.push(
          `${open}>`,
          `      <failure${attr('message', c.failure.message)}${attr('type', 'AssertionError')}>${escapeXml(c.failure.detail)}</failure>`,
          '    </testcase>',
        );
      else if (c.skipped !== undefined)
        out.push(`${open}>`, `      <skipped${attr('message', c.skipped)}/>`, '    </testcase>');
      else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

const show = (v: number | null): string => (v === null ? 'no data' : String(Math.round(v * 10000) / 10000));

/** `run`: one case per threshold (none: one passing case saying so), plus client-bound as a case. */
export function runJunit(r: RunResult): string {
  const classname = `tokenstorm.run.${r.scenario.name}`;
  const cases: JunitCase[] = r.thresholds.map((t) => ({
    name: `${t.metric} ${t.expression}`,
    classname,
    ...(t.ok
      ? {}
      : {
          failure: {
            message: `${t.metric} ${t.expression} failed: actual ${show(t.actual)}`,
            detail: `threshold ${t.metric} ${t.expression}\nactual: ${show(t.actual)}${t.actual === null ? ' (no data fails)' : ''}\nscenario: ${r.scenario.name}`,
          },
        }),
  }));
  if (r.aborted)
    cases.push({
      name: 'run completed',
      classname,
      failure: { message: `aborted: ${r.abort_reason ?? 'unknown reason'}`, detail: r.abort_reason ?? '' },
    });
  const suite: JunitSuite = {
    name: `thresholds: ${r.scenario.name}`,
    time: r.duration_s,
    timestamp: r.started_at,
    cases,
  };
  return formatJunit(`tokenstorm run ${r.scenario.name}`, [suite]);
}

/** `compare`: one case per regression check. */
export function compareJunit(c: Comparison): string {
  const classname = `tokenstorm.compare.${c.current.scenario}`;
  const cases: JunitCase[] = c.checks.map((k) => ({
    name: `${k.name} no regression`,
    classname,
    ...(k.status === 'regressed'
      ? {
          failure: {
            message: `${k.name}: ${k.message}`,
            detail: `baseline ${show(k.baseline)} → current ${show(k.current)} ${k.unit}\n${k.message}`,
          },
        }
      : k.status === 'no_data' || k.status === 'too_few'
        ? { skipped: k.message }
        : {}),
  }));
  return formatJunit(`tokenstorm compare ${c.current.scenario}`, [
    { name: `regression: ${c.current.scenario}`, cases },
  ]);
}

/** `sweep`: one case per SLO at the answer's step, one for "a load met every SLO", one for --min-load. */
export function sweepJunit(s: SweepResult): string {
  const classname = `tokenstorm.sweep.${s.scenario.name}`;
  const cases: JunitCase[] = [];
  const answer = s.answer;
  cases.push({
    name: 'a load met every SLO',
    classname,
    ...(answer === null ? { failure: { message: 'no load met every SLO', detail: s.stop_message } } : {}),
  });
  if (answer !== null)
    for (const slo of s.steps[answer.step]!.slos)
      cases.push({ name: `${slo.slo} at ${s.load.parameter} ${answer.load}`, classname });
  if (s.min_load !== null)
    cases.push({
      name: `capacity at least ${s.min_load} ${s.load.unit}`,
      classname,
      ...(answer !== null && answer.load >= s.min_load
        ? {}
        : {
            failure: {
              message: `capacity ${answer?.load ?? 'none'} is below --min-load ${s.min_load}`,
              detail: s.stop_message,
            },
          }),
    });
  return formatJunit(`tokenstorm sweep ${s.scenario.name}`, [
    { name: `capacity: ${s.scenario.name}`, cases },
  ]);
}
