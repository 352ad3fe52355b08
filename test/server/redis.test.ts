// Two replicas of the reference server sharing a real Redis (--redis-url): a client cut off from
// one replica resumes on the other with every event exactly once, a cancel sent to the other
// replica stops the stream where it runs, and Redis being down is a clear 503, never silence.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/app.js';
import { startReferenceServer } from '../../src/server/app.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import {
  BASE_CONFIG,
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  postJson,
  resumeStream,
  serverMetric,
  useServers,
  waitFor,
  within,
} from '../helpers/server.js';

const start = useServers();
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

/** Two replicas sharing `url`, under a key prefix of their own (tests never see each other's keys). */
async function replicas(url: string, itlMs = 5): Promise<[ReferenceServer, ReferenceServer]> {
  const config = { redis_url: url, redis_key_prefix: `t-${randomUUID()}:`, resume_grace_ms: 5000 };
  return [await start(config, fastMock(itlMs)), await start(config, fastMock(itlMs))];
}

/** Opens a stream on `url` and drops the connection after `deltas` deltas. */
async function openAndCut(url: string, deltas: number, max_tokens = 60) {
  const ac = new AbortController();
  const first = await openStream(
    url,
    { prompt: 'resume me elsewhere', max_tokens },
    {
      signal: ac.signal,
      onEvent: (_ev, all) => {
        if (all.filter((e) => e.type === 'delta').length === deltas) ac.abort();
      },
    },
  );
  expect(first.outcome).toBe('error');
  return { id: first.headers.get('x-stream-id')!, first };
}

describe('two replicas sharing Redis', () => {
  it('a client cut off from one replica resumes on the other: every event once, text intact', async () => {
    const [a, b] = await replicas(redis.url);
    expect(a.store.kind).toBe('redis');
    const { id, first } = await openAndCut(a.url, 3);
    const resumed = await within('resume on B', resumeStream(b.url, id, first.events.at(-1)!.id));
    expect(resumed.status).toBe(200);
    expect(resumed.retries).toEqual([2000]);
    const events = [...first.events, ...resumed.events];
    const whole = expectWholeStream(events, id); // contiguous ids, sha256
    expect(whole.done.stop_reason).toBe('max_tokens');
    expect(
      await serverMetric(b, 'tokenstorm_server_resumes_total', { tokenstorm_resume_from: 'store' }),
    ).toBe(1);
    // The stream ran on A all along (its upstream kept going while B served the client) …
    expect(
      await serverMetric(a, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
    ).toBe(1);
    // … and an ended stream replays from Redis on B from the start, byte for byte as A sent it.
    const again = await resumeStream(b.url, id, undefined);
    expect(again.events.map((e) => [e.id, e.type, e.data])).toEqual(
      events.map((e) => [e.id, e.type, e.data]),
    );
    const fromA = await resumeStream(a.url, id, undefined);
    expect(again.text).toBe(fromA.text);
  });

  it('resumes on the other replica while the stream is still running, live to the end', async () => {
    const [a, b] = await replicas(redis.url, 20); // 60 tokens × 20 ms: over a second still to go
    const { id, first } = await openAndCut(a.url, 2);
    const t0 = performance.now();
    const resumed = await resumeStream(b.url, id, first.events.at(-1)!.id);
    expect(performance.now() - t0).toBeGreaterThan(500); // followed live, not replayed after the end
    expectWholeStream([...first.events, ...resumed.events], id);
    // B told A its client was back, so A's resume grace never ended the stream as client_gone.
    expect(
      await serverMetric(a, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'client_gone' }),
    ).toBe(0);
    expect(await serverMetric(a, 'tokenstorm_server_upstream_unread_tokens_total')).toBe(0);
  });

  it('a cancel sent to the other replica stops the stream on the replica that runs it', async () => {
    const [a, b] = await replicas(redis.url, 20);
    let id = '';
    let answer: Promise<{ status: number; json: Record<string, unknown> }> | undefined;
    const stream = await openStream(
      a.url,
      { prompt: 'cancel me from elsewhere', max_tokens: 500 },
      {
        onEvent: (ev, all) => {
          if (ev.type === 'meta') id = dataOf<{ stream_id: string }>(ev).stream_id;
          if (answer === undefined && all.filter((e) => e.type === 'delta').length === 2)
            answer = postJson(`${b.url}/v1/chat/stream/${id}/cancel`, {});
        },
      },
    );
    expect((await answer!).status).toBe(200);
    expect((await answer!).json).toEqual({ status: 'cancelled', stream_id: id });
    const whole = expectWholeStream(stream.events, id);
    expect(whole.done.stop_reason).toBe('cancelled');
    expect(stream.events.filter((e) => e.type === 'delta').length).toBeLessThan(100); // of 500
    expect(await serverMetric(a, 'tokenstorm_server_cancels_total')).toBe(1);
    expect(await serverMetric(a, 'tokenstorm_server_upstream_aborts_total')).toBe(1);
    await waitFor('the done event in Redis', async () => {
      const again = await postJson(`${b.url}/v1/chat/stream/${id}/cancel`, {});
      return again.json.status === 'already_finished';
    });
  });

  it('refuses what it cannot serve: unknown ids, bad Last-Event-IDs', async () => {
    const [a, b] = await replicas(redis.url);
    const unknown = await resumeStream(b.url, 'nope', undefined);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error.type).toBe('stream_not_found');
    const { id } = await openAndCut(a.url, 1, 5);
    await waitFor('the stream to end on A', () => a.activeStreams() === 0);
    const bad = await resumeStream(b.url, id, 'other:3');
    expect(bad.status).toBe(400);
    const ahead = await resumeStream(b.url, id, `${id}:999`);
    expect(ahead.status).toBe(400);
    expect(JSON.parse(ahead.text).error.type).toBe('invalid_last_event_id');
  });
});

describe('Redis unavailable', () => {
  it('a server cannot start without its Redis: E_STORE_UNAVAILABLE', async () => {
    const gone = await startRedis();
    await gone.stop();
    await expect(
      startReferenceServer({ config: { ...BASE_CONFIG, redis_url: gone.url }, mock: fastMock() }),
    ).rejects.toMatchObject({ code: 'E_STORE_UNAVAILABLE' });
  });

  it('when Redis goes away, new streams, resumes and cancels elsewhere answer 503 store_unavailable', async () => {
    const own = await startRedis();
    try {
      const [a, b] = await replicas(own.url);
      const { id } = await openAndCut(a.url, 1, 5);
      await own.stop();
      await waitFor('a 503 for a new stream', async () => {
        const r = await postJson(`${a.url}/v1/chat/stream`, { prompt: 'x', max_tokens: 5 });
        return r.status === 503 && r.json.error?.type === 'store_unavailable';
      });
      const resume = await resumeStream(b.url, id, undefined);
      expect(resume.status).toBe(503);
      expect(JSON.parse(resume.text).error).toMatchObject({ type: 'store_unavailable' });
      expect(resume.headers.get('retry-after')).toBe('1');
      const cancel = await postJson(`${b.url}/v1/chat/stream/${id}/cancel`, {});
      expect(cancel.status).toBe(503);
      // The replica that runs the stream still serves it from memory.
      const local = await resumeStream(a.url, id, undefined);
      expect(local.status).toBe(200);
    } finally {
      await own.stop();
    }
  });
});
