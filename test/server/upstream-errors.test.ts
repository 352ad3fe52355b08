// Upstream failures (docs/server.md, Errors and the `error` event): before the first byte
// they become an HTTP refusal (429, 503, 502, 504); after it, a terminal `error` event —
// the server never restarts a generation the client has partly seen.
import { describe, expect, it } from 'vitest';
import type { MockConfigInput } from '../../src/mock/config.js';
import { dataOf, fastMock, openStream, postJson, serverMetric, useServers } from '../helpers/server.js';

const start = useServers();

const withFault = (fault: NonNullable<MockConfigInput['faults']>[number]) =>
  fastMock(1, { faults: [{ ...fault, probability: 1 }] });

describe('upstream failure after the stream started', () => {
  it.each([
    [
      { kind: 'inband_error', after_tokens: 3, error_type: 'overloaded_error' } as const,
      'overloaded_error',
      true,
    ],
    [
      { kind: 'inband_error', after_tokens: 3, error_type: 'invalid_request_error' } as const,
      'invalid_request_error',
      false,
    ],
    [{ kind: 'truncate', after_tokens: 3 } as const, 'upstream_truncated', true],
    [{ kind: 'reset', after_tokens: 3 } as const, 'upstream_error', true],
  ])('%o ends the stream with one error event (%s)', async (fault, type, retryable) => {
    const server = await start({ upstream_max_retries: 2 }, withFault(fault));
    const r = await openStream(server.url, { prompt: 'fail later', max_tokens: 20 });
    expect(r.status).toBe(200);
    const id = r.headers.get('x-stream-id')!;
    expect(r.events.map((e) => e.id)).toEqual(r.events.map((_, i) => `${id}:${i + 1}`));
    expect(r.events.map((e) => e.type)).toEqual(['meta', 'usage', 'delta', 'delta', 'delta', 'error']);
    expect(dataOf(r.events.at(-1))).toMatchObject({ type, retryable });
    expect(r.outcome).toBe('end');
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'upstream_error' }),
    ).toBe(1);
    // Not retried: the mock saw one request.
    expect(server.mock!.stats.streamsStarted).toBe(1);
  });
});

describe('upstream refusal before the first byte', () => {
  it.each([
    [{ kind: 'http_error', status: 429, retry_after_s: 7 } as const, 429, 'rate_limited', '7'],
    [{ kind: 'http_error', status: 529, retry_after_s: 3 } as const, 503, 'upstream_overloaded', '3'],
    [{ kind: 'http_error', status: 500 } as const, 502, 'upstream_error', null],
  ])('%o becomes %i %s', async (fault, status, type, retryAfter) => {
    const server = await start({ upstream_max_retries: 0 }, withFault(fault));
    const r = await postJson(`${server.url}/v1/chat/stream`, { prompt: 'refused', max_tokens: 5 });
    expect(r.status).toBe(status);
    expect(r.json.error!.type).toBe(type);
    expect(r.headers.get('retry-after')).toBe(retryAfter);
    expect(server.activeStreams()).toBe(0);
    expect(server.upstreamInFlight()).toBe(0);
  });

  it('unreachable upstream: 502 upstream_unreachable', async () => {
    const server = await start({ upstream: 'http://127.0.0.1:9', upstream_max_retries: 0 });
    const r = await postJson(`${server.url}/v1/chat/stream`, { prompt: 'nobody home', max_tokens: 5 });
    expect(r.status).toBe(502);
    expect(r.json.error!.type).toBe('upstream_unreachable');
    expect(server.activeStreams()).toBe(0);
  });

  it('upstream too slow to answer: 504 upstream_timeout', async () => {
    const server = await start(
      { upstream_timeout_ms: 100, upstream_max_retries: 0 },
      withFault({ kind: 'slow_headers', delay_ms: 3000 }),
    );
    const r = await postJson(`${server.url}/v1/chat/stream`, { prompt: 'slow', max_tokens: 5 });
    expect(r.status).toBe(504);
    expect(r.json.error!.type).toBe('upstream_timeout');
    expect(server.activeStreams()).toBe(0);
  });
});
