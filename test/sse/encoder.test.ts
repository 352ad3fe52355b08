import { describe, expect, it } from 'vitest';
import { encodeComment, encodeEvent, encodeRetry, SseDecoder } from '../../src/sse/index.js';
import type { SseEvent } from '../../src/sse/types.js';

function decodeAll(stream: string): { events: SseEvent[]; comments: string[]; retries: number[] } {
  const out = { events: [] as SseEvent[], comments: [] as string[], retries: [] as number[] };
  const d = new SseDecoder({
    onEvent: (e) => out.events.push(e),
    onComment: (c) => out.comments.push(c),
    onRetry: (ms) => out.retries.push(ms),
  });
  expect(d.decode(new TextEncoder().encode(stream))).toBeUndefined();
  expect(d.flush()).toEqual({ truncated: false, pendingBytes: 0 });
  return out;
}

describe('encodeEvent', () => {
  it('writes data only, then the blank line', () => {
    expect(encodeEvent({ data: 'hello' })).toBe('data: hello\n\n');
  });

  it('writes id, event and retry before data', () => {
    expect(encodeEvent({ data: '{}', event: 'ping', id: '42', retry: 3000 })).toBe(
      'id: 42\nevent: ping\nretry: 3000\ndata: {}\n\n',
    );
  });

  it('splits data on CRLF, CR and LF into one data line each', () => {
    expect(encodeEvent({ data: 'a\r\nb\rc\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeEvent({ data: '\n' })).toBe('data:\ndata:\n\n');
    expect(encodeEvent({ data: 'x\r' })).toBe('data: x\ndata:\n\n');
  });

  it('writes empty values without a trailing space', () => {
    expect(encodeEvent({ data: '', id: '' })).toBe('id:\ndata:\n\n');
  });

  it('round-trips through the decoder, leading spaces and line breaks included', () => {
    const stream =
      encodeEvent({ data: ' indented\r\n  twice', event: ' spaced type', id: ' 7' }) +
      encodeEvent({ data: 'caf\u00e9 \u{1F600}', event: '\u6f22' }) +
      encodeEvent({ data: '' });
    expect(decodeAll(stream).events).toEqual([
      { type: ' spaced type', data: ' indented\n  twice', lastEventId: ' 7' },
      { type: '\u6f22', data: 'caf\u00e9 \u{1F600}', lastEventId: ' 7' },
      { type: 'message', data: '', lastEventId: ' 7' },
    ]);
  });

  it('rejects an event type or id that contains CR or LF, and an id that contains NUL', () => {
    expect(() => encodeEvent({ data: 'x', event: 'a\nb' })).toThrow(TypeError);
    expect(() => encodeEvent({ data: 'x', event: 'a\rb' })).toThrow(/event must not contain CR or LF/);
    expect(() => encodeEvent({ data: 'x', id: '1\r\n' })).toThrow(/id must not contain CR or LF/);
    expect(() => encodeEvent({ data: 'x', id: 'a\u0000b' })).toThrow(/NULL/);
  });

  it('rejects a retry that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => encodeEvent({ data: 'x', retry: bad }), String(bad)).toThrow(
        /retry must be a non-negative/,
      );
    }
  });

  it('rejects data that is not a string', () => {
    expect(() => encodeEvent({ data: 42 as unknown as string })).toThrow(/data must be a string/);
  });
});

describe('encodeComment', () => {
  it('writes a comment line and a blank line', () => {
    expect(encodeComment('ping')).toBe(': ping\n\n');
    expect(encodeComment('')).toBe(':\n\n');
  });

  it('splits multi-line text into several comment lines, so nothing becomes a field', () => {
    expect(encodeComment('a\ndata: injected\r\nb\rc')).toBe(': a\n: data: injected\n: b\n: c\n\n');
    const decoded = decodeAll(encodeComment('a\ndata: injected'));
    expect(decoded.events).toEqual([]);
    expect(decoded.comments).toEqual(['a', 'data: injected']);
  });
});

describe('encodeRetry', () => {
  it('writes a retry field that the decoder reports', () => {
    expect(encodeRetry(2500)).toBe('retry: 2500\n\n');
    expect(decodeAll(encodeRetry(0) + encodeRetry(2500)).retries).toEqual([0, 2500]);
  });

  it('rejects a negative or fractional value', () => {
    expect(() => encodeRetry(-5)).toThrow(TypeError);
    expect(() => encodeRetry(0.5)).toThrow(TypeError);
  });
});
