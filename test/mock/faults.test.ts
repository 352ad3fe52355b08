// Server-side faults over real HTTP: the exact wire effect of each kind, per request through
// the x-tokenstorm-fault header and by probability from a seeded profile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockConfigInput } from '../../src/mock/config.js';
import { FAULT_HEADER, type MockServer, startMock } from '../../src/mock/server.js';
import { mockText } from '../../src/mock/text.js';
import {
  anthropicBody,
  anthropicDeltas,
  errorCode,
  getStats,
  openaiBody,
  openaiDeltas,
  post,
  type StreamResult,
  types,
} from '../helpers/stream.js';

const SEED = 11;
const ITL_MS = 20;
const PROMPT = 'Hello, mock.';
const PROMPT_KEY = `user:${PROMPT}\n`;
const START = ['message_start', 'content_block_start', 'ping'];
const END = ['content_block_stop', 'message_delta', 'message_stop'];
const delta = 'content_block_delta';
const deltas = (n: number): string[] => Array.from({ length: n }, () => delta);

let mock: MockServer;
let messagesUrl: string;
let chatUrl: string;

beforeAll(async () => {
  mock = await startMock({
    config: { seed: SEED, latency: { ttft_base_ms: 5, itl_ms: { type: 'fixed', mean: ITL_MS } } },
  });
  messagesUrl = `${mock.url}/v1/messages`;
  chatUrl = `${mock.url}/v1/chat/completions`;
});
afterAll(async () => {
  await mock.close();
});

const withFault = (spec: string) => ({ headers: { [FAULT_HEADER]: spec } });

interface AnthropicErrorBody {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

describe('http_error', () => {
  it('429 carries retry-after, the anthropic-ratelimit-* headers and the Anthropic error body', async () => {
    const before = await getStats(mock);
    const r = await post(messagesUrl, anthropicBody(5), withFault('http_error;status=429;retry_after_s=2'));
    expect(r.status).toBe(429);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('retry-after')).toBe('2');
    expect(r.headers.get('retry-after-ms')).toBe('2000');
    for (const kind of ['requests', 'tokens']) {
      expect(r.headers.get(`anthropic-ratelimit-${kind}-limit`)).toMatch(/^\d+$/);
      expect(r.headers.get(`anthropic-ratelimit-${kind}-remaining`)).toBe('0');
      const reset = Date.parse(r.headers.get(`anthropic-ratelimit-${kind}-reset`) ?? '');
      expect(reset).toBeGreaterThan(Date.now());
    }
    const body = JSON.parse(r.text) as AnthropicErrorBody;
    expect(body).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.any(String) },
      request_id: r.headers.get('request-id'),
    });
    expect(body.request_id).toMatch(/^req_/);
    const after = await getStats(mock);
    expect(after.faults.http_error - before.faults.http_error).toBe(1);
    expect(after.streams_started).toBe(before.streams_started);
  });

  it.each([
    [529, 'overloaded_error'],
    [500, 'api_error'],
    [503, 'api_error'],
  ])('%i answers with error type %s and no rate-limit headers', async (status, type) => {
    const r = await post(messagesUrl, anthropicBody(5), withFault(`http_error;status=${status}`));
    expect(r.status).toBe(status);
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.headers.get('anthropic-ratelimit-requests-remaining')).toBeNull();
    const body = JSON.parse(r.text) as AnthropicErrorBody;
    expect(body.type).toBe('error');
    expect(body.error.type).toBe(type);
    expect(body.error.message.length).toBeGreaterThan(0);
  });

  it('on the OpenAI route the body is OpenAI-shaped', async () => {
    const r = await post(chatUrl, openaiBody(5), withFault('http_error;status=429;retry_after_s=1'));
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    const body = JSON.parse(r.text) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('rate_limit_exceeded');
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('type');
  });
});

describe('inband_error', () => {
  it('sends exactly N deltas, then event: error with overloaded_error, and no message_stop', async () => {
    const before = await getStats(mock);
    const r = await post(messagesUrl, anthropicBody(8), withFault('inband_error;after_tokens=3'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(r.outcome).toBe('end');
    expect(types(r.events)).toEqual([...START, ...deltas(3), 'error']);
    expect(anthropicDeltas(r.events).join('')).toBe(mockText(SEED, PROMPT_KEY, 3));
    expect(JSON.parse(r.events.at(-1)!.data)).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const after = await getStats(mock);
    expect(after.faults.inband_error - before.faults.inband_error).toBe(1);
    expect(after.completed).toBe(before.completed);
  });

  it('after_tokens=0 errors before any delta; error_type is configurable', async () => {
    const r = await post(
      messagesUrl,
      anthropicBody(8),
      withFault('inband_error;after_tokens=0;error_type=api_error'),
    );
    expect(types(r.events)).toEqual([...START, 'error']);
    expect(JSON.parse(r.events.at(-1)!.data).error.type).toBe('api_error');
  });

  it('after_tokens beyond the output strikes instead of the end events', async () => {
    const r = await post(messagesUrl, anthropicBody(4), withFault('inband_error;after_tokens=50'));
    expect(types(r.events)).toEqual([...START, ...deltas(4), 'error']);
  });

  it('on the OpenAI route: N content chunks, then an error chunk, no finish_reason and no [DONE]', async () => {
    const r = await post(chatUrl, openaiBody(6), withFault('inband_error;after_tokens=2'));
    expect(r.status).toBe(200);
    expect(r.outcome).toBe('end');
    expect(openaiDeltas(r.events)).toEqual(mockText(SEED, PROMPT_KEY, 2).match(/\S+ /g));
    expect(r.events).toHaveLength(1 + 2 + 1); // role chunk, 2 content chunks, error chunk
    const last = JSON.parse(r.events.at(-1)!.data) as { error: { type: string; message: string } };
    expect(last.error.type).toBe('overloaded_error');
    expect(last.error.message).toBe('Overloaded');
    expect(r.text).not.toContain('[DONE]');
    expect(r.text).not.toContain('finish_reason":"');
  });
});

describe('truncate', () => {
  it('sends N deltas and ends the body cleanly, with no content_block_stop, message_delta or message_stop', async () => {
    const before = await getStats(mock);
    const r = await post(messagesUrl, anthropicBody(8), withFault('truncate;after_tokens=4'));
    expect(r.status).toBe(200);
    expect(r.outcome).toBe('end');
    expect(types(r.events)).toEqual([...START, ...deltas(4)]);
    expect(r.text.endsWith('\n\n')).toBe(true);
    const after = await getStats(mock);
    expect(after.faults.truncate - before.faults.truncate).toBe(1);
    expect(after.completed).toBe(before.completed);
  });

  it('on the OpenAI route: N content chunks, a clean end before any finish_reason or [DONE]', async () => {
    const body = openaiBody(6, PROMPT, { stream_options: { include_usage: true } });
    const r = await post(chatUrl, body, withFault('truncate;after_tokens=3'));
    expect(r.outcome).toBe('end');
    expect(openaiDeltas(r.events)).toHaveLength(3);
    expect(r.events).toHaveLength(4);
    expect(r.text).not.toContain('[DONE]');
    expect(r.text).not.toContain('"usage"');
    expect(r.text).not.toContain('finish_reason":"');
  });
});

describe('reset', () => {
  it.each([0, 3])(
    'after %i tokens the client gets exactly those deltas, then a connection error',
    async (n) => {
      const before = await getStats(mock);
      const r = await post(messagesUrl, anthropicBody(8), withFault(`reset;after_tokens=${n}`));
      expect(r.status).toBe(200);
      expect(r.outcome).toBe('error');
      expect(String(r.error)).toMatch(/terminated|ECONNRESET|other side closed/);
      expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(errorCode(r.error));
      expect(types(r.events)).toEqual([...START, ...deltas(n)]);
      const after = await getStats(mock);
      expect(after.faults.reset - before.faults.reset).toBe(1);
      // A reset is the server's doing, not a client abort.
      expect(after.client_aborts).toBe(before.client_aborts);
    },
  );

  it('on the OpenAI route too', async () => {
    const r = await post(chatUrl, openaiBody(6), withFault('reset;after_tokens=2'));
    expect(r.outcome).toBe('error');
    expect(openaiDeltas(r.events)).toHaveLength(2);
    expect(r.text).not.toContain('[DONE]');
  });
});

describe('stall', () => {
  it('holds back delta N+1 for at least duration_ms, silently, then completes', async () => {
    const STALL_MS = 200;
    const before = await getStats(mock);
    const r = await post(
      messagesUrl,
      anthropicBody(6),
      withFault(`stall;after_tokens=3;duration_ms=${STALL_MS}`),
    );
    expect(r.outcome).toBe('end');
    expect(types(r.events)).toEqual([...START, ...deltas(6), ...END]);
    const ds = r.events.filter((e) => e.type === delta);
    expect(ds[3]!.at - ds[2]!.at).toBeGreaterThanOrEqual(STALL_MS);
    expect(anthropicDeltas(r.events).join('')).toBe(mockText(SEED, PROMPT_KEY, 6));
    const after = await getStats(mock);
    expect(after.faults.stall - before.faults.stall).toBe(1);
    expect(after.completed - before.completed).toBe(1);
  });

  it('ping_stall sends pings during the stall, then completes', async () => {
    const STALL_MS = 300;
    const before = await getStats(mock);
    const r = await post(
      messagesUrl,
      anthropicBody(4),
      withFault(`ping_stall;after_tokens=2;duration_ms=${STALL_MS};ping_interval_ms=50`),
    );
    expect(r.outcome).toBe('end');
    const t = types(r.events);
    const second = t.indexOf(delta, t.indexOf(delta) + 1);
    const third = t.indexOf(delta, second + 1);
    const during = t.slice(second + 1, third);
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(new Set(during)).toEqual(new Set(['ping']));
    expect(r.events[third]!.at - r.events[second]!.at).toBeGreaterThanOrEqual(STALL_MS);
    // Apart from the stall, only the usual ping after content_block_start.
    expect(t.filter((x) => x === 'ping')).toHaveLength(1 + during.length);
    expect(t.slice(-3)).toEqual(END);
    expect(anthropicDeltas(r.events)).toHaveLength(4);
    const after = await getStats(mock);
    expect(after.faults.ping_stall - before.faults.ping_stall).toBe(1);
  });
});

describe('slow_headers', () => {
  it('the status line and headers arrive no earlier than delay_ms, then the stream is normal', async () => {
    const DELAY_MS = 250;
    const r = await post(messagesUrl, anthropicBody(3), withFault(`slow_headers;delay_ms=${DELAY_MS}`));
    expect(r.status).toBe(200);
    expect(r.headersAt - r.startedAt).toBeGreaterThanOrEqual(DELAY_MS);
    expect(types(r.events)).toEqual([...START, ...deltas(3), ...END]);
  });
});

describe('the fault header against a profile', () => {
  it('`none` turns off a certain profile fault; another header fault replaces it', async () => {
    const m = await startMock({
      config: {
        latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1 } },
        faults: [{ kind: 'reset' }],
      },
    });
    try {
      const url = `${m.url}/v1/messages`;
      expect((await post(url, anthropicBody(3))).outcome).toBe('error');
      const clean = await post(url, anthropicBody(3), withFault('none'));
      expect(clean.outcome).toBe('end');
      expect(types(clean.events)).toEqual([...START, ...deltas(3), ...END]);
      const inband = await post(url, anthropicBody(3), withFault('inband_error;after_tokens=1'));
      expect(types(inband.events)).toEqual([...START, delta, 'error']);
      const s = await getStats(m);
      expect(s.faults.reset).toBe(1);
      expect(s.faults.inband_error).toBe(1);
      expect(s.completed).toBe(1);
    } finally {
      await m.close();
    }
  });
});

describe('profile faults by probability', () => {
  const N = 200;
  const profile = (seed: number): MockConfigInput => ({
    seed,
    latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1 } },
    faults: [
      { kind: 'inband_error', probability: 0.3, after_tokens: [0, 3] },
      { kind: 'truncate', probability: 0.2, after_tokens: 2 },
      { kind: 'reset', probability: 0.1, after_tokens: 1 },
      { kind: 'http_error', probability: 0.1, status: 503 },
    ],
  });

  type Ending = 'completed' | 'inband_error' | 'truncate' | 'reset' | 'http_error';

  function ending(r: StreamResult): Ending {
    if (r.status === 503) return 'http_error';
    if (r.outcome === 'error') return 'reset';
    const t = types(r.events);
    if (t.includes('error')) return 'inband_error';
    if (t.at(-1) === 'message_stop') return 'completed';
    return 'truncate';
  }

  async function run(seed: number) {
    const m = await startMock({ config: profile(seed) });
    try {
      const url = `${m.url}/v1/messages`;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => post(url, anthropicBody(4, `prompt number ${i}`))),
      );
      const seen: Record<Ending, number> = {
        completed: 0,
        inband_error: 0,
        truncate: 0,
        reset: 0,
        http_error: 0,
      };
      for (const r of results) {
        const e = ending(r);
        seen[e]++;
        const n = anthropicDeltas(r.events).length;
        // Each ending has the shape its fault promises.
        if (e === 'completed') expect(n).toBe(4);
        if (e === 'truncate') expect(n).toBe(2);
        if (e === 'reset') expect(n).toBe(1);
        if (e === 'inband_error') expect(n).toBeLessThanOrEqual(3);
        if (e === 'http_error') expect(JSON.parse(r.text).error.type).toBe('api_error');
      }
      return { seen, stats: await getStats(m) };
    } finally {
      await m.close();
    }
  }

  it('the mock counts exactly the endings the clients saw, and the same seed gives the same counts', async () => {
    const first = await run(42);
    const { seen, stats } = first;
    expect(seen.completed + seen.inband_error + seen.truncate + seen.reset + seen.http_error).toBe(N);
    expect(stats.completed).toBe(seen.completed);
    expect(stats.faults.inband_error).toBe(seen.inband_error);
    expect(stats.faults.truncate).toBe(seen.truncate);
    expect(stats.faults.reset).toBe(seen.reset);
    expect(stats.faults.http_error).toBe(seen.http_error);
    expect(stats.faults.stall + stats.faults.ping_stall + stats.faults.slow_headers).toBe(0);
    expect(stats.streams_started).toBe(N - seen.http_error);
    expect(stats.client_aborts).toBe(0);
    expect(stats.active).toBe(0);
    // Roughly the configured rates (binomial, N=200: far inside 5 sigma).
    expect(seen.inband_error).toBeGreaterThan(30);
    expect(seen.inband_error).toBeLessThan(90);
    expect(seen.truncate).toBeGreaterThan(15);
    expect(seen.truncate).toBeLessThan(65);
    expect(seen.reset).toBeGreaterThan(2);
    expect(seen.http_error).toBeGreaterThan(2);
    expect(seen.completed).toBeGreaterThan(25);

    const again = await run(42);
    expect(again.seen).toEqual(seen);
    expect(again.stats.faults).toEqual(stats.faults);
  });
});
