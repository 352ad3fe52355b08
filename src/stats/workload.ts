// The result's `workload` section (docs/results.md): content by channel (thinking, answer, tool
// input), tool calls and whether their arguments became valid JSON, trace arrivals that started
// late, and per-turn metrics of multi-turn sessions (HDR entries per turn index, merged by adding).
import { decodeHistogram, encodeHistogram, type Histogram, newHistogram, summarise } from './histogram.js';
import type { MetricEntry } from './result.js';

/** Turns of a session recorded per turn index; later turns are counted in the overall metrics only. */
export const MAX_TURNS = 32;

export interface TurnEntry {
  /** 1-based turn index within a session. */
  turn: number;
  /** Measured streams of this turn that ended. */
  streams: number;
  /** Time to first content token of this turn's streams. */
  ttft_ms: MetricEntry;
  /** Input tokens the server reported for this turn (the history grows with every turn). */
  input_tokens: MetricEntry;
}

export interface WorkloadResult {
  /** Content events per channel over measured streams (counted, not usage). */
  content_events: { thinking: number; answer: number; tool_input: number };
  /** Tool calls started; completed (arguments ended); invalid_args: ended not valid JSON, or never ended. */
  tool_calls: { started: number; completed: number; invalid_args: number };
  /** Trace replay: arrivals started later than the load's late_ms after their trace time. */
  late_arrivals: number;
  per_turn: TurnEntry[];
}

export function emptyWorkload(): WorkloadResult {
  return {
    content_events: { thinking: 0, answer: 0, tool_input: 0 },
    tool_calls: { started: 0, completed: 0, invalid_args: 0 },
    late_arrivals: 0,
    per_turn: [],
  };
}

/** Per-turn histograms as a recorder keeps them. */
export interface TurnHistograms {
  streams: number;
  ttft: Histogram;
  input: Histogram;
}

export function newTurn(): TurnHistograms {
  return { streams: 0, ttft: newHistogram(), input: newHistogram() };
}

function entry(h: Histogram, unit: string, scale: number): MetricEntry {
  return { ...summarise(h, scale), unit, scale, hdr: encodeHistogram(h) };
}

export function turnEntries(turns: readonly TurnHistograms[]): TurnEntry[] {
  const out: TurnEntry[] = [];
  turns.forEach((t, i) => {
    if (t.streams === 0) return;
    out.push({
      turn: i + 1,
      streams: t.streams,
      ttft_ms: entry(t.ttft, 'ms', 1000),
      input_tokens: entry(t.input, 'tokens', 1),
    });
  });
  return out;
}

/** Adds results' workload sections (absent in results of older versions). */
export function mergeWorkload(all: readonly (WorkloadResult | undefined)[]): WorkloadResult {
  const w = emptyWorkload();
  const turns = new Map<number, TurnHistograms>();
  for (const x of all) {
    if (x === undefined) continue;
    w.content_events.thinking += x.content_events.thinking;
    w.content_events.answer += x.content_events.answer;
    w.content_events.tool_input += x.content_events.tool_input;
    w.tool_calls.started += x.tool_calls.started;
    w.tool_calls.completed += x.tool_calls.completed;
    w.tool_calls.invalid_args += x.tool_calls.invalid_args;
    w.late_arrivals += x.late_arrivals;
    for (const t of x.per_turn) {
      let m = turns.get(t.turn);
      if (m === undefined) turns.set(t.turn, (m = newTurn()));
      m.streams += t.streams;
      for (const [h, e] of [
        [m.ttft, t.ttft_ms],
        [m.input, t.input_tokens],
      ] as const) {
        const d = decodeHistogram(e.hdr);
        h.add(d);
        d.destroy();
      }
    }
  }
  const max = Math.max(0, ...turns.keys());
  const list: TurnHistograms[] = [];
  for (let i = 1; i <= max; i++) list.push(turns.get(i) ?? newTurn());
  w.per_turn = turnEntries(list);
  for (const t of list) {
    t.ttft.destroy();
    t.input.destroy();
  }
  return w;
}
