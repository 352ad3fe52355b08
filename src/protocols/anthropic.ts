// Anthropic Messages API streaming (https://docs.anthropic.com/en/docs/build-with-claude/streaming).
//
// Wire flow: message_start; per content block a content_block_start, content_block_deltas and a
// content_block_stop; one or more message_delta (stop_reason, cumulative usage); message_stop.
// `ping` may appear anywhere, `error` (e.g. overloaded_error) ends the stream in-band, and unknown
// event types are ignored, as the docs' versioning policy asks ("we may add new event types").
//
// Order rules enforced here (E_PROTOCOL_ORDER):
// - message_start comes before any other message or content event, and only once (ping, error and
//   unknown events may come first);
// - content_block_start indexes are 0, 1, 2, … in order: the index is the block's position in the final
//   Message content array, so a repeated index or a gap is a broken stream;
// - content_block_delta and content_block_stop refer to a block that was started and not yet stopped;
// - a delta type must fit its block: text_delta and citations_delta go to text blocks, thinking_delta and
//   signature_delta to thinking blocks, input_json_delta to tool_use / server_tool_use / mcp_tool_use,
//   and redacted_thinking takes none. Blocks of a type this code does not know accept any delta (the API
//   may add block types); delta types it does not know are ignored in any block;
// - message_stop with a content block still open is an error (its content may be incomplete).
// Anything after message_stop or error is ignored and only counted (summary.eventsAfterDone): the
// outcome was already reported, and a stream has exactly one.
//
// The SSE `event:` name and the JSON `type` must agree; the JSON type decides when the event has no name.

import type { SseEvent } from '../sse/types.js';
import { BaseAccumulator, excerpt, isCount, isIndex, isObject, type JsonObject } from './base.js';
import type { ContentChannel, StreamEventListener } from './types.js';

/**
 * What a content block accepts, which decides the delta types that fit it: a content channel, 'none'
 * (redacted_thinking: known to take no deltas) or 'any' (a block type this code does not know).
 */
type BlockKind = ContentChannel | 'none' | 'any';

function blockKind(type: string): BlockKind {
  switch (type) {
    case 'text':
      return 'text';
    case 'thinking':
      return 'thinking';
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return 'tool_input';
    case 'redacted_thinking':
      return 'none';
    default:
      return 'any';
  }
}

/** Event types this adapter understands; other named events are skipped without parsing their data. */
const KNOWN_EVENTS = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
]);

export class AnthropicAccumulator extends BaseAccumulator {
  private started = false;
  /** Kind of each started block, by index (indexes are contiguous from 0). */
  private readonly blocks: BlockKind[] = [];
  /** Wire type of each started block, by index, for error messages. */
  private readonly blockTypes: string[] = [];
  /** Whether each started block is still open, by index. */
  private readonly open: boolean[] = [];
  private openCount = 0;
  private lastType = '';
  /** Input token parts; their sum is the total prompt size (see StreamEvent 'usage'). */
  private uncachedInput: number | undefined;
  private cacheCreationInput: number | undefined;
  private cacheReadInput: number | undefined;

  constructor(onEvent?: StreamEventListener) {
    super(onEvent);
  }

  protected handle(ev: SseEvent): void {
    const name = ev.type;
    if (name === 'ping') {
      // A keep-alive: its data ({"type": "ping"}) carries nothing, so it is not parsed.
      this.lastType = name;
      this.ping();
      return;
    }
    if (name !== 'message' && !KNOWN_EVENTS.has(name)) {
      this.lastType = name;
      this.ignoredEvents++;
      return;
    }
    if (name === 'error') {
      this.lastType = name;
      this.onError(ev.data);
      return;
    }
    const json = this.parseObject(ev.data, `event ${name}`);
    if (json === undefined) return;
    const type = json['type'];
    if (typeof type !== 'string') {
      this.fail('E_PROTOCOL_MALFORMED', `event ${name}: data has no string "type" field`);
      return;
    }
    if (name !== 'message' && type !== name) {
      this.fail('E_PROTOCOL_MALFORMED', `event ${name}: data has type "${type}", expected "${name}"`);
      return;
    }
    this.lastType = type;
    switch (type) {
      case 'content_block_delta':
        this.onBlockDelta(json);
        return;
      case 'content_block_start':
        this.onBlockStart(json);
        return;
      case 'content_block_stop':
        this.onBlockStop(json);
        return;
      case 'message_start':
        this.onMessageStart(json);
        return;
      case 'message_delta':
        this.onMessageDelta(json);
        return;
      case 'message_stop':
        this.onMessageStop();
        return;
      case 'ping':
        this.ping();
        return;
      case 'error':
        this.onErrorObject(json);
        return;
      default:
        this.ignoredEvents++;
    }
  }

  protected truncatedMessage(): string {
    if (!this.started) return 'stream ended before message_start';
    return `stream ended without message_stop (last event: ${this.lastType})`;
  }

  private requireStarted(type: string): boolean {
    if (this.started) return true;
    this.fail('E_PROTOCOL_ORDER', `${type} before message_start`);
    return false;
  }

  private onMessageStart(json: JsonObject): void {
    if (this.started) {
      this.fail('E_PROTOCOL_ORDER', 'message_start received twice');
      return;
    }
    const message = json['message'];
    if (!isObject(message)) {
      this.fail('E_PROTOCOL_MALFORMED', 'message_start: "message" is not an object');
      return;
    }
    this.started = true;
    const id = message['id'];
    const model = message['model'];
    if (typeof id === 'string') this.messageId = id;
    if (typeof model === 'string') this.model = model;
    this.emit({ kind: 'start', messageId: this.messageId, model: this.model });
    const usage = message['usage'];
    if (isObject(usage)) this.onUsage(usage);
  }

  private onBlockStart(json: JsonObject): void {
    if (!this.requireStarted('content_block_start')) return;
    const index = json['index'];
    const block = json['content_block'];
    if (!isIndex(index)) {
      this.fail('E_PROTOCOL_MALFORMED', 'content_block_start: "index" is not a non-negative integer');
      return;
    }
    if (!isObject(block) || typeof block['type'] !== 'string') {
      this.fail('E_PROTOCOL_MALFORMED', 'content_block_start: "content_block" has no string "type"');
      return;
    }
    const started = this.blocks.length;
    if (index !== started) {
      this.fail(
        'E_PROTOCOL_ORDER',
        index < started
          ? `content_block_start for index ${index}, which was already started`
          : `content_block_start for index ${index} skips index ${started}`,
      );
      return;
    }
    const kind = blockKind(block['type']);
    this.blocks.push(kind);
    this.blockTypes.push(block['type']);
    this.open.push(true);
    this.openCount++;
    if (kind === 'tool_input') {
      this.toolCallStart(index, block['name'], block['id']);
    }
    // The API starts text and thinking blocks empty; should a server put content in the start, it counts.
    if (kind === 'text' && typeof block['text'] === 'string') this.token('text', block['text'], index);
    else if (kind === 'thinking' && typeof block['thinking'] === 'string')
      this.token('thinking', block['thinking'], index);
  }

  /** Checks that `index` names an open block; returns its kind, or undefined after recording the error. */
  private openBlock(json: JsonObject, type: string): BlockKind | undefined {
    const index = json['index'];
    if (!isIndex(index)) {
      this.fail('E_PROTOCOL_MALFORMED', `${type}: "index" is not a non-negative integer`);
      return undefined;
    }
    const kind = this.blocks[index];
    if (kind === undefined) {
      this.fail('E_PROTOCOL_ORDER', `${type} for index ${index}, which was never started`);
      return undefined;
    }
    if (this.open[index] !== true) {
      this.fail('E_PROTOCOL_ORDER', `${type} for index ${index}, which was already stopped`);
      return undefined;
    }
    return kind;
  }

  private onBlockDelta(json: JsonObject): void {
    if (!this.requireStarted('content_block_delta')) return;
    const kind = this.openBlock(json, 'content_block_delta');
    if (kind === undefined) return;
    const index = json['index'] as number;
    const delta = json['delta'];
    if (!isObject(delta) || typeof delta['type'] !== 'string') {
      this.fail('E_PROTOCOL_MALFORMED', 'content_block_delta: "delta" has no string "type"');
      return;
    }
    const deltaType = delta['type'];
    switch (deltaType) {
      case 'text_delta':
        if (this.fits(kind, 'text', deltaType, index)) this.deltaText(delta, 'text', 'text', index);
        return;
      case 'thinking_delta':
        if (this.fits(kind, 'thinking', deltaType, index))
          this.deltaText(delta, 'thinking', 'thinking', index);
        return;
      case 'input_json_delta':
        if (this.fits(kind, 'tool_input', deltaType, index))
          this.deltaText(delta, 'partial_json', 'tool_input', index);
        return;
      case 'signature_delta':
        // The thinking block's signature: verification data, not content.
        this.fits(kind, 'thinking', deltaType, index);
        return;
      case 'citations_delta':
        // A citation attached to the text block: metadata, not content.
        this.fits(kind, 'text', deltaType, index);
        return;
      default:
        this.ignoredEvents++;
    }
  }

  private fits(kind: BlockKind, wanted: ContentChannel, deltaType: string, index: number): boolean {
    if (kind === wanted || kind === 'any') return true;
    this.fail(
      'E_PROTOCOL_ORDER',
      `content_block_delta: ${deltaType} in ${this.blockTypes[index]} block ${index}`,
    );
    return false;
  }

  private deltaText(
    delta: JsonObject,
    field: 'text' | 'thinking' | 'partial_json',
    channel: ContentChannel,
    index: number,
  ): void {
    const text = delta[field];
    if (typeof text !== 'string') {
      this.fail('E_PROTOCOL_MALFORMED', `content_block_delta: ${delta['type']} has no string "${field}"`);
      return;
    }
    this.token(channel, text, index);
  }

  private onBlockStop(json: JsonObject): void {
    if (!this.requireStarted('content_block_stop')) return;
    const kind = this.openBlock(json, 'content_block_stop');
    if (kind === undefined) return;
    const index = json['index'] as number;
    this.open[index] = false;
    this.openCount--;
    if (kind === 'tool_input') this.emit({ kind: 'tool_call', phase: 'stop', index });
  }

  private onMessageDelta(json: JsonObject): void {
    if (!this.requireStarted('message_delta')) return;
    const delta = json['delta'];
    if (!isObject(delta)) {
      this.fail('E_PROTOCOL_MALFORMED', 'message_delta: "delta" is not an object');
      return;
    }
    const reason = delta['stop_reason'];
    if (typeof reason === 'string') this.stopReason = reason;
    const usage = json['usage'];
    if (isObject(usage)) this.onUsage(usage);
  }

  /**
   * Usage is cumulative (message_start's, then each message_delta's): the latest value of each field wins.
   * Fields may be absent or null when they do not apply; those keep their previous value.
   */
  private onUsage(usage: JsonObject): void {
    const input = usage['input_tokens'];
    const cacheCreation = usage['cache_creation_input_tokens'];
    const cacheRead = usage['cache_read_input_tokens'];
    const output = usage['output_tokens'];
    if (isCount(input)) this.uncachedInput = input;
    if (isCount(cacheCreation)) this.cacheCreationInput = cacheCreation;
    if (isCount(cacheRead)) this.cacheReadInput = cacheRead;
    if (isCount(output)) this.outputTokens = output;
    if (
      this.uncachedInput !== undefined ||
      this.cacheCreationInput !== undefined ||
      this.cacheReadInput !== undefined
    ) {
      this.inputTokens =
        (this.uncachedInput ?? 0) + (this.cacheCreationInput ?? 0) + (this.cacheReadInput ?? 0);
    }
    this.emitUsage();
  }

  private onMessageStop(): void {
    if (!this.requireStarted('message_stop')) return;
    if (this.openCount > 0) {
      const index = this.open.indexOf(true);
      this.fail('E_PROTOCOL_ORDER', `message_stop while content block ${index} is still open`);
      return;
    }
    this.complete();
  }

  /** `event: error`: the data should be {"type":"error","error":{"type":…,"message":…}}. */
  private onError(data: string): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      // The server said "error" even if it could not say more: still an in-band error, not a protocol one.
      this.streamError('unknown_error', excerpt(data));
      return;
    }
    this.onErrorObject(isObject(json) ? json : {});
  }

  private onErrorObject(json: JsonObject): void {
    const error = json['error'];
    const type = isObject(error) ? error['type'] : undefined;
    const message = isObject(error) ? error['message'] : undefined;
    this.streamError(
      typeof type === 'string' ? type : 'unknown_error',
      typeof message === 'string' ? message : '',
    );
  }
}
