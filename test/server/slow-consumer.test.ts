// A client that never reads cannot make the server buffer without bound (docs/server.md,
// Backpressure): once its unsent bytes pass --max-buffered-bytes it is disconnected, counted
// as a slow-consumer drop, and its stream lives on detached (resumable) while the replay
// buffer, not the socket, bounds the memory per stream.
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fastMock, serverMetric, useServers, waitFor, within } from '../helpers/server.js';

const start = useServers();

describe('a slow consumer', () => {
  it('is dropped at --max-buffered-bytes; the server never holds more than that for it', async () => {
    const maxBuffered = 32 * 1024;
    const server = await start(
      {
        max_buffered_bytes: maxBuffered,
        replay_buffer_bytes: 256 * 1024,
        max_tokens_limit: 100_000,
        resume_grace_ms: 10_000,
      },
      fastMock(0), // as fast as the mock can: ~7 MB of events
    );
    // Watch the server's side of the connection: how much it has queued in user space. The
    // server writes event bytes to the response's socket (src/server/sink.ts), so watch that.
    let serverRes: ServerResponse | undefined;
    let maxQueued = 0;
    let writes = 0;
    let id: string | undefined;
    const serverClosed = new Promise<void>((resolve) => {
      server.server.once('request', (_req, res: ServerResponse) => {
        serverRes = res;
        const socket = res.socket!;
        const write = socket.write.bind(socket) as (chunk: string | Buffer) => boolean;
        socket.write = ((chunk: string | Buffer) => {
          const ok = write(chunk);
          writes++;
          id ??= /"stream_id":"([^"]+)"/.exec(String(chunk))?.[1];
          maxQueued = Math.max(maxQueued, res.writableLength);
          return ok;
        }) as typeof socket.write;
        res.once('close', () => resolve());
      });
    });

    const body = JSON.stringify({ prompt: 'never read', max_tokens: 100_000 });
    const sock = connect(server.port, '127.0.0.1');
    try {
      sock.write(
        `POST /v1/chat/stream HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      sock.pause(); // and never read again

      await within('the server to hang up on the slow consumer', serverClosed);
      expect(await serverMetric(server, 'tokenstorm_server_slow_consumer_drops_total')).toBe(1);
      expect(await serverMetric(server, 'tokenstorm_server_backpressure_waits_total')).toBeGreaterThanOrEqual(
        1,
      );
      expect(writes).toBeGreaterThan(1);
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(maxBuffered);
      expect(serverRes!.destroyed).toBe(true);

      // The stream was detached, not ended: the upstream runs on and completes it, and it
      // stays resumable. Its replay buffer has evicted the start (memory bounded by
      // --replay-buffer-bytes), but the newest events are there.
      await waitFor('the upstream to finish', () => server.upstreamInFlight() === 0);
      expect(
        await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
      ).toBe(1);
      expect(await serverMetric(server, 'tokenstorm_server_upstream_aborts_total')).toBe(0);
      expect(id).toBeDefined();
      const fromStart = await fetch(`${server.url}/v1/chat/stream/${id}`);
      expect(fromStart.status).toBe(410);
      await fromStart.body?.cancel();
      // meta 1, usage 2, deltas 3…100002, usage 100003, done 100004.
      const tail = await fetch(`${server.url}/v1/chat/stream/${id}`, {
        headers: { 'last-event-id': `${id}:100002` },
      });
      expect(tail.status).toBe(200);
      const text = await tail.text();
      expect(text).toMatch(new RegExp(`^retry: \\d+\n\nid: ${id}:100003\nevent: usage\n`));
      expect(text).toMatch(new RegExp(`id: ${id}:100004\nevent: done\ndata: \\{"stop_reason":"max_tokens"`));
    } finally {
      sock.destroy();
    }
  });
});
