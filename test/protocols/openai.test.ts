import { describe, expect, it } from 'vitest';
import { OpenAIAccumulator } from '../../src/protocols/openai.js';
import type { StreamEvent } from '../../src/protocols/types.js';
import type { SseEvent } from '../../src/sse/types.js';
import { fixture, runAccumulator } from '../helpers/protocols.js';

// Fixtures are raw SSE bodies as OpenAI and vLLM send them; an independent SSE parser
// (eventsource-parser, a dev dependency) turns them into dispatched events.

/** An unnamed SSE event (or a named one); an object payload is JSON-encoded, a string is sent as is. */
function sse(data: unknown, type = 'message'): SseEvent {
  return { type, data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: '' };
}

const run = (events: readonly SseEvent[]) => runAccumulator('openai', events);

const chunk = (choices: unknown[], extra: object = {}) =>
  sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra });
const choice = (delta: object, finish: string | null = null, index = 0) => ({
  index,
  delta,
  logprobs: null,
  finish_reason: finish,
});
const roleChunk = () => chunk([choice({ role: 'assistant', content: '' })]);
const content = (text: string, index = 0) => chunk([choice({ content: text }, null, index)]);
const finish = (reason = 'stop', index = 0) => chunk([choice({}, reason, index)]);
const done = () => sse('[DONE]');

describe('openai: fixtures', () => {
  it('text with include_usage: role-only start, tokens, finish, usage chunk, [DONE]', () => {
    const r = run(fixture('openai-text.sse'));
    expect(r.events).toEqual([
      { kind: 'start', messageId: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG', model: 'gpt-4o-mini-2024-07-18' },
      { kind: 'token', channel: 'text', text: 'Hello', index: 0 },
      { kind: 'token', channel: 'text', text: '!', index: 0 },
      { kind: 'token', channel: 'text', text: ' How can I help?', index: 0 },
      { kind: 'usage', inputTokens: 9, outputTokens: 9 },
      { kind: 'stop', reason: 'stop' },
    ]);
    expect(r.done).toBe(true);
    expect(r.summary).toEqual({
      outcome: 'completed',
      stopReason: 'stop',
      messageId: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
      model: 'gpt-4o-mini-2024-07-18',
      inputTokens: 9,
      outputTokens: 9,
      contentEvents: 3,
      textChars: 'Hello! How can I help?'.length,
      thinkingChars: 0,
      toolInputChars: 0,
      sseEvents: 7,
      pings: 0,
      ignoredEvents: 0,
      eventsAfterDone: 0,
    });
  });

  it('vLLM reasoning_content: thinking tokens, then text; the empty content on the finish chunk is not a token', () => {
    const r = run(fixture('openai-vllm-reasoning.sse'));
    expect(r.events).toEqual([
      {
        kind: 'start',
        messageId: 'chatcmpl-4f3c2b1a0e9d4c8b',
        model: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B',
      },
      { kind: 'token', channel: 'thinking', text: 'The user', index: 0 },
      { kind: 'token', channel: 'thinking', text: ' asks 9.11 vs 9.8.', index: 0 },
      { kind: 'token', channel: 'text', text: '9.8', index: 0 },
      { kind: 'token', channel: 'text', text: ' is larger.', index: 0 },
      { kind: 'usage', inputTokens: 18, outputTokens: 13 },
      { kind: 'stop', reason: 'stop' },
    ]);
    expect(r.summary).toMatchObject({
      outcome: 'completed',
      contentEvents: 4,
      thinkingChars: 'The user asks 9.11 vs 9.8.'.length,
      textChars: '9.8 is larger.'.length,
    });
  });

  it('tool_calls: argument fragments are tool_input tokens; the call header with "" arguments is not', () => {
    const r = run(fixture('openai-tool-calls.sse'));
    const tokens = r.events.filter((e) => e.kind === 'token');
    expect(tokens).toEqual([
      { kind: 'token', channel: 'tool_input', text: '{"', index: 0 },
      { kind: 'token', channel: 'tool_input', text: 'location', index: 0 },
      { kind: 'token', channel: 'tool_input', text: '":"Paris"}', index: 0 },
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', stopReason: 'tool_calls', toolInputChars: 20 });
    expect('inputTokens' in r.summary).toBe(false);
  });

  it('in-band error chunk: stream_error with the error type and message', () => {
    const r = run(fixture('openai-error.sse'));
    expect(r.events.slice(-2)).toEqual([
      { kind: 'token', channel: 'text', text: 'Once', index: 0 },
      {
        kind: 'error',
        errorType: 'server_error',
        message: 'The server had an error while processing your request. Sorry about that!',
      },
    ]);
    expect(r.done).toBe(true);
    expect(r.summary).toMatchObject({ outcome: 'stream_error', errorType: 'server_error', contentEvents: 1 });
  });
});

describe('openai: truncated streams', () => {
  it('finish_reason and usage seen but no [DONE]: truncated, saying so', () => {
    const events = fixture('openai-text.sse');
    expect(events.at(-1)?.data).toBe('[DONE]');
    const r = run(events.slice(0, -1));
    expect(r.done).toBe(false);
    expect(r.events.some((e) => e.kind === 'stop')).toBe(false);
    expect(r.summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended after finish_reason "stop" without data: [DONE]',
      stopReason: 'stop',
      inputTokens: 9,
      outputTokens: 9,
      contentEvents: 3,
    });
  });

  it('cut in the middle of the content', () => {
    const r = run(fixture('openai-vllm-reasoning.sse').slice(0, 3));
    expect(r.summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended without finish_reason or data: [DONE]',
      stopReason: null,
      contentEvents: 2,
    });
  });

  it('an empty stream ended before the first chunk', () => {
    expect(run([]).summary).toMatchObject({
      outcome: 'truncated',
      errorMessage: 'stream ended before the first chunk',
      sseEvents: 0,
    });
  });
});

describe('openai: protocol errors', () => {
  it('[DONE] before any chunk is E_PROTOCOL_ORDER', () => {
    const r = run([done()]);
    expect(r.summary).toMatchObject({
      outcome: 'protocol_error',
      errorType: 'E_PROTOCOL_ORDER',
      errorMessage: 'data: [DONE] before any chunk (SSE event #1)',
    });
    expect(r.events).toEqual([
      {
        kind: 'protocol_error',
        code: 'E_PROTOCOL_ORDER',
        message: 'data: [DONE] before any chunk (SSE event #1)',
      },
    ]);
  });

  it('content for a choice after its finish_reason is E_PROTOCOL_ORDER', () => {
    const r = run([roleChunk(), content('a'), finish(), content('late'), done()]);
    expect(r.summary).toMatchObject({
      outcome: 'protocol_error',
      errorType: 'E_PROTOCOL_ORDER',
      errorMessage: 'chunk: content for choice 0 after its finish_reason (SSE event #4)',
      contentEvents: 1,
    });
  });

  it('a repeated finish_reason or an empty delta after it is tolerated', () => {
    const r = run([roleChunk(), content('a'), finish(), chunk([choice({ content: '' }, 'stop')]), done()]);
    expect(r.summary).toMatchObject({ outcome: 'completed', stopReason: 'stop', contentEvents: 1 });
  });

  const malformed: [string, SseEvent[], RegExp][] = [
    [
      'data is not JSON',
      [roleChunk(), sse('{"id":"chatcmpl-1","choices":[')],
      /^chunk: data is not valid JSON \(.+\) \(SSE event #2\)$/,
    ],
    [
      'data is a JSON string',
      [sse('"hello"')],
      /^chunk: data is not a JSON object: "hello" \(SSE event #1\)$/,
    ],
    [
      'choices is not an array',
      [chunk({ index: 0 } as unknown as unknown[])],
      /^chunk: "choices" is not an array/,
    ],
    ['a choice is not an object', [chunk([42])], /^chunk: choices\[0\] is not an object/],
    [
      'a choice index is negative',
      [chunk([choice({ content: 'x' }, null, -1)])],
      /^chunk: choices\[0\]\.index is not a non-negative integer/,
    ],
    [
      'delta is not an object',
      [chunk([{ index: 0, delta: 'x' }])],
      /^chunk: choices\[0\]\.delta is not an object/,
    ],
    [
      'content is not a string',
      [roleChunk(), chunk([choice({ content: 7 })])],
      /^chunk: delta\.content of choice 0 is not a string \(SSE event #2\)$/,
    ],
  ];

  it.each(malformed)('malformed: %s', (_name, events, message) => {
    const r = run(events);
    expect(r.done).toBe(true);
    expect(r.summary.outcome).toBe('protocol_error');
    expect(r.summary.errorType).toBe('E_PROTOCOL_MALFORMED');
    expect(r.summary.errorMessage).toMatch(message);
    expect(r.events.at(-1)).toMatchObject({ kind: 'protocol_error', code: 'E_PROTOCOL_MALFORMED' });
  });

  it('after a protocol error further input is ignored', () => {
    const seen: StreamEvent[] = [];
    const acc = new OpenAIAccumulator((e) => seen.push(e));
    acc.push(roleChunk());
    acc.push(sse('nope'));
    const count = seen.length;
    acc.push(content('x'));
    acc.push(done());
    expect(seen.length).toBe(count);
    expect(acc.end()).toMatchObject({ outcome: 'protocol_error', eventsAfterDone: 2, contentEvents: 0 });
  });
});

describe('openai: in-band errors', () => {
  it('`event: error` with an OpenAI error body', () => {
    const r = run([
      roleChunk(),
      sse(
        { error: { message: 'Rate limit reached', type: 'rate_limit_exceeded', param: null, code: null } },
        'error',
      ),
    ]);
    expect(r.summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'rate_limit_exceeded',
      errorMessage: 'Rate limit reached',
    });
  });

  it('`event: error` whose data is not JSON is still a stream_error', () => {
    const r = run([roleChunk(), sse('upstream timed out', 'error')]);
    expect(r.events.at(-1)).toEqual({
      kind: 'error',
      errorType: 'unknown_error',
      message: 'upstream timed out',
    });
  });

  it("vLLM's unwrapped error object ({object: 'error', …})", () => {
    const r = run([
      sse({
        object: 'error',
        message: 'max_tokens is too large',
        type: 'BadRequestError',
        param: null,
        code: 400,
      }),
    ]);
    expect(r.summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'BadRequestError',
      errorMessage: 'max_tokens is too large',
    });
  });

  it('an error without a type falls back to its code; a bare string error is its message', () => {
    expect(run([sse({ error: { message: 'bad gateway', code: 502 } })]).summary).toMatchObject({
      errorType: '502',
      errorMessage: 'bad gateway',
    });
    expect(run([sse({ error: 'something broke' })]).summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'unknown_error',
      errorMessage: 'something broke',
    });
  });

  it('an error after [DONE] is ignored', () => {
    const r = run([
      ...fixture('openai-tool-calls.sse'),
      sse({ error: { message: 'late', type: 'server_error' } }),
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', eventsAfterDone: 1 });
  });
});

describe('openai: content channels and choices', () => {
  it('reasoning (newer vLLM) is thinking; when reasoning_content carries the same text it counts once', () => {
    const r = run([
      roleChunk(),
      chunk([choice({ reasoning: 'think' })]),
      chunk([choice({ reasoning_content: 'both', reasoning: 'both' })]),
      chunk([choice({ reasoning_content: '', reasoning: 'fallback' })]),
      content('answer'),
      finish(),
      done(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'thinking', text: 'think', index: 0 },
      { kind: 'token', channel: 'thinking', text: 'both', index: 0 },
      { kind: 'token', channel: 'thinking', text: 'fallback', index: 0 },
      { kind: 'token', channel: 'text', text: 'answer', index: 0 },
    ]);
  });

  it('refusal is text; legacy function_call arguments are tool input', () => {
    const r = run([
      chunk([choice({ role: 'assistant', content: null, refusal: "I can't help with that." })]),
      chunk([choice({ function_call: { name: 'f', arguments: '{"a":1}' } })]),
      finish('function_call'),
      done(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'text', text: "I can't help with that.", index: 0 },
      { kind: 'token', channel: 'tool_input', text: '{"a":1}', index: 0 },
    ]);
    expect(r.summary.stopReason).toBe('function_call');
  });

  it('n > 1: tokens carry their choice index; each choice finishes separately', () => {
    const r = run([
      chunk([
        choice({ role: 'assistant', content: '' }, null, 0),
        choice({ role: 'assistant', content: '' }, null, 1),
      ]),
      chunk([choice({ content: 'A' }, null, 1)]),
      chunk([choice({ content: 'B' }, null, 0)]),
      finish('stop', 1),
      content('C', 0),
      finish('length', 0),
      done(),
    ]);
    expect(r.events.filter((e) => e.kind === 'token')).toEqual([
      { kind: 'token', channel: 'text', text: 'A', index: 1 },
      { kind: 'token', channel: 'text', text: 'B', index: 0 },
      { kind: 'token', channel: 'text', text: 'C', index: 0 },
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', stopReason: 'length', contentEvents: 3 });
  });

  it('continuous usage stats: usage on every chunk is cumulative, the latest wins', () => {
    const r = run([
      chunk([choice({ role: 'assistant', content: '' })], {
        usage: { prompt_tokens: 20, completion_tokens: 0 },
      }),
      chunk([choice({ content: 'a' })], { usage: { prompt_tokens: 20, completion_tokens: 1 } }),
      chunk([choice({ content: 'b' }, 'stop')], { usage: { prompt_tokens: 20, completion_tokens: 2 } }),
      done(),
    ]);
    expect(r.events.filter((e) => e.kind === 'usage')).toEqual([
      { kind: 'usage', inputTokens: 20, outputTokens: 0 },
      { kind: 'usage', inputTokens: 20, outputTokens: 1 },
      { kind: 'usage', inputTokens: 20, outputTokens: 2 },
    ]);
    expect(r.summary).toMatchObject({ inputTokens: 20, outputTokens: 2, stopReason: 'stop' });
  });

  it('named events other than error are ignored; a chunk without choices or index is tolerated', () => {
    const r = run([
      sse('keep-alive', 'ping'),
      sse({ id: 'x', object: 'chat.completion.chunk', model: 'm' }),
      sse({ id: 'x', choices: [{ delta: { content: 'no index' } }] }),
      finish(),
      done(),
    ]);
    expect(r.events).toEqual([
      { kind: 'start', messageId: 'x', model: 'm' },
      { kind: 'token', channel: 'text', text: 'no index', index: 0 },
      { kind: 'stop', reason: 'stop' },
    ]);
    expect(r.summary).toMatchObject({ outcome: 'completed', ignoredEvents: 1 });
  });

  it('[DONE] without any finish_reason still completes, with a null stop reason', () => {
    const r = run([roleChunk(), content('x'), done()]);
    expect(r.events.at(-1)).toEqual({ kind: 'stop', reason: null });
    expect(r.summary).toMatchObject({ outcome: 'completed', stopReason: null });
  });
});
