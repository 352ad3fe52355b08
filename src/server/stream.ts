// One stream on the reference server: a bounded replay buffer of encoded events that is the
// single source of truth, and at most one attached client that is fed from it. Because the
// buffer holds everything a client has not been sent yet, backpressure is simple: when
// res.write() returns false we stop writing and wait for 'drain'; a client whose unsent
// bytes exceed maxBufferedBytes is dropped (and may resume), never buffered without bound.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import {
  type DonePayload,
  type ErrorPayload,
  EVENT,
  encodeReferenceEvent,
  type ReferenceEventType,
} from './wire.js';

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

interface Client {
  res: ServerResponse;
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
  /** Delta events up to and including each buffered event (for unread-token accounting). */
  private tokensAt: number[] = [];
  private head = 0;
  private firstSeq = 1;
  private bufferBytes = 0;
  private appendedBytes = 0;
  private client: Client | null = null;
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
  /** Aborts the upstream request. */
  readonly upstream = new AbortController();
  graceTimer: NodeJS.Timeout | undefined;
  /** The stream's trace span (a no-op span when tracing is off). */
  span: Span | undefined;

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
    this.append(EVENT.meta, JSON.stringify({ stream_id: this.id, model: this.model }));
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

  usage(inputTokens: number | undefined, outputTokens: number | undefined): void {
    if (this.ended) return;
    if (inputTokens !== undefined) this.inputTokens = inputTokens;
    if (outputTokens !== undefined) this.outputTokens = outputTokens;
    this.append(
      EVENT.usage,
      JSON.stringify({ input_tokens: this.inputTokens, output_tokens: this.outputTokens }),
    );
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
    // A stream ended by the upstream itself (done, in-band error) lets the upstream response
    // finish so its keep-alive connection is reused; anything else aborts the request.
    if (outcome !== 'completed' && outcome !== 'upstream_error') this.upstream.abort();
    this.hooks.onTerminal(this);
    if (this.client && !this.client.blocked) this.flushClient();
  }

  /**
   * Attaches a client that has seen everything up to `afterSeq`. The caller has checked
   * afterSeq >= oldestResumableSeq and written the response headers.
   */
  attach(res: ServerResponse, afterSeq: number, batched: boolean): void {
    // A resuming connection replaces the attached one. The stream keeps a client, so this is
    // not a client going away: no resume grace starts (with grace 0 it would end the stream).
    const old = this.client;
    if (old) {
      this.client = null;
      old.res.destroy();
    }
    const client: Client = { res, sentSeq: afterSeq, sentBytes: 0, blocked: false, batched };
    // Bytes before afterSeq count as sent so unsent-byte accounting starts from here.
    client.sentBytes = this.appendedBytes - this.bytesAfter(afterSeq);
    this.client = client;
    res.on('close', () => {
      if (this.client === client) this.detach(false);
    });
    this.flushClient();
  }

  /** Drops the attached client (its connection closed, or it is too slow); the resume grace starts. */
  detach(destroy: boolean): void {
    const c = this.client;
    if (!c) return;
    this.client = null;
    if (destroy) c.res.destroy();
    if (!this.ended) this.hooks.onClientGone(this);
  }

  /** Writes what the attached client has not been sent yet (used by batching and 'drain'). */
  flushClient(): void {
    const c = this.client;
    if (!c || c.blocked) return;
    if (c.sentSeq < this.lastSeq) {
      const from = this.head + c.sentSeq + 1 - this.firstSeq;
      let chunk: string;
      if (from === this.events.length - 1) chunk = this.events[from]!;
      else chunk = this.events.slice(from).join('');
      c.sentBytes += chunk.length;
      c.sentSeq = this.lastSeq;
      this.noteDelivered(c.sentSeq);
      const ok = c.res.write(chunk);
      this.lastWriteAt = performance.now();
      if (!ok) {
        c.blocked = true;
        this.hooks.onBackpressure();
        c.res.once('drain', () => {
          c.blocked = false;
          if (this.client === c) this.flushClient();
        });
        return;
      }
    }
    if (this.ended && c.sentSeq === this.lastSeq && !c.res.writableEnded) c.res.end();
  }

  private corked: ServerResponse | null = null;

  /** Holds the client's writes until uncork(), so events from one upstream chunk go out together. */
  cork(): void {
    const c = this.client;
    if (c && !c.batched) {
      c.res.cork();
      this.corked = c.res;
    }
  }

  uncork(): void {
    const res = this.corked;
    if (res) {
      this.corked = null;
      res.uncork();
    }
  }

  /** Writes an SSE comment (heartbeat) to an idle, unblocked client. */
  heartbeat(comment: string, now: number): boolean {
    const c = this.client;
    if (!c || c.blocked || c.res.writableEnded) return false;
    c.res.write(comment);
    this.lastWriteAt = now;
    return true;
  }

  private noteDelivered(seq: number): void {
    if (seq <= this.deliveredSeq) return;
    this.deliveredSeq = seq;
    const idx = this.head + seq - this.firstSeq;
    if (idx >= this.head) this.deliveredTokens = this.tokensAt[idx]!;
  }

  private bytesAfter(seq: number): number {
    let n = 0;
    for (let i = this.head + Math.max(0, seq + 1 - this.firstSeq); i < this.events.length; i++)
      n += this.events[i]!.length;
    return n;
  }

  private append(type: ReferenceEventType, data: string): void {
    const seq = ++this.lastSeq;
    const ev = encodeReferenceEvent(this.id, seq, type, data);
    // Sizes are counted in UTF-16 code units (string length): exact for ASCII, a cheap
    // approximation otherwise, which is all the limits need.
    const size = ev.length;
    this.events.push(ev);
    this.tokensAt.push(this.tokens);
    this.bufferBytes += size;
    this.appendedBytes += size;
    this.evict();
    const c = this.client;
    if (c === null) return;
    if (this.appendedBytes - c.sentBytes + c.res.writableLength > this.limits.maxBufferedBytes) {
      this.hooks.onSlowConsumer();
      this.detach(true);
      return;
    }
    if (c.blocked || this.ended) return;
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
}
