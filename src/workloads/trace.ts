// Arrival traces: a JSONL file, one request per line, in the shape public LLM serving traces use
// (Mooncake's `timestamp`, `input_length`, `output_length`; Azure's LLM inference trace converts
// to it): the arrival offset in ms from the start of the trace, the prompt length and the output
// length in tokens. Rows may come in any order; they are replayed sorted by offset.
//   {"timestamp": 0, "input_length": 812, "output_length": 64}
import { isCount, readJsonl, resolveWorkloadPath } from './jsonl.js';

export interface TraceArrival {
  /** ms from the start of the trace. */
  offsetMs: number;
  inputTokens: number;
  outputTokens: number;
}

function parseRow(v: Record<string, unknown>): TraceArrival | string {
  const t = v['timestamp'];
  const i = v['input_length'];
  const o = v['output_length'];
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
    return '"timestamp" (ms from the start of the trace) must be a number >= 0';
  if (!isCount(i) || i === 0) return '"input_length" must be a positive integer (tokens)';
  if (!isCount(o) || o === 0) return '"output_length" must be a positive integer (tokens)';
  return { offsetMs: t, inputTokens: i, outputTokens: o };
}

export function loadTrace(path: string, baseDir: string): TraceArrival[] {
  const rows = readJsonl(resolveWorkloadPath(path, baseDir), 'trace', parseRow);
  return rows.sort((a, b) => a.offsetMs - b.offsetMs);
}
