// The reference server's wire format (docs/server.md): `meta` {stream_id, model}, `delta` {text},
// `usage` {input_tokens, output_tokens}, then exactly one terminal event: `done`
// {stop_reason, output_chars, output_tokens, sha256} or `error` {type, message, retryable}.
// Every event carries `id: <stream id>:<seq>`; heartbeats are SSE comments and never reach here.
// Beyond answer text: `thinking` {index, text} is a token on the thinking channel; `tool_call`
// {index, id, name}, `tool_input` {index, partial_json, value?} and `tool_done` {index, input} are
// the tool_call start, tool_input tokens and tool_call stop the Anthropic adapter emits; `partial`
// {value} (structured output so far) carries nothing the deltas do not, and is skipped.
//
// Order rules (E_PROTOCOL_ORDER): meta first and once. Integrity (E_PROTOCOL_INTEGRITY), on every
// stream: event ids are `<stream id>:<seq>` with seq contiguous from 1 (nothing missing, nothing
// duplicated — across resumes too: the accumulator outlives a connection), and the text joined from
// the `delta` events must match `done.output_chars` and `done.sha256`. The text is kept as one
// string (V8 concatenation is a rope, no copy per delta) and hashed once, at `done`.

import { createHash } from 'node:crypto';
import type { SseEvent } from '../sse/types.js';
import { BaseAccumulator, isCount, isIndex } from './base.js';
import type { StreamEventListener } from './types.js';

export class ReferenceAccumulator extends BaseAccumulator {
  private started = false;
  private chars = 0;
  private text = '';
  /** The stream id from `meta` (also the prefix of every event id): what a resume needs. */
  streamId: string | undefined;
  /** The last event id seen (`<stream id>:<seq>`): the Last-Event-ID of a resume. */
  lastEventId = '';
  private lastSeq = 0;
  /** `done` arrived and its output_chars and sha256 matched the text received. */
  verified = false;

  constructor(onEvent?: StreamEventListener) {
    super(onEvent);
  }

  protected handle(ev: SseEvent): void {
    // Every event of this protocol has an id; a repeated id is a duplicated event.
    const id = ev.lastEventId;
    if (id !== '') {
      const seq = Number(id.slice(id.lastIndexOf(':') + 1));
      if (seq !== this.lastSeq + 1)
        return this.fail(
          'E_PROTOCOL_INTEGRITY',
          seq <= this.lastSeq
            ? `event ${id} repeats a sequence number already received (last ${this.lastSeq}): events were duplicated`
            : `event ${id} follows sequence ${this.lastSeq}: ${seq - this.lastSeq - 1} event(s) missing`,
        );
      this.lastSeq = seq;
      this.lastEventId = id;
    }
    switch (ev.type) {
      case 'delta': {
        if (!this.started) return this.fail('E_PROTOCOL_ORDER', 'delta before meta');
        const json = this.parseObject(ev.data, 'delta');
        if (json === undefined) return;
        const text = json['text'];
        if (typeof text !== 'string') return this.fail('E_PROTOCOL_MALFORMED', 'delta without a text string');
        this.chars += text.length;
        this.text += text;
        this.token('text', text, 0);
        return;
      }
      case 'thinking':
      case 'tool_input': {
        if (!this.started) return this.fail('E_PROTOCOL_ORDER', `${ev.type} before meta`);
        const json = this.parseObject(ev.data, ev.type);
        if (json === undefined) return;
        const field = ev.type === 'thinking' ? 'text' : 'partial_json';
        const text = json[field];
        const index = json['index'];
        if (typeof text !== 'string' || !isIndex(index))
          return this.fail('E_PROTOCOL_MALFORMED', `${ev.type} without a ${field} string and an index`);
        this.token(ev.type === 'thinking' ? 'thinking' : 'tool_input', text, index);
        return;
      }
      case 'tool_call':
      case 'tool_done': {
        if (!this.started) return this.fail('E_PROTOCOL_ORDER', `${ev.type} before meta`);
        const json = this.parseObject(ev.data, ev.type);
        if (json === undefined) return;
        const index = json['index'];
        if (!isIndex(index)) return this.fail('E_PROTOCOL_MALFORMED', `${ev.type} without an index`);
        if (ev.type === 'tool_done') return this.emit({ kind: 'tool_call', phase: 'stop', index });
        this.toolCallStart(index, json['name'], json['id']);
        return;
      }
      case 'partial':
        return;
      case 'meta': {
        if (this.started) return this.fail('E_PROTOCOL_ORDER', 'a second meta event');
        const json = this.parseObject(ev.data, 'meta');
        if (json === undefined) return;
        this.started = true;
        const id = json['stream_id'];
        const model = json['model'];
        if (typeof id === 'string') this.streamId = id;
        if (typeof model === 'string') this.model = model;
        this.emit({ kind: 'start', ...(this.model !== undefined ? { model: this.model } : {}) });
        return;
      }
      case 'usage': {
        if (!this.started) return this.fail('E_PROTOCOL_ORDER', 'usage before meta');
        const json = this.parseObject(ev.data, 'usage');
        if (json === undefined) return;
        if (isCount(json['input_tokens'])) this.inputTokens = json['input_tokens'];
        if (isCount(json['output_tokens'])) this.outputTokens = json['output_tokens'];
        this.emitUsage();
        return;
      }
      case 'done': {
        if (!this.started) return this.fail('E_PROTOCOL_ORDER', 'done before meta');
        const json = this.parseObject(ev.data, 'done');
        if (json === undefined) return;
        const reason = json['stop_reason'];
        this.stopReason = typeof reason === 'string' ? reason : null;
        if (isCount(json['output_tokens'])) this.outputTokens = json['output_tokens'];
        const chars = json['output_chars'];
        if (isCount(chars) && chars !== this.chars)
          return this.fail(
            'E_PROTOCOL_INTEGRITY',
            `done reports ${chars} output characters but the deltas carried ${this.chars}: text was lost or duplicated`,
          );
        const sha = json['sha256'];
        if (typeof sha === 'string') {
          const got = createHash('sha256').update(this.text, 'utf8').digest('hex');
          if (got !== sha)
            return this.fail(
              'E_PROTOCOL_INTEGRITY',
              `done reports sha256 ${sha.slice(0, 12)}… but the text received hashes to ${got.slice(0, 12)}…: text was altered`,
            );
          this.verified = isCount(chars);
        }
        this.text = '';
        this.complete();
        return;
      }
      case 'error': {
        let type = 'unknown_error';
        let message = ev.data;
        try {
          const v: unknown = JSON.parse(ev.data);
          if (typeof v === 'object' && v !== null) {
            const o = v as Record<string, unknown>;
            if (typeof o['type'] === 'string') type = o['type'];
            if (typeof o['message'] === 'string') message = o['message'];
          }
        } catch {
          // An error event whose data is not JSON is still the server saying "error".
        }
        this.streamError(type, message);
        return;
      }
      default:
        this.ignoredEvents++;
    }
  }

  protected truncatedMessage(): string {
    return this.started ? 'stream ended without done or error' : 'stream ended before meta';
  }
}
