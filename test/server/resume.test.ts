// Resume (docs/server.md, GET /v1/chat/stream/:id): the real `eventsource` client reconnecting
// by itself with Last-Event-ID after a forced disconnect, a second connection replacing the
// first, the replay buffer's limits (410), and bad Last-Event-IDs (400).
import type { ServerResponse } from 'node:http';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { mockText } from '../../src/mock/text.js';
import { startCutProxy } from '../helpers/proxy.js';
import {
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  resumeStream,
  type SseEvent,
  serverMetric,
  useServers,
  waitFor,
  within,
} from '../helpers/server.js';
import { deferred } from '../helpers/stream.js';

const start = useServers();

const seqOf = (ev: SseEvent | undefined) => Number(ev?.id?.split(':')[1]);

describe('resume with the eventsource package', () => {
  it('reconnects by itself with Last-Event-ID after a cut: nothing missing, nothing duplicated', async () => {
    const server = await start({ retry_ms: 20, resume_grace_ms: 5000 }, fastMock(8));
    const proxy = await startCutProxy(server.port);
    let es: EventSource | undefined;
    try {
      // 1. Start the stream with a POST, read three deltas, then drop that connection.
      const ac = new AbortController();
      const first = await openStream(
        server.url,
        { prompt: 'resume me', max_tokens: 60 },
        {
          signal: ac.signal,
          onEvent: (_ev, all) => {
            if (all.filter((e) => e.type === 'delta').length === 3) ac.abort();
          },
        },
      );
      expect(first.outcome).toBe('error'); // we aborted it mid-stream
      const id = first.headers.get('x-stream-id')!;
      const lastId = first.events.at(-1)!.id!;
      // meta, usage, 3 deltas, numbered from 1 with no gap (more deltas when later ones shared the
      // TCP read with the third: the abort takes effect after the whole chunk was decoded).
      expect(lastId.startsWith(`${id}:`)).toBe(true);
      expect(first.events.length).toBeGreaterThanOrEqual(5);
      expect(first.events.map(seqOf)).toEqual(first.events.map((_, i) => i + 1));

      // 2. EventSource takes over through the proxy. Its first request carries our
      //    Last-Event-ID; after the cut it must send its own.
      const events: SseEvent[] = [...first.events];
      const sentLastIds: (string | null)[] = [];
      const finished = deferred();
      let connectionErrors = 0;
      let deltasOnConnection = 0;
      let errorsAtDone = -1;
      let lastSeenAtCut: string | undefined;
      es = new EventSource(`${proxy.url}/v1/chat/stream/${id}`, {
        fetch: (input, init) => {
          const headers = new Headers({ 'last-event-id': lastId });
          for (const [k, v] of Object.entries(init.headers)) headers.set(k, v);
          sentLastIds.push(headers.get('last-event-id'));
          return fetch(input, { ...init, headers });
        },
      });
      const onMessage = (e: MessageEvent) => {
        events.push({ id: e.lastEventId, type: e.type, data: String(e.data), at: performance.now() });
        if (e.type === 'delta' && connectionErrors === 0 && ++deltasOnConnection === 5) proxy.cut();
        if (e.type === 'done' || e.type === 'error') {
          errorsAtDone = connectionErrors;
          finished.resolve();
        }
      };
      for (const t of ['meta', 'usage', 'delta', 'done']) es.addEventListener(t, onMessage);
      es.addEventListener('error', (e) => {
        if (e instanceof MessageEvent) onMessage(e);
        else if (++connectionErrors === 1) lastSeenAtCut = events.at(-1)!.id;
      });
      await within('EventSource to receive the terminal event', finished.promise);
      es.close();

      // 3. One whole stream across three connections, seq contiguous, checksum right.
      const { text, deltas } = expectWholeStream(events, id);
      expect(deltas).toBe(60);
      expect(text).toBe(mockText(7, 'user:resume me\n', 60));
      expect(errorsAtDone).toBe(1); // the cut happened mid-stream, and only once
      expect(sentLastIds).toHaveLength(2);
      expect(sentLastIds[0]).toBe(lastId);
      // EventSource's own Last-Event-ID: the last event it saw before the cut.
      expect(sentLastIds[1]).toBe(lastSeenAtCut);
      expect(seqOf(events.find((e) => e.id === lastSeenAtCut))).toBeGreaterThanOrEqual(
        seqOf(first.events.at(-1)) + 5,
      );
      expect(proxy.accepted).toBe(2);
      expect(await serverMetric(server, 'tokenstorm_server_resumes_total')).toBe(2);
      expect(
        await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
      ).toBe(1);
    } finally {
      es?.close();
      await proxy.close();
    }
  });
});

describe('resume', () => {
  it.each([
    [10_000, 'with a resume grace'],
    [0, 'with --resume-grace-ms 0'],
  ])('a second connection replaces the first and the stream goes on (%i ms, %s)', async (grace) => {
    const server = await start({ resume_grace_ms: grace }, fastMock(8));
    let second: Promise<Awaited<ReturnType<typeof resumeStream>>> | undefined;
    let lastId = '';
    const first = await openStream(
      server.url,
      { prompt: 'replace me', max_tokens: 40 },
      {
        onEvent: (ev, all) => {
          if (second === undefined && all.filter((e) => e.type === 'delta').length === 3) {
            lastId = ev.id!;
            second = resumeStream(server.url, ev.id!.split(':')[0]!, ev.id);
          }
        },
      },
    );
    const id = first.headers.get('x-stream-id')!;
    expect(second).toBeDefined();
    const r2 = await second!;
    expect(r2.status).toBe(200);
    expect(r2.headers.get('x-stream-id')).toBe(id);
    // The first connection was closed by the server without a terminal event.
    expect(first.events.some((e) => e.type === 'done' || e.type === 'error')).toBe(false);
    const upTo = first.events.findIndex((e) => e.id === lastId) + 1;
    const all = [...first.events.slice(0, upTo), ...r2.events];
    const { text } = expectWholeStream(all, id);
    expect(text).toBe(mockText(7, 'user:replace me\n', 40));
    // What the first connection got past lastId is the same as what the second replayed.
    const extra = first.events.slice(upTo);
    expect(extra).toEqual(r2.events.slice(0, extra.length).map((e, i) => ({ ...e, at: extra[i]!.at })));
    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
    ).toBe(1);
    expect(await serverMetric(server, 'tokenstorm_server_upstream_aborts_total')).toBe(0);
  });

  it('replays a finished stream within the grace, from Last-Event-ID or ?last_event_id, or from the start', async () => {
    const server = await start({ resume_grace_ms: 10_000 });
    const r = await openStream(server.url, { prompt: 'finished', max_tokens: 10 });
    const id = r.headers.get('x-stream-id')!;
    expectWholeStream(r.events, id);

    const tail = await resumeStream(server.url, id, `${id}:8`);
    expect(tail.status).toBe(200);
    expect(tail.events.map((e) => e.id)).toEqual(r.events.slice(8).map((e) => e.id));
    expect(tail.events.map((e) => e.data)).toEqual(r.events.slice(8).map((e) => e.data));

    const query = await fetch(
      `${server.url}/v1/chat/stream/${id}?last_event_id=${encodeURIComponent(`${id}:12`)}`,
    );
    expect(query.status).toBe(200);
    const qText = await query.text();
    expect(qText).toContain(`id: ${id}:13\nevent: usage`);
    expect(qText).not.toContain(`id: ${id}:12\n`);

    const whole = await resumeStream(server.url, id, undefined);
    expect(whole.events).toEqual(r.events.map((e, i) => ({ ...e, at: whole.events[i]!.at })));

    // Resuming at the very end sends nothing but ends the response.
    const none = await resumeStream(server.url, id, r.events.at(-1)!.id);
    expect(none.status).toBe(200);
    expect(none.events).toEqual([]);
    expect(none.outcome).toBe('end');
  });

  it('a large replay is written in bounded pieces, and arrives whole', async () => {
    const server = await start({ resume_grace_ms: 10_000, max_tokens_limit: 10_000 }, fastMock(0));
    const r = await openStream(server.url, { prompt: 'a long one', max_tokens: 8000 });
    const id = r.headers.get('x-stream-id')!;
    expectWholeStream(r.events, id);
    // Watch the socket of the resume request's response: no single write of the whole backlog.
    const sizes: number[] = [];
    server.server.once('request', (_req, res: ServerResponse) => {
      const socket = res.socket!;
      const write = socket.write.bind(socket) as (chunk: string | Buffer) => boolean;
      socket.write = ((chunk: string | Buffer) => {
        sizes.push(Buffer.byteLength(chunk));
        return write(chunk);
      }) as typeof socket.write;
    });
    const whole = await resumeStream(server.url, id, undefined);
    expect(whole.events).toEqual(r.events.map((e, i) => ({ ...e, at: whole.events[i]!.at })));
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(400 * 1024); // ~8000 events of ~60 bytes
    expect(sizes.length).toBeGreaterThan(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65 * 1024);
  });

  it('a finished stream is forgotten after the grace: 404', async () => {
    const server = await start({ resume_grace_ms: 50 });
    const r = await openStream(server.url, { prompt: 'forget me', max_tokens: 3 });
    const id = r.headers.get('x-stream-id')!;
    expectWholeStream(r.events, id);
    await waitFor('the stream to be forgotten', async () => {
      const res = await fetch(`${server.url}/v1/chat/stream/${id}`);
      await res.body?.cancel();
      return res.status === 404;
    });
    const res = await fetch(`${server.url}/v1/chat/stream/${id}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'stream_not_found' } });
  });

  it('410 replay_expired when the events after Last-Event-ID were evicted from the replay buffer', async () => {
    const server = await start({ replay_buffer_bytes: 400 });
    const r = await openStream(server.url, { prompt: 'evict', max_tokens: 50 });
    const id = r.headers.get('x-stream-id')!;
    expectWholeStream(r.events, id);
    for (const last of [`${id}:1`, undefined]) {
      const res = await fetch(`${server.url}/v1/chat/stream/${id}`, {
        headers: last ? { 'last-event-id': last } : {},
      });
      expect(res.status).toBe(410);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toMatchObject({ error: { type: 'replay_expired' } });
    }
    // The tail is still there: the last event before done can be named.
    const tail = await resumeStream(server.url, id, r.events.at(-2)!.id);
    expect(tail.status).toBe(200);
    expect(tail.events.map((e) => e.type)).toEqual(['done']);
    expect(dataOf(tail.events[0])).toEqual(dataOf(r.events.at(-1)));
    expect(
      await serverMetric(server, 'tokenstorm_server_rejected_requests_total', {
        http_response_status_code: '410',
      }),
    ).toBe(2);
  });

  it("400 invalid_last_event_id for another stream's id, a malformed id, or an event not yet sent", async () => {
    const server = await start({ resume_grace_ms: 10_000 });
    const a = await openStream(server.url, { prompt: 'a', max_tokens: 3 });
    const b = await openStream(server.url, { prompt: 'b', max_tokens: 3 });
    const idA = a.headers.get('x-stream-id')!;
    const idB = b.headers.get('x-stream-id')!;
    for (const bad of [
      `${idB}:2`,
      'garbage',
      `${idA}:x`,
      `${idA}:-1`,
      `${idA}:${seqOf(a.events.at(-1)) + 1}`,
    ]) {
      const res = await fetch(`${server.url}/v1/chat/stream/${idA}`, { headers: { 'last-event-id': bad } });
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_last_event_id' } });
    }
  });
});
