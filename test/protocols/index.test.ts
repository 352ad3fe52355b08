import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AnthropicAccumulator,
  createAccumulator,
  OpenAIAccumulator,
  PROTOCOLS,
  type Protocol,
  ReferenceAccumulator,
  type StreamEvent,
} from '../../src/protocols/index.js';
import type { SseEvent } from '../../src/sse/types.js';
import { fixture } from '../helpers/protocols.js';

const FIXTURES: Record<Protocol, string[]> = {
  anthropic: ['anthropic-text.sse', 'anthropic-thinking.sse', 'anthropic-tool-use.sse'],
  openai: ['openai-text.sse', 'openai-vllm-reasoning.sse', 'openai-tool-calls.sse'],
  reference: ['reference-text.sse'],
};

const TERMINAL = new Set<StreamEvent['kind']>(['stop', 'error', 'protocol_error']);
const OUTCOME_OF_TERMINAL = {
  stop: 'completed',
  error: 'stream_error',
  protocol_error: 'protocol_error',
} as const;

describe('createAccumulator', () => {
  it('lists the protocols it supports and builds the matching accumulator', () => {
    expect(PROTOCOLS).toEqual(['anthropic', 'openai', 'reference']);
    expect(createAccumulator('anthropic')).toBeInstanceOf(AnthropicAccumulator);
    expect(createAccumulator('openai')).toBeInstanceOf(OpenAIAccumulator);
    expect(createAccumulator('reference')).toBeInstanceOf(ReferenceAccumulator);
  });

  it('fails fast on a protocol it does not know', () => {
    expect(() => createAccumulator('grpc' as Protocol)).toThrow('unknown protocol: grpc');
  });

  it.each(PROTOCOLS)(
    '%s: every fixture completes, and every proper prefix of it is truncated',
    (protocol) => {
      for (const name of FIXTURES[protocol]) {
        const events = fixture(name);
        for (let cut = 0; cut <= events.length; cut++) {
          const acc = createAccumulator(protocol);
          for (const e of events.slice(0, cut)) acc.push(e);
          const expected = cut === events.length ? 'completed' : 'truncated';
          expect(acc.end().outcome, `${name} cut after ${cut} events`).toBe(expected);
          expect(acc.done).toBe(cut === events.length);
        }
      }
    },
  );
});

// Random event sequences built from real fixture events, their fragments and junk: whatever arrives,
// push() never throws and the stream gets exactly one outcome, consistent with the events emitted.
describe('invariants under arbitrary input', () => {
  const anySseEvent = (pool: SseEvent[]) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...pool) },
      {
        weight: 1,
        arbitrary: fc.record({
          type: fc.constantFrom('message', 'error', 'ping', 'content_block_delta', 'message_stop', 'x'),
          data: fc.oneof(
            fc.string(),
            fc.json(),
            fc.constantFrom('[DONE]', '', '{}', 'null', '{"type":"message_stop"}', '{"choices":[{}]}'),
          ),
          lastEventId: fc.constant(''),
        }),
      },
    );

  it.each(PROTOCOLS)('%s', (protocol) => {
    const pool = FIXTURES[protocol].flatMap(fixture);
    fc.assert(
      fc.property(fc.array(anySseEvent(pool), { maxLength: 40 }), (events) => {
        const seen: StreamEvent[] = [];
        const acc = createAccumulator(protocol, (e) => seen.push(e));
        for (const e of events) acc.push(e);
        const summary = acc.end();

        const terminals = seen.filter((e) => TERMINAL.has(e.kind));
        expect(terminals.length).toBeLessThanOrEqual(1);
        const terminal = terminals[0];
        if (terminal === undefined) {
          expect(summary.outcome).toBe('truncated');
          expect(acc.done).toBe(false);
        } else {
          expect(seen.at(-1)).toBe(terminal);
          expect(summary.outcome).toBe(
            OUTCOME_OF_TERMINAL[terminal.kind as keyof typeof OUTCOME_OF_TERMINAL],
          );
          expect(acc.done).toBe(true);
        }
        const tokens = seen.filter((e) => e.kind === 'token');
        expect(summary.contentEvents).toBe(tokens.length);
        expect(summary.textChars + summary.thinkingChars + summary.toolInputChars).toBe(
          tokens.reduce((n, t) => n + t.text.length, 0),
        );
        expect(tokens.every((t) => t.text.length > 0)).toBe(true);
        expect(summary.sseEvents).toBe(events.length);
        expect(seen.filter((e) => e.kind === 'start').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });
});
