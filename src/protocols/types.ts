// The normalised stream-event model every protocol adapter produces. Data flows one way:
// wire bytes → sse (decoder) → protocols (this model) → runner → stats.
// The runner timestamps events itself; nothing here reads a clock.

import type { SseEvent } from '../sse/types.js';

export const PROTOCOLS = ['anthropic', 'openai', 'reference'] as const;
/** The wire protocols this module has an accumulator for. */
export type Protocol = (typeof PROTOCOLS)[number];

/** What a content delta carries: answer text, reasoning text, or tool-call argument JSON fragments. */
export type ContentChannel = 'text' | 'thinking' | 'tool_input';

/** The error codes (src/errors.ts) a protocol accumulator reports for a stream it cannot accept. */
export type ProtocolErrorCode = 'E_PROTOCOL_MALFORMED' | 'E_PROTOCOL_ORDER' | 'E_PROTOCOL_INTEGRITY';

export type StreamEvent =
  /** The server accepted the request and began the response (Anthropic message_start, OpenAI first chunk). */
  | { readonly kind: 'start'; readonly messageId?: string; readonly model?: string }
  /**
   * One non-empty content delta. `index` is the Anthropic content block index or the OpenAI choice index.
   * Empty deltas (OpenAI's role-only first chunk, Anthropic's initial `partial_json: ""`) are not tokens.
   */
  | {
      readonly kind: 'token';
      readonly channel: ContentChannel;
      readonly text: string;
      readonly index: number;
    }
  /**
   * Token usage, cumulative as of this event (the latest one wins; never sum them). A field is absent until
   * the server has reported it. `inputTokens` is the total prompt size: for Anthropic, input_tokens +
   * cache_creation_input_tokens + cache_read_input_tokens (as the Messages API docs define the total); for
   * OpenAI, prompt_tokens (which already includes cached tokens).
   */
  | { readonly kind: 'usage'; readonly inputTokens?: number; readonly outputTokens?: number }
  /** Terminal: the stream completed. `reason` is the last stop/finish reason reported, or null. */
  | { readonly kind: 'stop'; readonly reason: string | null }
  /** Terminal: the server sent an in-band error event (for example Anthropic's overloaded_error). */
  | { readonly kind: 'error'; readonly errorType: string; readonly message: string }
  /** Terminal: the stream broke the protocol; further input is ignored. */
  | { readonly kind: 'protocol_error'; readonly code: ProtocolErrorCode; readonly message: string }
  /** A keep-alive event the protocol defines (Anthropic `ping`). SSE comments never reach this layer. */
  | { readonly kind: 'ping' }
  /**
   * A tool call begins (Anthropic content_block_start of a tool_use block; OpenAI the first tool_calls
   * delta of a call) or its arguments are complete (content_block_stop; OpenAI the choice's
   * finish_reason). `index` is the content block index (Anthropic) or the tool call index (OpenAI).
   */
  | {
      readonly kind: 'tool_call';
      readonly phase: 'start' | 'stop';
      readonly index: number;
      readonly name?: string;
      /** start: the call's id when the protocol gives one (Anthropic tool_use `id`). */
      readonly id?: string;
    };

/**
 * How the stream ended, as far as the protocol can tell. The runner adds the outcomes that need
 * transport or timing knowledge (http_error, stalled, client_aborted, cancelled).
 */
export type ProtocolOutcome =
  /** A terminal success event arrived (Anthropic message_stop, OpenAI `data: [DONE]`). */
  | 'completed'
  /** The server sent an in-band error event. */
  | 'stream_error'
  /** The byte stream ended without a terminal event. */
  | 'truncated'
  /** The events broke the protocol (malformed JSON, events out of order). */
  | 'protocol_error';

export interface StreamSummary {
  readonly outcome: ProtocolOutcome;
  /**
   * stream_error: the server's error type (e.g. 'overloaded_error'); protocol_error: the error code
   * (E_PROTOCOL_MALFORMED or E_PROTOCOL_ORDER); absent otherwise.
   */
  readonly errorType?: string;
  /** stream_error and protocol_error: what happened; truncated: which terminal event was missing. */
  readonly errorMessage?: string;
  /** The last stop/finish reason the server reported (also for truncated streams), or null if none. */
  readonly stopReason: string | null;
  readonly messageId?: string;
  readonly model?: string;
  /** Latest cumulative usage the server reported; absent when it reported none (see the usage event). */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Number of token events emitted, all channels. */
  readonly contentEvents: number;
  /** Characters (UTF-16 code units) per channel, summed over token events. */
  readonly textChars: number;
  readonly thinkingChars: number;
  readonly toolInputChars: number;
  /** Every SSE event pushed, including ignored ones. */
  readonly sseEvents: number;
  readonly pings: number;
  /** Events skipped because their event or delta type is unknown (the APIs may add new ones). */
  readonly ignoredEvents: number;
  /** Events pushed after the stream was done (terminal event or protocol error); they were ignored. */
  readonly eventsAfterDone: number;
}

export interface ProtocolAccumulator {
  /**
   * Feeds one dispatched SSE event. Never throws for any input: malformed or out-of-order input turns
   * the accumulator into protocol_error (one `protocol_error` event) and later input is ignored.
   * Exceptions thrown by the onEvent listener propagate to the caller.
   */
  push(ev: SseEvent): void;
  /**
   * Call once the byte stream has ended (after flushing the decoder). Without a terminal event the
   * outcome is truncated. Idempotent: later calls return the same summary; push() after end() is ignored.
   */
  end(): StreamSummary;
  /** A terminal event (stop or error) or a protocol error has been seen; the caller may stop reading. */
  readonly done: boolean;
}

export type StreamEventListener = (e: StreamEvent) => void;
