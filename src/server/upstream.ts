// The upstream side: the request goes through @anthropic-ai/sdk (its retries, timeouts and
// typed errors apply until the response headers arrive) over an undici-based fetch
// (upstream-fetch.ts), and the streaming body is decoded on the hot path by our own SSE
// decoder and protocol accumulator rather than the SDK's stream helpers.
import Anthropic from '@anthropic-ai/sdk';
import { AnthropicAccumulator } from '../protocols/anthropic.js';
import type { StreamEvent } from '../protocols/types.js';
import { SseDecoder } from '../sse/decoder.js';
import { RichRelay } from './rich.js';
import type { ServerStream } from './stream.js';
import type { RawBody } from './upstream-fetch.js';

export interface UpstreamParams {
  model: string;
  max_tokens: number;
  messages: { role: 'user' | 'assistant'; content: string }[];
  system?: string | undefined;
  temperature?: number | undefined;
  /** Passed through as the client gave them (validated in app.ts; docs/server.md). */
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'disabled' } | undefined;
  tools?:
    | {
        name: string;
        description?: string | undefined;
        input_schema: { type: 'object'; [k: string]: unknown };
      }[]
    | undefined;
  tool_choice?: { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string } | undefined;
  /** Structured output as `tokenstorm mock` reads it (docs/mock.md). */
  output_format?: { type: 'json_schema'; schema: Record<string, unknown> } | undefined;
}

export function createUpstreamClient(
  baseURL: string,
  apiKey: string | undefined,
  maxRetries: number,
  timeout: number,
  fetch: typeof globalThis.fetch,
) {
  return new Anthropic({ baseURL, apiKey: apiKey ?? 'no-key', maxRetries, timeout, fetch });
}

/** An upstream failure before any byte reached the client, mapped to what the client gets. */
export interface UpstreamRefusal {
  status: number;
  type: string;
  message: string;
  retryAfterS?: number;
}

/** Maps an SDK error from opening the upstream request to the client's HTTP answer. */
export function mapUpstreamError(err: unknown): UpstreamRefusal {
  if (err instanceof Anthropic.APIError && typeof err.status === 'number') {
    const retryAfter = Number(err.headers?.get?.('retry-after'));
    const retryAfterS = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 1;
    const upstreamType = (err.error as { error?: { type?: string } } | undefined)?.error?.type ?? 'api_error';
    if (err.status === 429)
      return {
        status: 429,
        type: 'rate_limited',
        message: 'The upstream API is rate limiting; retry later.',
        retryAfterS,
      };
    if (err.status === 529 || err.status === 503)
      return {
        status: 503,
        type: 'upstream_overloaded',
        message: 'The upstream API is overloaded; retry later.',
        retryAfterS,
      };
    if (err.status === 400)
      return {
        status: 400,
        type: 'invalid_request',
        message: `The upstream API refused the request: ${err.message}`,
      };
    return {
      status: 502,
      type: 'upstream_error',
      message: `The upstream API answered ${err.status} (${upstreamType}).`,
    };
  }
  if (err instanceof Anthropic.APIConnectionTimeoutError)
    return { status: 504, type: 'upstream_timeout', message: 'The upstream API did not answer in time.' };
  return {
    status: 502,
    type: 'upstream_unreachable',
    message: `The upstream API could not be reached: ${(err as Error)?.message ?? err}`,
  };
}

function abortError(): Error {
  const err = new Error('The upstream request was aborted.');
  err.name = 'AbortError';
  return err;
}

/** Errors upstream may send in-band that are worth retrying. */
function retryable(errorType: string): boolean {
  return errorType === 'overloaded_error' || errorType === 'api_error' || errorType === 'rate_limit_error';
}

export interface PumpHooks {
  now(): number;
  onUpstreamEnd(stream: ServerStream): void;
  /** The request asked for structured output: `partial` events follow the answer deltas (rich.ts). */
  structured?: boolean;
}

/**
 * Reads the upstream body into the stream until a terminal event, an
 * error, or an abort. Never throws: every way the upstream can end becomes the stream's
 * terminal event. Events decoded from one upstream chunk are written to the client in one
 * write.
 */
export function pumpUpstream(stream: ServerStream, body: RawBody, hooks: PumpHooks): void {
  // Thinking, tool calls and structured answers go through a relay made on first need, so a plain
  // text token costs what it did: one branch.
  let relay: RichRelay | undefined;
  const structured = hooks.structured === true;
  const onEvent = (e: StreamEvent): void => {
    switch (e.kind) {
      case 'token':
        if (e.channel === 'text') {
          stream.delta(e.text, hooks.now());
          if (structured) (relay ??= new RichRelay(stream)).answerDelta(e.text);
        } else (relay ??= new RichRelay(stream)).token(e.channel, e.text, e.index);
        break;
      case 'tool_call':
        relay ??= new RichRelay(stream);
        if (e.phase === 'start') relay.toolStart(e.index, e.id, e.name);
        else relay.toolStop(e.index);
        break;
      case 'usage':
        stream.usage(e.inputTokens, e.outputTokens);
        break;
      case 'stop':
        stream.done(e.reason, 'completed', hooks.now());
        break;
      case 'error':
        stream.error(
          { type: e.errorType, message: e.message, retryable: retryable(e.errorType) },
          'upstream_error',
          hooks.now(),
        );
        break;
      case 'protocol_error':
        stream.error(
          { type: 'upstream_protocol_error', message: e.message, retryable: true },
          'upstream_error',
          hooks.now(),
        );
        break;
      default:
        break;
    }
  };
  const acc = new AnthropicAccumulator(onEvent);
  const decoder = new SseDecoder({ onEvent: (ev) => acc.push(ev) });
  // Aborting the stream's controller aborts the request here, not through the SDK: the SDK
  // forwards our signal to its request only until it has dropped the Response (it lets go of
  // its listener when the Response is garbage-collected, and the server keeps no Response).
  const signal = stream.upstream.signal;
  const onAbort = (): void => body.abort(abortError());
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    signal.removeEventListener('abort', onAbort);
    hooks.onUpstreamEnd(stream);
    stream.upstreamOver();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  body.start({
    data(chunk) {
      if (stream.ended) return; // the rest of a finished response (its end) is read and dropped
      stream.beginBatch();
      const err = decoder.decode(chunk);
      stream.endBatch();
      if (err) {
        stream.error(
          { type: 'upstream_protocol_error', message: err.message, retryable: true },
          'upstream_error',
          hooks.now(),
        );
        stream.upstream.abort();
      }
    },
    end() {
      if (!stream.ended) {
        decoder.flush();
        acc.end();
        stream.error(
          {
            type: 'upstream_truncated',
            message: 'The upstream stream ended without message_stop.',
            retryable: true,
          },
          'upstream_error',
          hooks.now(),
        );
      }
      finish();
    },
    error(err) {
      // An abort of ours (cancel, shutdown, resume grace over) already ended the stream.
      if (!stream.ended)
        stream.error(
          {
            type: 'upstream_error',
            message: `The upstream connection failed: ${err.message}`,
            retryable: true,
          },
          'upstream_error',
          hooks.now(),
        );
      finish();
    },
  });
}
