// The client going away (docs/server.md, Behaviour: client disconnect) and cancel: the
// upstream keeps running for the resume grace, then is aborted (the mock sees it), and the
// metrics say so; with grace 0 the abort is at once; cancel ends the stream at once.
import type { ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  resumeStream,
  serverMetric,
  useServers,
  waitFor,
} from '../helpers/server.js';
import { nextServerResponse } from '../helpers/stream.js';

const start = useServers();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resolves with performance.now() when the mock's side of the upstream request closes. */
function closedAt(res: ServerResponse): Promise<number> {
  return new Promise((resolve) => {
    if (res.closed) resolve(performance.now());
    else res.once('close', () => resolve(performance.now()));
  });
}

/** Opens a long stream and drops the connection after `deltas` deltas; returns when it was dropped. */
async function disconnectAfter(url: string, deltas: number): Promise<{ id: string; at: number }> {
  const ac = new AbortController();
  let at = 0;
  const r = await openStream(
    url,
    { prompt: 'going away', max_tokens: 2000 },
    {
      signal: ac.signal,
      onEvent: (_ev, all) => {
        if (at === 0 && all.filter((e) => e.type === 'delta').length === deltas) {
          at = performance.now();
          ac.abort();
        }
      },
    },
  );
  expect(r.outcome).toBe('error');
  expect(at).toBeGreaterThan(0);
  return { id: r.headers.get('x-stream-id')!, at };
}

describe('client disconnect', () => {
  it('keeps the upstream for the resume grace, then aborts it and counts the unread tokens', async () => {
    const server = await start({ resume_grace_ms: 200 }, fastMock(5));
    const mock = server.mock!;
    const upstreamRes = nextServerResponse(mock);
    const { at } = await disconnectAfter(server.url, 2);
    const aborted = closedAt(await upstreamRes);
    expect(mock.stats.clientAborts).toBe(0); // still running during the grace
    const elapsed = (await aborted) - at;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1500);
    await waitFor('the mock to count the abort', () => mock.stats.clientAborts === 1);
    expect(mock.stats.completed).toBe(0);

    // The finished stream is forgotten one grace later; then its unread tokens are counted.
    await waitFor('unread tokens to be counted', async () => {
      return (await serverMetric(server, 'tokenstorm_server_upstream_unread_tokens_total')) > 0;
    });
    const unread = await serverMetric(server, 'tokenstorm_server_upstream_unread_tokens_total');
    // ~200 ms of 5 ms tokens were generated with nobody to send them to.
    expect(unread).toBeGreaterThan(10);
    expect(unread).toBeLessThan(2000);
    expect(await serverMetric(server, 'tokenstorm_server_upstream_aborts_total')).toBe(1);
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'client_gone' }),
    ).toBe(1);
    expect(await serverMetric(server, 'tokenstorm_server_streams_total')).toBe(1);
    expect(await serverMetric(server, 'tokenstorm_server_active_streams')).toBe(0);
    expect(server.activeStreams()).toBe(0);
    await waitFor('the upstream request to end', () => server.upstreamInFlight() === 0);
  });

  it('a stream that finished while its client was away is resumed whole; then nothing is unread', async () => {
    const server = await start({ resume_grace_ms: 1000 }, fastMock(1));
    const ac = new AbortController();
    const first = await openStream(
      server.url,
      { prompt: 'back soon', max_tokens: 200 },
      {
        signal: ac.signal,
        onEvent: (_ev, all) => {
          if (all.filter((e) => e.type === 'delta').length === 2) ac.abort();
        },
      },
    );
    const id = first.headers.get('x-stream-id')!;
    const seen = first.events.filter((e) => e.type !== 'error');
    await waitFor('the upstream to complete the stream', () => server.activeStreams() === 0);
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
    ).toBe(1);
    // Resume after the last event this client saw: the rest comes from the finished stream's buffer.
    const rest = await resumeStream(server.url, id, seen.at(-1)!.id);
    expect(rest.status).toBe(200);
    const { deltas } = expectWholeStream([...seen, ...rest.events], id);
    expect(deltas).toBe(200);
    await waitFor('the stream to be forgotten', async () => {
      const res = await fetch(`${server.url}/v1/chat/stream/${id}`);
      await res.body?.cancel();
      return res.status === 404;
    });
    // Every token reached a client (through the resume), so none is counted as unread.
    expect(await serverMetric(server, 'tokenstorm_server_upstream_unread_tokens_total')).toBe(0);
  });

  it('with --resume-grace-ms 0 aborts the upstream at once', async () => {
    const server = await start({ resume_grace_ms: 0 }, fastMock(5));
    const mock = server.mock!;
    const upstreamRes = nextServerResponse(mock);
    const { id, at } = await disconnectAfter(server.url, 2);
    const elapsed = (await closedAt(await upstreamRes)) - at;
    expect(elapsed).toBeLessThan(150);
    await waitFor('the mock to count the abort', () => mock.stats.clientAborts === 1);
    expect(await serverMetric(server, 'tokenstorm_server_upstream_aborts_total')).toBe(1);
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'client_gone' }),
    ).toBe(1);
    // Nothing to resume.
    await waitFor('the stream to be forgotten', async () => {
      const res = await fetch(`${server.url}/v1/chat/stream/${id}`);
      await res.body?.cancel();
      return res.status === 404;
    });
  });

  it('a client that leaves while the upstream is being opened aborts it', async () => {
    const server = await start(
      { resume_grace_ms: 10_000 },
      fastMock(5, { faults: [{ kind: 'slow_headers', delay_ms: 5000, probability: 1 }] }),
    );
    const mock = server.mock!;
    const upstreamRes = nextServerResponse(mock);
    const ac = new AbortController();
    const req = fetch(`${server.url}/v1/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'never mind', max_tokens: 10 }),
      signal: ac.signal,
    });
    const res = await upstreamRes;
    ac.abort();
    await expect(req).rejects.toThrow();
    await closedAt(res);
    await waitFor(
      'the stream slot to be freed',
      () => server.activeStreams() === 0 && server.upstreamInFlight() === 0,
    );
  });
});

describe('cancel', () => {
  it('aborts the upstream even after a garbage collection dropped what the SDK held', async () => {
    // The SDK forwards the stream's abort signal to its request only while the Response it
    // returned is alive; the server keeps none, so the abort must not depend on that.
    const server = await start({}, fastMock(10));
    const mock = server.mock!;
    const upstreamRes = nextServerResponse(mock);
    const ac = new AbortController();
    let id: string | undefined;
    const third = new Promise<void>((resolve) => {
      void openStream(
        server.url,
        { prompt: 'collect me', max_tokens: 2000 },
        {
          signal: ac.signal,
          onEvent: (ev, all) => {
            id ??= ev.id?.split(':')[0];
            if (all.filter((e) => e.type === 'delta').length === 3) resolve();
          },
        },
      ).catch(() => {});
    });
    await third;
    gc();
    gc();
    // FinalizationRegistry callbacks run in a task of their own after the collection.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const answer = await fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST' });
    expect(await answer.json()).toMatchObject({ status: 'cancelled' });
    await closedAt(await upstreamRes);
    await waitFor('the mock to count the abort', () => mock.stats.clientAborts === 1);
    ac.abort();
  });

  it('ends the stream promptly with done/cancelled and aborts the upstream', async () => {
    const server = await start({}, fastMock(10));
    const mock = server.mock!;
    const upstreamRes = nextServerResponse(mock);
    let cancel: Promise<Response> | undefined;
    let cancelledAt = 0;
    const r = await openStream(
      server.url,
      { prompt: 'cancel me', max_tokens: 1000 },
      {
        onEvent: (ev, all) => {
          if (cancel === undefined && all.filter((e) => e.type === 'delta').length === 3) {
            cancelledAt = performance.now();
            const id = ev.id!.split(':')[0]!;
            cancel = fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST' });
          }
        },
      },
    );
    const id = r.headers.get('x-stream-id')!;
    const answer = await cancel!;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ status: 'cancelled', stream_id: id });
    const { done, deltas } = expectWholeStream(r.events, id);
    expect(done.stop_reason).toBe('cancelled');
    expect(deltas).toBeLessThan(50);
    expect(r.events.at(-1)!.at - cancelledAt).toBeLessThan(500);
    await closedAt(await upstreamRes);
    await waitFor('the mock to count the abort', () => mock.stats.clientAborts === 1);
    expect(await serverMetric(server, 'tokenstorm_server_cancels_total')).toBe(1);
    expect(await serverMetric(server, 'tokenstorm_server_upstream_aborts_total')).toBe(1);
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'cancelled' }),
    ).toBe(1);

    const again = await fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({
      status: 'already_finished',
      stream_id: id,
      outcome: 'cancelled',
    });
    expect(await serverMetric(server, 'tokenstorm_server_cancels_total')).toBe(1);
  });

  it('cancels a stream whose client has gone (during the grace); a resume then gets the done', async () => {
    const server = await start({ resume_grace_ms: 10_000 }, fastMock(10));
    const { id } = await disconnectAfter(server.url, 2);
    const res = await fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST' });
    expect(await res.json()).toEqual({ status: 'cancelled', stream_id: id });
    const replay = await fetch(`${server.url}/v1/chat/stream/${id}`);
    const text = await replay.text();
    const done = /event: done\ndata: (.*)\n/.exec(text);
    expect(done).not.toBeNull();
    expect(dataOf({ id, type: 'done', data: done![1]!, at: 0 })).toMatchObject({ stop_reason: 'cancelled' });
    await waitFor('the upstream request to end', () => server.upstreamInFlight() === 0);
  });
});
