import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_EVENT_BYTES, SseDecoder, type SseDecoderOptions } from '../../src/sse/index.js';
import type { SseEvent } from '../../src/sse/types.js';
import { bytes, fixtures } from '../fixtures/sse/streams.js';

interface Replay {
  events: SseEvent[];
  comments: string[];
  retries: number[];
  errors: string[];
  lastEventId: string;
  bytesDecoded: number;
  flush: { truncated: boolean; pendingBytes: number };
}

/** Feeds the chunks to a fresh decoder (up to the first error), records every callback and result, then flushes. */
function replay(chunks: Iterable<Uint8Array>, opts: Partial<SseDecoderOptions> = {}): Replay {
  const r: Replay = {
    events: [],
    comments: [],
    retries: [],
    errors: [],
    lastEventId: '',
    bytesDecoded: 0,
    flush: { truncated: false, pendingBytes: 0 },
  };
  const decoder = new SseDecoder({
    onEvent: (ev) => r.events.push(ev),
    onComment: (text) => r.comments.push(text),
    onRetry: (ms) => r.retries.push(ms),
    ...opts,
  });
  for (const chunk of chunks) {
    const err = decoder.decode(chunk);
    if (err !== undefined) {
      r.errors.push(err.code);
      break;
    }
  }
  r.lastEventId = decoder.lastEventId;
  r.bytesDecoded = decoder.bytesDecoded;
  r.flush = decoder.flush();
  return r;
}

function* byteByByte(b: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
}

const text = (s: string) => new TextEncoder().encode(s);

// First in this file on purpose: non-ASCII text is decoded by one TextDecoder shared by all decoders,
// and a TextDecoder would strip a BOM at the start of the first text it ever decodes, unless told not
// to. Only the stream's own first BOM may be skipped.
describe('SseDecoder, first use in a process', () => {
  it('keeps a second BOM: it starts the first line, which is then an unknown field', () => {
    const r = replay([bytes([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], 'data: x\n\n', 'data: y\n\n')]);
    expect(r.events.map((e) => e.data)).toEqual(['y']);
  });
});

describe('SseDecoder on fixture streams', () => {
  for (const f of fixtures) {
    describe(f.name, () => {
      const expected: Replay = {
        events: [...f.events],
        comments: [...f.comments],
        retries: [...f.retries],
        errors: [],
        lastEventId: f.lastEventId,
        bytesDecoded: f.bytes.length,
        flush: f.flush,
      };

      it('whole stream in one chunk', () => {
        expect(replay([f.bytes])).toEqual(expected);
      });

      it('whole stream as a Buffer slice with a non-zero byteOffset', () => {
        const backing = Buffer.alloc(f.bytes.length + 7, 0x41);
        backing.set(f.bytes, 3);
        expect(replay([backing.subarray(3, 3 + f.bytes.length)])).toEqual(expected);
      });

      it('split into two chunks at every byte offset', () => {
        for (let i = 0; i <= f.bytes.length; i++) {
          const got = replay([f.bytes.subarray(0, i), f.bytes.subarray(i)]);
          expect(got, `split at byte ${i}`).toEqual(expected);
        }
      });

      it('byte by byte', () => {
        expect(replay(byteByByte(f.bytes))).toEqual(expected);
      });
    });
  }
});

describe('SseDecoder line endings across chunks', () => {
  it('CR at the end of a chunk and LF at the start of the next are one line end', () => {
    const r = replay([text('data: a\r'), text('\ndata: b\r'), text('\n\r'), text('\n')]);
    // Three CRLFs, each split between two chunks. Counting a split CRLF as two line ends would make
    // blank lines that dispatch 'a' and 'b' as separate events.
    expect(r.events).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }]);
  });

  it('a CRLF split across chunks does not produce an extra blank line (which would dispatch early)', () => {
    const r = replay([text('data: a\r'), text('\ndata: b\n\n')]);
    expect(r.events.map((e) => e.data)).toEqual(['a\nb']);
  });

  it('CR at the end of a chunk followed by a chunk starting with another byte ends the line at the CR', () => {
    const r = replay([text('data: a\r'), text('data: b\r'), text('\r')]);
    expect(r.events.map((e) => e.data)).toEqual(['a\nb']);
  });

  it('CR at the end of a chunk followed by a CR chunk is a blank line', () => {
    const r = replay([text('data: a\r'), text('\r'), text('data: b\n\n')]);
    expect(r.events.map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('a CR ending a chunk dispatches immediately, without waiting for the next byte', () => {
    const events: string[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e.data) });
    d.decode(text('data: now\r\r'));
    expect(events).toEqual(['now']);
  });

  it('the LF after a split CRLF survives empty chunks in between', () => {
    const r = replay([text('data: a\r'), new Uint8Array(0), new Uint8Array(0), text('\n\n')]);
    expect(r.events.map((e) => e.data)).toEqual(['a']);
  });

  it('only one LF is swallowed after a CR at a chunk end', () => {
    const r = replay([text('data: a\r'), text('\n\ndata: b\n\n')]);
    expect(r.events.map((e) => e.data)).toEqual(['a', 'b']);
  });
});

describe('SseDecoder byte-order mark', () => {
  it('skips a BOM split across three chunks', () => {
    const r = replay([Uint8Array.of(0xef), Uint8Array.of(0xbb), Uint8Array.of(0xbf), text('data: x\n\n')]);
    expect(r.events).toEqual([{ type: 'message', data: 'x', lastEventId: '' }]);
  });

  it('skips only the first BOM, also when the second one arrives in its own chunk', () => {
    const r = replay([
      Uint8Array.of(0xef, 0xbb, 0xbf),
      Uint8Array.of(0xef, 0xbb, 0xbf),
      text('data: x\n\ndata: y\n\n'),
    ]);
    expect(r.events.map((e) => e.data)).toEqual(['y']);
  });

  it('treats a BOM prefix cut short by the end of the stream as a partial line', () => {
    const d = new SseDecoder({ onEvent: () => {} });
    d.decode(Uint8Array.of(0xef, 0xbb));
    expect(d.flush()).toEqual({ truncated: true, pendingBytes: 2 });
  });
});

describe('SseDecoder.flush', () => {
  it('does not dispatch a final event without its blank line, and reports it truncated', () => {
    const events: SseEvent[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e) });
    d.decode(text('data: complete\n\nid: 7\nevent: x\ndata: cut'));
    expect(d.flush()).toEqual({ truncated: true, pendingBytes: 'id: 7\nevent: x\ndata: cut'.length });
    expect(events.map((e) => e.data)).toEqual(['complete']);
    expect(d.lastEventId).toBe('');
  });

  it('reports a clean end as not truncated', () => {
    const d = new SseDecoder({ onEvent: () => {} });
    d.decode(text('data: a\n\n: trailing comment\n'));
    expect(d.flush()).toEqual({ truncated: false, pendingBytes: 0 });
  });

  it('counts a field line without data as pending (the stream ended inside an event)', () => {
    const d = new SseDecoder({ onEvent: () => {} });
    d.decode(text('event: ping\n'));
    expect(d.flush()).toEqual({ truncated: true, pendingBytes: 12 });
  });

  it('starts a new stream afterwards: state and BOM detection reset, lastEventId kept', () => {
    const events: SseEvent[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e) });
    d.decode(text('id: 41\ndata: a\n\nevent: stale\ndata: half'));
    d.flush();
    d.decode(bytes([0xef, 0xbb, 0xbf], 'data: b\n\n'));
    expect(d.flush()).toEqual({ truncated: false, pendingBytes: 0 });
    expect(events).toEqual([
      { type: 'message', data: 'a', lastEventId: '41' },
      { type: 'message', data: 'b', lastEventId: '41' },
    ]);
    expect(d.lastEventId).toBe('41');
  });
});

describe('SseDecoder maxEventBytes', () => {
  it('defaults to 1 MiB', () => {
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(1024 * 1024);
    const events: SseEvent[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e) });
    const big = 'x'.repeat(DEFAULT_MAX_EVENT_BYTES - 6);
    expect(d.decode(text(`data: ${big}\n\n`))).toBeUndefined();
    expect(events[0]?.data.length).toBe(big.length);
    expect(d.decode(text(`data: ${big}x\n\n`))?.code).toBe('E_SSE_EVENT_TOO_LARGE');
  });

  it('returns an error naming the size and the limit for accumulated data lines, then stays dead', () => {
    const events: string[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e.data), maxEventBytes: 20 });
    expect(d.decode(text('data: 0123456789\n\n'))).toBeUndefined();
    const err = d.decode(text('data: 0123456789\ndata: 0123456789\n\ndata: after\n\n'));
    expect(err?.code).toBe('E_SSE_EVENT_TOO_LARGE');
    expect(err?.message).toContain('21 bytes');
    expect(err?.message).toContain('20 bytes');
    expect(events).toEqual(['0123456789']);
    // Dead: the same error for every further chunk, nothing dispatched, nothing counted.
    const before = d.bytesDecoded;
    expect(d.decode(text('data: ok\n\n'))).toBe(err);
    expect(d.decode(new Uint8Array(0))).toBe(err);
    expect(events).toEqual(['0123456789']);
    expect(d.bytesDecoded).toBe(before);
    expect(d.flush()).toEqual({ truncated: false, pendingBytes: 0 });
    expect(d.decode(text('data: ok\n\n'))).toBe(err);
  });

  it('limits the length of a line still being carried across chunks (memory stays bounded)', () => {
    const d = new SseDecoder({ onEvent: () => {}, maxEventBytes: 100 });
    let err: ReturnType<SseDecoder['decode']>;
    let fed = 0;
    while (err === undefined && fed < 1000) {
      err = d.decode(text(': endless comment without a line end '));
      fed++;
    }
    expect(err?.code).toBe('E_SSE_EVENT_TOO_LARGE');
    expect(fed).toBe(3); // 37 bytes per chunk: 111 > 100 on the third
  });

  it('limits one long line inside a single chunk the same way, so chunking does not matter', () => {
    const line = `: ${'c'.repeat(200)}\n`;
    expect(replay([text(line)], { maxEventBytes: 100 }).errors).toEqual(['E_SSE_EVENT_TOO_LARGE']);
    expect(replay(byteByByte(text(line)), { maxEventBytes: 100 }).errors).toEqual(['E_SSE_EVENT_TOO_LARGE']);
    expect(replay([text(line)], { maxEventBytes: 202 }).errors).toEqual([]);
  });

  it('counts the bytes of data accumulated over several lines, not UTF-16 code units', () => {
    // Each line is 17 bytes; three emoji are 12 bytes of data but only 6 UTF-16 code units.
    const line = `data:${'\u{1F600}'.repeat(3)}\n`;
    expect(replay([text(`${line}${line}\n`)], { maxEventBytes: 25 }).errors).toEqual([]);
    const r = replay([text(`${line}${line}${line}\n`)], { maxEventBytes: 25 });
    expect(r.errors).toEqual(['E_SSE_EVENT_TOO_LARGE']);
    expect(r.events).toEqual([]);
  });

  it('counts bytes, not UTF-16 code units', () => {
    // 5 emoji = 20 bytes of UTF-8 but 10 UTF-16 code units.
    const emoji = '\u{1F600}'.repeat(5);
    expect(replay([text(`data:${emoji}\n\n`)], { maxEventBytes: 25 }).errors).toEqual([]);
    expect(replay([text(`data:${emoji}\n\n`)], { maxEventBytes: 19 }).errors).toEqual([
      'E_SSE_EVENT_TOO_LARGE',
    ]);
  });

  it('rejects an invalid limit at construction', () => {
    expect(() => new SseDecoder({ onEvent: () => {}, maxEventBytes: 0 })).toThrow(TypeError);
    expect(() => new SseDecoder({ onEvent: () => {}, maxEventBytes: 1.5 })).toThrow(/maxEventBytes/);
  });
});

describe('SseDecoder details', () => {
  it('works without onComment and onRetry', () => {
    const events: string[] = [];
    const d = new SseDecoder({ onEvent: (e) => events.push(e.data) });
    expect(d.decode(text(': c\nretry: 5\ndata: x\n\n'))).toBeUndefined();
    expect(events).toEqual(['x']);
  });

  it('counts every byte it was given, the BOM included', () => {
    const d = new SseDecoder({ onEvent: () => {} });
    d.decode(bytes([0xef, 0xbb, 0xbf], 'data: a'));
    d.decode(text('\n\n'));
    expect(d.bytesDecoded).toBe(12);
  });

  it('commits the last event ID at a blank line even when there is no data', () => {
    const d = new SseDecoder({ onEvent: () => {} });
    d.decode(text('id: 5\n'));
    expect(d.lastEventId).toBe('');
    d.decode(text('\n'));
    expect(d.lastEventId).toBe('5');
  });

  it('reuses no state between two decoders', () => {
    const a = replay([text('event: x\nid: 1\ndata: 1\n\n')]);
    const b = replay([text('data: 2\n\n')]);
    expect(a.events).toEqual([{ type: 'x', data: '1', lastEventId: '1' }]);
    expect(b.events).toEqual([{ type: 'message', data: '2', lastEventId: '' }]);
  });

  it('returns the cached event type string only for identical bytes', () => {
    const r = replay([
      text('event: abc\ndata: 1\n\nevent: abd\ndata: 2\n\nevent: abc\ndata: 3\n\nevent: ab\ndata: 4\n\n'),
    ]);
    expect(r.events.map((e) => e.type)).toEqual(['abc', 'abd', 'abc', 'ab']);
  });

  it('decodes a carried line containing a multi-byte character split between chunks', () => {
    const all = text('data: \u6f22\u{1F600}\n\n');
    const r = replay([all.subarray(0, 8), all.subarray(8, 11), all.subarray(11)]);
    expect(r.events[0]?.data).toBe('\u6f22\u{1F600}');
  });

  it('carries long lines across many small chunks (the carry buffer grows and is released)', () => {
    const long = 'ab\u6f22\u{1F600}'.repeat(2000); // 20,000 bytes
    const all = text(`data: ${long}\ndata: ${long}\n\n: ${long}\ndata: short\n\n`);
    for (const size of [7, 300, 4096, 70_000]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
      const r = replay(chunks);
      expect(
        r.events.map((e) => e.data),
        `chunks of ${size}`,
      ).toEqual([`${long}\n${long}`, 'short']);
      expect(r.comments).toEqual([long]);
    }
  });

  it('joins a carried line with a chunk larger than the shared join buffer', () => {
    const events = Array.from(
      { length: 8000 },
      (_, i) => `event: e${i % 3}\ndata: {"i":${i},"t":"\u6f22 text"}\n\n`,
    );
    const all = text(events.join(''));
    const r = replay([all.subarray(0, 20), all.subarray(20)]);
    expect(all.length).toBeGreaterThan(256 * 1024);
    expect(r.events).toHaveLength(8000);
    expect(r.events[7999]).toEqual({ type: 'e1', data: '{"i":7999,"t":"\u6f22 text"}', lastEventId: '' });
  });

  it('stays correct when a callback decodes another stream (the join buffer is shared)', () => {
    const inner: string[] = [];
    const b = new SseDecoder({ onEvent: (e) => inner.push(e.data) });
    const outer: string[] = [];
    const a = new SseDecoder({
      onEvent: (e) => {
        outer.push(e.data);
        // b has a carried partial line, so this decode joins too, while a is still mid-chunk.
        b.decode(text(`${e.data}-tail\n\nevent: x\ndata: b-`));
      },
    });
    b.decode(text('data: b-'));
    a.decode(text('data: a'));
    // After its callback, a still reads its joined bytes: its unfinished event holds an invalid byte
    // (U+FFFD) and a 3-byte character, so its size is counted from the bytes.
    a.decode(bytes('1\n\ndata: a2\n\nevent: x\ndata: ', [0xff], '\u6f22\n'));
    expect(outer).toEqual(['a1', 'a2']);
    expect(inner).toEqual(['b-a1-tail', 'b-a2-tail']);
    expect(a.flush()).toEqual({ truncated: true, pendingBytes: 'event: x\ndata: '.length + 1 + 3 + 1 });
    expect(b.flush()).toEqual({ truncated: true, pendingBytes: 'event: x\ndata: b-'.length });
  });

  it('propagates an exception thrown by onEvent instead of swallowing it', () => {
    const d = new SseDecoder({
      onEvent: () => {
        throw new Error('consumer bug');
      },
    });
    expect(() => d.decode(text('data: x\n\n'))).toThrow('consumer bug');
  });
});
