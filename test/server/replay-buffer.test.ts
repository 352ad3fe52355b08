// The replay buffer of one stream (src/server/stream.ts), without sockets: a finished
// stream's events are packed compactly and re-encoded on replay, and what a resuming client
// gets must be byte for byte what a live client got, from any point, with or without
// evicted events, with unread-token accounting intact.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ServerStream, type StreamHooks } from '../../src/server/stream.js';

/** A response without a socket: the stream writes through res.write(), recorded here. */
function fakeResponse(): { res: ServerResponse; out: () => string; ended: () => boolean } {
  const ee = new EventEmitter();
  let out = '';
  let ended = false;
  const res = Object.assign(ee, {
    socket: null,
    writableLength: 0,
    get writableEnded() {
      return ended;
    },
    write(chunk: string) {
      out += chunk;
      return true;
    },
    end() {
      ended = true;
    },
    destroy() {
      ee.emit('close');
    },
  });
  return { res: res as unknown as ServerResponse, out: () => out, ended: () => ended };
}

const hooks: StreamHooks = {
  onBackpressure() {},
  onSlowConsumer() {},
  onFirstToken() {},
  onTerminal() {},
  onClientGone() {},
  onDirty() {},
};

const TEXTS = ['Hello', ' "quoted"', ' naïve ☃', ' line\nbreak', ' tab\t', '', ' 🎉', ' end'];

/** Runs a stream to its end with a live client; returns the stream and what the client got. */
function finishedStream(replayBytes: number): { s: ServerStream; live: string } {
  const s = new ServerStream(
    'abcDEF123_-x',
    'p',
    'model-"x"',
    { replayBytes, maxBufferedBytes: 1e9 },
    hooks,
    0,
  );
  const live = fakeResponse();
  s.meta();
  s.attach(live.res, 0, false);
  s.usage(12, 1);
  for (let i = 0; i < 40; i++) s.delta(TEXTS[i % TEXTS.length]! || 'x', i);
  s.usage(undefined, 40);
  s.done('end_turn', 'completed', 100);
  expect(live.ended()).toBe(true);
  return { s, live: live.out() };
}

/** The events of an SSE text, each with its seq. */
function events(text: string): { seq: number; raw: string }[] {
  return [...text.matchAll(/id: [^:\n]+:(\d+)\n[\s\S]*?\n\n/g)].map((m) => ({
    seq: Number(m[1]),
    raw: m[0],
  }));
}

describe('the replay buffer of a finished stream', () => {
  it('replays exactly what was sent live, from every point', () => {
    const { s, live } = finishedStream(1 << 20);
    const all = events(live);
    expect(all).toHaveLength(44); // meta, usage, 40 deltas, usage, done
    expect(s.oldestResumableSeq).toBe(0);
    for (let after = 0; after <= all.length; after++) {
      const r = fakeResponse();
      s.attach(r.res, after, false, 'retry: 5\n\n');
      const expected = all
        .filter((e) => e.seq > after)
        .map((e) => e.raw)
        .join('');
      expect(r.out()).toBe(`retry: 5\n\n${expected}`);
      expect(r.ended()).toBe(true);
    }
  });

  it('after evictions, replays what is left, with the right ids', () => {
    const { s, live } = finishedStream(1200);
    const all = events(live);
    const oldest = s.oldestResumableSeq;
    expect(oldest).toBeGreaterThan(5);
    const r = fakeResponse();
    s.attach(r.res, oldest, false);
    expect(r.out()).toBe(
      all
        .filter((e) => e.seq > oldest)
        .map((e) => e.raw)
        .join(''),
    );
  });

  it('counts tokens a replay delivered', () => {
    const s = new ServerStream('id1', 'p', 'm', { replayBytes: 1 << 20, maxBufferedBytes: 1e9 }, hooks, 0);
    s.meta();
    for (let i = 0; i < 10; i++) s.delta(`t${i}`, i); // seq 2…11, no client: all unread
    s.done('end_turn', 'completed', 20);
    expect(s.unreadTokens).toBe(10);
    const r = fakeResponse();
    s.attach(r.res, 5, false); // after seq 5: deltas from seq 6 on
    expect(s.unreadTokens).toBe(0);
    const part = new ServerStream('id2', 'p', 'm', { replayBytes: 1 << 20, maxBufferedBytes: 1e9 }, hooks, 0);
    part.meta();
    for (let i = 0; i < 10; i++) part.delta(`t${i}`, i);
    part.done('end_turn', 'completed', 20);
    const first = fakeResponse();
    // Ends the response at once: it is attached to a finished stream with nothing left after 12.
    part.attach(first.res, 12, false);
    expect(part.unreadTokens).toBe(10);
  });
});
