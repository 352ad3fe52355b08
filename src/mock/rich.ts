// Beyond plain text: responses with an extended-thinking block, a tool call whose arguments stream
// as JSON fragments split at arbitrary points, or an answer that is a JSON object (structured
// output). The request chooses (thinking enabled, tools given, an output format asked for), and the
// profile's `responses` section can force thinking or structured output for every request.
//
// A response is planned up front as content blocks of pieces; each piece is one output token on
// the engine's schedule. So with a fixed ITL the thinking time is exactly thinking_tokens × ITL
// (the first answer token follows the last thinking token by one gap), and a tool call's arguments
// are complete (fragments − 1) × ITL after its first fragment. Everything is drawn from RNGs seeded
// by (mock seed, prompt): the same request always gets the same plan (buildPlan recomputes it).
//
// Wire order (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
//   message_start, content_block_start(0), ping, deltas of block 0,
//   [signature_delta when block 0 is thinking], content_block_stop(0), content_block_start(1), …,
//   message_delta {stop_reason: end_turn | max_tokens | tool_use, usage}, message_stop.
// A tool_use block starts with input {} and an empty input_json_delta, as the API sends.
// OpenAI (chat completions): thinking as delta.reasoning_content (vLLM, DeepSeek), tool calls as
// delta.tool_calls[{index, id, type, function: {name, arguments}}] then argument fragments,
// finish_reason "tool_calls".
import { Rng } from '../random.js';
import { VOCAB } from './text.js';

export interface ToolSpec {
  readonly name: string;
  /** JSON Schema of the arguments (Anthropic input_schema, OpenAI function.parameters). */
  readonly schema: unknown;
}

/** What a request asks for beyond plain text; absent on a plain request. */
export interface RichRequest {
  /** Thinking enabled (Anthropic `thinking: {type: enabled}`, OpenAI `reasoning_effort`), with its budget. */
  readonly thinking: { budgetTokens: number } | null;
  /** The tool the model calls (tools given and tool_choice not none), or null. */
  readonly tool: ToolSpec | null;
  /** Structured output asked for: the schema (or true for any JSON object), or null. */
  readonly structured: unknown;
}

export interface ResponsesConfig {
  readonly thinking: 'request' | 'always';
  readonly thinking_tokens: number;
  readonly structured: 'request' | 'always';
  readonly tool_preamble_tokens: number;
  readonly tool_fragment_chars: readonly [number, number];
}

export type BlockType = 'thinking' | 'text' | 'tool_use';

export interface PlanBlock {
  readonly type: BlockType;
  readonly pieces: readonly string[];
  /** tool_use: the call's id, name and complete arguments. */
  readonly id?: string;
  readonly name?: string;
  readonly input?: unknown;
  /** thinking: the signature sent as signature_delta before the block stops. */
  readonly signature?: string;
}

export type RichStop = 'end_turn' | 'max_tokens' | 'tool_use';

export interface ResponsePlan {
  readonly blocks: readonly PlanBlock[];
  /** Total pieces (output tokens). */
  readonly total: number;
  readonly stopReason: RichStop;
}

/** Whether a request gets a planned (non-plain) response under this profile. */
export function wantsPlan(rich: RichRequest | undefined, cfg: ResponsesConfig): boolean {
  return rich !== undefined || cfg.thinking === 'always' || cfg.structured === 'always';
}

function words(rng: Rng, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(VOCAB[rng.int(VOCAB.length)]!);
  return out;
}

function phrase(rng: Rng, n: number): string {
  return words(rng, n).join('').trimEnd();
}

/** A value fitting a JSON Schema (type, properties, items, enum), small and deterministic. */
export function sampleValue(schema: unknown, rng: Rng, depth = 0): unknown {
  const s = (typeof schema === 'object' && schema !== null ? schema : {}) as Record<string, unknown>;
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][rng.int(s['enum'].length)];
  const type = Array.isArray(s['type']) ? s['type'][0] : s['type'];
  switch (type) {
    case 'integer':
      return rng.int(1000);
    case 'number':
      return Math.round(rng.next() * 100000) / 100;
    case 'boolean':
      return rng.next() < 0.5;
    case 'null':
      return null;
    case 'string':
      return phrase(rng, 1 + rng.int(4));
    case 'array':
      return depth > 3
        ? []
        : Array.from({ length: 1 + rng.int(3) }, () => sampleValue(s['items'], rng, depth + 1));
    default: {
      const props = s['properties'];
      if (typeof props === 'object' && props !== null && depth <= 3) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(props)) out[k] = sampleValue(v, rng, depth + 1);
        return out;
      }
      if (depth > 0) return phrase(rng, 2);
      // No schema: a generic object with a few fields of each kind.
      return {
        title: phrase(rng, 3),
        summary: phrase(rng, 6),
        tags: [phrase(rng, 1), phrase(rng, 1)],
        score: rng.int(100),
        done: rng.next() < 0.5,
      };
    }
  }
}

/** Splits text into pieces of [min, max] characters, cut anywhere (never inside a surrogate pair). */
export function splitAnywhere(text: string, rng: Rng, range: readonly [number, number]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let n = range[0] + rng.int(range[1] - range[0] + 1);
    if (i + n < text.length) {
      const c = text.charCodeAt(i + n - 1);
      if (c >= 0xd800 && c <= 0xdbff) n++;
    }
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Splits JSON text into about `tokens` pieces: after each space, and elsewhere at random. */
function splitJsonText(text: string, rng: Rng): string[] {
  return splitAnywhere(text, rng, [2, 6]);
}

/**
 * The response to a request: thinking (when enabled), then the answer (plain words, or a JSON
 * object when structured output is asked for), then the tool call (when a tool is given).
 * `textTokens` is the answer length the engine drew (max_tokens, or the profile's distribution).
 */
export function buildPlan(
  seed: number,
  promptKey: string,
  rich: RichRequest | undefined,
  cfg: ResponsesConfig,
  maxTokens: number,
  textTokens: number,
  words: Rng,
): ResponsePlan {
  const split = new Rng(`split:${seed}:${promptKey}`);
  const blocks: PlanBlock[] = [];
  let budget = maxTokens;
  const thinking = rich?.thinking ?? (cfg.thinking === 'always' ? { budgetTokens: maxTokens } : null);
  if (thinking !== null && budget > 1) {
    const n = Math.max(1, Math.min(cfg.thinking_tokens, thinking.budgetTokens, budget - 1));
    blocks.push({
      type: 'thinking',
      pieces: wordsOf(words, n),
      signature: `Ev${new Rng(`sig:${seed}:${promptKey}`).nextU32().toString(36)}mock`,
    });
    budget -= n;
  }
  const tool = rich?.tool ?? null;
  const structured = rich?.structured ?? (cfg.structured === 'always' ? true : null);
  let stopReason: RichStop = 'end_turn';
  if (tool !== null) {
    const pre = Math.max(1, Math.min(cfg.tool_preamble_tokens, budget));
    blocks.push({ type: 'text', pieces: wordsOf(words, pre) });
    const input = sampleValue(tool.schema, words);
    const args = JSON.stringify(typeof input === 'object' && input !== null ? input : { value: input });
    blocks.push({
      type: 'tool_use',
      id: `toolu_${new Rng(`tool:${seed}:${promptKey}`).nextU32().toString(36).padStart(7, '0')}`,
      name: tool.name,
      input: JSON.parse(args),
      pieces: splitAnywhere(args, split, cfg.tool_fragment_chars),
    });
    stopReason = 'tool_use';
  } else if (structured !== null) {
    const value = sampleValue(structured === true ? undefined : structured, words);
    blocks.push({ type: 'text', pieces: splitJsonText(JSON.stringify(value), split) });
  } else {
    const n = Math.max(1, Math.min(textTokens, budget));
    blocks.push({ type: 'text', pieces: wordsOf(words, n) });
    if (n >= budget) stopReason = 'max_tokens';
  }
  let total = 0;
  for (const b of blocks) total += b.pieces.length;
  return { blocks, total, stopReason };
}

function wordsOf(rng: Rng, n: number): string[] {
  return words(rng, n);
}

/** The complete text of a block (thinking text, answer text, or tool arguments JSON). */
export function blockText(b: PlanBlock): string {
  return b.pieces.join('');
}

// ---- wire ---------------------------------------------------------------------------------------

/** Where a planned response is: the next piece's block and index within it. */
export interface PlanCursor {
  block: number;
  piece: number;
}

/** Writes a planned response in one API's streaming format. */
export interface RichWire {
  /** After message_start (or the first chunk): opens block 0 where the format has blocks. */
  open(plan: ResponsePlan, prefix: string): string;
  /** The next piece, with the block boundaries before it. Advances the cursor. */
  piece(plan: ResponsePlan, cur: PlanCursor, prefix: string): string;
  /** Closes the open block (before message_delta / the finish chunk). */
  close(plan: ResponsePlan, cur: PlanCursor): string;
  finishReason(stop: RichStop): string;
}

const j = JSON.stringify;

function anthropicBlockStart(b: PlanBlock, index: number): string {
  let block: string;
  switch (b.type) {
    case 'thinking':
      block = '{"type":"thinking","thinking":"","signature":""}';
      break;
    case 'text':
      block = '{"type":"text","text":""}';
      break;
    case 'tool_use':
      block = `{"type":"tool_use","id":${j(b.id)},"name":${j(b.name)},"input":{}}`;
      break;
  }
  let out = `event: content_block_start\ndata: {"type":"content_block_start","index":${index},"content_block":${block}}\n\n`;
  if (b.type === 'tool_use')
    out += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":""}}\n\n`;
  return out;
}

function anthropicBlockStop(b: PlanBlock, index: number): string {
  let out = '';
  if (b.type === 'thinking')
    out += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"signature_delta","signature":${j(b.signature)}}}\n\n`;
  return `${out}event: content_block_stop\ndata: {"type":"content_block_stop","index":${index}}\n\n`;
}

const ANTHROPIC_DELTA: Record<BlockType, [string, string]> = {
  thinking: ['thinking_delta', 'thinking'],
  text: ['text_delta', 'text'],
  tool_use: ['input_json_delta', 'partial_json'],
};

export const anthropicRich: RichWire = {
  open: (plan) => anthropicBlockStart(plan.blocks[0]!, 0),
  piece(plan, cur) {
    let b = plan.blocks[cur.block]!;
    let out = '';
    if (cur.piece >= b.pieces.length) {
      out += anthropicBlockStop(b, cur.block);
      cur.block++;
      cur.piece = 0;
      b = plan.blocks[cur.block]!;
      out += anthropicBlockStart(b, cur.block);
    }
    const [type, field] = ANTHROPIC_DELTA[b.type];
    const text = b.pieces[cur.piece++]!;
    return `${out}event: content_block_delta\ndata: {"type":"content_block_delta","index":${cur.block},"delta":{"type":"${type}","${field}":${j(text)}}}\n\n`;
  },
  close: (plan, cur) => anthropicBlockStop(plan.blocks[cur.block]!, cur.block),
  finishReason: (stop) => stop,
};

function openaiChunk(prefix: string, delta: string): string {
  return `${prefix}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]}\n\n`;
}

export const openaiRich: RichWire = {
  open: () => '',
  piece(plan, cur, prefix) {
    let b = plan.blocks[cur.block]!;
    let out = '';
    if (cur.piece >= b.pieces.length) {
      cur.block++;
      cur.piece = 0;
      b = plan.blocks[cur.block]!;
    }
    const first = cur.piece === 0;
    const text = b.pieces[cur.piece++]!;
    switch (b.type) {
      case 'thinking':
        return out + openaiChunk(prefix, `{"reasoning_content":${j(text)}}`);
      case 'text':
        return out + openaiChunk(prefix, `{"content":${j(text)}}`);
      case 'tool_use': {
        const tool = toolIndex(plan, cur.block);
        if (first)
          out += openaiChunk(
            prefix,
            `{"tool_calls":[{"index":${tool},"id":${j(b.id)},"type":"function","function":{"name":${j(b.name)},"arguments":""}}]}`,
          );
        return (
          out + openaiChunk(prefix, `{"tool_calls":[{"index":${tool},"function":{"arguments":${j(text)}}}]}`)
        );
      }
    }
  },
  close: () => '',
  finishReason: (stop) => (stop === 'tool_use' ? 'tool_calls' : stop === 'max_tokens' ? 'length' : 'stop'),
};

function toolIndex(plan: ResponsePlan, block: number): number {
  let n = 0;
  for (let i = 0; i < block; i++) if (plan.blocks[i]!.type === 'tool_use') n++;
  return n;
}

// ---- non-streaming bodies -----------------------------------------------------------------------

/** Anthropic Message content blocks of a planned response. */
export function anthropicContent(plan: ResponsePlan): unknown[] {
  return plan.blocks.map((b) => {
    if (b.type === 'thinking') return { type: 'thinking', thinking: blockText(b), signature: b.signature };
    if (b.type === 'text') return { type: 'text', text: blockText(b) };
    return { type: 'tool_use', id: b.id, name: b.name, input: b.input };
  });
}

/** OpenAI chat.completion message of a planned response. */
export function openaiMessage(plan: ResponsePlan): Record<string, unknown> {
  const text = plan.blocks.filter((b) => b.type === 'text').map(blockText);
  const thinking = plan.blocks.filter((b) => b.type === 'thinking').map(blockText);
  const tools = plan.blocks.filter((b) => b.type === 'tool_use');
  return {
    role: 'assistant',
    content: text.length > 0 ? text.join('') : null,
    refusal: null,
    ...(thinking.length > 0 ? { reasoning_content: thinking.join('') } : {}),
    ...(tools.length > 0
      ? {
          tool_calls: tools.map((b) => ({
            id: b.id,
            type: 'function',
            function: { name: b.name, arguments: blockText(b) },
          })),
        }
      : {}),
  };
}
