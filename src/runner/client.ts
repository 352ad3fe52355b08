// One SSE stream, driven by undici's dispatcher handler API (the lowest level undici offers: raw
// header buffers, body chunks as they come off the socket, no stream objects). Each chunk is
// timestamped with performance.now() (monotonic, µs resolution) the moment undici hands it over,
// before decoding, so client-side work never shifts a timestamp. One object per stream holds all
// state: it is the undici handler, the SSE listener and the protocol listener.
//
// Every stream ends exactly once (finish()), with one outcome. Aborts go through undici's abort
// callback, which destroys the socket: nothing is left open.
//
// Client-side faults (docs/chaos.md) run here too: a stream with a fault plan watches for its
// trigger (after N tokens or T ms) and then drops the connection and reconnects (resume with
// Last-Event-ID, or retry), stops reading (real TCP backpressure: onData returns false until
// undici's resume), reads at a byte rate, cancels, or gives up before the headers. A stream without
// a fault pays one boolean check per token for all of it.
import type { Dispatcher } from 'undici';
import { TopLevelFields } from '../json/fields.js';
import { createAccumulator } from '../protocols/index.js';
import { ReferenceAccumulator } from '../protocols/reference.js';
import type { ProtocolAccumulator, StreamEvent } from '../protocols/types.js';
import { SseDecoder } from '../sse/decoder.js';
import type { SseEvent } from '../sse/types.js';
import type { Outcome } from '../stats/metrics.js';
import { type ClientPlan, FAULT_HEADER, type FaultPlan } from './faults.js';
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
type AbortOutcome = 'stalled' | 'timed_out' | 'client_aborted' | 'interrupted' | 'cancelled';

class ClientAbort extends Error {
  constructor(readonly outcome: AbortOutcome | 'disconnect') {
    super(
      outcome === 'disconnect'
        ? 'disconnected by the client (injected fault)'
        : `aborted by the client: ${outcome}`,
    );
  }
}

const MAX_ERROR_BODY = 512;
const CONTENT_TYPE = Buffer.from('content-type');
const STREAM_ID = Buffer.from('x-stream-id');

/** Failures of a reconnect attempt worth another attempt (404 and 410 on resume are final). */
const RETRYABLE: ReadonlySet<Outcome> = new Set(['http_error', 'connection_error', 'truncated']);

function headerValue(raw: Buffer[], name: Buffer): string {
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === name.length && raw[i]!.equals(name)) return raw[i + 1]!.toString('latin1');
  return '';
}

/** The request headers without content-type (for bodiless requests: resume, cancel). */
function bodilessHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k !== 'content-type') out[k] = v;
  return out;
}

export class StreamRun implements Dispatcher.DispatchHandler {
  startedAt = Number.NaN;
  sentAt = Number.NaN;
  headersAt = Number.NaN;
  firstTokenAt = Number.NaN;
  private lastTokenAt = Number.NaN;
  /** Last content (or headers) arrival: the stall clock. Pings and heartbeats do not move it. */
  lastContentAt = Number.NaN;
  private endAt = Number.NaN;
  // ---- content channels (thinking, answer, tool calls, structured fields) ---------------------
  firstThinkingAt = Number.NaN;
  firstAnswerAt = Number.NaN;
  private toolCallAt = Number.NaN;
  private toolArgsAt = Number.NaN;
  private firstFieldAt = Number.NaN;
  private thinkingEvents = 0;
  private toolInputEvents = 0;
  private toolCalls = 0;
  private toolCallsCompleted = 0;
  private invalidToolArgs = 0;
  /** Arguments of the tool call in progress (only while one is open). */
  private toolArgs: string | undefined;
  /** Structured output: watches the answer for its first complete top-level field, until it is seen. */
  private fields: TopLevelFields | undefined;
  /** The answer text, kept only when asked (multi-turn sessions send it back). */
  answerText: string | undefined;
  /**
   * Text tokens take the slow path (channelToken) until the first answer token, and while the answer
   * text is kept or watched: one branch per plain-text token otherwise.
   */
  private textSlow = true;
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
  private decoder: SseDecoder;
  private acc: ProtocolAccumulator;
  /** ITL is recorded for measured streams, and not after a client-made pause or throttle. */
  private recordItl: boolean;

  // ---- client-side faults (cold unless the stream has a plan) --------------------------------
  /** The stream has a client fault to watch for. */
  private readonly watch: boolean;
  private readonly plan: ClientPlan | undefined;
  private struck: boolean;
  /** Strike when this many content tokens have arrived (-1: not by tokens). */
  private strikeAt = -1;
  private faultTimer: NodeJS.Timeout | undefined;
  /** The client is not reading (stall or throttle): the stall sweep skips it. */
  paused = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private resumeFn: (() => void) | undefined;
  private slow = false;
  /** The server's id for this stream (X-Stream-Id), for resume and cancel. */
  private streamId = '';
  private recovering: 'resume' | 'retry' | undefined;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAt = Number.NaN;
  private resumeMs = Number.NaN;
  private cancelAt = Number.NaN;
  private cancelMs = Number.NaN;
  /** The cancel request is in flight: the stream is reported once its answer is in. */
  private cancelPending = false;
  private finishAfterCancel = false;
  private cancelLate = false;

  constructor(
    private readonly ctx: ClientContext,
    private readonly body: string,
    /** When the stream should have started (open: scheduled arrival; closed: user ready). */
    readonly intendedAt: number,
    readonly warmup: boolean,
    private readonly onEnd: (run: StreamRun) => void,
    private readonly fault?: FaultPlan,
    /** Session turn (1-based; 0 outside sessions), and whether to keep the answer text for the next turn. */
    readonly turn = 0,
    keepText = false,
  ) {
    if (keepText) this.answerText = '';
    if (ctx.spec.structured) this.fields = new TopLevelFields();
    this.acc = this.newAccumulator();
    this.decoder = this.newDecoder();
    this.recordItl = !warmup;
    this.plan = fault?.side === 'client' ? fault : undefined;
    this.watch = this.plan !== undefined;
    // An upstream fault is in the request itself: it strikes whenever the stream is sent.
    this.struck = fault?.side === 'upstream';
  }

  private newAccumulator(): ProtocolAccumulator {
    return createAccumulator(this.ctx.spec.protocol, (e) => this.onStreamEvent(e));
  }

  private newDecoder(): SseDecoder {
    return new SseDecoder({
      onEvent: (e: SseEvent) => this.acc.push(e),
      maxEventBytes: this.ctx.maxEventBytes,
    });
  }

  start(now: number): void {
    this.startedAt = now;
    this.ctx.recorder.streamStarted(now, this.warmup);
    const spec = this.ctx.spec;
    const headers =
      this.fault?.side === 'upstream' ? { ...spec.headers, [FAULT_HEADER]: this.fault.header } : spec.headers;
    this.send('POST', spec.url.pathname + spec.url.search, headers, this.body);
  }

  private send(
    method: 'POST' | 'GET',
    path: string,
    headers: Record<string, string>,
    body: string | null,
  ): void {
    try {
      this.ctx.dispatcher.dispatch(
        {
          origin: this.ctx.spec.url.origin,
          path,
          method,
          headers,
          body,
          headersTimeout: this.ctx.headersTimeoutMs,
          // Idle time is judged by the stall timeout on content, not on bytes: pings must not count.
          bodyTimeout: 0,
        },
        this,
      );
    } catch (err) {
      this.end('connection_error', 'dispatch', (err as Error).message);
      this.attemptEnded();
    }
  }

  /** Ends the stream from the client side (stall, timeout, injected abort, end of run). */
  abort(outcome: AbortOutcome): void {
    if (this.finished) return;
    if (this.reconnectTimer !== undefined) {
      // Between a disconnect and the next attempt: no connection to abort.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.end(outcome, outcome, `aborted by the client: ${outcome} (while reconnecting)`);
      this.finish();
      return;
    }
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
    if (this.attempts > 0) return; // timings describe the first request
    this.sentAt = performance.now();
    if (this.plan?.kind === 'abort_before_headers') {
      const after = this.plan.afterMs ?? 0;
      if (after <= 0) this.strike();
      else this.faultTimer = setTimeout(() => this.strike(), after);
    }
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const now = performance.now();
    this.status = statusCode;
    this.resumeFn = resume;
    if (this.attempts === 0) {
      this.headersAt = now;
      if (Number.isNaN(this.sentAt)) this.sentAt = this.startedAt;
    }
    this.lastContentAt = now;
    if (statusCode < 200 || statusCode > 299) {
      this.end('http_error', String(statusCode), `HTTP ${statusCode}`);
      return true; // read the (small) error body for the sample, then the connection is reusable
    }
    const type = headerValue(rawHeaders, CONTENT_TYPE);
    if (!type.toLowerCase().startsWith('text/event-stream')) {
      this.end(
        'protocol_error',
        'E_PROTOCOL_MALFORMED',
        `expected content-type text/event-stream, got "${type}"`,
      );
      this.abortFn?.(new ClientAbort('client_aborted'));
      return false;
    }
    if (this.watch && this.attempts === 0) this.arm(rawHeaders);
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
    if (this.watch) {
      if (this.slow && !this.paused) this.pause((chunk.length * 1000) / this.plan!.bytesPerS, false);
      return !this.paused;
    }
    return true;
  }

  onComplete(): void {
    if (this.outcome === undefined) {
      this.decoder.flush();
      // The server closed the response without a terminal event: a resuming client tries again.
      if (this.canReconnect()) return this.scheduleReconnect();
      this.endFromSummary(performance.now());
    }
    this.attemptEnded();
  }

  onError(err: Error): void {
    const now = performance.now();
    if (err instanceof ClientAbort && err.outcome === 'disconnect') return this.disconnected();
    if (this.outcome === undefined) {
      if (err instanceof ClientAbort) {
        const o = err.outcome as AbortOutcome;
        this.end(o, o, err.message, now);
      } else if (Number.isNaN(this.headersAt) || this.status === 0) {
        const code = (err as { code?: string }).code ?? err.name;
        if (code === 'UND_ERR_HEADERS_TIMEOUT') this.end('timed_out', 'headers_timeout', err.message, now);
        else this.end('connection_error', code, err.message, now);
      } else {
        // The connection broke mid-stream: whatever the protocol says about a stream without its end.
        this.decoder.flush();
        if (this.canReconnect()) return this.scheduleReconnect();
        this.endFromSummary(now, err.message);
      }
    }
    this.attemptEnded();
  }

  // ---- protocol events ------------------------------------------------------------------------

  private onStreamEvent(e: StreamEvent): void {
    switch (e.kind) {
      case 'token': {
        const at = this.chunkAt;
        this.tokens++;
        this.lastContentAt = at;
        if (Number.isNaN(this.firstTokenAt)) this.firstTokenAt = at;
        else if (this.recordItl && !Number.isNaN(this.lastTokenAt))
          this.ctx.recorder.itl(at - this.lastTokenAt);
        this.lastTokenAt = at;
        this.ctx.recorder.tokens(at, 1);
        if (e.channel !== 'text' || this.textSlow) this.channelToken(e.channel, e.text, at);
        if (this.watch) this.afterToken(at);
        return;
      }
      case 'tool_call':
        this.onToolCall(e.phase);
        return;
      case 'usage':
        if (e.outputTokens !== undefined) this.outputTokens = e.outputTokens;
        if (e.inputTokens !== undefined) this.inputTokens = e.inputTokens;
        return;
      case 'stop':
        if (this.watch) {
          this.afterToken(this.chunkAt);
          if (!Number.isNaN(this.cancelAt) && e.reason === 'cancelled') {
            this.cancelMs = this.chunkAt - this.cancelAt;
            this.end('cancelled', 'cancelled', undefined, this.chunkAt);
            return;
          }
        }
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

  // ---- content channels -----------------------------------------------------------------------

  private channelToken(channel: 'text' | 'thinking' | 'tool_input', text: string, at: number): void {
    if (channel === 'thinking') {
      this.thinkingEvents++;
      if (Number.isNaN(this.firstThinkingAt)) this.firstThinkingAt = at;
      return;
    }
    if (channel === 'tool_input') {
      this.toolInputEvents++;
      if (Number.isNaN(this.toolCallAt)) this.toolCallAt = at;
      if (this.toolArgs !== undefined) this.toolArgs += text;
      return;
    }
    if (Number.isNaN(this.firstAnswerAt)) this.firstAnswerAt = at;
    if (this.answerText !== undefined) this.answerText += text;
    if (this.fields !== undefined && this.fields.feed(text) > 0) {
      this.firstFieldAt = at;
      this.fields = undefined;
    }
    this.textSlow = this.answerText !== undefined || this.fields !== undefined;
  }

  private onToolCall(phase: 'start' | 'stop'): void {
    const at = this.chunkAt;
    if (phase === 'start') {
      this.toolCalls++;
      if (Number.isNaN(this.toolCallAt)) this.toolCallAt = at;
      this.toolArgs = '';
      return;
    }
    if (this.toolArgs === undefined) return;
    this.toolCallsCompleted++;
    if (Number.isNaN(this.toolArgsAt)) this.toolArgsAt = at;
    // A tool with no parameters may stream no argument text at all: that is the empty object.
    if (this.toolArgs.trim() !== '') {
      try {
        JSON.parse(this.toolArgs);
      } catch {
        this.invalidToolArgs++;
      }
    }
    this.toolArgs = undefined;
  }

  // ---- client-side faults ---------------------------------------------------------------------

  /** The response started: arm the trigger (after N tokens, or T ms from now). */
  private arm(rawHeaders: Buffer[]): void {
    const p = this.plan!;
    if (p.kind === 'abort_before_headers') {
      clearTimeout(this.faultTimer); // the headers beat it: the fault did not strike
      return;
    }
    this.streamId = headerValue(rawHeaders, STREAM_ID);
    if (p.afterMs !== undefined) this.faultTimer = setTimeout(() => this.strike(), p.afterMs);
    else if (p.afterTokens === 0) this.strike();
    else this.strikeAt = p.afterTokens ?? 1;
  }

  private afterToken(at: number): void {
    if (!Number.isNaN(this.reconnectAt) && Number.isNaN(this.resumeMs)) this.resumeMs = at - this.reconnectAt;
    if (this.tokens === this.strikeAt) this.strike();
  }

  private strike(): void {
    this.faultTimer = undefined;
    this.strikeAt = -1;
    if (this.struck || this.finished || this.outcome !== undefined) return;
    const p = this.plan!;
    this.struck = true;
    switch (p.kind) {
      case 'disconnect':
        this.abortFn?.(new ClientAbort('disconnect'));
        return;
      case 'stall':
        this.pause(p.durationMs, true);
        return;
      case 'slow_reader':
        this.slow = true;
        this.recordItl = false;
        return;
      case 'cancel':
        this.cancel();
        return;
      case 'abort_before_headers':
        this.abort('client_aborted');
        return;
    }
  }

  /** Stops reading for `ms`: onData answers false, undici stops reading the socket until resume(). */
  private pause(ms: number, gap: boolean): void {
    this.paused = true;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      this.paused = false;
      this.lastContentAt = performance.now();
      // The gap spanning a stall is the client's doing, not an inter-token latency.
      if (gap) this.lastTokenAt = Number.NaN;
      if (!this.finished) this.resumeFn?.();
    }, ms);
  }

  private cancel(): void {
    this.cancelAt = performance.now();
    const spec = this.ctx.spec;
    const id = this.streamId || ((this.acc as ReferenceAccumulator).streamId ?? '');
    if (spec.protocol !== 'reference' || id === '') {
      // No cancel route: cancelling is dropping the connection.
      this.abort('cancelled');
      return;
    }
    this.cancelPending = true;
    this.ctx.dispatcher
      .request({
        origin: spec.url.origin,
        path: `${spec.url.pathname}/${encodeURIComponent(id)}/cancel`,
        method: 'POST',
        headers: bodilessHeaders(spec.headers),
      })
      .then(
        async (r) => {
          const text = await r.body.text();
          // The stream ended before the cancel reached the server: a race the client cannot win,
          // not a server fault. The fault counts as missed (docs/chaos.md).
          if (r.statusCode === 200 && text.includes('"already_finished"')) this.cancelLate = true;
        },
        () => {
          // The stream then completes (or fails) by itself; its outcome shows the cancel did not land.
        },
      )
      .finally(() => {
        this.cancelPending = false;
        if (this.finishAfterCancel) this.finish();
      });
  }

  /** The injected disconnect took effect: give up, or reconnect after the delay. */
  private disconnected(): void {
    this.abortFn = undefined;
    if (this.outcome !== undefined) return this.finish(); // the chunk held the terminal event
    const p = this.plan!;
    if (p.reconnect === 'none') {
      this.end('client_aborted', 'disconnect', 'disconnected by the client (injected fault)');
      return this.finish();
    }
    this.recovering = p.reconnect;
    this.scheduleReconnect();
  }

  private canReconnect(): boolean {
    return this.recovering === 'resume' && this.attempts < this.plan!.maxAttempts;
  }

  private scheduleReconnect(): void {
    this.abortFn = undefined;
    this.lastTokenAt = Number.NaN;
    // Until the next response's headers the headers timeout governs, not the stall timeout.
    this.lastContentAt = Number.NaN;
    this.reconnectTimer = setTimeout(() => this.reconnect(), this.plan!.reconnectDelayMs);
  }

  private reconnect(): void {
    this.reconnectTimer = undefined;
    if (this.finished) return;
    if (this.outcome !== undefined) return this.finish();
    this.attempts++;
    this.pendingAbort = undefined;
    this.status = 0;
    this.errorBody = '';
    if (Number.isNaN(this.reconnectAt)) this.reconnectAt = performance.now();
    this.decoder = this.newDecoder();
    const spec = this.ctx.spec;
    if (this.recovering === 'retry') {
      // A new request: the answer starts over.
      this.acc = this.newAccumulator();
      this.tokens = 0;
      this.outputTokens = undefined;
      this.send('POST', spec.url.pathname + spec.url.search, spec.headers, this.body);
      return;
    }
    const acc = this.acc as ReferenceAccumulator;
    const id = this.streamId || (acc.streamId ?? '');
    const headers = bodilessHeaders(spec.headers);
    if (acc.lastEventId !== '') headers['last-event-id'] = acc.lastEventId;
    this.send('GET', `${spec.url.pathname}/${encodeURIComponent(id)}`, headers, null);
  }

  /** One request ended. A failed reconnect attempt is tried again while attempts remain. */
  private attemptEnded(): void {
    const o = this.outcome;
    if (
      this.recovering !== undefined &&
      o !== undefined &&
      RETRYABLE.has(o) &&
      this.attempts < this.plan!.maxAttempts &&
      !(this.recovering === 'resume' && (this.status === 404 || this.status === 410))
    ) {
      this.outcome = undefined;
      this.errorType = undefined;
      this.errorMessage = undefined;
      this.endAt = Number.NaN;
      if (this.recovering === 'retry') this.acc.end(); // a retry starts a new accumulator anyway
      this.scheduleReconnect();
      return;
    }
    this.finish();
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
    if (this.cancelPending) {
      this.finishAfterCancel = true;
      return;
    }
    this.finished = true;
    if (this.watch) {
      clearTimeout(this.faultTimer);
      clearTimeout(this.pauseTimer);
      clearTimeout(this.reconnectTimer);
    }
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
      verified: this.acc instanceof ReferenceAccumulator && this.acc.verified,
      keepalive: this.chunkAt > this.lastContentAt,
      fault: this.fault,
      // A cancel the server answered `already_finished` (the stream beat it) did not strike.
      struck: this.struck && !(this.cancelLate && this.outcome === 'completed'),
      recovery:
        this.recovering !== undefined ? { kind: this.recovering, attempts: this.attempts } : undefined,
      resumeMs: this.resumeMs,
      cancelSent: !Number.isNaN(this.cancelAt),
      cancelMs: this.cancelMs,
      firstThinkingAt: this.firstThinkingAt,
      firstAnswerAt: this.firstAnswerAt,
      toolCallAt: this.toolCallAt,
      toolArgsAt: this.toolArgsAt,
      firstFieldAt: this.firstFieldAt,
      thinkingEvents: this.thinkingEvents,
      toolInputEvents: this.toolInputEvents,
      toolCalls: this.toolCalls,
      toolCallsCompleted: this.toolCallsCompleted,
      // A call whose arguments never ended (the stream broke off) never became valid JSON either.
      invalidToolArgs: this.invalidToolArgs + (this.toolArgs !== undefined ? 1 : 0),
      turn: this.turn,
    };
    this.ctx.recorder.ended(summary);
    this.onEnd(this);
  }
}
