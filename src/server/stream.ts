// One stream on the reference server: a bounded replay buffer of encoded events that is the
// single source of truth, and at most one attached client that is fed from it. Because the
// buffer holds everything a client has not been sent yet, backpressure is simple: when a
// write returns false we stop writing and wait for 'drain'; a client whose unsent bytes
// exceed maxBufferedBytes is dropped (and may resume), never buffered without bound. The
// events appended while one upstream chunk is decoded (a batch) go out in one write.
// Once a stream has ended its events are packed into one flat string: finished streams are
// kept for the resume grace, and at hundreds of streams a second there are many of them.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { ClientSink } from './sink.js';
import { type DonePayload, type ErrorPayload, EVENT, type ReferenceEventType } from './wire.js';

export type StreamOutcome =
  | 'completed'
  | 'cancelled'
  | 'upstream_error'
  | 'client_gone'
  | 'slow_consumer'
  | 'server_shutdown';

export interface StreamLimits {
  /** Bytes of encoded events kept for resume. */
  replayBytes: number;
  /** Unsent bytes (buffer tail + socket buffer) before a client is dropped. */
  maxBufferedBytes: number;
}

/** Hooks the stream calls into (metrics, logs, registry); all cheap and non-throwing. */
export interface StreamHooks {
  onBackpressure(): void;
  onSlowConsumer(): void;
  onFirstToken(stream: ServerStream): void;
  onTerminal(stream: ServerStream): void;
  onClientGone(stream: ServerStream): void;
  /** A batched client has events waiting for the next flush. */
  onDirty(stream: ServerStream): void;
}

/** At most this many UTF-16 code units go into one write, so a large replay is written in pieces. */
const MAX_WRITE = 64 * 1024;
/** Events appended in one batch (one upstream chunk) are written at the latest at this size. */
const BATCH_BYTES = 16 * 1024;

interface Client {
  res: ServerResponse;
  sink: ClientSink;
  /** Highest sequence number written to this client. */
  sentSeq: number;
  /** Total encoded bytes written to this client. */
  sentBytes: number;
  blocked: boolean;
  /** Writes are deferred to the next batch flush. */
  batched: boolean;
}

export class ServerStream {
  /** Encoded events; events[head] has sequence number firstSeq (older ones are evicted). */
  private events: string[] = [];
  /**
   * After the stream ended: the buffered events packed into one string (events and tokensAt
   * are then empty), one line per event: a one-letter type code and the data (JSON has no
   * raw newline). The id and field names, two thirds of a delta event, are written back on
   * replay: finished streams are kept for the resume grace, and at hundreds of streams a
   * second they outnumber the open ones, while replays are rare.
   */
  private packed: string | null = null;
  /** UTF-16 code units of the packed events as encoded. */
  private packedSize = 0;
  /** Delta events evicted before the first packed one. */
  private packedTokensBefore = 0;
  /** A scan position in `packed`: event index, offset, encoded size and delta events before it. */
  private cursor = { event: 0, offset: 0, size: 0, tokens: 0 };
  /** Delta events up to and including each buffered event (for unread-token accounting). */
  private tokensAt: number[] = [];
  private head = 0;
  private firstSeq = 1;
  private bufferBytes = 0;
  private appendedBytes = 0;
  private client: Client | null = null;
  /** Appends go to the replay buffer only, and the client is written at endBatch(). */
  private batching = false;
  private text = '';
  /** Highest sequence ever written to any client. */
  private deliveredSeq = 0;
  private deliveredTokens = 0;

  lastSeq = 0;
  tokens = 0;
  ended = false;
  outcome: StreamOutcome | undefined;
  stopReason: string | null = null;
  inputTokens = 0;
  outputTokens = 0;
  readonly startedAt: number;
  firstTokenAt = 0;
  endedAt = 0;
  lastWriteAt = 0;
  resumes = 0;
  /** Aborts the upstream request (see upstreamOver). */
  upstream = new AbortController();
  graceTimer: NodeJS.Timeout | undefined;
  /** The stream's trace span (a no-op span when tracing is off). */
  span: Span | undefined;
  /** Every event as it is appended, encoded (a shared stream store mirrors them; store.ts). */
  onAppend: ((seq: number, type: ReferenceEventType, event: string) => void) | undefined;

  constructor(
    readonly id: string,
    readonly principal: string,
    readonly model: string,
    private readonly limits: StreamLimits,
    private readonly hooks: StreamHooks,
    now: number,
  ) {
    this.startedAt = now;
  }

  get attached(): boolean {
    return this.client !== null;
  }

  /** The oldest sequence number a resuming client may name as its last seen event. */
  get oldestResumableSeq(): number {
    return this.firstSeq - 1;
  }

  /** Upstream tokens that no client was ever sent. */
  get unreadTokens(): number {
    return this.tokens - this.deliveredTokens;
  }

  meta(): void {
    this.append(EVENT.meta, `{"stream_id":"${this.id}","model":${JSON.stringify(this.model)}}`);
  }

  delta(text: string, now: number): void {
    if (this.ended) return;
    if (this.tokens === 0) {
      this.firstTokenAt = now;
      this.hooks.onFirstToken(this);
    }
    this.tokens++;
    this.text += text;
    this.append(EVENT.delta, `{"text":${JSON.stringify(text)}}`);
  }

  /**
   * A non-terminal event beyond answer text (thinking, tool_call, tool_input, tool_done, partial;
   * rich.ts builds them): in the replay buffer like any other, not counted as an answer token.
   */
  event(type: ReferenceEventType, data: string): void {
    if (this.ended) return;
    this.append(type, data);
  }

  usage(inputTokens: number | undefined, outputTokens: number | undefined): void {
    if (this.ended) return;
    if (inputTokens !== undefined) this.inputTokens = inputTokens;
    if (outputTokens !== undefined) this.outputTokens = outputTokens;
    this.append(EVENT.usage, `{"input_tokens":${this.inputTokens},"output_tokens":${this.outputTokens}}`);
  }

  /** Terminal: the answer is complete (or was cancelled). */
  done(stopReason: string | null, outcome: StreamOutcome, now: number): void {
    if (this.ended) return;
    this.stopReason = stopReason;
    const payload: DonePayload = {
      stop_reason: stopReason,
      output_chars: this.text.length,
      output_tokens: this.outputTokens || this.tokens,
      sha256: createHash('sha256').update(this.text).digest('hex'),
    };
    this.terminate(EVENT.done, JSON.stringify(payload), outcome, now);
  }

  /** Terminal: the stream failed. */
  error(payload: ErrorPayload, outcome: StreamOutcome, now: number): void {
    if (this.ended) return;
    this.terminate(EVENT.error, JSON.stringify(payload), outcome, now);
  }

  private terminate(type: ReferenceEventType, data: string, outcome: StreamOutcome, now: number): void {
    this.ended = true;
    this.outcome = outcome;
    this.endedAt = now;
    this.append(type, data);
    this.text = ''; // only the checksum in `done` needed it
    this.pack();
    // A stream ended by the upstream itself (done, in-band error) lets the upstream response
    // finish so its keep-alive connection is reused; anything else aborts the request.
    if (outcome !== 'completed' && outcome !== 'upstream_error') this.upstream.abort();
    this.hooks.onTerminal(this);
    if (this.client && !this.client.blocked && !this.batching) this.flushClient();
  }

  /**
   * Attaches a client that has seen everything up to `afterSeq`. The caller has checked
   * afterSeq >= oldestResumableSeq and written the response headers.
   */
  attach(res: ServerResponse, afterSeq: number, batched: boolean, prefix = ''): void {
    // A resuming connection replaces the attached one. The stream keeps a client, so this is
    // not a client going away: no resume grace starts (with grace 0 it would end the stream).
    const old = this.client;
    if (old) {
      this.client = null;
      old.res.destroy();
    }
    const client: Client = {
      res,
      sink: new ClientSink(res),
      sentSeq: afterSeq,
      sentBytes: 0,
      blocked: false,
      batched,
    };
    // Bytes before afterSeq count as sent so unsent-byte accounting starts from here.
    client.sentBytes = this.appendedBytes - this.bytesAfter(afterSeq);
    this.client = client;
    res.on('close', () => {
      if (this.client === client) this.detach(false);
    });
    this.flushClient(prefix);
  }

  /**
   * The upstream request is over. Its controller is let go: the listeners the SDK added to
   * its signal hold that request's state, and a finished stream is kept for the resume grace.
   */
  upstreamOver(): void {
    this.upstream = UPSTREAM_OVER;
  }

  /** Drops the attached client (its connection closed, or it is too slow); the resume grace starts. */
  detach(destroy: boolean): void {
    const c = this.client;
    if (!c) return;
    this.client = null;
    if (destroy) c.res.destroy();
    if (!this.ended) this.hooks.onClientGone(this);
  }

  /**
   * Writes what the attached client has not been sent yet (used by batching and 'drain'),
   * at most MAX_WRITE code units per write, stopping when the socket is full.
   */
  flushClient(prefix = ''): void {
    const c = this.client;
    if (!c || c.blocked) return;
    let ok = true;
    let wrote = false;
    while (ok && c.sentSeq < this.lastSeq) {
      const from = this.head + c.sentSeq + 1 - this.firstSeq;
      const chunk = this.read(from);
      const to = this.readTo;
      c.sentBytes += chunk.length;
      c.sentSeq += to - from;
      this.noteDelivered(c.sentSeq);
      ok = c.sink.write(prefix === '' ? chunk : prefix + chunk);
      prefix = '';
      wrote = true;
      if (this.client !== c) return; // the write failed and the client is gone
    }
    if (prefix !== '') {
      ok = c.sink.write(prefix);
      wrote = true;
    }
    if (wrote) this.lastWriteAt = performance.now();
    if (!ok) {
      c.blocked = true;
      this.hooks.onBackpressure();
      c.sink.onDrain(() => {
        c.blocked = false;
        if (this.client === c) this.flushClient();
      });
      return;
    }
    if (this.ended && c.sentSeq === this.lastSeq && !c.sink.ended) c.sink.end();
  }

  /** Where the last read() stopped: the index after its last event. */
  private readTo = 0;

  /** Buffered events from index `from` on, joined, up to MAX_WRITE code units (at least one event). */
  private read(from: number): string {
    if (this.packed !== null) {
      // Re-encode events from the packed lines, up to MAX_WRITE (at least one event).
      const c = this.seek(from);
      const parts: string[] = [];
      let size = 0;
      let to = from;
      for (;;) {
        const ev = this.unpackAt(c.offset, this.firstSeq + to);
        if (ev === undefined || (parts.length > 0 && size + ev.length > MAX_WRITE)) break;
        parts.push(ev);
        size += ev.length;
        to++;
        this.seek(to);
      }
      this.readTo = to;
      return parts.length === 1 ? parts[0]! : parts.join('');
    }
    const events = this.events;
    if (from === events.length - 1) {
      this.readTo = from + 1;
      return events[from]!;
    }
    let to = from + 1;
    let size = events[from]!.length;
    while (to < events.length && size + events[to]!.length <= MAX_WRITE) size += events[to++]!.length;
    this.readTo = to;
    return to === from + 1 ? events[from]! : events.slice(from, to).join('');
  }

  /** Moves the scan cursor of `packed` to event `index` (or its end, for the count). */
  private seek(index: number): { event: number; offset: number; size: number; tokens: number } {
    const packed = this.packed!;
    const c = this.cursor;
    if (index < c.event) {
      c.event = 0;
      c.offset = 0;
      c.size = 0;
      c.tokens = this.packedTokensBefore;
    }
    while (c.event < index) {
      const end = packed.indexOf('\n', c.offset);
      if (end === -1) break;
      const type = TYPE_OF_CODE[packed[c.offset]!]!;
      if (type === EVENT.delta) c.tokens++;
      c.size += encodedSize(this.id, this.firstSeq + c.event, type, end - c.offset - 1);
      c.offset = end + 1;
      c.event++;
    }
    return c;
  }

  /** The event packed at `offset`, encoded as it was sent; undefined past the end. */
  private unpackAt(offset: number, seq: number): string | undefined {
    const packed = this.packed!;
    const end = packed.indexOf('\n', offset);
    if (end === -1) return undefined;
    const type = TYPE_OF_CODE[packed[offset]!]!;
    return encode(this.id, seq, type, packed.slice(offset + 1, end));
  }

  /** Events produced from here to endBatch() (one upstream chunk) are written together. */
  beginBatch(): void {
    this.batching = true;
  }

  endBatch(): void {
    this.batching = false;
    const c = this.client;
    if (c === null || c.blocked || c.sentSeq === this.lastSeq) return;
    if (c.batched && !this.ended) this.hooks.onDirty(this);
    else this.flushClient();
  }

  /** Writes an SSE comment (heartbeat) to an idle, unblocked client. */
  heartbeat(comment: string, now: number): boolean {
    const c = this.client;
    if (!c || c.blocked || c.sink.ended) return false;
    c.sink.write(comment);
    this.lastWriteAt = now;
    return true;
  }

  private noteDelivered(seq: number): void {
    if (seq <= this.deliveredSeq) return;
    this.deliveredSeq = seq;
    const idx = this.head + seq - this.firstSeq;
    if (idx < this.head) return;
    this.deliveredTokens = this.packed === null ? this.tokensAt[idx]! : this.seek(idx + 1).tokens;
  }

  private bytesAfter(seq: number): number {
    if (this.packed !== null) return this.packedSize - this.seek(Math.max(0, seq + 1 - this.firstSeq)).size;
    let n = 0;
    for (let i = this.head + Math.max(0, seq + 1 - this.firstSeq); i < this.events.length; i++)
      n += this.events[i]!.length;
    return n;
  }

  private append(type: ReferenceEventType, data: string): void {
    const seq = ++this.lastSeq;
    const ev = encode(this.id, seq, type, data);
    if (this.onAppend !== undefined) this.onAppend(seq, type, ev);
    // Sizes are counted in UTF-16 code units (string length): exact for ASCII, a cheap
    // approximation otherwise, which is all the limits need.
    const size = ev.length;
    this.events.push(ev);
    this.tokensAt.push(this.tokens);
    this.bufferBytes += size;
    this.appendedBytes += size;
    const c = this.client;
    // A batch is written once it reaches BATCH_BYTES, and before any of it would be evicted.
    if (
      this.batching &&
      c !== null &&
      !c.batched &&
      (this.appendedBytes - c.sentBytes >= BATCH_BYTES || this.bufferBytes > this.limits.replayBytes)
    )
      this.flushClient();
    this.evict();
    if (c === null) return;
    if (this.appendedBytes - c.sentBytes + c.sink.queued > this.limits.maxBufferedBytes) {
      this.hooks.onSlowConsumer();
      this.detach(true);
      return;
    }
    if (c.blocked || this.ended || this.batching) return;
    if (c.batched) this.hooks.onDirty(this);
    else this.flushClient();
  }

  private evict(): void {
    while (this.bufferBytes > this.limits.replayBytes && this.events.length - this.head > 1) {
      const c = this.client;
      if (c !== null && c.sentSeq < this.firstSeq) {
        // The attached client has not even been sent the oldest event: it is too slow.
        this.hooks.onSlowConsumer();
        this.detach(true);
      }
      this.bufferBytes -= this.events[this.head]!.length;
      this.events[this.head] = '';
      this.head++;
      this.firstSeq++;
    }
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.tokensAt = this.tokensAt.slice(this.head);
      this.head = 0;
    }
  }

  /** Packs the buffered events of an ended stream (see packed). */
  private pack(): void {
    const events = this.head === 0 ? this.events : this.events.slice(this.head);
    const lines: string[] = new Array(events.length + 1);
    let size = 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      size += ev.length;
      // id: <id>:<seq>\nevent: <type>\ndata: <data>\n\n
      const typeAt = ev.indexOf('\n') + 8;
      const dataAt = ev.indexOf('\n', typeAt) + 7;
      lines[i] =
        CODE_OF_TYPE[ev.slice(typeAt, dataAt - 7) as ReferenceEventType] + ev.slice(dataAt, ev.length - 2);
    }
    lines[events.length] = '';
    const firstIsDelta = lines[0]?.[0] === CODE_OF_TYPE.delta;
    this.packedTokensBefore = (this.tokensAt[this.head] ?? 0) - (firstIsDelta ? 1 : 0);
    this.cursor = { event: 0, offset: 0, size: 0, tokens: this.packedTokensBefore };
    this.packed = lines.join('\n');
    this.packedSize = size;
    this.events = [];
    this.tokensAt = [];
    this.head = 0;
  }
}

function encode(id: string, seq: number, type: ReferenceEventType, data: string): string {
  return `id: ${id}:${seq}\nevent: ${type}\ndata: ${data}\n\n`;
}

/** The length of encode(id, seq, type, data) for data of `dataLength` code units. */
function encodedSize(id: string, seq: number, type: string, dataLength: number): number {
  // "id: " ":" "\n" "event: " "\n" "data: " "\n\n"
  return 22 + id.length + String(seq).length + type.length + dataLength;
}

const CODE_OF_TYPE: Record<ReferenceEventType, string> = {
  meta: 'm',
  delta: 'd',
  usage: 'u',
  done: 'D',
  error: 'e',
  thinking: 't',
  tool_call: 'c',
  tool_input: 'i',
  tool_done: 'T',
  partial: 'p',
};
const TYPE_OF_CODE: Record<string, ReferenceEventType> = Object.fromEntries(
  Object.entries(CODE_OF_TYPE).map(([type, code]) => [code, type as ReferenceEventType]),
);

/** The controller of every stream whose upstream request is over: aborting it does nothing. */
const UPSTREAM_OVER = new AbortController();
UPSTREAM_OVER.abort();
