// Wire formats the mock speaks. Each writer turns the engine's steps (start, token, ping,
// finish, in-band error) into SSE text exactly as the real API sends it. Token events are
// pre-encoded per vocabulary word at startup, so emitting a token is a string lookup.
//
// Anthropic: https://docs.anthropic.com/en/docs/build-with-claude/streaming (event order
// message_start, content_block_start, ping, content_block_delta*, content_block_stop,
// message_delta with cumulative usage, message_stop; in-band `event: error`).
// OpenAI: chat.completion.chunk objects as `data:` lines, a final usage chunk when
// stream_options.include_usage is set, then `data: [DONE]`.
import {
  anthropicContent,
  anthropicRich,
  openaiMessage,
  openaiRich,
  type PlanCursor,
  type ResponsePlan,
  type RichStop,
  type RichWire,
} from './rich.js';
import { VOCAB } from './text.js';

export interface StreamInfo {
  readonly messageId: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly created: number;
  readonly includeUsage: boolean;
  /** Per-stream text a writer computes once in start() and reuses for every token. */
  wirePrefix?: string;
}

export interface WireWriter {
  readonly contentType: string;
  start(s: StreamInfo): string;
  token(s: StreamInfo, word: number): string;
  ping(): string;
  finish(s: StreamInfo, stopReason: 'end_turn' | 'max_tokens', outputTokens: number): string;
  error(s: StreamInfo, errorType: string, message: string): string;
  /** The non-streaming response body. */
  body(s: StreamInfo, text: string, stopReason: 'end_turn' | 'max_tokens', outputTokens: number): string;
  /** Planned (thinking, tool-use, structured) responses: src/mock/rich.ts. */
  readonly rich: RichWire;
  richStart(s: StreamInfo, plan: ResponsePlan): string;
  richFinish(s: StreamInfo, plan: ResponsePlan, cur: PlanCursor, outputTokens: number): string;
  richBody(s: StreamInfo, plan: ResponsePlan, outputTokens: number): string;
}

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

const anthropicTokenEvents = VOCAB.map(
  (w) =>
    `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(w)}}}\n\n`,
);

function anthropicMessageStart(s: StreamInfo): string {
  const message = {
    id: s.messageId,
    type: 'message',
    role: 'assistant',
    model: s.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: s.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 1,
    },
  };
  return `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`;
}

function anthropicEnd(s: StreamInfo, stopReason: string, outputTokens: number): string {
  const usage = { input_tokens: s.inputTokens, output_tokens: outputTokens };
  return (
    `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage })}\n\n` +
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
  );
}

const ANTHROPIC_PING = 'event: ping\ndata: {"type": "ping"}\n\n';

export const anthropicWire: WireWriter = {
  contentType: SSE_CONTENT_TYPE,
  rich: anthropicRich,
  richStart: (s, plan) => anthropicMessageStart(s) + anthropicRich.open(plan, '') + ANTHROPIC_PING,
  richFinish: (s, plan, cur, outputTokens) =>
    anthropicRich.close(plan, cur) + anthropicEnd(s, plan.stopReason, outputTokens),
  richBody(s, plan, outputTokens) {
    return JSON.stringify({
      id: s.messageId,
      type: 'message',
      role: 'assistant',
      model: s.model,
      content: anthropicContent(plan),
      stop_reason: plan.stopReason,
      stop_sequence: null,
      usage: {
        input_tokens: s.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: outputTokens,
      },
    });
  },
  start: (s) =>
    anthropicMessageStart(s) +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
    ANTHROPIC_PING,
  token: (_s, word) => anthropicTokenEvents[word]!,
  ping: () => ANTHROPIC_PING,
  finish: (s, stopReason, outputTokens) =>
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
    anthropicEnd(s, stopReason, outputTokens),
  error(_s, errorType, message) {
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: errorType, message } })}\n\n`;
  },
  body(s, text, stopReason, outputTokens) {
    return JSON.stringify({
      id: s.messageId,
      type: 'message',
      role: 'assistant',
      model: s.model,
      content: [{ type: 'text', text }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: {
        input_tokens: s.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: outputTokens,
      },
    });
  },
};

const openaiWordJson = VOCAB.map((w) => JSON.stringify(w));
const OPENAI_FINISH: Record<'end_turn' | 'max_tokens', string> = { end_turn: 'stop', max_tokens: 'length' };

function chunkPrefix(s: StreamInfo): string {
  return `data: {"id":${JSON.stringify(s.messageId)},"object":"chat.completion.chunk","created":${s.created},"model":${JSON.stringify(s.model)},"choices":[`;
}

function prefixOf(s: StreamInfo): string {
  if (s.wirePrefix === undefined) s.wirePrefix = chunkPrefix(s);
  return s.wirePrefix;
}

function openaiFinish(s: StreamInfo, finishReason: string, outputTokens: number): string {
  let out = `${prefixOf(s)}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReason}"}]}\n\n`;
  if (s.includeUsage) {
    const usage = {
      prompt_tokens: s.inputTokens,
      completion_tokens: outputTokens,
      total_tokens: s.inputTokens + outputTokens,
    };
    out += `${prefixOf(s)}],"usage":${JSON.stringify(usage)}}\n\n`;
  }
  return `${out}data: [DONE]\n\n`;
}

export const openaiWire: WireWriter = {
  contentType: SSE_CONTENT_TYPE,
  rich: openaiRich,
  richStart: (s) => openaiWire.start(s),
  richFinish: (s, plan, _cur, outputTokens) =>
    openaiFinish(s, openaiRich.finishReason(plan.stopReason), outputTokens),
  richBody(s, plan, outputTokens) {
    return JSON.stringify({
      id: s.messageId,
      object: 'chat.completion',
      created: s.created,
      model: s.model,
      choices: [
        {
          index: 0,
          message: openaiMessage(plan),
          logprobs: null,
          finish_reason: openaiRich.finishReason(plan.stopReason as RichStop),
        },
      ],
      usage: {
        prompt_tokens: s.inputTokens,
        completion_tokens: outputTokens,
        total_tokens: s.inputTokens + outputTokens,
      },
    });
  },
  start(s) {
    return `${prefixOf(s)}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
  },
  token(s, word) {
    return `${prefixOf(s)}{"index":0,"delta":{"content":${openaiWordJson[word]}},"logprobs":null,"finish_reason":null}]}\n\n`;
  },
  // OpenAI-compatible servers send SSE comments as keep-alives.
  ping: () => ': ping\n\n',
  finish: (s, stopReason, outputTokens) => openaiFinish(s, OPENAI_FINISH[stopReason], outputTokens),
  error(_s, errorType, message) {
    return `data: ${JSON.stringify({ error: { message, type: errorType, param: null, code: errorType } })}\n\n`;
  },
  body(s, text, stopReason, outputTokens) {
    return JSON.stringify({
      id: s.messageId,
      object: 'chat.completion',
      created: s.created,
      model: s.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: OPENAI_FINISH[stopReason],
        },
      ],
      usage: {
        prompt_tokens: s.inputTokens,
        completion_tokens: outputTokens,
        total_tokens: s.inputTokens + outputTokens,
      },
    });
  },
};

// --- error bodies -------------------------------------------------------------------------

/** Anthropic's error type for each HTTP status (https://docs.anthropic.com/en/api/errors). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function anthropicErrorBody(errorType: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type: errorType, message }, request_id: requestId });
}

export function openaiErrorType(status: number): string {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 404) return 'not_found_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

export function openaiErrorBody(errorType: string, message: string): string {
  return JSON.stringify({ error: { message, type: errorType, param: null, code: null } });
}
