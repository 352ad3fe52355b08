// The official SDKs against the mock: the mock is only ground truth if real clients accept it.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockServer, startMock } from '../../src/mock/server.js';
import { mockText } from '../../src/mock/text.js';

const SEED = 7;
let mock: MockServer;

beforeAll(async () => {
  mock = await startMock({
    config: { seed: SEED, latency: { ttft_base_ms: 5, itl_ms: { type: 'fixed', mean: 1 } } },
  });
});
afterAll(async () => {
  await mock.close();
});

function anthropic(maxRetries = 0): Anthropic {
  return new Anthropic({ baseURL: mock.url, apiKey: 'test-key', maxRetries });
}

const messages = [{ role: 'user' as const, content: 'Tell me about load testing.' }];
const prompt = 'user:Tell me about load testing.\n';

describe('@anthropic-ai/sdk against the mock', () => {
  it('messages.stream().finalMessage() returns the full deterministic text and usage', async () => {
    const stream = anthropic().messages.stream({ model: 'claude-test', max_tokens: 20, messages });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    const expected = mockText(SEED, prompt, 20);
    expect(msg.content).toEqual([{ type: 'text', text: expected }]);
    expect(deltas.join('')).toBe(expected);
    expect(deltas).toHaveLength(20);
    expect(msg.usage.output_tokens).toBe(20);
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.stop_reason).toBe('max_tokens');
    expect(msg.model).toBe('claude-test');
  });

  it('messages.create({stream: true}) iterates every event in order', async () => {
    const stream = await anthropic().messages.create({ model: 'm', max_tokens: 4, messages, stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('non-streaming messages.create returns the same text', async () => {
    const msg = await anthropic().messages.create({ model: 'm', max_tokens: 6, messages });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: mockText(SEED, prompt, 6) });
    expect(msg.usage.output_tokens).toBe(6);
  });

  it.each([
    [429, 'rate_limit_error'],
    [529, 'overloaded_error'],
  ])('the SDK retries on %i and gives up with the Anthropic error shape', async (status, type) => {
    const before = mock.stats.snapshot().faults.http_error;
    const client = new Anthropic({
      baseURL: mock.url,
      apiKey: 'k',
      maxRetries: 2,
      defaultHeaders: { 'x-tokenstorm-fault': `http_error;status=${status};retry_after_s=0.01` },
    });
    const err = await client.messages
      .create({ model: 'm', max_tokens: 3, messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const apiErr = err as InstanceType<typeof Anthropic.APIError>;
    expect(apiErr.status).toBe(status);
    expect((apiErr.error as { error: { type: string } }).error.type).toBe(type);
    expect(apiErr.requestID).toMatch(/^req_/);
    // One first attempt plus two retries reached the mock.
    expect(mock.stats.snapshot().faults.http_error - before).toBe(3);
  });

  it('a 429 followed by success: the SDK retry succeeds', async () => {
    // A profile fault that strikes every other request would be racy; instead count on the
    // seeded per-mock draw by starting a mock whose only fault is a certain 429 on the first
    // request: the header form cannot express "first only", so use a dedicated mock.
    const m2 = await startMock({
      config: { seed: 1, latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1 } }, faults: [] },
    });
    try {
      let calls = 0;
      const client = new Anthropic({
        baseURL: m2.url,
        apiKey: 'k',
        maxRetries: 2,
        fetch: async (url, init) => {
          calls++;
          const headers = new Headers(init?.headers);
          if (calls === 1) headers.set('x-tokenstorm-fault', 'http_error;status=429;retry_after_s=0.01');
          return fetch(url, { ...init, headers });
        },
      });
      const msg = await client.messages.stream({ model: 'm', max_tokens: 3, messages }).finalMessage();
      expect(calls).toBe(2);
      expect(msg.usage.output_tokens).toBe(3);
      expect(m2.stats.snapshot().faults.http_error).toBe(1);
    } finally {
      await m2.close();
    }
  });

  it('an in-band overloaded_error raises the SDK APIError with that type', async () => {
    const client = new Anthropic({
      baseURL: mock.url,
      apiKey: 'k',
      maxRetries: 0,
      defaultHeaders: { 'x-tokenstorm-fault': 'inband_error;after_tokens=3' },
    });
    const stream = client.messages.stream({ model: 'm', max_tokens: 10, messages });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(
      ((err as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type,
    ).toBe('overloaded_error');
    expect(deltas).toHaveLength(3);
  });

  it('with --api-key, a missing or wrong key gets the 401 authentication_error shape', async () => {
    const m2 = await startMock({ config: { api_key: 'sekrit' } });
    try {
      const bad = new Anthropic({ baseURL: m2.url, apiKey: 'wrong', maxRetries: 0 });
      const err = await bad.messages.create({ model: 'm', max_tokens: 1, messages }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect(
        ((err as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type,
      ).toBe('authentication_error');
      const good = new Anthropic({ baseURL: m2.url, apiKey: 'sekrit', maxRetries: 0 });
      const msg = await good.messages.create({ model: 'm', max_tokens: 1, messages });
      expect(msg.usage.output_tokens).toBe(1);
    } finally {
      await m2.close();
    }
  });
});

describe('openai SDK against the mock', () => {
  it('streams chat completions with stream_options.include_usage', async () => {
    const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta.content) text += c.delta.content;
      if (c?.finish_reason) finish = c.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(mockText(SEED, prompt, 12));
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(12);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('an in-band error chunk raises the SDK APIError', async () => {
    const client = new OpenAI({
      baseURL: `${mock.url}/v1`,
      apiKey: 'k',
      maxRetries: 0,
      defaultHeaders: { 'x-tokenstorm-fault': 'inband_error;after_tokens=2' },
    });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages,
      max_tokens: 8,
      stream: true,
    });
    let n = 0;
    const err = await (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) n++;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(n).toBe(2);
  });
});
