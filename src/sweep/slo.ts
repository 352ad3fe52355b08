// `--slo` expressions for `tokenstorm sweep`: a metric followed by a k6 threshold expression,
// `'ttft_ms p(95)<500'`, `'itl_ms p(99)<100'`; for a rate or counter the aggregation may be left
// out, `'completion_rate>0.99'` meaning `rate>0.99` (the only aggregation a rate has).
import { type ParsedThreshold, parseThreshold, type ThresholdSpec } from '../stats/thresholds.js';

const METRIC_RE = /^\s*([a-z][a-z0-9_]*)\s*(.*)$/;

/** Parses one `--slo`; returns the threshold or a message saying what to write. */
export function parseSlo(text: string): ParsedThreshold | string {
  const m = METRIC_RE.exec(text);
  if (!m || m[2]!.trim() === '')
    return `"${text}" is not an SLO; write a metric and an expression, e.g. 'ttft_ms p(95)<500' or 'completion_rate>0.99'`;
  const metric = m[1]!;
  let expr = m[2]!.trim();
  if (/^[<>=!]/.test(expr)) {
    if (metric.endsWith('_rate')) expr = `rate${expr}`;
    else if (metric.endsWith('_ms') || metric.endsWith('tokens') || metric.endsWith('_per_s'))
      return `"${text}": ${metric} is a histogram; name the aggregation, e.g. '${metric} p(95)${expr}'`;
    else expr = `count${expr}`;
  }
  const parsed = parseThreshold(metric, expr);
  return typeof parsed === 'string' ? `--slo "${text}": ${parsed}` : { ...parsed, expression: expr };
}

export function sloSpecs(slos: readonly ParsedThreshold[]): ThresholdSpec[] {
  return slos.map((parsed) => ({ parsed, abortOnFail: false, delayAbortEvalMs: 0 }));
}

/** `ttft_ms p(95)<500` as one string. */
export function sloText(t: Pick<ParsedThreshold, 'metric' | 'expression'>): string {
  return `${t.metric} ${t.expression}`;
}
