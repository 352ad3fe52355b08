// The latency and capacity model over real HTTP: decode slots and the queue in front of
// them, shedding, client aborts, deterministic text and lengths, prefill, pings,
// degradation, non-streaming answers, and the analytical capacity estimate.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { capacityEstimate, parseMockConfig } from '../../src/mock/config.js';
import { estimateTokens } from '../../src/mock/requests.js';
import type { MockServer } from '../../src/mock/server.js';
import { mockText } from '../../src/mock/text.js';
import {
  anthropicBody,
  anthropicDeltas,
  deferred,
  errorCode,
  getStats,
  nextServerResponse,
  openaiBody,
  openaiDeltas,
  post,
  type StreamResult,
  types,
  withMock,
} from '../helpers/stream.js';

const fixed = (mean: number) => ({ type: 'fixed' as const, mean });
const messagesUrl = (m: MockServer) => `${m.url}/v1/messages`;
const chatUrl = (m: MockServer) => `${m.url}/v1/chat/completions`;
const firstDelta = (r: StreamResult) => r.events.find((e) => e.type === 'content_block_delta');

/** A streaming request that runs in the background: its headers, its server side, its end. */
function background(mock: MockServer, body: unknown) {
  const controller = new AbortController();
  const headers = deferred();
  const firstToken = deferred();
  const server = nextServerResponse(mock);
  const done = post(messagesUrl(mock), body, {
    signal: controller.signal,
    onHeaders: () => headers.resolve(),
    onEvent: (ev) => {
      if (ev.type === 'content_block_delta') firstToken.resolve();
    },
  });
  done.catch(() => {}); // awaited by the test; never an unhandled rejection when it fails early
  return {
    headers: headers.promise,
    firstToken: firstToken.promise,
    server,
    done,
    /** Aborts the request and resolves once the mock has seen the connection close. */
    async abort(): Promise<StreamResult> {
      const res: ServerResponse = await server;
      const closed = res.destroyed ? Promise.resolve() : once(res, 'close');
      controller.abort();
      await closed;
      return done;
    },
  };
}

describe('capacity: decode slots and the queue', () => {
  it('with 2 slots, 6 concurrent requests queue in pairs: TTFT and queue_wait grow by one hold time', async () => {
    const TTFT = 100;
    await withMock(
      { latency: { ttft_base_ms: TTFT, itl_ms: fixed(5) }, capacity: { slots: 2 } },
      async (mock) => {
        const hold = capacityEstimate(mock.config, { inputTokens: 0, outputTokens: 1 }).holdMs;
        expect(hold).toBe(TTFT);
        const allHeaders = deferred();
        let withHeaders = 0;
        const t0 = performance.now();
        const runs = Array.from({ length: 6 }, (_, i) =>
          post(messagesUrl(mock), anthropicBody(1, `request ${i}`), {
            onHeaders: () => {
              if (++withHeaders === 6) allHeaders.resolve();
            },
          }),
        );
        // Headers (and message_start) go out at once, queued or not.
        await allHeaders.promise;
        expect(mock.stats.active).toBe(2);
        expect(mock.stats.active + mock.stats.queued + mock.stats.completed).toBe(6);
        const results = await Promise.all(runs);
        const ttfts = results.map((r) => firstDelta(r)!.at - t0).sort((a, b) => a - b);
        // The i-th first token needs floor(i/2)+1 hold times: only two requests decode at once.
        ttfts.forEach((ttft, i) => {
          expect(ttft).toBeGreaterThanOrEqual((Math.floor(i / 2) + 1) * hold);
        });
        const s = await getStats(mock);
        expect(s.completed).toBe(6);
        expect(s.active).toBe(0);
        expect(s.queued).toBe(0);
        expect(s.queue_wait_ms.count).toBe(6);
        // Waits are about 0, 0, 1, 1, 2, 2 hold times (less the spread of arrivals).
        expect(s.queue_wait_ms.max).toBeGreaterThanOrEqual(1.5 * hold);
        expect(s.queue_wait_ms.p50).toBeGreaterThanOrEqual(0.5 * hold);
        expect(s.queue_wait_ms.mean).toBeGreaterThanOrEqual(0.7 * hold);
      },
    );
  });

  it('beyond max_queue a request is shed with 529 overloaded_error and counted', async () => {
    await withMock(
      { latency: { ttft_base_ms: 60_000, itl_ms: fixed(5) }, capacity: { slots: 1, max_queue: 1 } },
      async (mock) => {
        const a = background(mock, anthropicBody(5, 'a'));
        await a.headers;
        const b = background(mock, anthropicBody(5, 'b'));
        await b.headers;
        expect(mock.stats.active).toBe(1);
        expect(mock.stats.queued).toBe(1);
        const c = await post(messagesUrl(mock), anthropicBody(5, 'c'));
        expect(c.status).toBe(529);
        expect(c.headers.get('retry-after')).toBe('1');
        expect(JSON.parse(c.text)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
        const openai = await post(chatUrl(mock), openaiBody(5, 'c'));
        expect(openai.status).toBe(529);
        expect(JSON.parse(openai.text).error.type).toBe('server_error');
        const s = await getStats(mock);
        expect(s.shed).toBe(2);
        expect(s.streams_started).toBe(2);
        await a.abort();
        await b.abort();
        const end = await getStats(mock);
        expect(end.client_aborts).toBe(2);
        expect(end.active).toBe(0);
        expect(end.queued).toBe(0);
      },
    );
  });

  it('a client abort mid-stream frees the slot: the queued request proceeds and the gauges return to 0', async () => {
    await withMock(
      { latency: { ttft_base_ms: 5, itl_ms: fixed(30) }, capacity: { slots: 1 } },
      async (mock) => {
        const a = background(mock, anthropicBody(10_000, 'a long answer'));
        await a.firstToken;
        const b = background(mock, anthropicBody(3, 'b'));
        await b.headers;
        expect(mock.stats.active).toBe(1);
        expect(mock.stats.queued).toBe(1);
        const aborted = await a.abort();
        expect(aborted.outcome).toBe('error');
        expect(anthropicDeltas(aborted.events).length).toBeGreaterThanOrEqual(1);
        const rb = await b.done;
        expect(types(rb.events).at(-1)).toBe('message_stop');
        expect(anthropicDeltas(rb.events)).toHaveLength(3);
        const s = await getStats(mock);
        expect(s.client_aborts).toBe(1);
        expect(s.completed).toBe(1);
        expect(s.active).toBe(0);
        expect(s.queued).toBe(0);
        expect(mock.engine.queueLength).toBe(0);
      },
    );
  });

  it('a client abort while queued leaves the queue at once and frees its place', async () => {
    await withMock(
      { latency: { ttft_base_ms: 5, itl_ms: fixed(30) }, capacity: { slots: 1, max_queue: 1 } },
      async (mock) => {
        const a = background(mock, anthropicBody(10_000, 'a long answer'));
        await a.firstToken;
        const b = background(mock, anthropicBody(3, 'b'));
        await b.headers;
        expect(mock.stats.queued).toBe(1);
        await b.abort();
        expect(mock.stats.clientAborts).toBe(1);
        expect(mock.stats.queued).toBe(0);
        expect(mock.engine.queueLength).toBe(0);
        // The place b held is free: c queues instead of being shed.
        const c = background(mock, anthropicBody(2, 'c'));
        await c.headers;
        expect(mock.stats.shed).toBe(0);
        expect(mock.stats.queued).toBe(1);
        await a.abort();
        const rc = await c.done;
        expect(rc.status).toBe(200);
        expect(anthropicDeltas(rc.events)).toHaveLength(2);
        const s = await getStats(mock);
        expect(s.client_aborts).toBe(2);
        expect(s.completed).toBe(1);
        expect(s.active).toBe(0);
        expect(s.queued).toBe(0);
      },
    );
  });

  it('degradation stretches the ITL as the slots fill, to (1 + degradation) at full occupancy', async () => {
    const ITL = 20;
    await withMock(
      { latency: { ttft_base_ms: 5, itl_ms: fixed(ITL) }, capacity: { slots: 2, degradation: 1 } },
      async (mock) => {
        expect(capacityEstimate(mock.config, { inputTokens: 0, outputTokens: 6 }).itlAtFullMs).toBe(2 * ITL);
        const [x, y] = await Promise.all([
          post(messagesUrl(mock), anthropicBody(6, 'x')),
          post(messagesUrl(mock), anthropicBody(6, 'y')),
        ]);
        for (const r of [x!, y!]) {
          const ds = r.events.filter((e) => e.type === 'content_block_delta');
          expect(ds).toHaveLength(6);
          // Five gaps at 2 × ITL (the last may be computed after the other stream ended: 1.5 ×).
          expect(ds.at(-1)!.at - r.startedAt).toBeGreaterThanOrEqual(5 + 4 * 2 * ITL + 1.5 * ITL);
        }
      },
    );
  });
});

describe('latency model', () => {
  it('prefill_ms_per_input_token makes TTFT grow with the prompt length', async () => {
    const BASE = 10;
    const PER_TOKEN = 1.5;
    await withMock(
      { latency: { ttft_base_ms: BASE, prefill_ms_per_input_token: PER_TOKEN, itl_ms: fixed(1) } },
      async (mock) => {
        const shortPrompt = 'hi';
        const longPrompt = 'x'.repeat(800);
        const short = await post(messagesUrl(mock), anthropicBody(2, shortPrompt));
        const long = await post(messagesUrl(mock), anthropicBody(2, longPrompt));
        const inputTokens = estimateTokens(`user:${longPrompt}\n`);
        expect(inputTokens).toBe(202);
        const start = JSON.parse(long.events[0]!.data) as { message: { usage: { input_tokens: number } } };
        expect(start.message.usage.input_tokens).toBe(inputTokens);
        const ttftShort = firstDelta(short)!.at - short.startedAt;
        const ttftLong = firstDelta(long)!.at - long.startedAt;
        expect(ttftShort).toBeGreaterThanOrEqual(BASE + PER_TOKEN * estimateTokens(`user:${shortPrompt}\n`));
        expect(ttftLong).toBeGreaterThanOrEqual(BASE + PER_TOKEN * inputTokens);
        expect(ttftLong).toBeGreaterThan(ttftShort);
      },
    );
  });

  it('ping_interval_ms sends periodic pings, also to a request waiting in the queue', async () => {
    await withMock(
      { latency: { ttft_base_ms: 250, itl_ms: fixed(1), ping_interval_ms: 40 }, capacity: { slots: 1 } },
      async (mock) => {
        const [first, queued] = await Promise.all([
          post(messagesUrl(mock), anthropicBody(2, 'first')),
          post(messagesUrl(mock), anthropicBody(2, 'second')),
        ]);
        for (const r of [first!, queued!]) {
          const t = types(r.events);
          expect(t.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
          expect(t.at(-1)).toBe('message_stop');
          const beforeToken = t.slice(3, t.indexOf('content_block_delta'));
          expect(new Set(beforeToken)).toEqual(new Set(['ping']));
          expect(beforeToken.length).toBeGreaterThanOrEqual(2);
        }
        // The queued request waited about twice as long, so it heard more pings.
        const pings = (r: StreamResult) => types(r.events).filter((t) => t === 'ping').length;
        expect(pings(queued!)).toBeGreaterThan(pings(first!));
        // On the OpenAI route a ping is an SSE comment.
        const o = await post(chatUrl(mock), openaiBody(2, 'third'));
        expect(types(o.events).filter((t) => t === 'comment').length).toBeGreaterThanOrEqual(2);
        expect(o.text).toContain(': ping\n\n');
        expect(o.events.at(-1)!.data).toBe('[DONE]');
      },
    );
  });
});

describe('deterministic text and output lengths', () => {
  const SEED = 5;
  const latency = { ttft_base_ms: 1, itl_ms: fixed(0) };

  async function anthropicText(mock: MockServer, body: Record<string, unknown>): Promise<string> {
    return anthropicDeltas((await post(messagesUrl(mock), body)).events).join('');
  }

  it('the same prompt and seed give the same text on every route, streaming or not, as mockText() says', async () => {
    await withMock({ seed: SEED, latency }, async (mock) => {
      const expected = mockText(SEED, 'user:Same prompt\n', 16);
      expect(await anthropicText(mock, anthropicBody(16, 'Same prompt'))).toBe(expected);
      expect(await anthropicText(mock, anthropicBody(16, 'Same prompt'))).toBe(expected);
      expect(
        await anthropicText(
          mock,
          anthropicBody(16, '', {
            messages: [{ role: 'user', content: [{ type: 'text', text: 'Same prompt' }] }],
          }),
        ),
      ).toBe(expected);
      const nonStreaming = await post(messagesUrl(mock), anthropicBody(16, 'Same prompt', { stream: false }));
      expect(JSON.parse(nonStreaming.text).content[0].text).toBe(expected);
      const chat = await post(chatUrl(mock), openaiBody(16, 'Same prompt'));
      expect(openaiDeltas(chat.events).join('')).toBe(expected);
      const chatBody = await post(chatUrl(mock), openaiBody(16, 'Same prompt', { stream: false }));
      expect(JSON.parse(chatBody.text).choices[0].message.content).toBe(expected);
      // A shorter max_tokens gives a prefix of the same text.
      expect(expected.startsWith(await anthropicText(mock, anthropicBody(5, 'Same prompt')))).toBe(true);
    });
  });

  it('the system prompt and earlier turns are part of the prompt; another prompt or seed gives other text', async () => {
    await withMock({ seed: SEED, latency }, async (mock) => {
      const turns = [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ];
      const withSystem = await anthropicText(
        mock,
        anthropicBody(12, '', { system: 'Be brief.', messages: turns }),
      );
      expect(withSystem).toBe(mockText(SEED, 'system:Be brief.\nuser:a\nassistant:b\nuser:c\n', 12));
      const without = await anthropicText(mock, anthropicBody(12, '', { messages: turns }));
      expect(without).toBe(mockText(SEED, 'user:a\nassistant:b\nuser:c\n', 12));
      expect(without).not.toBe(withSystem);
      expect(await anthropicText(mock, anthropicBody(12, 'other'))).not.toBe(
        await anthropicText(mock, anthropicBody(12, 'Same prompt')),
      );
    });
    const other = await withMock({ seed: SEED + 1, latency }, (m) =>
      anthropicText(m, anthropicBody(12, 'Same prompt')),
    );
    expect(other).toBe(mockText(SEED + 1, 'user:Same prompt\n', 12));
    expect(other).not.toBe(mockText(SEED, 'user:Same prompt\n', 12));
  });

  interface Ending {
    n: number;
    stop: string;
    usage: number;
    text: string;
  }
  async function ending(mock: MockServer, maxTokens: number, prompt: string): Promise<Ending> {
    const r = await post(messagesUrl(mock), anthropicBody(maxTokens, prompt));
    const delta = JSON.parse(r.events.find((e) => e.type === 'message_delta')!.data) as {
      delta: { stop_reason: string };
      usage: { output_tokens: number };
    };
    const text = anthropicDeltas(r.events).join('');
    return {
      n: anthropicDeltas(r.events).length,
      stop: delta.delta.stop_reason,
      usage: delta.usage.output_tokens,
      text,
    };
  }

  it('output_tokens draws a length per prompt, capped at max_tokens: end_turn below it, max_tokens at it', async () => {
    await withMock(
      { seed: SEED, latency, output_tokens: { type: 'uniform', min: 3, max: 30 } },
      async (mock) => {
        const capped: Ending[] = [];
        const free: Ending[] = [];
        for (let i = 0; i < 30; i++) {
          capped.push(await ending(mock, 12, `prompt ${i}`));
          free.push(await ending(mock, 1000, `prompt ${i}`));
        }
        for (const [i, e] of capped.entries()) {
          expect(e.usage).toBe(e.n);
          expect(e.n).toBeLessThanOrEqual(12);
          expect(e.stop).toBe(e.n === 12 ? 'max_tokens' : 'end_turn');
          expect(e.text).toBe(mockText(SEED, `user:prompt ${i}\n`, e.n));
          // The same prompt draws the same length; the cap only cuts it.
          expect(e.n).toBe(Math.min(12, free[i]!.n));
        }
        expect(capped.some((e) => e.stop === 'max_tokens')).toBe(true);
        expect(capped.some((e) => e.stop === 'end_turn')).toBe(true);
        for (const e of free) {
          expect(e.n).toBeGreaterThanOrEqual(3);
          expect(e.n).toBeLessThanOrEqual(30);
          expect(e.stop).toBe('end_turn');
        }
        expect(new Set(free.map((e) => e.n)).size).toBeGreaterThan(5);
      },
    );
  });

  it('a fixed output length is exact; without output_tokens every answer runs to max_tokens', async () => {
    await withMock({ seed: SEED, latency, output_tokens: fixed(8) }, async (mock) => {
      expect(await ending(mock, 100, 'p')).toMatchObject({ n: 8, usage: 8, stop: 'end_turn' });
      expect(await ending(mock, 5, 'p')).toMatchObject({ n: 5, usage: 5, stop: 'max_tokens' });
    });
    await withMock({ seed: SEED, latency }, async (mock) => {
      expect(await ending(mock, 37, 'p')).toMatchObject({ n: 37, usage: 37, stop: 'max_tokens' });
    });
  });
});

describe('non-streaming responses', () => {
  it('Anthropic: one JSON message after the whole generation time, with usage and stop_reason', async () => {
    const TTFT = 30;
    const ITL = 10;
    await withMock({ seed: 9, latency: { ttft_base_ms: TTFT, itl_ms: fixed(ITL) } }, async (mock) => {
      const r = await post(messagesUrl(mock), anthropicBody(6, 'Q', { stream: false }));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(r.text));
      expect(r.headersAt - r.startedAt).toBeGreaterThanOrEqual(TTFT + 5 * ITL);
      expect(JSON.parse(r.text)).toEqual({
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [{ type: 'text', text: mockText(9, 'user:Q\n', 6) }],
        stop_reason: 'max_tokens',
        stop_sequence: null,
        usage: {
          input_tokens: estimateTokens('user:Q\n'),
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 6,
        },
      });
      const s = await getStats(mock);
      expect(s.completed).toBe(1);
      expect(s.streams_started).toBe(0);
      expect(s.tokens).toBe(6);
    });
  });

  it('OpenAI: a chat.completion with finish_reason and usage', async () => {
    await withMock(
      { seed: 9, latency: { ttft_base_ms: 1, itl_ms: fixed(1) }, output_tokens: fixed(4) },
      async (mock) => {
        const r = await post(chatUrl(mock), openaiBody(50, 'Q', { stream: false }));
        expect(r.status).toBe(200);
        const body = JSON.parse(r.text);
        expect(body).toMatchObject({
          id: expect.stringMatching(/^chatcmpl-/),
          object: 'chat.completion',
          model: 'gpt-test',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: mockText(9, 'user:Q\n', 4) },
              finish_reason: 'stop',
            },
          ],
          usage: { completion_tokens: 4 },
        });
        expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 4);
      },
    );
  });

  it('faults on a non-streaming request: in-band error becomes a 529, truncate a dropped connection, pings none', async () => {
    await withMock({ latency: { ttft_base_ms: 1, itl_ms: fixed(1), ping_interval_ms: 1 } }, async (mock) => {
      const header = (spec: string) => ({ headers: { 'x-tokenstorm-fault': spec } });
      const inband = await post(
        messagesUrl(mock),
        anthropicBody(5, 'Q', { stream: false }),
        header('inband_error;after_tokens=2'),
      );
      expect(inband.status).toBe(529);
      expect(JSON.parse(inband.text).error.type).toBe('overloaded_error');
      const chat = await post(
        chatUrl(mock),
        openaiBody(5, 'Q', { stream: false }),
        header('inband_error;after_tokens=2'),
      );
      expect(chat.status).toBe(529);
      expect(JSON.parse(chat.text).error.type).toBe('overloaded_error');
      const truncated = await post(
        messagesUrl(mock),
        anthropicBody(5, 'Q', { stream: false }),
        header('truncate;after_tokens=2'),
      ).catch((err: unknown) => err);
      expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(errorCode(truncated));
      const ok = await post(
        messagesUrl(mock),
        anthropicBody(20, 'Q', { stream: false }),
        header('stall;after_tokens=1;duration_ms=30'),
      );
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text).usage.output_tokens).toBe(20);
    });
  });
});

describe('capacityEstimate', () => {
  it('computes hold time, knee and throughput for a known configuration', () => {
    const cfg = parseMockConfig({
      latency: { ttft_base_ms: 200, prefill_ms_per_input_token: 0.5, itl_ms: fixed(20) },
      capacity: { slots: 64, degradation: 0.5 },
    });
    const c = capacityEstimate(cfg, { inputTokens: 100, outputTokens: 200 });
    expect(c.slots).toBe(64);
    expect(c.itlAtFullMs).toBe(30);
    expect(c.holdMs).toBe(200 + 50 + 199 * 30);
    expect(c.maxStreamsPerSec).toBeCloseTo(64_000 / 6220, 10);
    expect(c.maxTokensPerSec).toBeCloseTo((64_000 / 6220) * 200, 8);
  });

  it('uses the defaults and the mean of the ITL distribution', () => {
    const d = capacityEstimate(parseMockConfig({}), { inputTokens: 100, outputTokens: 100 });
    expect(d).toEqual({
      slots: 256,
      holdMs: 200 + 99 * 20,
      maxStreamsPerSec: 256_000 / 2180,
      maxTokensPerSec: (256_000 / 2180) * 100,
      itlAtFullMs: 20,
    });
    const uniform = parseMockConfig({ latency: { itl_ms: { type: 'uniform', min: 10, max: 50 } } });
    expect(capacityEstimate(uniform, { inputTokens: 0, outputTokens: 11 }).holdMs).toBe(200 + 10 * 30);
    const lognormal = parseMockConfig({ latency: { itl_ms: { type: 'lognormal', mean: 25, stddev: 10 } } });
    expect(capacityEstimate(lognormal, { inputTokens: 0, outputTokens: 2 }).itlAtFullMs).toBe(25);
  });

  it('a zero hold time means unbounded throughput; one output token costs no ITL', () => {
    const cfg = parseMockConfig({ latency: { ttft_base_ms: 0, itl_ms: fixed(50) } });
    const c = capacityEstimate(cfg, { inputTokens: 10, outputTokens: 1 });
    expect(c.holdMs).toBe(0);
    expect(c.maxStreamsPerSec).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('stats', () => {
  it('POST /mock/stats/reset zeroes the counters but keeps the live gauges', async () => {
    await withMock({ latency: { ttft_base_ms: 60_000, itl_ms: fixed(1) } }, async (mock) => {
      await post(messagesUrl(mock), { nope: true });
      const a = background(mock, anthropicBody(3, 'held'));
      await a.headers;
      const before = await getStats(mock);
      expect(before.rejected).toBe(1);
      expect(before.streams_started).toBe(1);
      expect(before.active).toBe(1);
      const reset = await fetch(`${mock.url}/mock/stats/reset`, { method: 'POST' });
      expect(await reset.json()).toEqual({ status: 'reset' });
      const after = await getStats(mock);
      expect(after.rejected).toBe(0);
      expect(after.streams_started).toBe(0);
      expect(after.requests).toBe(1); // only this GET: the reset zeroed the count including itself
      expect(after.active).toBe(1);
      await a.abort();
      expect((await getStats(mock)).active).toBe(0);
    });
  });
});
