// Shared helpers for the protocol accumulator tests. Fixtures are raw SSE bodies in the
// exact wire shape; an independent SSE parser (eventsource-parser, a dev dependency) turns
// them into dispatched events, so these tests do not depend on src/sse.
import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';
import {
  createAccumulator,
  type Protocol,
  type StreamEvent,
  type StreamSummary,
} from '../../src/protocols/index.js';
import type { SseEvent } from '../../src/sse/types.js';

export function fixture(name: string): SseEvent[] {
  const text = readFileSync(new URL(`../fixtures/protocols/${name}`, import.meta.url), 'utf8');
  const out: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) => out.push({ type: e.event ?? 'message', data: e.data, lastEventId: e.id ?? '' }),
  });
  parser.feed(text);
  return out;
}

/** Feeds events to a fresh accumulator: what it emitted, its summary, and whether it was done before end(). */
export function runAccumulator(
  protocol: Protocol,
  events: readonly SseEvent[],
): { events: StreamEvent[]; summary: StreamSummary; done: boolean } {
  const seen: StreamEvent[] = [];
  const acc = createAccumulator(protocol, (e) => seen.push(e));
  for (const e of events) acc.push(e);
  const done = acc.done;
  return { events: seen, summary: acc.end(), done };
}
