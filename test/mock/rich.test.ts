// Thinking, tool-use and structured-output responses from the mock, read by the official SDKs:
// the event sequence is the API's, and the SDKs' accumulators rebuild exactly the planned content.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMockConfig } from '../../src/mock/config.js';
import { blockText, buildPlan, type RichRequest, splitAnywhere } from '../../src/mock/rich.js';
import { type MockServer, startMock } from '../../src/mock/server.js';
import { promptKey, textRng } from '../../src/mock/text.js';
import { Rng } from '../../src/random.js';

const SEED = 11;
let mock: MockServer;

beforeAll(async () => {
  mock = await startMock({
    config: {
      seed: SEED,
      latency: { ttft_base_ms: 2, itl_ms: { type: 'fixed', mean: 1 } },
      responses: { thinking_tokens: 12 },
    },
  });
});
afterAll(async () => {
  await mock.close();
});

const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
const prompt = 'user:What is the weather in Paris?\n';
const weatherTool = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, days: { type: 'integer' }, units: { enum: ['c', 'f'] } },
    required: ['city'],
  },
};

function planFor(rich: RichRequest, maxTokens: number) {
  const cfg = parseMockConfig({ seed: SEED, responses: { thinking_tokens: 12 } });
  const key = promptKey(prompt);
  return buildPlan(SEED, key, rich, cfg.responses, maxTokens, maxTokens, textRng(SEED, key));
}

describe('planned responses', () => {
  it('splitAnywhere cuts text into pieces that join back to it, within the range', () => {
    const rng = new Rng(1);
    const text = JSON.stringify({ a: 'x'.repeat(50), b: [1, 2, 3], c: { d: 'é😀' } });
    for (let k = 0; k < 50; k++) {
      const pieces = splitAnywhere(text, rng, [1, 7]);
      expect(pieces.join('')).toBe(text);
      for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('@anthropic-ai/sdk: thinking and tool use', () => {
  const client = () => new Anthropic({ baseURL: mock.url, apiKey: 'k', maxRetries: 0 });

  it('thinking: thinking_delta and signature_delta, then the answer; finalMessage has both blocks', async () => {
    const stream = client().messages.stream({
      model: 'claude-test',
      max_tokens: 40,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages,
    });
    const seen: string[] = [];
    stream.on('streamEvent', (e) => {
      seen.push(e.type === 'content_block_delta' ? `delta:${e.delta.type}` : e.type);
    });
    const thinking: string[] = [];
    stream.on('thinking', (d) => thinking.push(d));
    const msg = await stream.finalMessage();
    const plan = planFor({ thinking: { budgetTokens: 1024 }, tool: null, structured: null }, 40);
    expect(plan.blocks.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: blockText(plan.blocks[0]!), signature: plan.blocks[0]!.signature },
      { type: 'text', text: blockText(plan.blocks[1]!) },
    ]);
    expect(thinking).toHaveLength(12);
    expect(msg.usage.output_tokens).toBe(40);
    expect(seen).toEqual([
      'message_start',
      'content_block_start',
      ...Array(12).fill('delta:thinking_delta'),
      'delta:signature_delta',
      'content_block_stop',
      'content_block_start',
      ...Array(28).fill('delta:text_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('tool_use: input_json_delta fragments split anywhere; the SDK rebuilds the input object', async () => {
    const stream = client().messages.stream({
      model: 'claude-test',
      max_tokens: 100,
      tools: [weatherTool],
      messages,
    });
    const fragments: string[] = [];
    stream.on('inputJson', (partial) => fragments.push(partial));
    const msg = await stream.finalMessage();
    const plan = planFor(
      { thinking: null, tool: { name: 'get_weather', schema: weatherTool.input_schema }, structured: null },
      100,
    );
    const tool = plan.blocks[1]!;
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content[1]).toEqual({ type: 'tool_use', id: tool.id, name: 'get_weather', input: tool.input });
    const block = msg.content[1]!;
    const input = block.type === 'tool_use' ? (block.input as Record<string, unknown>) : {};
    expect(typeof input['city']).toBe('string');
    expect(['c', 'f']).toContain(input['units']);
    expect(fragments.join('')).toBe(JSON.stringify(tool.input));
    // The API opens a tool_use block with an empty input_json_delta; then one event per fragment.
    expect(fragments[0]).toBe('');
    expect(fragments.length).toBe(tool.pieces.length + 1);
    expect(fragments.length).toBeGreaterThan(3);
    expect(msg.usage.output_tokens).toBe(plan.total);
  });

  it('structured output: the answer text is the JSON object of the schema', async () => {
    const stream = client().messages.stream({
      model: 'claude-test',
      max_tokens: 100,
      messages,
      output_format: {
        type: 'json_schema',
        schema: { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } } },
      },
    });
    const msg = await stream.finalMessage();
    const first = msg.content[0]!;
    const text = first.type === 'text' ? first.text : '';
    const v = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['n', 's']);
  });

  it('non-streaming: the same content blocks', async () => {
    const msg = await client().messages.create({
      model: 'claude-test',
      max_tokens: 40,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [weatherTool],
      messages,
    });
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(msg.stop_reason).toBe('tool_use');
  });
});

describe('openai: tool_calls and reasoning deltas on chat completions', () => {
  it('ChatCompletionStream accumulates the tool call', async () => {
    const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = client.chat.completions.stream({
      model: 'gpt-test',
      max_tokens: 100,
      messages,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } }],
    });
    const final = await stream.finalChatCompletion();
    const plan = planFor(
      { thinking: null, tool: { name: 'get_weather', schema: weatherTool.input_schema }, structured: null },
      100,
    );
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual(plan.blocks[1]!.input);
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(choice.message.content).toBe(blockText(plan.blocks[0]!));
  });

  it('reasoning_effort: reasoning_content deltas before the content', async () => {
    const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      max_tokens: 20,
      messages,
      reasoning_effort: 'low',
      stream: true,
    });
    const kinds: string[] = [];
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      if (d?.reasoning_content) kinds.push('r');
      else if (d?.content) kinds.push('c');
    }
    expect(kinds.join('')).toBe(`${'r'.repeat(12)}${'c'.repeat(8)}`);
  });
});
