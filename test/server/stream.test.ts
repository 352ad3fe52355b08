// A whole stream through the reference server from the in-process mock: the wire format of
// docs/server.md (headers, retry, ids, event order), the done checksum, and the text the mock
// generated; heartbeats during an upstream stall; batched writes; backpressure.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../src/mock/requests.js';
import { mockText } from '../../src/mock/text.js';
import {
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  serverMetric,
  sha256,
  useServers,
  waitFor,
} from '../helpers/server.js';

const start = useServers();

describe('a stream through the reference server', () => {
  it('has the documented headers, retry, contiguous ids, event order, and the mock text', async () => {
    const server = await start({ retry_ms: 1234, default_model: 'claude-test-model' });
    const messages = [
      { role: 'user', content: 'First question?' },
      { role: 'assistant', content: 'An answer.' },
      { role: 'user', content: 'And a second, with ünïcödé.' },
    ];
    const r = await openStream(server.url, { messages, system: 'Be brief.', max_tokens: 40 });

    expect(r.status).toBe(200);
    expect(r.outcome).toBe('end');
    expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-accel-buffering')).toBe('no');
    const id = r.headers.get('x-stream-id')!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 random bits, base64url
    expect(r.text.startsWith('retry: 1234\n\n')).toBe(true);
    expect(r.retries).toEqual([1234]);

    const { text, deltas, done } = expectWholeStream(r.events, id);
    const types = r.events.map((e) => e.type);
    expect(types).toEqual(['meta', 'usage', ...Array<string>(40).fill('delta'), 'usage', 'done']);
    expect(dataOf(r.events[0])).toEqual({ stream_id: id, model: 'claude-test-model' });

    // The prompt key the mock seeds its text from (src/mock/requests.ts promptOf).
    const prompt = `system:Be brief.\n${messages.map((m) => `${m.role}:${m.content}\n`).join('')}`;
    expect(text).toBe(mockText(7, prompt, 40));
    expect(deltas).toBe(40);
    expect(done).toEqual({
      stop_reason: 'max_tokens',
      output_chars: text.length,
      output_tokens: 40,
      sha256: sha256(text),
    });
    expect(dataOf(r.events.at(-2))).toEqual({ input_tokens: estimateTokens(prompt), output_tokens: 40 });

    expect(
      await serverMetric(server, 'tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }),
    ).toBe(1);
    expect(server.activeStreams()).toBe(0);
    await waitFor('the upstream request to end', () => server.upstreamInFlight() === 0);
  });

  it('`prompt` is one user message, and two identical requests get identical text', async () => {
    const server = await start();
    const a = await openStream(server.url, { prompt: 'same prompt', max_tokens: 12 });
    const b = await openStream(server.url, { prompt: 'same prompt', max_tokens: 12 });
    const ta = expectWholeStream(a.events, a.headers.get('x-stream-id')!).text;
    const tb = expectWholeStream(b.events, b.headers.get('x-stream-id')!).text;
    expect(ta).toBe(mockText(7, 'user:same prompt\n', 12));
    expect(tb).toBe(ta);
    expect(a.headers.get('x-stream-id')).not.toBe(b.headers.get('x-stream-id'));
  });

  it('an upstream end_turn shorter than max_tokens is passed on as the stop reason', async () => {
    const server = await start({}, fastMock(1, { output_tokens: { type: 'fixed', mean: 5 } }));
    const r = await openStream(server.url, { prompt: 'short', max_tokens: 50 });
    const { done, deltas } = expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    expect(deltas).toBe(5);
    expect(done.stop_reason).toBe('end_turn');
  });
});

describe('heartbeats, batching and backpressure', () => {
  it('sends `: hb` comments while the upstream stalls, and the stream still completes', async () => {
    const server = await start(
      { heartbeat_ms: 20 },
      fastMock(1, { faults: [{ kind: 'stall', after_tokens: 3, duration_ms: 250, probability: 1 }] }),
    );
    const r = await openStream(server.url, { prompt: 'stall please', max_tokens: 8 });
    const id = r.headers.get('x-stream-id')!;
    expectWholeStream(r.events, id);
    const hb = r.comments.filter((c) => c === ' hb');
    expect(hb.length).toBeGreaterThanOrEqual(3);
    expect(r.comments.length).toBe(hb.length);
    // Heartbeats only in the silence: between the third and the fourth delta.
    const third = r.text.indexOf(`id: ${id}:5\n`);
    const fourth = r.text.indexOf(`id: ${id}:6\n`);
    expect(r.text.slice(0, third)).not.toContain(': hb');
    expect(r.text.slice(third, fourth)).toContain(': hb\n\n');
    expect(await serverMetric(server, 'tokenstorm_server_heartbeats_total')).toBe(hb.length);
  });

  it('no heartbeat is sent to a stream that keeps writing', async () => {
    const server = await start({ heartbeat_ms: 200 });
    const r = await openStream(server.url, { prompt: 'busy', max_tokens: 60 });
    expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    expect(r.comments).toEqual([]);
    expect(await serverMetric(server, 'tokenstorm_server_heartbeats_total')).toBe(0);
  });

  it('with --flush-interval-ms every event still arrives, in order, in fewer writes', async () => {
    const server = await start({ flush_interval_ms: 40 });
    const r = await openStream(server.url, { prompt: 'batch me', max_tokens: 150 });
    const id = r.headers.get('x-stream-id')!;
    const { text, deltas } = expectWholeStream(r.events, id);
    expect(deltas).toBe(150);
    expect(text).toBe(mockText(7, 'user:batch me\n', 150));
    // ~150 ms of tokens in 40 ms batches: events arrive in a handful of chunks, not one each.
    const arrivals = new Set(r.events.map((e) => e.at)).size;
    expect(arrivals).toBeLessThan(r.events.length / 5);
  });

  it('a reader that pauses makes the server wait for drain (counted), and loses nothing', async () => {
    // ~10 MB of events: more than the kernel's socket buffers take for a reader that never
    // read, so the server's writes really are refused (the replay buffer holds it all).
    const server = await start(
      {
        max_tokens_limit: 100_000,
        max_buffered_bytes: 64 * 1024 * 1024,
        replay_buffer_bytes: 64 * 1024 * 1024,
      },
      fastMock(0),
    );
    const tokens = 100_000;
    const body = JSON.stringify({ prompt: 'pause', max_tokens: tokens });
    const sock = connect(server.port, '127.0.0.1');
    try {
      sock.write(
        `POST /v1/chat/stream HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      sock.pause();
      await waitFor('a backpressure wait', async () => {
        return (await serverMetric(server, 'tokenstorm_server_backpressure_waits_total')) >= 1;
      });
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      const ended = new Promise<void>((resolve) => sock.once('end', resolve));
      sock.resume();
      await ended;
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, headEnd).toString('latin1');
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      const id = /x-stream-id: (\S+)/i.exec(head)![1]!;
      const sse = dechunk(raw.subarray(headEnd + 4));
      const events = [...sse.matchAll(/id: (\S+)\nevent: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({
        id: m[1],
        type: m[2]!,
        data: m[3]!,
        at: 0,
      }));
      const { text, deltas } = expectWholeStream(events, id);
      expect(deltas).toBe(tokens);
      expect(text).toBe(mockText(7, 'user:pause\n', tokens));
      expect(await serverMetric(server, 'tokenstorm_server_slow_consumer_drops_total')).toBe(0);
    } finally {
      sock.destroy();
    }
  });
});

/** Decodes an HTTP/1.1 chunked body (sizes are in bytes, so on the bytes). */
function dechunk(body: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}
