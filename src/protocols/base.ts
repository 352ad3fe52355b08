// State and bookkeeping shared by the protocol accumulators: the one-outcome-per-stream state machine,
// counters, and the helpers that emit normalised events. Subclasses hold only wire-format meaning.
// Hot path: push() → handle() does one JSON.parse per SSE event, plain property checks, no throwing.

import type { SseEvent } from '../sse/types.js';
import type {
  ContentChannel,
  ProtocolAccumulator,
  ProtocolErrorCode,
  ProtocolOutcome,
  StreamEventListener,
  StreamSummary,
} from './types.js';

/** Longest excerpt of a non-JSON payload quoted in an error message. */
const EXCERPT_CHARS = 200;

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A content block or choice index: a non-negative integer. */
export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** A token count: a non-negative finite number (null or absent means "not reported"). */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

export function excerpt(s: string): string {
  return s.length <= EXCERPT_CHARS ? s : `${s.slice(0, EXCERPT_CHARS)}…`;
}

const noop: StreamEventListener = () => {};

export abstract class BaseAccumulator implements ProtocolAccumulator {
  protected readonly emit: StreamEventListener;

  /** Set once: by a terminal event, a protocol error, or end() (truncated). */
  private outcome: ProtocolOutcome | undefined;
  private errorType: string | undefined;
  private errorMessage: string | undefined;
  private summary: StreamSummary | undefined;

  protected stopReason: string | null = null;
  protected messageId: string | undefined;
  protected model: string | undefined;
  protected inputTokens: number | undefined;
  protected outputTokens: number | undefined;

  private contentEvents = 0;
  private textChars = 0;
  private thinkingChars = 0;
  private toolInputChars = 0;
  private sseEvents = 0;
  protected pings = 0;
  protected ignoredEvents = 0;
  private eventsAfterDone = 0;

  constructor(onEvent: StreamEventListener | undefined) {
    this.emit = onEvent ?? noop;
  }

  /** A terminal event or protocol error was seen (end() on a truncated stream does not set it). */
  private doneBeforeEnd = false;

  get done(): boolean {
    return this.doneBeforeEnd;
  }

  push(ev: SseEvent): void {
    this.sseEvents++;
    // outcome is set by a terminal event, a protocol error, or end(): all further input is ignored.
    if (this.outcome !== undefined) {
      this.eventsAfterDone++;
      return;
    }
    this.handle(ev);
  }

  end(): StreamSummary {
    if (this.summary !== undefined) return this.summary;
    if (this.outcome === undefined) {
      this.outcome = 'truncated';
      this.errorMessage = this.truncatedMessage();
    }
    const s: {
      -readonly [K in keyof StreamSummary]: StreamSummary[K];
    } = {
      outcome: this.outcome,
      stopReason: this.stopReason,
      contentEvents: this.contentEvents,
      textChars: this.textChars,
      thinkingChars: this.thinkingChars,
      toolInputChars: this.toolInputChars,
      sseEvents: this.sseEvents,
      pings: this.pings,
      ignoredEvents: this.ignoredEvents,
      eventsAfterDone: this.eventsAfterDone,
    };
    // Optional fields are left out rather than set to undefined, so summaries compare and serialise cleanly.
    if (this.errorType !== undefined) s.errorType = this.errorType;
    if (this.errorMessage !== undefined) s.errorMessage = this.errorMessage;
    if (this.messageId !== undefined) s.messageId = this.messageId;
    if (this.model !== undefined) s.model = this.model;
    if (this.inputTokens !== undefined) s.inputTokens = this.inputTokens;
    if (this.outputTokens !== undefined) s.outputTokens = this.outputTokens;
    this.summary = Object.freeze(s);
    return this.summary;
  }

  /** Handles one SSE event; only called while the stream is not done. Must not throw. */
  protected abstract handle(ev: SseEvent): void;

  /** What end() reports for a stream without a terminal event. */
  protected abstract truncatedMessage(): string;

  /** Parses an event's JSON object payload; on failure records E_PROTOCOL_MALFORMED and returns undefined. */
  protected parseObject(data: string, what: string): JsonObject | undefined {
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch (err) {
      this.fail('E_PROTOCOL_MALFORMED', `${what}: data is not valid JSON (${(err as Error).message})`);
      return undefined;
    }
    if (!isObject(v)) {
      this.fail('E_PROTOCOL_MALFORMED', `${what}: data is not a JSON object: ${excerpt(data)}`);
      return undefined;
    }
    return v;
  }

  /** Emits one token event for a non-empty delta; empty deltas are not content. */
  protected token(channel: ContentChannel, text: string, index: number): void {
    if (text.length === 0) return;
    this.contentEvents++;
    if (channel === 'text') this.textChars += text.length;
    else if (channel === 'thinking') this.thinkingChars += text.length;
    else this.toolInputChars += text.length;
    this.emit({ kind: 'token', channel, text, index });
  }

  /** A tool call began; `name` and `id` are passed on when the wire gave them as strings. */
  protected toolCallStart(index: number, name: unknown, id?: unknown): void {
    this.emit({
      kind: 'tool_call',
      phase: 'start',
      index,
      ...(typeof name === 'string' ? { name } : {}),
      ...(typeof id === 'string' ? { id } : {}),
    });
  }

  protected emitUsage(): void {
    this.emit({ kind: 'usage', inputTokens: this.inputTokens, outputTokens: this.outputTokens });
  }

  protected ping(): void {
    this.pings++;
    this.emit({ kind: 'ping' });
  }

  /** Terminal success. */
  protected complete(): void {
    this.outcome = 'completed';
    this.doneBeforeEnd = true;
    this.emit({ kind: 'stop', reason: this.stopReason });
  }

  /** Terminal in-band error sent by the server. */
  protected streamError(errorType: string, message: string): void {
    this.outcome = 'stream_error';
    this.doneBeforeEnd = true;
    this.errorType = errorType;
    this.errorMessage = message;
    this.emit({ kind: 'error', errorType, message });
  }

  /** Terminal protocol violation; the message names the SSE event number so it can be found in a capture. */
  protected fail(code: ProtocolErrorCode, detail: string): void {
    const message = `${detail} (SSE event #${this.sseEvents})`;
    this.outcome = 'protocol_error';
    this.doneBeforeEnd = true;
    this.errorType = code;
    this.errorMessage = message;
    this.emit({ kind: 'protocol_error', code, message });
  }

  /** True once a terminal event or protocol error has been recorded (for subclasses' early exits). */
  protected get stopped(): boolean {
    return this.outcome !== undefined;
  }
}
