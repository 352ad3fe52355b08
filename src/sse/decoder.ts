// Incremental Server-Sent Events decoder: bytes in, SseEvent out.
//
// Follows the WHATWG HTML Living Standard, section 9.2 "Server-sent events"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html):
//  - 9.2.5 "Parsing an event stream": the stream is UTF-8 (decoded with the UTF-8 decode algorithm,
//    so invalid sequences become U+FFFD); one leading U+FEFF BOM is ignored; a line ends in CRLF, a
//    lone CR or a lone LF.
//  - 9.2.6 "Interpreting an event stream": a blank line dispatches the event; a line starting with ':'
//    is a comment; otherwise the field name runs up to the first ':' (the whole line when there is
//    none, with an empty value) and one space after the colon is dropped; `data` appends the value
//    plus LF to the data buffer, `event` sets the event type buffer, `id` sets the last event ID
//    buffer unless the value contains U+0000 NULL, `retry` sets the reconnection time when the value
//    is only ASCII digits, and any other field is ignored. On dispatch the last event ID string takes
//    the buffer's value (even for an event with no data); an empty data buffer dispatches nothing;
//    the data and event type buffers are reset, the last event ID buffer is not.
//  - "Once the end of the file is reached, any pending data must be discarded" (9.2.6): an event
//    without its blank line is never dispatched; flush() reports it as truncated.
//
// Why the design is as it is: the runner holds 10,000+ streams in one process, so this is the hot
// path of the whole harness (bench/sse.bench.ts measures it against eventsource-parser).
//  - Framing is on bytes. The line terminators (0x0A, 0x0D) are ASCII, and in UTF-8 an ASCII byte
//    is never part of a multi-byte character and ends any broken sequence before it. So decoding a
//    run of COMPLETE lines in one go gives exactly what decoding the whole stream and then splitting
//    it would, and a character split across chunks is never decoded in halves.
//  - Per chunk, the bytes up to its last line terminator are decoded with ONE native call: latin1
//    (a plain copy) when a SIMD isAscii scan says the bytes are ASCII, else a shared streaming
//    TextDecoder (1.7x faster than Buffer#toString on non-ASCII text in Node 20). The lines are then
//    split and interpreted with native string indexOf / slice / charCodeAt. Decoding line by line
//    instead costs a native call per line and measured 3-4x slower. No per-byte JavaScript loops on
//    the hot path, no string building, no split().
//  - Only the unterminated tail of a chunk is copied, into a small per-stream carry buffer (released
//    after an unusually long line, so idle streams stay small). The next chunk's complete lines are
//    appended to it in a join buffer shared by all decoders, so that is still one decode per chunk.
//  - A CR that ends a chunk ends its line at once (no waiting for the next chunk); `skipLf` swallows
//    the LF of that CRLF pair if it starts the next chunk.
//  - Per event: one string per `data` line and one SseEvent object. Values are slices of the chunk's
//    text, as in eventsource-parser; the one string the decoder keeps across chunks, the last event
//    ID, is copied so that an idle stream never pins a chunk's text in memory.
//  - Hostile input is bounded: no line and no event's data may exceed maxEventBytes, also checked
//    while a partial line is being carried, so memory per stream stays bounded. Sizes are the UTF-8
//    length of the decoded text (exactly the bytes received, for valid UTF-8); as UTF-16 length <=
//    UTF-8 length <= 3 x UTF-16 length, an exact count is only needed near the limit. Results, errors
//    included, do not depend on how the stream was chunked (the property tests check this).
//  - The hot path never throws (DESIGN.md principle 7): an oversized event is returned as an error
//    value and the decoder stays dead. Exceptions thrown by the callbacks propagate out of decode()
//    unchanged; the rest of that chunk is then not processed, so the decoder should be discarded.

import { isAscii } from 'node:buffer';
import type { SseEvent } from './types.js';

export interface SseDecoderOptions {
  /** Called once per dispatched event, synchronously from decode(). */
  onEvent: (ev: SseEvent) => void;
  /** Lines starting with ':' (heartbeats): the text after the colon, one leading space stripped. */
  onComment?: (text: string) => void;
  /** A `retry` field whose value is one or more ASCII digits, as an integer number of milliseconds. */
  onRetry?: (ms: number) => void;
  /**
   * Largest size in bytes of one event's data (the `data` values joined by LF) and of one line
   * (without its terminator). Default 1 MiB.
   */
  maxEventBytes?: number;
}

export interface SseDecodeError {
  code: 'E_SSE_EVENT_TOO_LARGE';
  message: string;
}

export interface SseFlushResult {
  /** True when the stream ended inside an event: field lines with no blank line after them, or a partial line. */
  truncated: boolean;
  /** Bytes of the discarded event, from its first line to the end of the stream (0 when not truncated). */
  pendingBytes: number;
}

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const NUL = '\u0000';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** `bom` once the start of the stream has been checked for a byte-order mark. */
const BOM_DONE = 3;
const EMPTY = Buffer.alloc(0);
/** A carry buffer grown beyond this for a long line is released once that line is done. */
const CARRY_KEEP_BYTES = 64 * 1024;
const CARRY_MIN_BYTES = 256;
/** V8 makes a slice of at least this many characters a view that keeps the whole parent string alive. */
const SLICE_VIEW_MIN_LENGTH = 13;

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

// Shared by all decoders: it is only ever given whole lines, which end in an ASCII byte, so it never
// holds bytes back between calls and no state leaks from one stream to another. Stream mode decodes
// non-ASCII text about 1.7x faster than Buffer#toString on Node 20; ignoreBOM keeps a U+FEFF that
// begins a later chunk (only the stream's first BOM is skipped, by the decoder itself).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const STREAM = { stream: true } as const;

/** See decode(): joins a carried partial line with the next chunk's lines. */
let joinBuf = Buffer.allocUnsafe(16 * 1024);
let joinBusy = false;
/** Larger joins get a buffer of their own, so the shared one stays small. */
const JOIN_SHARED_MAX = 256 * 1024;

/** dst.set(src.subarray(...)) allocates a view; a loop is faster for the short tails of SSE lines. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start > 64) {
    dst.set(src.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i]!;
}

/** Decodes buf[start, end), which holds complete lines only. */
function decodeLines(buf: Buffer, start: number, end: number): string {
  const bytes = buf.subarray(start, end);
  // isAscii is a SIMD scan; latin1 is then the cheapest exact decode.
  return isAscii(bytes) ? bytes.toString('latin1') : utf8Decoder.decode(bytes, STREAM);
}

/**
 * A copy of s that shares no memory with the chunk text it was sliced from, for strings the decoder
 * keeps (the last event ID). Concatenation makes V8 flatten into a fresh string, and a slice of that
 * keeps only the fresh string alive: 40 ns, against 160 ns for a Buffer round trip.
 */
function flat(s: string): string {
  return s.length < SLICE_VIEW_MIN_LENGTH ? s : (' ' + s).slice(1);
}

export class SseDecoder {
  private readonly onEvent: (ev: SseEvent) => void;
  private readonly onComment: ((text: string) => void) | undefined;
  private readonly onRetry: ((ms: number) => void) | undefined;
  private readonly maxBytes: number;

  private error: SseDecodeError | undefined = undefined;
  /** Bytes of the BOM matched so far at the start of the stream (0-2), or BOM_DONE. */
  private bom = 0;
  /** The previous chunk ended in CR: an LF at the start of the next chunk completes that CRLF. */
  private skipLf = false;
  /** The unterminated line carried over from earlier chunks: carry[0, carryLen). */
  private carry: Buffer = EMPTY;
  private carryLen = 0;

  // The spec's buffers for the event being built.
  private data = '';
  private hasData = false;
  /** UTF-8 size of `data`, tracked only once it nears the limit (-1 until then). */
  private dataBytes = -1;
  private eventType = '';
  private idBuffer = '';
  /** The last event ID string: the id buffer as it was at the last dispatch (blank line). */
  private lastId = '';

  // The unfinished event, for flush(): open from its first field line to the next blank line.
  private blockOpen = false;
  /** Where the open event began in the text being interpreted; -1 when it began before that text. */
  private blockStart = -1;
  /** ...and its line number there (lines() counts them in lineNo). */
  private blockLine = 0;
  private lineNo = 0;
  /** Bytes of the open event in text already interpreted. */
  private blockBytes = 0;

  private decoded = 0;

  constructor(opts: SseDecoderOptions) {
    if (typeof opts?.onEvent !== 'function') {
      throw new TypeError('SseDecoder: options.onEvent must be a function');
    }
    const max = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new TypeError(`SseDecoder: options.maxEventBytes must be a positive integer, got ${String(max)}`);
    }
    this.onEvent = opts.onEvent;
    this.onComment = opts.onComment;
    this.onRetry = opts.onRetry;
    this.maxBytes = max;
  }

  /** The last event ID string (9.2.6): the `id` in force at the last blank line; '' when none. */
  get lastEventId(): string {
    return this.lastId;
  }

  /** Total bytes passed to decode() while the decoder was alive (a leading BOM included). */
  get bytesDecoded(): number {
    return this.decoded;
  }

  /**
   * Decodes the next chunk of the stream, dispatching every event it completes. Never throws on any
   * input; returns an error when an event or line exceeds maxEventBytes, after which the decoder is
   * dead and returns that same error for every further chunk.
   */
  decode(chunk: Uint8Array): SseDecodeError | undefined {
    if (this.error !== undefined) return this.error;
    const n = chunk.length;
    this.decoded += n;
    let pos = 0;
    if (this.bom !== BOM_DONE) {
      pos = this.skipBom(chunk);
      if (this.error !== undefined) return this.error;
    }
    if (this.skipLf && pos < n) {
      this.skipLf = false;
      if (chunk[pos] === LF) {
        pos++;
        if (this.blockOpen) this.blockBytes++;
      }
    }
    if (pos >= n) return undefined;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, n);

    // The chunk's complete lines end at its last line terminator; the rest waits in the carry buffer.
    const last = Math.max(buf.lastIndexOf(LF), buf.lastIndexOf(CR));
    if (last < pos) return this.carryTail(buf, pos, n);
    const end = last + 1;
    let err: SseDecodeError | undefined;
    if (this.carryLen === 0) {
      err = this.interpret(buf, pos, end);
    } else {
      // Join the carried start of a line with this chunk's complete lines, to decode them in one go.
      // The join buffer is shared by all decoders (decode is synchronous); a callback that decodes
      // another stream meanwhile gets a buffer of its own.
      const total = this.carryLen + (end - pos);
      const shared = !joinBusy && total <= JOIN_SHARED_MAX;
      if (shared && joinBuf.length < total) joinBuf = Buffer.allocUnsafe(Math.max(total, joinBuf.length * 2));
      const joined = shared ? joinBuf : Buffer.allocUnsafe(total);
      copyBytes(this.carry, 0, this.carryLen, joined, 0);
      copyBytes(buf, pos, end, joined, this.carryLen);
      this.carryLen = 0;
      if (this.carry.length > CARRY_KEEP_BYTES) this.carry = EMPTY;
      if (shared) joinBusy = true;
      try {
        err = this.interpret(joined, 0, total);
      } finally {
        if (shared) joinBusy = false;
      }
    }
    if (err !== undefined) return this.fail(err);
    // A CR ending the chunk may be the first half of a CRLF. (A CR before the end cannot be: an LF
    // right after it would have been the last terminator.)
    if (end === n && buf[last] === CR) this.skipLf = true;
    return end < n ? this.carryTail(buf, end, n) : undefined;
  }

  /** Decodes and interprets bytes[start, end), which holds complete lines only. */
  private interpret(bytes: Buffer, start: number, end: number): SseDecodeError | undefined {
    const text = decodeLines(bytes, start, end);
    this.blockStart = -1;
    const err = this.lines(text);
    if (err !== undefined) return err;
    if (this.blockOpen) this.blockBytes += this.openBlockBytes(bytes, start, end, text);
    return undefined;
  }

  /**
   * Ends the stream. An event without its closing blank line is discarded, as the spec requires, and
   * reported as truncated. Afterwards the decoder accepts a new stream (a reconnection): parse state
   * and BOM detection start afresh; lastEventId persists. A dead decoder stays dead.
   */
  flush(): SseFlushResult {
    if (this.error !== undefined) return { truncated: false, pendingBytes: 0 };
    // A partial line counts as received; complete lines as decoded (the same for valid UTF-8).
    const partialBom = this.bom === BOM_DONE ? 0 : this.bom;
    const pendingBytes = (this.blockOpen ? this.blockBytes : 0) + this.carryLen + partialBom;
    this.bom = 0;
    this.skipLf = false;
    this.carryLen = 0;
    if (this.carry.length > CARRY_KEEP_BYTES) this.carry = EMPTY;
    this.resetEvent();
    this.idBuffer = this.lastId;
    return { truncated: pendingBytes > 0, pendingBytes };
  }

  /** Consumes the leading BOM bytes of the stream from chunk; returns the position after them. */
  private skipBom(chunk: Uint8Array): number {
    let pos = 0;
    while (this.bom !== BOM_DONE && pos < chunk.length) {
      if (chunk[pos] === BOM[this.bom]) {
        this.bom++;
        pos++;
      } else {
        // Not a BOM after all: the bytes matched so far are the start of the first line.
        const err = this.bom > 0 ? this.appendCarry(BOM, 0, this.bom) : undefined;
        this.bom = BOM_DONE;
        if (err !== undefined) this.fail(err);
      }
    }
    return pos;
  }

  private carryTail(buf: Buffer, start: number, end: number): SseDecodeError | undefined {
    const err = this.appendCarry(buf, start, end);
    return err === undefined ? undefined : this.fail(err);
  }

  private appendCarry(src: Buffer, start: number, end: number): SseDecodeError | undefined {
    const len = this.carryLen + (end - start);
    // Raw bytes never exceed the UTF-8 size of their decoded text, so this early check agrees with
    // the one made on the complete line.
    if (len > this.maxBytes) return this.tooLarge(`a line of at least ${len} bytes`);
    if (len > this.carry.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(Math.max(len, this.carry.length * 2, CARRY_MIN_BYTES), this.maxBytes),
      );
      copyBytes(this.carry, 0, this.carryLen, grown, 0);
      this.carry = grown;
    }
    copyBytes(src, start, end, this.carry, this.carryLen);
    this.carryLen = len;
    return undefined;
  }

  /** Bytes of buf[pos, end) (whose text is `text`) that belong to the open event. */
  private openBlockBytes(buf: Buffer, pos: number, end: number, text: string): number {
    const bytes = end - pos;
    if (this.blockStart < 0) return bytes; // the event was open before this text began
    // One character per byte (ASCII, or invalid bytes each replaced by U+FFFD): offsets are bytes.
    if (text.length === bytes) return bytes - this.blockStart;
    const tail = text.slice(this.blockStart);
    // Valid UTF-8 re-encodes to the bytes received; a U+FFFD may stand for 1-3 invalid bytes.
    if (!tail.includes('\uFFFD')) return utf8Length(tail);
    // Rare: find where the event's first line starts in the bytes by skipping the lines before it.
    let at = pos;
    let lf = -2;
    let cr = -2;
    for (let i = 0; i < this.blockLine; i++) {
      if (lf !== -1 && lf < at) lf = buf.indexOf(LF, at);
      if (cr !== -1 && cr < at) cr = buf.indexOf(CR, at);
      const eol = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      at = eol + 1;
      if (eol === cr && buf[at] === LF) at++;
    }
    return end - at;
  }

  /** Interprets text made of complete lines, each ended by CR, LF or CRLF. */
  private lines(text: string): SseDecodeError | undefined {
    const len = text.length;
    let pos = 0;
    this.lineNo = 0;
    // Next LF / CR at or after pos; -2 = not searched yet, -1 = none left.
    let lf = -2;
    let cr = -2;
    while (pos < len) {
      // A blank line (the end of every event) needs no search.
      const c = text.charCodeAt(pos);
      if (c === LF || c === CR) {
        this.lineNo++;
        pos += c === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
        this.dispatch();
        continue;
      }
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      const eol = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (eol === -1) break; // unreachable: text ends with a terminator
      const err = this.line(text, pos, eol);
      this.lineNo++;
      if (err !== undefined) return err;
      pos = eol + 1;
      if (eol === cr && text.charCodeAt(pos) === LF) pos++;
    }
    return undefined;
  }

  /** Interprets one non-blank line, s[start, end), without its terminator (9.2.6). */
  private line(s: string, start: number, end: number): SseDecodeError | undefined {
    if ((end - start) * 3 > this.maxBytes) {
      const bytes = utf8Length(s.slice(start, end));
      if (bytes > this.maxBytes) return this.tooLarge(`a line of ${bytes} bytes`);
    }
    const c0 = s.charCodeAt(start);
    if (c0 === COLON) {
      if (this.onComment !== undefined) {
        let v = start + 1;
        if (v < end && s.charCodeAt(v) === SPACE) v++;
        this.onComment(s.slice(v, end));
      }
      return undefined;
    }
    if (!this.blockOpen) {
      this.blockOpen = true;
      this.blockStart = start;
      this.blockLine = this.lineNo;
    }
    // Fast paths for the lines that make up nearly all LLM traffic. Reading a few characters past a
    // short line is harmless: the terminator after it matches none of the letters or ':'.
    if (
      c0 === 0x64 &&
      s.charCodeAt(start + 4) === COLON &&
      s.charCodeAt(start + 1) === 0x61 &&
      s.charCodeAt(start + 2) === 0x74 &&
      s.charCodeAt(start + 3) === 0x61
    ) {
      return this.dataField(s.slice(s.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end));
    }
    if (
      c0 === 0x65 &&
      s.charCodeAt(start + 5) === COLON &&
      s.charCodeAt(start + 1) === 0x76 &&
      s.charCodeAt(start + 2) === 0x65 &&
      s.charCodeAt(start + 3) === 0x6e &&
      s.charCodeAt(start + 4) === 0x74
    ) {
      this.eventType = s.slice(s.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end);
      return undefined;
    }
    let colon = start;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    let v = end; // a line without a colon is a field name with an empty value
    if (colon < end) {
      v = colon + 1;
      if (v < end && s.charCodeAt(v) === SPACE) v++;
    }
    switch (colon - start) {
      case 4: // data
        if (c0 === 0x64 && s.startsWith('ata', start + 1)) return this.dataField(s.slice(v, end));
        break;
      case 5:
        if (c0 === 0x65 && s.startsWith('vent', start + 1)) this.eventType = s.slice(v, end);
        else if (c0 === 0x72 && s.startsWith('etry', start + 1)) this.retryField(s, v, end);
        break;
      case 2: // id
        if (c0 === 0x69 && s.charCodeAt(start + 1) === 0x64) {
          const id = s.slice(v, end);
          if (!id.includes(NUL)) this.idBuffer = flat(id);
        }
        break;
    }
    return undefined;
  }

  private dataField(value: string): SseDecodeError | undefined {
    const next = this.hasData ? this.data + '\n' + value : value;
    if (next.length * 3 > this.maxBytes) {
      const bytes =
        this.dataBytes < 0 ? utf8Length(next) : this.dataBytes + (this.hasData ? 1 : 0) + utf8Length(value);
      if (bytes > this.maxBytes) return this.tooLarge(`event data of ${bytes} bytes`);
      this.dataBytes = bytes;
    }
    this.data = next;
    this.hasData = true;
    return undefined;
  }

  private retryField(s: string, v: number, end: number): void {
    if (v === end || this.onRetry === undefined) return;
    let ms = 0;
    for (let i = v; i < end; i++) {
      const digit = s.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return;
      ms = ms * 10 + digit;
    }
    // Beyond 15 digits the running sum can round differently from the correctly rounded parse.
    this.onRetry(end - v > 15 ? Number(s.slice(v, end)) : ms);
  }

  /** A blank line (9.2.6 "dispatch the event"). */
  private dispatch(): void {
    this.lastId = this.idBuffer;
    const type = this.eventType;
    const data = this.data;
    const hasData = this.hasData;
    this.resetEvent();
    // State is consistent before the callback runs, in case it throws.
    if (hasData) this.onEvent({ type: type === '' ? 'message' : type, data, lastEventId: this.lastId });
  }

  private resetEvent(): void {
    this.data = '';
    this.hasData = false;
    this.dataBytes = -1;
    this.eventType = '';
    this.blockOpen = false;
    this.blockBytes = 0;
  }

  private tooLarge(what: string): SseDecodeError {
    return {
      code: 'E_SSE_EVENT_TOO_LARGE',
      message: `SSE event too large: ${what} exceeds the maximum event size of ${this.maxBytes} bytes (maxEventBytes)`,
    };
  }

  private fail(err: SseDecodeError): SseDecodeError {
    this.error = err;
    this.carry = EMPTY;
    this.carryLen = 0;
    this.resetEvent();
    return err;
  }
}
