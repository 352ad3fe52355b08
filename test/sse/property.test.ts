import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeComment, encodeEvent, SseDecoder } from '../../src/sse/index.js';
import type { SseEvent } from '../../src/sse/types.js';

interface Outcome {
  events: SseEvent[];
  comments: string[];
  retries: number[];
  error: string | undefined;
  lastEventId: string;
  truncated: boolean;
  pendingBytes: number;
}

const utf8 = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts bytes at the given offsets (any order, duplicates allowed, so empty chunks occur too). */
function cut(b: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = offsets.map((o) => o % (b.length + 1)).sort((x, y) => x - y);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(b.subarray(prev, p));
    prev = p;
  }
  chunks.push(b.subarray(prev));
  return chunks;
}

function emptyOutcome(): Outcome {
  return {
    events: [],
    comments: [],
    retries: [],
    error: undefined,
    lastEventId: '',
    truncated: false,
    pendingBytes: 0,
  };
}

function decode(chunks: readonly Uint8Array[], maxEventBytes?: number): Outcome {
  const o = emptyOutcome();
  const d = new SseDecoder({
    onEvent: (e) => o.events.push(e),
    onComment: (c) => o.comments.push(c),
    onRetry: (ms) => o.retries.push(ms),
    ...(maxEventBytes === undefined ? {} : { maxEventBytes }),
  });
  for (const c of chunks) {
    const err = d.decode(c);
    if (err !== undefined) {
      o.error = err.code;
      break;
    }
  }
  o.lastEventId = d.lastEventId;
  const flushed = d.flush();
  o.truncated = flushed.truncated;
  o.pendingBytes = flushed.pendingBytes;
  return o;
}

/**
 * A deliberately naive, string-based transcription of WHATWG HTML 9.2.5/9.2.6: decode the whole
 * stream with the UTF-8 decode algorithm (TextDecoder strips one leading BOM and replaces invalid
 * sequences), split it into lines, and interpret each line as the spec's steps say.
 */
function reference(b: Uint8Array): Omit<Outcome, 'pendingBytes'> {
  const o: Omit<Outcome, 'pendingBytes'> = {
    events: [],
    comments: [],
    retries: [],
    error: undefined,
    lastEventId: '',
    truncated: false,
  };
  const lines = new TextDecoder().decode(b).split(/\r\n|\r|\n/);
  const partial = lines.pop() ?? '';
  let data = '';
  let type = '';
  let idBuffer = '';
  let pendingField = false;
  for (const line of lines) {
    if (line === '') {
      o.lastEventId = idBuffer;
      pendingField = false;
      if (data === '') {
        type = '';
        continue;
      }
      o.events.push({ type: type === '' ? 'message' : type, data: data.slice(0, -1), lastEventId: idBuffer });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) {
      o.comments.push(line.slice(1).replace(/^ /, ''));
      continue;
    }
    pendingField = true;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') data += value + '\n';
    else if (name === 'event') type = value;
    else if (name === 'id' && !value.includes('\u0000')) idBuffer = value;
    else if (name === 'retry' && /^[0-9]+$/.test(value)) o.retries.push(Number.parseInt(value, 10));
  }
  o.truncated = pendingField || partial !== '';
  return o;
}

// Streams that are likely to form SSE syntax: lines of known and unknown field names, separators with
// and without the optional space, values with NUL, digits, multi-byte and broken UTF-8, comments and
// blank lines, each ended by LF, CR or CRLF; sometimes a BOM (or half of one) first, sometimes an
// unterminated last line, sometimes plain random bytes.
const valuePiece = fc
  .oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom('x', ' ', ':', '12', '007', '12345678901234567890', '\u0000', 'data'),
    },
    { weight: 2, arbitrary: fc.constantFrom('\u00e9', '\u6f22', '\u{1F600}', '\ufeff') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).filter((t) => !/[\r\n]/.test(t)) },
  )
  .map((t) => utf8.encode(t));
const rawPiece = fc.constantFrom(
  Uint8Array.of(0xff),
  Uint8Array.of(0xe6, 0xbc),
  Uint8Array.of(0xf0, 0x9f, 0x98),
  Uint8Array.of(0xef, 0xbb, 0xbf),
);
const value = fc
  .array(fc.oneof({ weight: 6, arbitrary: valuePiece }, { weight: 1, arbitrary: rawPiece }), { maxLength: 4 })
  .map(concat);
const fieldLine = fc
  .tuple(
    fc.constantFrom('data', 'data', 'data', 'event', 'id', 'retry', '', 'dat', 'Data', 'foo', ' data'),
    fc.constantFrom(':', ': ', ':  ', ''),
    value,
  )
  .map(([name, sep, v]) => concat([utf8.encode(name + sep), v]));
const retryLine = fc
  .tuple(
    fc.constantFrom('retry:', 'retry: ', 'retry:  '),
    fc.constantFrom('0', '15', '3000', '12345678901234567890', ''),
  )
  .map(([name, digits]) => utf8.encode(name + digits));
const line = fc.oneof(
  { weight: 8, arbitrary: fieldLine },
  { weight: 1, arbitrary: retryLine },
  { weight: 5, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: value.map((v) => concat([utf8.encode(':'), v])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) },
);
const ending = fc.constantFrom('\n', '\r', '\r\n').map((e) => utf8.encode(e));
const soup = fc
  .tuple(
    fc.constantFrom(
      new Uint8Array(0),
      new Uint8Array(0),
      Uint8Array.of(0xef, 0xbb, 0xbf),
      Uint8Array.of(0xef, 0xbb),
    ),
    fc.array(fc.tuple(line, ending), { maxLength: 40, size: 'medium' }),
    fc.oneof(fc.constant(new Uint8Array(0)), line),
  )
  .map(([start, lines, last]) => concat([start, ...lines.flat(), last]));
const offsets = fc.array(fc.nat(), { maxLength: 12 });

describe('SseDecoder properties', () => {
  it('never throws on arbitrary bytes in arbitrary chunks, and matches a naive spec transcription', () => {
    fc.assert(
      fc.property(soup, offsets, (b, cuts) => {
        const { pendingBytes, ...got } = decode(cut(b, cuts));
        expect(got).toEqual(reference(b));
        expect(pendingBytes > 0).toBe(got.truncated);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on uniformly random bytes, and the result does not depend on the chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), offsets, (b, cuts) => {
        expect(decode(cut(b, cuts))).toEqual(decode([b]));
      }),
      { numRuns: 1000 },
    );
  });

  it('with a small maxEventBytes, whether and where it fails does not depend on the chunking', () => {
    fc.assert(
      fc.property(soup, offsets, fc.integer({ min: 1, max: 40 }), (b, cuts, max) => {
        expect(decode(cut(b, cuts), max)).toEqual(decode([b], max));
      }),
      { numRuns: 1000 },
    );
  });

  it('reports truncated exactly when a field line or partial line follows the last blank line', () => {
    fc.assert(
      fc.property(soup, offsets, (b, cuts) => {
        const text = new TextDecoder().decode(b);
        const lines = text.split(/\r\n|\r|\n/);
        const partial = (lines.pop() ?? '') !== '';
        let pending = false;
        for (const line of lines) pending = line === '' ? false : pending || !line.startsWith(':');
        expect(decode(cut(b, cuts)).truncated).toBe(partial || pending);
      }),
      { numRuns: 1000 },
    );
  });
});

// Round trip: events written by the encoder, with comments between them, come back exactly.
const noBreak = (s: string) => !/[\r\n]/.test(s);
const lineText = fc.string({ unit: 'grapheme', maxLength: 12 }).filter(noBreak);
const lineEnding = fc.constantFrom('\n', '\r', '\r\n');
const eventInput = fc.record(
  {
    event: fc.string({ unit: 'grapheme', maxLength: 10 }).filter(noBreak),
    id: fc.string({ unit: 'grapheme', maxLength: 8 }).filter((s) => noBreak(s) && !s.includes('\u0000')),
    retry: fc.nat({ max: 600_000 }),
    lines: fc.array(lineText, { minLength: 1, maxLength: 4 }),
    endings: fc.array(lineEnding, { minLength: 3, maxLength: 3 }),
    comment: fc.array(lineText, { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: ['lines', 'endings'] },
);
type EventInput = typeof eventInput extends fc.Arbitrary<infer T> ? T : never;

/** Encodes the inputs as one stream and lists what a decoder must report for it. */
function encodeStream(inputs: readonly EventInput[]): { stream: string; want: Outcome } {
  let stream = '';
  let lastId = '';
  const want = emptyOutcome();
  for (const input of inputs) {
    if (input.comment !== undefined) {
      stream += encodeComment(input.comment.join('\n'));
      want.comments.push(...input.comment);
    }
    // Data lines joined with a mix of the three line endings; the decoder normalises to '\n'.
    const data = input.lines.map((l, i) => (i === 0 ? l : (input.endings[i % 3] ?? '\n') + l)).join('');
    stream += encodeEvent({ data, event: input.event, id: input.id, retry: input.retry });
    if (input.id !== undefined) lastId = input.id;
    if (input.retry !== undefined) want.retries.push(input.retry);
    want.events.push({
      type: input.event === undefined || input.event === '' ? 'message' : input.event,
      // ('a\r' + '' + '\n' is one CRLF, so normalise the joined text rather than join the lines.)
      data: data.replace(/\r\n?/g, '\n'),
      lastEventId: lastId,
    });
  }
  want.lastEventId = lastId;
  return { stream, want };
}

/** The encoder writes LF; any of the three line endings on the wire must decode the same. */
function toWire(stream: string, ending: string, bom: boolean): Uint8Array {
  const text = ending === '\n' ? stream : stream.replaceAll('\n', ending);
  return concat([bom ? Uint8Array.of(0xef, 0xbb, 0xbf) : new Uint8Array(0), utf8.encode(text)]);
}

/**
 * Byte-level reference for flush().pendingBytes: the bytes from the first line of the unfinished
 * event (a field line after the last blank line, else a partial last line) to the end.
 */
function pendingOf(b: Uint8Array): number {
  const bom = [0xef, 0xbb, 0xbf];
  if (b.length < 3 && b.every((x, i) => x === bom[i])) return b.length;
  let lineStart = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  let blockStart = -1;
  for (let j = lineStart; j < b.length; j++) {
    if (b[j] !== 0x0a && b[j] !== 0x0d) continue;
    if (j === lineStart) blockStart = -1;
    else if (b[lineStart] !== 0x3a && blockStart < 0) blockStart = lineStart;
    if (b[j] === 0x0d && b[j + 1] === 0x0a) j++;
    lineStart = j + 1;
  }
  if (blockStart >= 0) return b.length - blockStart;
  return b.length - lineStart;
}

const wireEnding = fc.constantFrom('\n', '\r\n', '\r');

describe('encoder → decoder round trip', () => {
  it('decodes exactly the encoded events, whatever the line endings and the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(eventInput, { maxLength: 12 }),
        wireEnding,
        fc.boolean(),
        offsets,
        (inputs, ending, bom, cuts) => {
          const { stream, want } = encodeStream(inputs);
          expect(decode(cut(toWire(stream, ending, bom), cuts))).toEqual(want);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('cut off anywhere, dispatches every complete event and reports the exact size of the unfinished one', () => {
    fc.assert(
      fc.property(
        fc.array(eventInput, { minLength: 1, maxLength: 6 }),
        wireEnding,
        fc.boolean(),
        fc.nat(),
        offsets,
        (inputs, ending, bom, at, cuts) => {
          const wire = toWire(encodeStream(inputs).stream, ending, bom);
          const prefix = wire.subarray(0, at % (wire.length + 1));
          const got = decode(cut(prefix, cuts));
          const { pendingBytes, ...rest } = got;
          expect(rest).toEqual(reference(prefix));
          expect(pendingBytes).toBe(pendingOf(prefix));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
