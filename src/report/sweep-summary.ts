// The sweep's capacity table and answer, for the terminal (and, through the same rows, Markdown).
// Pure: a function of the sweep result; golden tests pin the text.
import type { SweepResult, SweepStep } from '../sweep/sweep.js';
import { fmtFixed, fmtMs, fmtPercent, paint, table } from './format.js';

export const SWEEP_HEADER = [
  'step',
  'load',
  'streams/s',
  'tokens/s',
  'ttft p50',
  'ttft p95',
  'ttft p99',
  'itl p95',
  'complete',
  'goodput',
  'client',
  'verdict',
] as const;

export function fmtLoad(s: SweepResult, load: number): string {
  return s.load.parameter === 'concurrency' ? String(load) : `${fmtFixed(load, load < 10 ? 2 : 1)}/s`;
}

function verdictText(st: SweepStep): string {
  if (st.verdict === 'client_bound') return 'client-bound';
  const failed = st.slos.filter((x) => !x.ok).map((x) => x.slo);
  return st.verdict === 'pass' ? 'pass' : `fail: ${failed.join(', ')}`;
}

/** One row per step, in load order (the order run is in the JSON). */
export function sweepRows(s: SweepResult): string[][] {
  return s.steps
    .map((st, i) => ({ st, i }))
    .sort((a, b) => a.st.load - b.st.load || a.i - b.i)
    .map(({ st, i }) => [
      String(i + 1) + (st.runs > 1 ? ` (×${st.runs})` : ''),
      fmtLoad(s, st.load),
      fmtFixed(st.streams_per_s, 1),
      fmtFixed(st.tokens_per_s, 0),
      fmtMs(st.ttft_ms.p50),
      fmtMs(st.ttft_ms.p95),
      fmtMs(st.ttft_ms.p99),
      fmtMs(st.itl_p95_ms),
      fmtPercent(st.completion_rate),
      fmtPercent(st.goodput_rate),
      st.client.client_bound ? `BOUND (ELU ${Math.round(st.client.event_loop_utilization * 100)}%)` : 'ok',
      verdictText(st),
    ]);
}

/** "max 8 concurrent streams at p95 TTFT 52.1 ms", or why there is none. */
export function sweepAnswer(s: SweepResult): string {
  const a = s.answer;
  if (a === null) return `no ${s.load.parameter} met every SLO (${s.slos.join(', ')})`;
  const what =
    s.load.parameter === 'concurrency'
      ? `${a.load} concurrent streams`
      : `${fmtLoad(s, a.load)} arrival rate`;
  return `max ${what} at p95 TTFT ${fmtMs(a.ttft_p95_ms)} ms (${fmtFixed(a.streams_per_s, 1)} streams/s) within ${s.slos.join(', ')}`;
}

export function sweepKnee(s: SweepResult): string {
  const k = s.knee;
  if (k === null) return 'not reached: throughput still grew with load at the highest step';
  return `${s.load.parameter} ≈ ${fmtFixed(k.load, 1)} (throughput plateau ${fmtFixed(k.streams_per_s, 1)} streams/s)`;
}

export function formatSweepSummary(s: SweepResult, opts: { color: boolean }): string {
  const p = paint(opts.color);
  const out = [
    p.bold(`tokenstorm sweep · ${s.scenario.name}`),
    `${p.bold('load'.padEnd(12))}${s.load.model} model: ${s.load.parameter} from ${fmtLoad(s, s.load.start)}, ×${s.load.factor} per step, then bisection (resolution ${Math.round(s.load.precision * 100)}%)`,
    `${p.bold('slos'.padEnd(12))}${s.slos.join(' · ')}`,
    '',
    ...table(
      [[...SWEEP_HEADER], ...sweepRows(s)],
      ['right', 'right', ...Array<'right'>(8).fill('right'), 'left', 'left'],
      (text, row, col) => {
        if (row === 0) return p.bold(text);
        if (col === 11)
          return text === 'pass' ? p.green(text) : text === 'client-bound' ? p.yellow(text) : p.red(text);
        if (col === 10 && text !== 'ok') return p.yellow(text);
        return text;
      },
    ),
    '',
    `${p.bold('capacity'.padEnd(12))}${s.answer === null ? p.red(sweepAnswer(s)) : p.green(sweepAnswer(s))}`,
    `${p.bold('knee'.padEnd(12))}${sweepKnee(s)}`,
    `${p.bold('stopped'.padEnd(12))}${s.stop_message}`,
  ];
  if (s.min_load !== null)
    out.push(
      `${p.bold('min load'.padEnd(12))}${s.ok ? p.green(`met (${s.min_load})`) : p.red(`NOT met: capacity below ${s.min_load}`)}`,
    );
  if (s.steps.some((st) => st.client.client_bound))
    out.push(
      '',
      p.yellow(
        '! a step was client-bound: the runner, not the service, was the limit there; that step is not counted as capacity (use --workers N)',
      ),
    );
  return `${out.join('\n')}\n`;
}
