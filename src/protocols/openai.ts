// OpenAI chat completions streaming (`stream: true`), as sent by OpenAI and OpenAI-compatible servers
// such as vLLM: unnamed events whose data is a `chat.completion.chunk` JSON object, then `data: [DONE]`.
// https://platform.openai.com/docs/api-reference/chat/streaming
//
// - The first chunk is the start (its delta is usually role-only: `{"role":"assistant","content":""}`).
// - Content: choices[].delta.content (text), .refusal (text), .reasoning_content or .reasoning (thinking,
//   as vLLM, DeepSeek and others send; some servers send both with the same text, so only
//   reasoning_content counts when it is non-empty), .tool_calls[].function.arguments and the legacy
//   .function_call.arguments (tool_input). The token index is the choice index.
// - choices[].finish_reason is the stop reason, but not the end: with stream_options.include_usage a
//   final chunk with `choices: []` and `usage` follows it. Usage is cumulative (vLLM's continuous usage
//   stats send it on every chunk): the latest wins.
// - Only `data: [DONE]` is terminal (completed). A stream that saw finish_reason but no [DONE] is
//   truncated: OpenAI and vLLM always send [DONE], so its absence means the stream was cut.
// - In-band errors: `event: error`, or any chunk with an `error` member (OpenAI:
//   {"error":{"message","type","param","code"}}), or vLLM's older unwrapped {"object":"error",…}.
//
// Order rules (E_PROTOCOL_ORDER): [DONE] before any chunk; content for a choice after its finish_reason.
// Events after [DONE] or an error are ignored and only counted. Named events other than `error` are not
// part of this protocol and are ignored (counted in ignoredEvents).

import type { SseEvent } from '../sse/types.js';
import { BaseAccumulator, excerpt, isCount, isIndex, isObject, type JsonObject } from './base.js';
import type { StreamEventListener } from './types.js';

export class OpenAIAccumulator extends BaseAccumulator {
  private started = false;
  /** Choices that reported a finish_reason, by choice index. */
  private readonly finished: boolean[] = [];
  /** Tool calls started and not yet complete, by tool call index (tool_call events). */
  private readonly openCalls: number[] = [];
  private readonly seenCalls = new Set<number>();

  constructor(onEvent?: StreamEventListener) {
    super(onEvent);
  }

  protected handle(ev: SseEvent): void {
    const name = ev.type;
    const isError = name === 'error';
    if (name !== 'message' && !isError) {
      this.ignoredEvents++;
      return;
    }
    const data = ev.data;
    if (!isError && data.startsWith('[DONE]')) {
      if (!this.started) {
        this.fail('E_PROTOCOL_ORDER', 'data: [DONE] before any chunk');
        return;
      }
      this.complete();
      return;
    }
    let json: JsonObject | undefined;
    if (isError) {
      // The server said "error" even if it could not say more: an in-band error, not a protocol one.
      try {
        const v: unknown = JSON.parse(data);
        json = isObject(v) ? v : {};
      } catch {
        this.streamError('unknown_error', excerpt(data));
        return;
      }
      this.onError(json['error'] ?? json);
      return;
    }
    json = this.parseObject(data, 'chunk');
    if (json === undefined) return;
    const error = json['error'];
    if (isObject(error) || typeof error === 'string') {
      this.onError(error);
      return;
    }
    if (json['object'] === 'error') {
      this.onError(json);
      return;
    }
    this.onChunk(json);
  }

  protected truncatedMessage(): string {
    if (!this.started) return 'stream ended before the first chunk';
    return this.stopReason === null
      ? 'stream ended without finish_reason or data: [DONE]'
      : `stream ended after finish_reason "${this.stopReason}" without data: [DONE]`;
  }

  private onChunk(json: JsonObject): void {
    if (!this.started) {
      this.started = true;
      const id = json['id'];
      const model = json['model'];
      if (typeof id === 'string') this.messageId = id;
      if (typeof model === 'string') this.model = model;
      this.emit({ kind: 'start', messageId: this.messageId, model: this.model });
    }
    const choices = json['choices'];
    if (choices !== undefined && choices !== null) {
      if (!Array.isArray(choices)) {
        this.fail('E_PROTOCOL_MALFORMED', 'chunk: "choices" is not an array');
        return;
      }
      for (let i = 0; i < choices.length; i++) {
        this.onChoice(choices[i], i);
        if (this.stopped) return;
      }
    }
    const usage = json['usage'];
    if (isObject(usage)) {
      const prompt = usage['prompt_tokens'];
      const completion = usage['completion_tokens'];
      if (isCount(prompt)) this.inputTokens = prompt;
      if (isCount(completion)) this.outputTokens = completion;
      this.emitUsage();
    }
  }

  private onChoice(choice: unknown, position: number): void {
    if (!isObject(choice)) {
      this.fail('E_PROTOCOL_MALFORMED', `chunk: choices[${position}] is not an object`);
      return;
    }
    const rawIndex = choice['index'];
    // OpenAI always sends the index; a server that leaves it out has one choice.
    const index = rawIndex === undefined ? 0 : rawIndex;
    if (!isIndex(index)) {
      this.fail('E_PROTOCOL_MALFORMED', `chunk: choices[${position}].index is not a non-negative integer`);
      return;
    }
    const delta = choice['delta'];
    if (isObject(delta)) {
      if (this.finished[index] === true && hasContent(delta)) {
        this.fail('E_PROTOCOL_ORDER', `chunk: content for choice ${index} after its finish_reason`);
        return;
      }
      this.onDelta(delta, index);
      if (this.stopped) return;
    } else if (delta !== undefined && delta !== null) {
      this.fail('E_PROTOCOL_MALFORMED', `chunk: choices[${position}].delta is not an object`);
      return;
    }
    const reason = choice['finish_reason'];
    if (typeof reason === 'string') {
      this.stopReason = reason;
      this.finished[index] = true;
      // Chat completions has no per-call end: a call's arguments are complete when its choice finishes.
      for (const call of this.openCalls) this.emit({ kind: 'tool_call', phase: 'stop', index: call });
      this.openCalls.length = 0;
    }
  }

  private onDelta(delta: JsonObject, index: number): void {
    const content = delta['content'];
    if (typeof content === 'string') this.token('text', content, index);
    else if (content !== undefined && content !== null) {
      this.fail('E_PROTOCOL_MALFORMED', `chunk: delta.content of choice ${index} is not a string`);
      return;
    }

    const reasoningContent = delta['reasoning_content'];
    const reasoning = delta['reasoning'];
    if (typeof reasoningContent === 'string' && reasoningContent.length > 0)
      this.token('thinking', reasoningContent, index);
    else if (typeof reasoning === 'string') this.token('thinking', reasoning, index);

    const refusal = delta['refusal'];
    if (typeof refusal === 'string') this.token('text', refusal, index);

    const toolCalls = delta['tool_calls'];
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls) {
        const fn = isObject(call) && isObject(call['function']) ? call['function'] : undefined;
        const callIndex = isObject(call) && isIndex(call['index']) ? call['index'] : 0;
        if (!this.seenCalls.has(callIndex)) {
          this.seenCalls.add(callIndex);
          this.openCalls.push(callIndex);
          this.toolCallStart(callIndex, fn?.['name']);
        }
        const args = fn?.['arguments'];
        if (typeof args === 'string') this.token('tool_input', args, index);
      }
    }
    const functionCall = delta['function_call'];
    if (isObject(functionCall) && typeof functionCall['arguments'] === 'string')
      this.token('tool_input', functionCall['arguments'], index);
  }

  /** `error` is the error object (OpenAI: message, type, param, code), or a bare message string. */
  private onError(error: unknown): void {
    if (typeof error === 'string') {
      this.streamError('unknown_error', error);
      return;
    }
    const e = isObject(error) ? error : {};
    const type = e['type'];
    const code = e['code'];
    const message = e['message'];
    const errorType =
      typeof type === 'string' && type.length > 0
        ? type
        : typeof code === 'string' || typeof code === 'number'
          ? String(code)
          : 'unknown_error';
    this.streamError(errorType, typeof message === 'string' ? message : '');
  }
}

/** Whether a delta carries any content (used only on the rare path after a choice's finish_reason). */
function hasContent(delta: JsonObject): boolean {
  for (const field of ['content', 'reasoning_content', 'reasoning', 'refusal'] as const) {
    const v = delta[field];
    if (typeof v === 'string' && v.length > 0) return true;
  }
  const calls = delta['tool_calls'];
  if (Array.isArray(calls)) {
    for (const call of calls) {
      const f = isObject(call) ? call['function'] : undefined;
      const args = isObject(f) ? f['arguments'] : undefined;
      if (typeof args === 'string' && args.length > 0) return true;
    }
  }
  const fc = delta['function_call'];
  return isObject(fc) && typeof fc['arguments'] === 'string' && fc['arguments'].length > 0;
}
