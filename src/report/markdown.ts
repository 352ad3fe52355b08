// Markdown summaries (`--summary-md FILE`, and appended to $GITHUB_STEP_SUMMARY in GitHub
// Actions): GitHub-flavoured tables, the verdict first. Pure functions of the results.
import type { Comparison } from '../compare/compare.js';
import { HISTOGRAMS } from '../stats/metrics.js';
import type { RunResult } from '../stats/result.js';
import type { SweepResult } from '../sweep/sweep.js';
import { checkRows, compareRows, compareVerdict } from './compare-summary.js';
import { fmtFixed, fmtInt, fmtPercent, fmtValue } from './format.js';
import { SUMMARY_METRICS } from './summary.js';
import { SWEEP_HEADER, sweepAnswer, sweepKnee, sweepRows } from './sweep-summary.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function mdTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[] = [],
): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `|${header.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

export function runMarkdown(r: RunResult): string {
  const failed = r.thresholds.filter((t) => !t.ok);
  const verdict = r.aborted
    ? `❌ aborted: ${r.abort_reason ?? ''}`
    : r.thresholds.length === 0
      ? 'no thresholds'
      : failed.length === 0
        ? `✅ all ${r.thresholds.length} thresholds passed`
        : `❌ ${failed.length} of ${r.thresholds.length} thresholds failed`;
  const s = r.streams;
  const out = [
    `### tokenstorm run · ${r.scenario.name}`,
    '',
    `**${verdict}** · ${fmtInt(s.measured)} streams in ${fmtFixed(r.measured_s, 1)} s · completion ${fmtPercent(r.rates.completion_rate)} · ${fmtFixed(r.tokens.output_per_s, 1)} tokens/s`,
    '',
  ];
  if (r.thresholds.length > 0)
    out.push(
      ...mdTable(
        ['', 'metric', 'threshold', 'actual'],
        r.thresholds.map((t) => [
          t.ok ? '✅' : '❌',
          t.metric,
          `\`${t.expression}\``,
          t.actual === null ? 'no data' : String(Math.round(t.actual * 1000) / 1000),
        ]),
        [false, false, false, true],
      ),
      '',
    );
  const names = SUMMARY_METRICS.filter((n) => (r.metrics[n]?.count ?? 0) > 0);
  if (names.length > 0)
    out.push(
      ...mdTable(
        ['metric', 'count', 'p50', 'p95', 'p99', 'max'],
        names.map((n) => {
          const m = r.metrics[n];
          const u = HISTOGRAMS[n].unit;
          return [n, fmtInt(m.count), ...[m.p50, m.p95, m.p99, m.max].map((v) => fmtValue(v, u))];
        }),
        [false, true, true, true, true, true],
      ),
      '',
    );
  if (r.runner.client_bound)
    out.push("> ⚠️ The client was the bottleneck: these latencies include the runner's own delay.", '');
  return `${out.join('\n')}\n`;
}

export function sweepMarkdown(s: SweepResult): string {
  const out = [
    `### tokenstorm sweep · ${s.scenario.name}`,
    '',
    `**${s.answer === null ? '❌' : '✅'} ${sweepAnswer(s)}**`,
    '',
    `Knee: ${sweepKnee(s)}. Stopped: ${s.stop_message}.`,
    '',
    ...mdTable(
      [...SWEEP_HEADER],
      sweepRows(s),
      SWEEP_HEADER.map((_, i) => i < 10),
    ),
    '',
  ];
  if (s.min_load !== null) out.push(`Minimum capacity ${s.min_load}: ${s.ok ? '✅ met' : '❌ not met'}`, '');
  return `${out.join('\n')}\n`;
}

export function compareMarkdown(c: Comparison): string {
  const out = [
    `### tokenstorm compare · ${c.current.scenario}`,
    '',
    `**${c.regressed ? '❌' : '✅'} ${compareVerdict(c)}**`,
    '',
    ...mdTable(
      ['', 'check', 'baseline', 'current', '95% CI of change', 'tolerance', 'status'],
      checkRows(c),
      [false, false, true, true, true, true, false],
    ),
    '',
    '<details><summary>every metric</summary>',
    '',
    ...mdTable(['metric', 'stat', 'baseline', 'current', 'change'], compareRows(c), [
      false,
      false,
      true,
      true,
      true,
    ]),
    '',
    '</details>',
    '',
  ];
  for (const w of c.warnings) out.push(`> ⚠️ ${w}`, '');
  return `${out.join('\n')}\n`;
}
