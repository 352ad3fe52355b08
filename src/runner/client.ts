// One SSE stream, driven by undici's dispatcher handler API (the lowest level undici offers: raw
// header buffers, body chunks as they come off the socket, no stream objects). Each chunk is
// timestamped with performance.now() (monotonic, µs resolution) the moment undici hands it over,
// before decoding, so client-side work never shifts a timestamp. One object per stream holds all
// state: it is the undici handler, the SSE listener and the protocol listener.
//
// Every stream ends exactly once (finish()), with one outcome. Aborts go through undici's abort
// callback, which destroys the socket: nothing is left open.
import type { Dispatcher } from 'undici';
import { createAccumulator } from '../protocols/index.js';
import type { ProtocolAccumulator, StreamEvent } from '../protocols/types.js';
import { SseDecoder } from '../sse/decoder.js';
import type { SseEvent } from '../sse/types.js';
import type { Outcome } from '../stats/metrics.js';
import type { Recorder, StreamEnd } from './recorder.js';
import type { RequestSpec } from './request.js';

export interface ClientContext {
  dispatcher: Dispatcher;
  spec: RequestSpec;
  recorder: Recorder;
  headersTimeoutMs: number;
  /** Largest SSE event accepted (bytes). */
  maxEventBytes: number;
}

/** Why the client itself ended a stream: the outcome it records. */
type AbortOutcome = 'stalled' | 'timed_out' | 'client_aborted' | 'interrupted';

class ClientAbort extends Error {
  constructor(readonly outcome: AbortOutcome) {
    super(`aborted by the client: ${outcome}`);
  }
}

const MAX_ERROR_BODY = 512;
const CONTENT_TYPE = Buffer.from('content-type');

export class StreamRun implements Dispatcher.DispatchHandler {
  startedAt = Number.NaN;
  sentAt = Number.NaN;
  headersAt = Number.NaN;
  firstTokenAt = Number.NaN;
  private lastTokenAt = Number.NaN;
  /** Last content (or headers) arrival: the stall clock. Pings and heartbeats do not move it. */
  lastContentAt = Number.NaN;
  private endAt = Number.NaN;
  /** Arrival time of the chunk being decoded: every event in it gets this timestamp. */
  private chunkAt = 0;
  private status = 0;
  private tokens = 0;
  private outcome: Outcome | undefined;
  private errorType: string | undefined;
  private errorMessage: string | undefined;
  private outputTokens: number | undefined;
  private inputTokens: number | undefined;
  private errorBody = '';
  private abortFn: ((err: Error) => void) | undefined;
  private pendingAbort: ClientAbort | undefined;
  private finished = false;
  private readonly decoder: SseDecoder;
  private readonly acc: ProtocolAccumulator;

  constructor(
    private readonly ctx: ClientContext,
    private readonly body: string,
    /** When the stream should have started (open: scheduled arrival; closed: user ready). */
    readonly intendedAt: number,
    readonly warmup: boolean,
    private readonly onEnd: (run: StreamRun) => void,
  ) {
    this.acc = createAccumulator(ctx.spec.protocol, (e) => this.onStreamEvent(e));
    this.decoder = new SseDecoder({
      onEvent: (e: SseEvent) => this.acc.push(e),
      maxEventBytes: ctx.maxEventBytes,
    });
  }

  start(now: number): void {
    this.startedAt = now;
    this.ctx.recorder.streamStarted(now, this.warmup);
    const spec = this.ctx.spec;
    try {
      this.ctx.dispatcher.dispatch(
        {
          origin: spec.url.origin,
          path: spec.url.pathname + spec.url.search,
          method: 'POST',
          headers: spec.headers,
          body: this.body,
          headersTimeout: this.ctx.headersTimeoutMs,
          // Idle time is judged by the stall timeout on content, not on bytes: pings must not count.
          bodyTimeout: 0,
        },
        this,
      );
    } catch (err) {
      this.end('connection_error', 'dispatch', (err as Error).message);
      this.finish();
    }
  }

  /** Ends the stream from the client side (stall, timeout, injected abort, end of run). */
  abort(outcome: AbortOutcome): void {
    if (this.finished) return;
    const err = new ClientAbort(outcome);
    if (this.abortFn !== undefined) this.abortFn(err);
    else this.pendingAbort = err; // not connected yet: aborted in onConnect
  }

  get done(): boolean {
    return this.finished;
  }

  // ---- undici handler -------------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.pendingAbort !== undefined) abort(this.pendingAbort);
  }

  onRequestSent(): void {
    this.sentAt = performance.now();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void): boolean {
    const now = performance.now();
    this.headersAt = now;
    this.lastContentAt = now;
    if (Number.isNaN(this.sentAt)) this.sentAt = this.startedAt;
    this.status = statusCode;
    if (statusCode < 200 || statusCode > 299) {
      this.end('http_error', String(statusCode), `HTTP ${statusCode}`);
      return true; // read the (small) error body for the sample, then the connection is reusable
    }
    let type = '';
    for (let i = 0; i < rawHeaders.length; i += 2)
      if (rawHeaders[i]!.length === CONTENT_TYPE.length && rawHeaders[i]!.equals(CONTENT_TYPE)) {
        type = rawHeaders[i + 1]!.toString('latin1');
        break;
      }
    if (!type.toLowerCase().startsWith('text/event-stream')) {
      this.end(
        'protocol_error',
        'E_PROTOCOL_MALFORMED',
        `expected content-type text/event-stream, got "${type}"`,
      );
      this.abortFn?.(new ClientAbort('client_aborted'));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.outcome !== undefined) {
      if (this.status >= 300 || this.status < 200)
        if (this.errorBody.length < MAX_ERROR_BODY)
          this.errorBody += chunk.toString('utf8', 0, MAX_ERROR_BODY);
      return true;
    }
    this.chunkAt = performance.now();
    const err = this.decoder.decode(chunk);
    if (err !== undefined && this.outcome === undefined) {
      this.end('protocol_error', err.code, err.message);
      this.abortFn?.(new ClientAbort('client_aborted'));
    }
    return true;
  }

  onComplete(): void {
    if (this.outcome === undefined) {
      this.decoder.flush();
      this.endFromSummary(performance.now());
    }
    this.finish();
  }

  onError(err: Error): void {
    const now = performance.now();
    if (this.outcome === undefined) {
      if (err instanceof ClientAbort) this.end(err.outcome, err.outcome, err.message, now);
      else if (Number.isNaN(this.headersAt)) {
        const code = (err as { code?: string }).code ?? err.name;
        if (code === 'UND_ERR_HEADERS_TIMEOUT') this.end('timed_out', 'headers_timeout', err.message, now);
        else this.end('connection_error', code, err.message, now);
      } else {
        // The connection broke mid-stream: whatever the protocol says about a stream without its end.
        this.decoder.flush();
        this.endFromSummary(now, err.message);
      }
    }
    this.finish();
  }

  // ---- protocol events ------------------------------------------------------------------------

  private onStreamEvent(e: StreamEvent): void {
    switch (e.kind) {
      case 'token': {
        const at = this.chunkAt;
        this.tokens++;
        this.lastContentAt = at;
        if (Number.isNaN(this.firstTokenAt)) this.firstTokenAt = at;
        else if (!this.warmup) this.ctx.recorder.itl(at - this.lastTokenAt);
        this.lastTokenAt = at;
        this.ctx.recorder.tokens(at, 1);
        return;
      }
      case 'usage':
        if (e.outputTokens !== undefined) this.outputTokens = e.outputTokens;
        if (e.inputTokens !== undefined) this.inputTokens = e.inputTokens;
        return;
      case 'stop':
        this.end('completed', undefined, undefined, this.chunkAt);
        return;
      case 'error':
        this.end('stream_error', e.errorType, e.message, this.chunkAt);
        return;
      case 'protocol_error':
        this.end('protocol_error', e.code, e.message, this.chunkAt);
        this.abortFn?.(new ClientAbort('client_aborted'));
        return;
      default:
    }
  }

  // ---- ending ---------------------------------------------------------------------------------

  private endFromSummary(now: number, cause?: string): void {
    const s = this.acc.end();
    if (s.outcome === 'completed') this.end('completed', undefined, undefined, now);
    else {
      const msg = cause !== undefined ? `${s.errorMessage ?? ''} (${cause})` : s.errorMessage;
      this.end(s.outcome, s.errorType ?? s.outcome, msg, now);
    }
  }

  /** Decides the outcome (once); the stream is reported in finish(), when the connection is released. */
  private end(outcome: Outcome, errorType?: string, message?: string, at = performance.now()): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.errorType = errorType;
    this.errorMessage = message;
    this.endAt = at;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.outcome === 'http_error' && this.errorBody !== '')
      this.errorMessage = `HTTP ${this.status}: ${this.errorBody.slice(0, 200)}`;
    const summary: StreamEnd = {
      outcome: this.outcome ?? 'truncated',
      warmup: this.warmup,
      intendedAt: this.intendedAt,
      startedAt: this.startedAt,
      sentAt: this.sentAt,
      headersAt: this.headersAt,
      firstTokenAt: this.firstTokenAt,
      endAt: !Number.isNaN(this.endAt) ? this.endAt : performance.now(),
      contentEvents: this.tokens,
      outputTokens: this.outputTokens,
      inputTokens: this.inputTokens,
      errorType: this.errorType,
      errorMessage: this.errorMessage,
    };
    this.ctx.recorder.ended(summary);
    this.onEnd(this);
  }
}
