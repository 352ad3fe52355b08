// Relaying more than answer text (docs/server.md, "Thinking, tool use and structured output"):
// thinking deltas become `thinking` events; a tool_use block becomes `tool_call` at its start,
// one `tool_input` per arguments fragment (the fragment, and the arguments parsed so far) and
// `tool_done` with the complete arguments at its stop; for a structured (JSON) answer, a
// `partial` event with the answer object so far follows each `delta` that changes it.
//
// Partial values come from src/json/partial.ts: each is a valid prefix of the final value
// (complete members equal, only the last one unfinished; unfinished numbers and literals left
// out), so a browser can render fields as they arrive and never has to take one back.
// parsePartial re-reads the text so far, so a value costs O(length) per fragment: fine for tool
// arguments and structured answers (kilobytes), and plain text streams never get here.
import { parsePartial } from '../json/partial.js';
import type { ContentChannel } from '../protocols/types.js';
import type { ServerStream } from './stream.js';
import { EVENT } from './wire.js';

interface ToolBlock {
  json: string;
  /** JSON of the last value sent, to send a value only when it changed. */
  last: string | undefined;
}

export class RichRelay {
  private readonly tools = new Map<number, ToolBlock>();
  /** Structured output: the answer text so far, and the JSON of the last partial value sent. */
  private answer = '';
  private lastAnswer: string | undefined;

  constructor(private readonly stream: ServerStream) {}

  /** A thinking or tool-input delta (answer text goes to stream.delta, and to answerDelta when structured). */
  token(channel: Exclude<ContentChannel, 'text'>, text: string, index: number): void {
    if (channel === 'thinking') {
      this.stream.event(EVENT.thinking, `{"index":${index},"text":${JSON.stringify(text)}}`);
      return;
    }
    let block = this.tools.get(index);
    if (block === undefined) {
      // A fragment without a tool_use start (an unknown block type carrying JSON): relayed all the same.
      block = { json: '', last: undefined };
      this.tools.set(index, block);
    }
    block.json += text;
    const value = parsePartial(block.json);
    const json = value === undefined ? undefined : JSON.stringify(value);
    // The value rides along only when it changed (a fragment inside a number or a key adds nothing).
    const changed = json !== undefined && json !== block.last;
    if (changed) block.last = json;
    this.stream.event(
      EVENT.tool_input,
      `{"index":${index},"partial_json":${JSON.stringify(text)}${changed ? `,"value":${json}` : ''}}`,
    );
  }

  toolStart(index: number, id: string | undefined, name: string | undefined): void {
    this.tools.set(index, { json: '', last: undefined });
    this.stream.event(
      EVENT.tool_call,
      JSON.stringify({ index, ...(id !== undefined ? { id } : {}), ...(name !== undefined ? { name } : {}) }),
    );
  }

  toolStop(index: number): void {
    const block = this.tools.get(index);
    this.tools.delete(index);
    const text = block?.json ?? '';
    // No arguments at all means an empty object, as the Messages API's tool_use input is.
    let input: unknown = {};
    let invalid = false;
    if (text.trim() !== '') {
      try {
        input = JSON.parse(text);
      } catch {
        input = null;
        invalid = true;
      }
    }
    this.stream.event(
      EVENT.tool_done,
      JSON.stringify(invalid ? { index, input, invalid_json: true } : { index, input }),
    );
  }

  /** A piece of a structured answer, after its `delta`: a `partial` event when the value changed. */
  answerDelta(text: string): void {
    this.answer += text;
    const value = parsePartial(this.answer);
    if (value === undefined) return;
    const json = JSON.stringify(value);
    if (json === this.lastAnswer) return;
    this.lastAnswer = json;
    this.stream.event(EVENT.partial, `{"value":${json}}`);
  }
}
