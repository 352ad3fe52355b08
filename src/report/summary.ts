// The end-of-run terminal summary. A pure function of the result (no clock, no env, no terminal
// queries): the caller decides on colour, and golden tests pin the exact text
// (test/report/summary.test.ts). Layout follows autocannon's printResult: sections of aligned
// columns, only what has data, the verdict (thresholds, client-bound) impossible to miss.
import { HISTOGRAMS, type HistogramName, OUTCOMES } from '../stats/metrics.js';
import type { RunResult, ThresholdResult } from '../stats/result.js';
import { parseThreshold } from '../stats/thresholds.js';
import {
  fmtDurationMs,
  fmtFixed,
  fmtInt,
  fmtMs,
  fmtPercent,
  fmtValue,
  type Paint,
  paint,
  table,
} from './format.js';

export interface SummaryOptions {
  color: boolean;
}

/** The metrics table, in this order (the ones with count 0 are left out). */
export const SUMMARY_METRICS: readonly HistogramName[] = [
  'ttft_ms',
  'ttft_service_ms',
  'ttft_thinking_ms',
  'ttfa_ms',
  'tool_call_first_ms',
  'tool_args_complete_ms',
  'first_field_ms',
  'schedule_lag_ms',
  'headers_ms',
  'itl_ms',
  'tpot_ms',
  'e2e_ms',
  'output_tokens',
  'stream_tokens_per_s',
];

const CLIENT_BOUND =
  "the client was the bottleneck: these latencies include the runner's own delay (run fewer streams per worker, or more workers)";

/** Section label column width: "thresholds" plus two spaces. */
const LABEL = 12;

export function formatSummary(result: RunResult, opts: SummaryOptions): string {
  const p = paint(opts.color);
  const out: string[] = [];
  const section = (label: string, text: string): void => {
    out.push(p.bold(label.padEnd(LABEL)) + text);
  };

  out.push(p.bold(`tokenstorm · ${result.scenario.name}`));
  const sc = result.scenario;
  const t = sc.target;
  section('scenario', `${sc.file ?? '(inline)'} · seed ${sc.seed}`);
  section('target', `${t.url || '(no url)'}${t.embedded ? ' (embedded)' : ''} · ${t.protocol}`);
  section('load', formatLoad(sc.load));
  section(
    'duration',
    `${fmtFixed(result.measured_s, 1)} s measured / ${fmtFixed(result.duration_s, 1)} s total`,
  );
  if (result.aborted) section('aborted', p.red(result.abort_reason ?? 'stopped early (no reason recorded)'));

  out.push(
    '',
    ...streamsSection(result, p),
    ...errorsSection(result, p),
    '',
    ...metricsSection(result, p),
    ...workloadSection(result, p),
    '',
  );
  const tk = result.tokens;
  section(
    'tokens',
    `${fmtInt(tk.output_total)} output · ${fmtFixed(tk.output_per_s, 1)} tokens/s · ${fmtInt(tk.input_total)} input · source: ${SOURCE[tk.source]}`,
  );
  out.push(...chaosSection(result, p));
  out.push('', ...thresholdsSection(result, p), '', ...runnerSection(result, p));
  return `${out.join('\n')}\n`;
}

const SOURCE: Record<RunResult['tokens']['source'], string> = {
  usage: 'usage (reported by the API)',
  counted: 'counted content events (no usage reported)',
  mixed: 'mixed (usage where reported, else counted content events)',
  none: 'none',
};

/**
 * The load as the result records it (src/runner/result.ts): durations in seconds under `*_s`
 * keys, stages as {duration_s, target}; everything else as written in the scenario.
 */
function formatLoad(load: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof load['type'] === 'string') parts.push(load['type']);
  for (const [k, v] of Object.entries(load)) {
    if (k === 'type' || v === undefined || v === null) continue;
    if (k.endsWith('_s') && typeof v === 'number') parts.push(`${k.slice(0, -2)} ${fmtDurationMs(v * 1000)}`);
    else if (k === 'rate' && typeof v === 'number') parts.push(`rate ${v}/s`);
    else if (k === 'stages' && Array.isArray(v)) parts.push(`stages ${v.map(formatStage).join(' ')}`);
    else parts.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(' · ');
}

function formatStage(s: unknown): string {
  const st = s as { duration_s?: unknown; target?: unknown };
  return typeof st.duration_s === 'number'
    ? `${fmtDurationMs(st.duration_s * 1000)}→${String(st.target)}`
    : JSON.stringify(s);
}

/** Longest error message shown; the result file keeps the whole example. */
const MESSAGE_WIDTH = 60;

function errorsSection(r: RunResult, p: Paint): string[] {
  const errors = r.errors ?? [];
  if (errors.length === 0) return [];
  const rows = errors.map((e) => {
    const msg = [...e.message.replace(/\s+/g, ' ').trim()];
    return [
      e.outcome,
      e.type,
      fmtInt(e.count),
      msg.length > MESSAGE_WIDTH ? `${msg.slice(0, MESSAGE_WIDTH - 1).join('')}…` : msg.join(''),
    ];
  });
  const kinds = `${errors.length} kind${errors.length === 1 ? '' : 's'}, most frequent first`;
  return [
    '',
    `${p.bold('errors'.padEnd(LABEL))}${kinds}`,
    ...table(rows, ['left', 'left', 'right', 'left'], (text, _row, col) =>
      col === 3 ? p.dim(text) : text,
    ).map((l) => `  ${l}`),
  ];
}

function streamsSection(r: RunResult, p: Paint): string[] {
  const s = r.streams;
  const lines = [
    `${p.bold('streams'.padEnd(LABEL))}${fmtInt(s.measured)} measured · ${fmtInt(s.started)} started (${fmtInt(s.warmup)} warm-up)`,
  ];
  const rows: string[][] = [];
  const bad: boolean[] = [];
  for (const o of OUTCOMES) {
    const n = s.by_outcome[o] ?? 0;
    if (n === 0 && o !== 'completed') continue;
    rows.push([o, fmtInt(n), s.measured > 0 ? fmtPercent(n / s.measured) : '']);
    bad.push(o !== 'completed' && o !== 'client_aborted' && o !== 'cancelled' && o !== 'interrupted');
  }
  if (s.arrivals > 0 || s.dropped_arrivals > 0) {
    rows.push([
      'dropped arrivals',
      fmtInt(s.dropped_arrivals),
      s.arrivals > 0 ? fmtPercent(r.rates.drop_rate) : '',
    ]);
    bad.push(s.dropped_arrivals > 0);
  }
  const styled = table(rows, ['left', 'right', 'right'], (text, row, col) =>
    col === 0 && bad[row] ? p.red(text) : text,
  );
  lines.push(...styled.map((l) => `  ${l}`));
  const ended = s.measured - (s.by_outcome.interrupted ?? 0);
  const rate = (x: number): string => (ended > 0 ? fmtPercent(x) : 'n/a');
  lines.push(
    `  completion ${rate(r.rates.completion_rate)} · goodput ${rate(r.rates.goodput_rate)} · errors ${rate(r.rates.error_rate)}`,
  );
  return lines;
}

function metricsSection(r: RunResult, p: Paint): string[] {
  const names = SUMMARY_METRICS.filter((n) => (r.metrics[n]?.count ?? 0) > 0);
  if (names.length === 0) return [`${p.bold('metrics'.padEnd(LABEL))}no values recorded`];
  const header = ['metric', 'count', 'min', 'p50', 'p90', 'p95', 'p99', 'max'];
  const rows = names.map((n) => {
    const m = r.metrics[n];
    const u = m.unit || HISTOGRAMS[n].unit;
    return [n, fmtInt(m.count), ...[m.min, m.p50, m.p90, m.p95, m.p99, m.max].map((v) => fmtValue(v, u))];
  });
  return table([header, ...rows], ['left', ...Array<'right'>(7).fill('right')], (text, row) =>
    row === 0 ? p.bold(text) : text,
  );
}

/** Content by channel, tool calls, late trace arrivals and per-turn TTFT; only what has data. */
function workloadSection(r: RunResult, p: Paint): string[] {
  const w = r.workload;
  if (w === undefined) return [];
  const out: string[] = [];
  const ce = w.content_events;
  if (ce.thinking > 0 || ce.tool_input > 0)
    out.push(
      `${p.bold('content'.padEnd(LABEL))}${fmtInt(ce.thinking)} thinking · ${fmtInt(ce.answer)} answer · ${fmtInt(ce.tool_input)} tool input events`,
    );
  const tc = w.tool_calls;
  if (tc.started > 0) {
    const bad =
      tc.invalid_args === 0 ? '0 invalid' : p.red(`${fmtInt(tc.invalid_args)} with invalid JSON arguments`);
    out.push(
      `${p.bold('tool calls'.padEnd(LABEL))}${fmtInt(tc.started)} started · ${fmtInt(tc.completed)} completed · ${bad}`,
    );
  }
  if (w.late_arrivals > 0)
    out.push(
      `${p.bold('late'.padEnd(LABEL))}${fmtInt(w.late_arrivals)} trace arrivals started after late_ms`,
    );
  if (w.per_turn.length > 0) {
    const header = ['turn', 'streams', 'ttft p50', 'ttft p95', 'input tokens p50'];
    const rows = w.per_turn.map((t) => [
      String(t.turn),
      fmtInt(t.streams),
      fmtValue(t.ttft_ms.p50, 'ms'),
      fmtValue(t.ttft_ms.p95, 'ms'),
      fmtInt(t.input_tokens.p50),
    ]);
    out.push(
      '',
      ...table([header, ...rows], ['left', 'right', 'right', 'right', 'right'], (text, row) =>
        row === 0 ? p.bold(text) : text,
      ),
    );
  }
  return out.length > 0 ? ['', ...out] : [];
}

function counts(c: Partial<Record<string, number>>): string {
  return Object.entries(c)
    .map(([o, n]) => `${o} ${fmtInt(n ?? 0)}`)
    .join(', ');
}

/** Faults matched to outcomes, recoveries, integrity, and the server's view; only for chaos runs. */
function chaosSection(r: RunResult, p: Paint): string[] {
  const c = r.chaos;
  if (c === undefined) return [];
  const faults = Object.entries(c.faults).sort(([a], [b]) => a.localeCompare(b));
  if (faults.length === 0 && c.server === null) return [];
  const injected = faults.reduce((n, [, f]) => n + f.injected, 0);
  const unexpected =
    c.unexpected_outcomes === 0
      ? '0 unexpected outcomes'
      : p.red(`${fmtInt(c.unexpected_outcomes)} unexpected outcomes`);
  const integrity = `integrity ${fmtInt(c.integrity.verified)} verified, ${c.integrity.failed === 0 ? '0' : p.red(fmtInt(c.integrity.failed))} failed`;
  const lines = [
    '',
    `${p.bold('chaos'.padEnd(LABEL))}${fmtInt(injected)} faults injected · ${unexpected} · ${integrity}`,
  ];
  if (faults.length > 0) {
    const rows = [['fault', 'injected', 'missed', 'expected', 'observed', 'matched']];
    for (const [key, f] of faults)
      rows.push([
        key,
        fmtInt(f.injected),
        fmtInt(f.missed),
        counts(f.expected),
        counts(f.observed),
        fmtInt(f.matched),
      ]);
    if (c.unfaulted.streams > 0)
      rows.push([
        '(no fault)',
        fmtInt(c.unfaulted.streams),
        '',
        'completed',
        counts(c.unfaulted.observed),
        fmtInt(c.unfaulted.matched),
      ]);
    const off = rows.map((row, i) => i > 0 && row[5] !== row[1]);
    lines.push(
      ...table(rows, ['left', 'right', 'right', 'left', 'left', 'right'], (text, row, col) =>
        row === 0 ? p.bold(text) : col === 5 && off[row] ? p.red(text) : text,
      ).map((l) => `  ${l}`),
    );
  }
  const parts: string[] = [];
  const rec = (name: 'resume' | 'retry') => {
    const t = c.recovery[name];
    if (t.streams === 0) return;
    const ms =
      name === 'resume' && r.metrics.resume_ms?.count
        ? `, resume_ms p50 ${fmtMs(r.metrics.resume_ms.p50)} ms, p99 ${fmtMs(r.metrics.resume_ms.p99)} ms`
        : '';
    parts.push(
      `${name} ${fmtInt(t.succeeded)}/${fmtInt(t.streams)} completed (${fmtInt(t.attempts)} attempts${ms})`,
    );
  };
  rec('resume');
  rec('retry');
  if (parts.length > 0) lines.push(`  recovery    ${parts.join(' · ')}`);
  const more: string[] = [];
  if (c.stalls.detected > 0)
    more.push(
      `stalls ${fmtInt(c.stalls.detected)} detected (${fmtInt(c.stalls.with_keepalive)} still receiving pings or heartbeats)`,
    );
  if (c.cancels.sent > 0) {
    const ms = r.metrics.cancel_ms?.count
      ? `, cancel_ms p50 ${fmtMs(r.metrics.cancel_ms.p50)} ms, p99 ${fmtMs(r.metrics.cancel_ms.p99)} ms`
      : '';
    more.push(`cancels ${fmtInt(c.cancels.sent)} sent, ${fmtInt(c.cancels.confirmed)} confirmed${ms}`);
  }
  if (more.length > 0) lines.push(`  ${more.join(' · ')}`);
  const sv = c.server;
  if (sv !== null) {
    const l = sv.leak_check;
    const leak =
      l === null
        ? 'leak check off'
        : l.ok
          ? p.green(`no leaks (server idle after ${fmtDurationMs(l.waited_ms)})`)
          : p.red(
              l.error ??
                `LEAK: ${fmtInt(l.active_streams)} streams and ${fmtInt(l.upstream_active)} upstream requests still active after ${fmtDurationMs(l.timeout_ms)}`,
            );
    lines.push(
      `  server      ${fmtInt(sv.unread_tokens)} upstream tokens no client read · ${fmtInt(sv.resumes)} resumes · ${fmtInt(sv.cancels)} cancels · ${fmtInt(sv.upstream_aborts)} upstream aborts · ${leak}`,
    );
  }
  return lines;
}

function thresholdsSection(r: RunResult, p: Paint): string[] {
  const label = p.bold('thresholds'.padEnd(LABEL));
  if (r.thresholds.length === 0) return [`${label}none`];
  const failed = r.thresholds.filter((x) => !x.ok).length;
  const verdict = failed === 0 ? p.green('all passed') : p.red(`${failed} of ${r.thresholds.length} failed`);
  const rows = r.thresholds.map((x) => [
    x.ok ? '✓' : '✗',
    x.metric,
    x.expression,
    x.actual === null ? 'no data' : formatActual(x),
    x.abort_on_fail ? '(abortOnFail)' : '',
  ]);
  const lines = table(rows, ['left', 'left', 'left', 'right', 'left'], (text, row, col) => {
    const ok = r.thresholds[row]!.ok;
    if (col === 0) return ok ? p.green(text) : p.red(text);
    if (col === 3 && !ok) return p.red(text);
    return col === 4 ? p.dim(text) : text;
  });
  return [`${label}${verdict}`, ...lines.map((l) => `  ${l}`)];
}

/** The actual value in the unit the expression compares. */
function formatActual(x: ThresholdResult): string {
  const v = x.actual!;
  const parsed = parseThreshold(x.metric, x.expression);
  if (typeof parsed === 'string') return String(v);
  const method = parsed.aggregation.method;
  if (method === 'count') return fmtInt(v);
  if (parsed.kind === 'rate') return fmtFixed(v, 4);
  if (parsed.kind === 'counter') return `${fmtFixed(v, 2)}/s`;
  return fmtValue(v, HISTOGRAMS[x.metric as HistogramName].unit);
}

function runnerSection(r: RunResult, p: Paint): string[] {
  const h = r.runner;
  const lines = [
    `${p.bold('runner'.padEnd(LABEL))}ELD p99 ${fmtMs(h.event_loop_delay_ms.p99)} ms · ELU ${Math.round(h.event_loop_utilization * 100)}% · CPU ${fmtFixed(h.cpu_ms_per_stream, 2)} ms/stream · ${h.workers} worker${h.workers === 1 ? '' : 's'}`,
  ];
  for (const w of h.warnings) lines.push(`  ${p.yellow(`! ${w}`)}`);
  if (h.client_bound) lines.push('', p.red(p.bold(`!! ${CLIENT_BOUND}`)));
  return lines;
}
