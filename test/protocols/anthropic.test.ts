import { describe, expect, it } from 'vitest';
import { AnthropicAccumulator } from '../../src/protocols/anthropic.js';
import type { StreamEvent } from '../../src/protocols/types.js';
import type { SseEvent } from '../../src/sse/types.js';
import { fixture, runAccumulator } from '../helpers/protocols.js';

// Fixtures are raw SSE bodies in the exact wire shape of the Anthropic streaming docs; an independent
// SSE parser (eventsource-parser, a dev dependency) turns them into dispatched events.

/** An SSE event; an object payload is JSON-encoded, a string is sent as is. */
function sse(type: string, data: unknown): SseEvent {
  return { type, data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: '' };
}

const run = (events: readonly SseEvent[]) => runAccumulator('anthropic', events);

// Builders for inline streams, in the wire shape.
const messageStart = (usage: object = { input_tokens: 10, output_tokens: 1 }) =>
  sse('message_start', {
    type: 'message_start',
    message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'claude-x', usage },
  });
const blockStart = (index: number, type = 'text', extra: object = type === 'text' ? { text: '' } : {}) =>
  sse('content_block_start', { type: 'content_block_start', index, content_block: { type, ...extra } });
const delta = (index: number, d: object) =>
  sse('content_block_delta', { type: 'content_block_delta', index, delta: d });
const textDelta = (index: number, text: string) => delta(index, { type: 'text_delta', text });
const blockStop = (index: number) => sse('content_block_stop', { type: 'content_block_stop', index });
const messageDelta = (stopReason: string | null, usage: object = { output_tokens: 5 }) =>
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage,
  });
const messageStop = () => sse('message_stop', { type: 'message_stop' });
const ping = () => sse('ping', { type: 'ping' });

const ZERO_COUNTS = { textChars: 0, thinkingChars: 0, toolInputChars: 0, pings: 0, ignoredEvents: 0 };

describe('anthropic: fixtures', () => {
  it('text stream: start, usage, ping, tokens, usage, stop; completed with the latest usage', () => {
    const r = run(fixture('anthropic-text.sse'));
    expect(r.events).toEqual([
      {
        kind: 'start',
        messageId: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
        model: 'claude-sonnet-4-5-20250929',
      },
      { kind: 'usage', inputTokens: 25, outputTokens: 1 },
      { kind: 'ping' },
      { kind: 'token', channel: 'text', text: 'Hello', index: 0 },
      { kind: 'token', channel: 'text', text: ', world!', index: 0 },
      { kind: 'usage', inputTokens: 25, outputTokens: 15 },
      { kind: 'stop', reason: 'end_turn' },
    ]);
    expect(r.done).toBe(true);
    expect(r.summary).toEqual({
      outcome: 'completed',
      stopReason: 'end_turn',
      messageId: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      model: 'claude-sonnet-4-5-20250929',
      inputTokens: 25,
      outputTokens: 15,
      contentEvents: 2,
      textChars: 13,
      thinkingChars: 0,
      toolInputChars: 0,
      sseEvents: 8,
      pings: 1,
      ignoredEvents: 0,
      eventsAfterDone: 0,
    });
  });

  it('thinking then text: thinking tokens on their channel, signature_delta is not a token', () => {
    const r = run(fixture('anthropic-thinking.sse'));
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'thinking', text: 'I need to find the GCD of 1071 and 462 ', index: 0 },
      { kind: 'token', channel: 'thinking', text: 'using the Euclidean algorithm.', index: 0 },
      {
        kind: 'token',
        channel: 'text',
        text: 'The greatest common divisor of 1071 and 462 is **21**.',
        index: 1,
      },
    ]);
    expect(r.events.at(-1)).toEqual({ kind: 'stop', reason: 'end_turn' });
    expect(r.summary).toMatchObject({
      outcome: 'completed',
      contentEvents: 3,
      thinkingChars: 'I need to find the GCD of 1071 and 462 using the Euclidean algorithm.'.length,
      textChars: 'The greatest common divisor of 1071 and 462 is **21**.'.length,
      inputTokens: 40,
      outputTokens: 82,
    });
  });

  it('tool_use: input_json_delta fragments are tool_input tokens, the empty first fragment is not', () => {
    const r = run(fixture('anthropic-tool-use.sse'));
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      {
        kind: 'token',
        channel: 'text',
        text: "Okay, let's check the weather for San Francisco, CA:",
        index: 0,
      },
      { kind: 'token', channel: 'tool_input', text: '{"location":', index: 1 },
      { kind: 'token', channel: 'tool_input', text: ' "San Francisco, CA"', index: 1 },
      { kind: 'token', channel: 'tool_input', text: ', "unit": "fahrenheit"}', index: 1 },
    ]);
    const toolJson = r.events
      .filter((e) => e.kind === 'token' && e.channel === 'tool_input')
      .map((e) => (e.kind === 'token' ? e.text : ''))
      .join('');
    expect(JSON.parse(toolJson)).toEqual({ location: 'San Francisco, CA', unit: 'fahrenheit' });
    expect(r.summary).toMatchObject({
      outcome: 'completed',
      stopReason: 'tool_use',
      contentEvents: 4,
      toolInputChars: toolJson.length,
      inputTokens: 472,
      outputTokens: 89,
      pings: 1,
    });
  });

  it('in-band overloaded_error: stream_error with the error type and message; later events ignored', () => {
    const events = [...fixture('anthropic-overloaded.sse'), blockStop(0), messageStop()];
    const r = run(events);
    expect(r.events.slice(-2)).toEqual([
      { kind: 'token', channel: 'text', text: 'Once upon', index: 0 },
      { kind: 'error', errorType: 'overloaded_error', message: 'Overloaded' },
    ]);
    expect(r.done).toBe(true);
    expect(r.summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'overloaded_error',
      errorMessage: 'Overloaded',
      stopReason: null,
      contentEvents: 1,
      sseEvents: 6,
      eventsAfterDone: 2,
    });
  });
});

describe('anthropic: truncated streams', () => {
  it('cut before message_stop: truncated, not done, stop reason and usage kept', () => {
    const events = fixture('anthropic-text.sse');
    expect(events.at(-1)?.type).toBe('message_stop');
    const r = run(events.slice(0, -1));
    expect(r.done).toBe(false);
    expect(r.events.some((e) => e.kind === 'stop')).toBe(false);
    expect(r.summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended without message_stop (last event: message_delta)',
      stopReason: 'end_turn',
      outputTokens: 15,
      contentEvents: 2,
    });
    expect(r.summary.errorType).toBeUndefined();
  });

  it('cut in the middle of a content block', () => {
    const r = run(fixture('anthropic-tool-use.sse').slice(0, 8));
    expect(r.summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended without message_stop (last event: content_block_delta)',
      stopReason: null,
      contentEvents: 2,
    });
  });

  it('an empty stream, or one with only pings, ended before message_start', () => {
    expect(run([]).summary).toEqual({
      outcome: 'truncated',
      errorMessage: 'stream ended before message_start',
      stopReason: null,
      contentEvents: 0,
      ...ZERO_COUNTS,
      sseEvents: 0,
      eventsAfterDone: 0,
    });
    expect(run([ping(), ping()]).summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended before message_start',
      pings: 2,
    });
  });
});

describe('anthropic: order violations are protocol_error E_PROTOCOL_ORDER', () => {
  const cases: [string, SseEvent[], string][] = [
    [
      'content_block_start before message_start',
      [blockStart(0)],
      'content_block_start before message_start (SSE event #1)',
    ],
    [
      'content_block_delta before message_start',
      [ping(), textDelta(0, 'x')],
      'content_block_delta before message_start (SSE event #2)',
    ],
    [
      'content_block_stop before message_start',
      [blockStop(0)],
      'content_block_stop before message_start (SSE event #1)',
    ],
    [
      'message_delta before message_start',
      [messageDelta('end_turn')],
      'message_delta before message_start (SSE event #1)',
    ],
    [
      'message_stop before message_start',
      [messageStop()],
      'message_stop before message_start (SSE event #1)',
    ],
    [
      'duplicate message_start',
      [messageStart(), blockStart(0), messageStart()],
      'message_start received twice (SSE event #3)',
    ],
    [
      'delta for a block never started',
      [messageStart(), blockStart(0), textDelta(3, 'x')],
      'content_block_delta for index 3, which was never started (SSE event #3)',
    ],
    [
      'delta before any block',
      [messageStart(), textDelta(0, 'x')],
      'content_block_delta for index 0, which was never started (SSE event #2)',
    ],
    [
      'delta after its block stopped',
      [messageStart(), blockStart(0), textDelta(0, 'a'), blockStop(0), textDelta(0, 'b')],
      'content_block_delta for index 0, which was already stopped (SSE event #5)',
    ],
    [
      'stop for a block never started',
      [messageStart(), blockStop(0)],
      'content_block_stop for index 0, which was never started (SSE event #2)',
    ],
    [
      'block stopped twice',
      [messageStart(), blockStart(0), blockStop(0), blockStop(0)],
      'content_block_stop for index 0, which was already stopped (SSE event #4)',
    ],
    [
      'start for an index already open',
      [messageStart(), blockStart(0), blockStart(0)],
      'content_block_start for index 0, which was already started (SSE event #3)',
    ],
    [
      'start for an index already stopped',
      [messageStart(), blockStart(0), blockStop(0), blockStart(0)],
      'content_block_start for index 0, which was already started (SSE event #4)',
    ],
    [
      'start that skips an index',
      [messageStart(), blockStart(0), blockStop(0), blockStart(2)],
      'content_block_start for index 2 skips index 1 (SSE event #4)',
    ],
    [
      'first block not at index 0',
      [messageStart(), blockStart(1)],
      'content_block_start for index 1 skips index 0 (SSE event #2)',
    ],
    [
      'message_stop with a block open',
      [messageStart(), blockStart(0), textDelta(0, 'a'), messageDelta('end_turn'), messageStop()],
      'message_stop while content block 0 is still open (SSE event #5)',
    ],
    [
      'text_delta in a tool_use block',
      [messageStart(), blockStart(0, 'tool_use', { id: 't', name: 'f', input: {} }), textDelta(0, 'x')],
      'content_block_delta: text_delta in tool_use block 0 (SSE event #3)',
    ],
    [
      'input_json_delta in a text block',
      [messageStart(), blockStart(0), delta(0, { type: 'input_json_delta', partial_json: '{' })],
      'content_block_delta: input_json_delta in text block 0 (SSE event #3)',
    ],
    [
      'thinking_delta in a text block',
      [messageStart(), blockStart(0), delta(0, { type: 'thinking_delta', thinking: 'hm' })],
      'content_block_delta: thinking_delta in text block 0 (SSE event #3)',
    ],
    [
      'signature_delta in a text block',
      [messageStart(), blockStart(0), delta(0, { type: 'signature_delta', signature: 'sig' })],
      'content_block_delta: signature_delta in text block 0 (SSE event #3)',
    ],
    [
      'citations_delta in a thinking block',
      [
        messageStart(),
        blockStart(0, 'thinking', { thinking: '' }),
        delta(0, { type: 'citations_delta', citation: {} }),
      ],
      'content_block_delta: citations_delta in thinking block 0 (SSE event #3)',
    ],
    [
      'thinking_delta in a redacted_thinking block',
      [
        messageStart(),
        blockStart(0, 'redacted_thinking', { data: 'EmwK' }),
        delta(0, { type: 'thinking_delta', thinking: 'x' }),
      ],
      'content_block_delta: thinking_delta in redacted_thinking block 0 (SSE event #3)',
    ],
  ];

  it.each(cases)('%s', (_name, events, message) => {
    const r = run(events);
    expect(r.done).toBe(true);
    expect(r.summary.outcome).toBe('protocol_error');
    expect(r.summary.errorType).toBe('E_PROTOCOL_ORDER');
    expect(r.summary.errorMessage).toBe(message);
    expect(r.events.filter((e) => e.kind === 'protocol_error')).toEqual([
      { kind: 'protocol_error', code: 'E_PROTOCOL_ORDER', message },
    ]);
    expect(r.events.at(-1)?.kind).toBe('protocol_error');
  });

  it('after a protocol error all further input is ignored: no events, outcome unchanged', () => {
    const seen: StreamEvent[] = [];
    const acc = new AnthropicAccumulator((e) => seen.push(e));
    acc.push(messageStart());
    acc.push(textDelta(0, 'x'));
    expect(acc.done).toBe(true);
    const before = seen.length;
    for (const e of [
      blockStart(0),
      textDelta(0, 'late'),
      blockStop(0),
      messageDelta('end_turn'),
      messageStop(),
    ])
      acc.push(e);
    expect(seen.length).toBe(before);
    expect(acc.end()).toMatchObject({ outcome: 'protocol_error', contentEvents: 0, eventsAfterDone: 5 });
  });
});

describe('anthropic: malformed events are protocol_error E_PROTOCOL_MALFORMED', () => {
  const cases: [string, SseEvent[], RegExp][] = [
    [
      'data is not JSON',
      [messageStart(), blockStart(0), sse('content_block_delta', '{"type":"content_block_delta",')],
      /^event content_block_delta: data is not valid JSON \(.+\) \(SSE event #3\)$/,
    ],
    [
      'message_start data is not JSON',
      [sse('message_start', 'not json')],
      /^event message_start: data is not valid JSON/,
    ],
    [
      'empty data on a known event',
      [messageStart(), sse('message_stop', '')],
      /^event message_stop: data is not valid JSON/,
    ],
    [
      'data is a JSON array',
      [sse('message_start', '[1,2]')],
      /^event message_start: data is not a JSON object: \[1,2\] \(SSE event #1\)$/,
    ],
    [
      'data has no type',
      [messageStart(), sse('message_stop', { kind: 'message_stop' })],
      /^event message_stop: data has no string "type" field/,
    ],
    [
      'event name and data type disagree',
      [messageStart(), sse('content_block_start', { type: 'message_stop' })],
      /^event content_block_start: data has type "message_stop", expected "content_block_start" \(SSE event #2\)$/,
    ],
    [
      'message_start without message',
      [sse('message_start', { type: 'message_start' })],
      /^message_start: "message" is not an object/,
    ],
    [
      'block index is not an integer',
      [
        messageStart(),
        sse('content_block_start', {
          type: 'content_block_start',
          index: '0',
          content_block: { type: 'text', text: '' },
        }),
      ],
      /^content_block_start: "index" is not a non-negative integer/,
    ],
    [
      'block start without content_block',
      [messageStart(), sse('content_block_start', { type: 'content_block_start', index: 0 })],
      /^content_block_start: "content_block" has no string "type"/,
    ],
    [
      'delta index is negative',
      [messageStart(), blockStart(0), textDelta(-1, 'x')],
      /^content_block_delta: "index" is not a non-negative integer/,
    ],
    [
      'delta without a delta object',
      [messageStart(), blockStart(0), sse('content_block_delta', { type: 'content_block_delta', index: 0 })],
      /^content_block_delta: "delta" has no string "type"/,
    ],
    [
      'text_delta without text',
      [messageStart(), blockStart(0), delta(0, { type: 'text_delta', content: 'x' })],
      /^content_block_delta: text_delta has no string "text" \(SSE event #3\)$/,
    ],
    [
      'input_json_delta without partial_json',
      [messageStart(), blockStart(0, 'tool_use'), delta(0, { type: 'input_json_delta' })],
      /^content_block_delta: input_json_delta has no string "partial_json"/,
    ],
    [
      'message_delta without delta',
      [messageStart(), sse('message_delta', { type: 'message_delta', usage: { output_tokens: 3 } })],
      /^message_delta: "delta" is not an object/,
    ],
  ];

  it.each(cases)('%s', (_name, events, message) => {
    const r = run(events);
    expect(r.summary.outcome).toBe('protocol_error');
    expect(r.summary.errorType).toBe('E_PROTOCOL_MALFORMED');
    expect(r.summary.errorMessage).toMatch(message);
    expect(r.events.at(-1)).toMatchObject({ kind: 'protocol_error', code: 'E_PROTOCOL_MALFORMED' });
  });
});

describe('anthropic: usage', () => {
  it('is cumulative: the latest message_delta wins, never the sum; input sums the cache parts', () => {
    const r = run([
      messageStart({
        input_tokens: 5,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 1000,
        output_tokens: 1,
      }),
      blockStart(0),
      textDelta(0, 'a'),
      blockStop(0),
      messageDelta(null, { output_tokens: 10 }),
      messageDelta('max_tokens', {
        input_tokens: null,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        output_tokens: 20,
      }),
      messageStop(),
    ]);
    expect(r.events.filter((e) => e.kind === 'usage')).toEqual([
      { kind: 'usage', inputTokens: 1105, outputTokens: 1 },
      { kind: 'usage', inputTokens: 1105, outputTokens: 10 },
      { kind: 'usage', inputTokens: 1105, outputTokens: 20 },
    ]);
    expect(r.summary).toMatchObject({
      outcome: 'completed',
      stopReason: 'max_tokens',
      inputTokens: 1105,
      outputTokens: 20,
    });
  });

  it('a message_delta may revise input tokens (server tools); a stream without usage reports none', () => {
    const revised = run([
      messageStart(),
      messageDelta('end_turn', { input_tokens: 42, output_tokens: 7 }),
      messageStop(),
    ]);
    expect(revised.summary).toMatchObject({ inputTokens: 42, outputTokens: 7 });

    const none = run([
      sse('message_start', { type: 'message_start', message: { id: 'm', model: 'x' } }),
      sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' } }),
      messageStop(),
    ]);
    expect(none.events.some((e) => e.kind === 'usage')).toBe(false);
    expect(none.summary.outcome).toBe('completed');
    expect('inputTokens' in none.summary).toBe(false);
    expect('outputTokens' in none.summary).toBe(false);
  });
});

describe('anthropic: tolerated input', () => {
  it('unknown event types are ignored without parsing their data, anywhere', () => {
    const r = run([
      sse('future_event', 'not even json'),
      messageStart(),
      sse('message', { type: 'message_annotation', note: 'new in a later API version' }),
      blockStart(0),
      textDelta(0, 'hi'),
      blockStop(0),
      messageDelta('end_turn'),
      messageStop(),
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', ignoredEvents: 2, contentEvents: 1 });
  });

  it('unknown delta types are ignored; unknown block types accept known deltas', () => {
    const r = run([
      messageStart(),
      blockStart(0, 'compaction', {}),
      delta(0, { type: 'compaction_delta', content: 'summary' }),
      blockStop(0),
      blockStart(1, 'web_search_tool_result', { tool_use_id: 'srvtoolu_1', content: [] }),
      blockStop(1),
      blockStart(2, 'future_block', {}),
      textDelta(2, 'ok'),
      blockStop(2),
      blockStart(3),
      delta(3, { type: 'citations_delta', citation: { type: 'char_location', cited_text: 'x' } }),
      textDelta(3, 'cited'),
      blockStop(3),
      messageDelta('end_turn'),
      messageStop(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'text', text: 'ok', index: 2 },
      { kind: 'token', channel: 'text', text: 'cited', index: 3 },
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', ignoredEvents: 1, contentEvents: 2 });
  });

  it('server_tool_use and redacted_thinking blocks: input_json_delta is tool input, redacted data is not content', () => {
    const r = run([
      messageStart(),
      blockStart(0, 'redacted_thinking', { data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' }),
      blockStop(0),
      blockStart(1, 'server_tool_use', { id: 'srvtoolu_1', name: 'web_search', input: {} }),
      delta(1, { type: 'input_json_delta', partial_json: '{"query": "weather"}' }),
      blockStop(1),
      messageDelta('end_turn'),
      messageStop(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'tool_input', text: '{"query": "weather"}', index: 1 },
    ]);
    expect(r.summary.outcome).toBe('completed');
  });

  it('events without an event name are dispatched by their JSON type', () => {
    const named = fixture('anthropic-text.sse');
    const unnamed = named.map((e) => ({ ...e, type: 'message' }));
    const a = run(named);
    const b = run(unnamed);
    expect(b.events).toEqual(a.events);
    expect(b.summary).toEqual(a.summary);
  });

  it('content in a content_block_start counts as a token; empty deltas do not', () => {
    const r = run([
      messageStart(),
      blockStart(0, 'text', { text: 'pre' }),
      textDelta(0, ''),
      textDelta(0, 'x'),
      blockStop(0),
      messageDelta('end_turn'),
      messageStop(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'text', text: 'pre', index: 0 },
      { kind: 'token', channel: 'text', text: 'x', index: 0 },
    ]);
  });

  it('a message without content blocks completes with a null stop reason if none was sent', () => {
    const r = run([messageStart(), messageStop()]);
    expect(r.events.at(-1)).toEqual({ kind: 'stop', reason: null });
    expect(r.summary).toMatchObject({ outcome: 'completed', stopReason: null, contentEvents: 0 });
  });
});

describe('anthropic: in-band errors and the end of the stream', () => {
  it('an error before message_start is a stream_error', () => {
    const r = run([
      sse('error', { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }),
    ]);
    expect(r.summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'api_error',
      errorMessage: 'Internal server error',
    });
  });

  it('an error event whose data is not JSON is still a stream_error, quoting the data', () => {
    const r = run([
      messageStart(),
      sse('error', 'upstream connect error or disconnect/reset before headers'),
    ]);
    expect(r.events.at(-1)).toEqual({
      kind: 'error',
      errorType: 'unknown_error',
      message: 'upstream connect error or disconnect/reset before headers',
    });
    expect(r.summary.outcome).toBe('stream_error');
  });

  it('an error object without a type, sent as an unnamed event, is a stream_error of unknown type', () => {
    const r = run([messageStart(), sse('message', { type: 'error', error: { message: 'boom' } })]);
    expect(r.summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'unknown_error',
      errorMessage: 'boom',
    });
  });

  it('events after message_stop are ignored and counted; end() is idempotent; push after end() is ignored', () => {
    const seen: StreamEvent[] = [];
    const acc = new AnthropicAccumulator((e) => seen.push(e));
    for (const e of fixture('anthropic-text.sse')) acc.push(e);
    expect(acc.done).toBe(true);
    const count = seen.length;
    acc.push(messageStart());
    acc.push(sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    expect(seen.length).toBe(count);
    const first = acc.end();
    expect(first).toMatchObject({ outcome: 'completed', eventsAfterDone: 2, sseEvents: 10 });
    acc.push(ping());
    expect(acc.end()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('push after end() on a truncated stream is ignored', () => {
    const seen: StreamEvent[] = [];
    const acc = new AnthropicAccumulator((e) => seen.push(e));
    acc.push(messageStart());
    const summary = acc.end();
    expect(summary.outcome).toBe('truncated');
    acc.push(messageStop());
    expect(seen.some((e) => e.kind === 'stop')).toBe(false);
    expect(acc.done).toBe(false);
    expect(acc.end()).toBe(summary);
  });

  it('works without a listener', () => {
    const acc = new AnthropicAccumulator();
    for (const e of fixture('anthropic-thinking.sse')) acc.push(e);
    expect(acc.end()).toMatchObject({ outcome: 'completed', contentEvents: 3 });
  });
});
