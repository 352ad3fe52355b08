// The reference server's SSE wire format (documented in docs/server.md). Every event has
// an `id: <stream id>:<sequence>` so a client can resume with Last-Event-ID, and one of
// these types:
//   meta   {stream_id, model}                               first event
//   delta  {text}                                           a piece of answer text
//   usage  {input_tokens, output_tokens}                    cumulative, as upstream reports it
//   done   {stop_reason, output_chars, output_tokens, sha256}  terminal: sha256 of the full text
//   error  {type, message, retryable}                       terminal
// and, when the upstream sends more than answer text (rich.ts):
//   thinking    {index, text}                               a piece of extended thinking
//   tool_call   {index, id, name}                           a tool_use block starts
//   tool_input  {index, partial_json, value?}               an arguments fragment, and the arguments so far
//   tool_done   {index, input}                              the block stopped: the complete arguments
//   partial     {value}                                     structured output: the answer object so far
// `sha256` and `output_chars` in done cover the answer text (the `delta` texts) only.
// Heartbeats are SSE comments (`: hb`), which spec-following clients ignore.

export const EVENT = {
  meta: 'meta',
  delta: 'delta',
  usage: 'usage',
  done: 'done',
  error: 'error',
  thinking: 'thinking',
  tool_call: 'tool_call',
  tool_input: 'tool_input',
  tool_done: 'tool_done',
  partial: 'partial',
} as const;

export type ReferenceEventType = (typeof EVENT)[keyof typeof EVENT];

export interface DonePayload {
  stop_reason: string | null;
  output_chars: number;
  output_tokens: number;
  sha256: string;
}

export interface ErrorPayload {
  type: string;
  message: string;
  retryable: boolean;
}

/** Encodes one event. `data` must already be JSON without newlines (JSON.stringify output is). */
export function encodeReferenceEvent(
  streamId: string,
  seq: number,
  type: ReferenceEventType,
  data: string,
): string {
  return `id: ${streamId}:${seq}\nevent: ${type}\ndata: ${data}\n\n`;
}

/** Splits a Last-Event-ID (`<stream id>:<seq>`); undefined when it is not of that shape. */
export function parseEventId(id: string): { streamId: string; seq: number } | undefined {
  const colon = id.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const seq = Number(id.slice(colon + 1));
  if (!Number.isInteger(seq) || seq < 0) return undefined;
  return { streamId: id.slice(0, colon), seq };
}

export const HEARTBEAT = ': hb\n\n';
