// Cross-check against eventsource-parser@3, an independent and widely used SSE parser, on the same
// byte streams. It takes strings, so bytes go through a streaming TextDecoder first (as its
// EventSourceParserStream does). It reports `event` as undefined rather than 'message', and an
// event's `id` only when that event carried an `id` field (it does not keep the last event ID across
// events), so ours must match its id whenever it reports one.
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeComment, encodeEvent, SseDecoder } from '../../src/sse/index.js';
import { fixtures } from '../fixtures/sse/streams.js';

interface Seen {
  events: { type: string; data: string; id: string | undefined }[];
  comments: string[];
  retries: number[];
}

function ours(chunks: readonly Uint8Array[]): Seen {
  const seen: Seen = { events: [], comments: [], retries: [] };
  const d = new SseDecoder({
    onEvent: (e) => seen.events.push({ type: e.type, data: e.data, id: e.lastEventId }),
    onComment: (c) => seen.comments.push(c),
    onRetry: (ms) => seen.retries.push(ms),
  });
  for (const c of chunks) expect(d.decode(c)).toBeUndefined();
  return seen;
}

function theirs(chunks: readonly Uint8Array[]): Seen {
  const seen: Seen = { events: [], comments: [], retries: [] };
  const parser = createParser({
    onEvent: (e) => seen.events.push({ type: e.event ?? 'message', data: e.data, id: e.id }),
    onComment: (c) => seen.comments.push(c),
    onRetry: (ms) => seen.retries.push(ms),
  });
  const text = new TextDecoder();
  for (const c of chunks) parser.feed(text.decode(c, { stream: true }));
  parser.feed(text.decode());
  return seen;
}

/** Ours must agree on everything; the id only where eventsource-parser reports one. */
function expectAgreement(chunks: readonly Uint8Array[]): void {
  const a = ours(chunks);
  const b = theirs(chunks);
  expect(a.comments).toEqual(b.comments);
  expect(a.retries).toEqual(b.retries);
  expect(a.events.map(({ type, data }) => ({ type, data }))).toEqual(
    b.events.map(({ type, data }) => ({ type, data })),
  );
  b.events.forEach((e, i) => {
    if (e.id !== undefined) expect(a.events[i]?.id, `event ${i} id`).toBe(e.id);
  });
}

describe('cross-check with eventsource-parser@3', () => {
  const agreeing = fixtures.filter((f) => f.eventsourceParserDiffers === undefined);

  it('covers most fixtures', () => {
    expect(agreeing.length).toBeGreaterThanOrEqual(fixtures.length - 2);
  });

  for (const f of agreeing) {
    it(`agrees on "${f.name}", whole and split at every byte offset`, () => {
      expectAgreement([f.bytes]);
      for (let i = 0; i <= f.bytes.length; i++)
        expectAgreement([f.bytes.subarray(0, i), f.bytes.subarray(i)]);
    });
  }

  for (const f of fixtures.filter((x) => x.eventsourceParserDiffers !== undefined)) {
    it(`differs on "${f.name}" only where expected: ${f.eventsourceParserDiffers}`, () => {
      // eventsource-parser gets a strict prefix of the events; once an LF follows the final CR (which
      // makes it a CRLF, so the spec's events do not change) the two agree again.
      const a = ours([f.bytes]);
      const b = theirs([f.bytes]);
      expect(a.events.map((e) => e.data)).toEqual(f.events.map((e) => e.data));
      expect(b.events.length).toBeLessThan(a.events.length);
      expect(b.events).toEqual(a.events.slice(0, b.events.length).map((e) => ({ ...e, id: undefined })));
      const withLf = new Uint8Array([...f.bytes, 0x0a]);
      expect(ours([withLf])).toEqual(a);
      expectAgreement([withLf]);
    });
  }

  it('agrees on random encoder output in random chunks', () => {
    const noBreak = (s: string) => !/[\r\n]/.test(s);
    const input = fc.record(
      {
        event: fc.string({ unit: 'grapheme', maxLength: 8 }).filter(noBreak),
        id: fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => noBreak(s) && !s.includes('\u0000')),
        retry: fc.nat({ max: 100_000 }),
        data: fc.string({ unit: 'grapheme', maxLength: 40 }),
        comment: fc.string({ unit: 'grapheme', maxLength: 20 }),
      },
      { requiredKeys: ['data'] },
    );
    fc.assert(
      fc.property(
        fc.array(input, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (events, cuts) => {
          let stream = '';
          for (const e of events) {
            if (e.comment !== undefined) stream += encodeComment(e.comment);
            stream += encodeEvent(e);
          }
          const b = new TextEncoder().encode(stream);
          const points = cuts.map((c) => c % (b.length + 1)).sort((x, y) => x - y);
          const chunks = [...points, b.length].map((p, i) => b.subarray(i === 0 ? 0 : points[i - 1], p));
          expectAgreement(chunks);
        },
      ),
      { numRuns: 500 },
    );
  });
});
