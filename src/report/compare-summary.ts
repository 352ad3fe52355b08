// `tokenstorm compare` for the terminal: every metric side by side with its change, then the
// regression checks with their confidence intervals and the verdict. Pure; golden-tested.
import type { CheckResult, CompareRow, Comparison } from '../compare/compare.js';
import { fmtFixed, fmtValue, paint, table } from './format.js';

function value(v: number | null, unit: string, metric: string): string {
  if (v === null) return '—';
  if (metric.endsWith('_rate')) return fmtFixed(v, 4);
  if (unit === 'streams') return fmtFixed(v, 0);
  if (unit === 'streams/s' || unit === 'tokens/s') return fmtFixed(v, 1);
  return fmtValue(v, unit);
}

function change(r: Pick<CompareRow, 'delta' | 'delta_ratio' | 'unit' | 'metric'>): string {
  if (r.delta === null) return '—';
  const sign = r.delta > 0 ? '+' : '';
  const abs = `${sign}${value(r.delta, r.unit, r.metric)}`;
  return r.delta_ratio === null ? abs : `${abs} (${sign}${fmtFixed(r.delta_ratio * 100, 1)}%)`;
}

export function compareRows(c: Comparison): string[][] {
  return c.rows.map((r) => [
    r.metric,
    r.stat,
    value(r.baseline, r.unit, r.metric),
    value(r.current, r.unit, r.metric),
    change(r),
  ]);
}

export function fmtTolerance(k: CheckResult): string {
  const t = k.tolerance;
  if (k.stat === 'rate') return `${fmtFixed(t.absolute * 100, 2)} pts`;
  const parts: string[] = [];
  if (t.relative > 0) parts.push(`${fmtFixed(t.relative * 100, 0)}%`);
  if (t.absolute > 0 || parts.length === 0) parts.push(`${fmtValue(t.absolute, k.unit)} ${k.unit}`.trim());
  return parts.join(' or ');
}

export function checkRows(c: Comparison): string[][] {
  return c.checks.map((k) => [
    k.status === 'regressed' ? '✗' : k.status === 'no_data' || k.status === 'too_few' ? '·' : '✓',
    k.name,
    value(k.baseline, k.unit, k.metric),
    value(k.current, k.unit, k.metric),
    k.ci === null ? '—' : `[${value(k.ci[0], k.unit, k.metric)}, ${value(k.ci[1], k.unit, k.metric)}]`,
    fmtTolerance(k),
    k.status,
  ]);
}

export function compareVerdict(c: Comparison): string {
  const n = c.checks.filter((k) => k.status === 'regressed').length;
  return n === 0
    ? `no regression (${c.checks.length} checks)`
    : `REGRESSION: ${n} of ${c.checks.length} checks (${c.checks
        .filter((k) => k.status === 'regressed')
        .map((k) => k.name)
        .join(', ')})`;
}

export function formatCompareSummary(c: Comparison, opts: { color: boolean }): string {
  const p = paint(opts.color);
  const name = (r: Comparison['baseline']) =>
    `${r.file ?? '(inline)'} · ${r.scenario} · ${r.started_at} · ${r.streams} streams`;
  const out = [
    p.bold('tokenstorm compare'),
    `${p.bold('baseline'.padEnd(12))}${name(c.baseline)}`,
    `${p.bold('current'.padEnd(12))}${name(c.current)}`,
    '',
    ...table(
      [['metric', 'stat', 'baseline', 'current', 'change'], ...compareRows(c)],
      ['left', 'left', 'right', 'right', 'right'],
      (text, row, col) => {
        if (row === 0) return p.bold(text);
        const r = c.rows[row - 1]!;
        return col === 4 && r.worse === true ? p.yellow(text) : text;
      },
    ),
    '',
    p.bold(
      'checks      difference current − baseline, 95 % bootstrap CI; regressed only when the whole CI is worse than the tolerance',
    ),
    ...table(
      [['', 'check', 'baseline', 'current', '95% CI of change', 'tolerance', 'status'], ...checkRows(c)],
      ['left', 'left', 'right', 'right', 'right', 'right', 'left'],
      (text, row, col) => {
        if (row === 0) return p.bold(text);
        const st = c.checks[row - 1]!.status;
        if (col === 0 || col === 6)
          return st === 'regressed'
            ? p.red(text)
            : st === 'no_data' || st === 'too_few'
              ? p.dim(text)
              : p.green(text);
        return text;
      },
    ).map((l) => `  ${l}`),
    '',
    `${p.bold('verdict'.padEnd(12))}${c.regressed ? p.red(compareVerdict(c)) : p.green(compareVerdict(c))}`,
  ];
  for (const w of c.warnings) out.push(`  ${p.yellow(`! ${w}`)}`);
  return `${out.join('\n')}\n`;
}
