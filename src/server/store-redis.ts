// The Redis stream store (--redis-url): several replicas of the reference server behind a load
// balancer share their streams through Redis, so a client resumes on any replica and a cancel
// reaches the replica that runs the upstream request.
//
// Per stream, under the key prefix (default `tokenstorm:`):
//   s:{id}:ev    a Redis Stream, one entry per event with the entry id `<seq>-0` and fields
//                t (the event type) and e (the event as sent on the wire); XADD MAXLEN ~ trims it
//   s:{id}:meta  a hash: owner (replica id), principal, model
// Both expire: while the stream runs, LIVE_TTL_MS after its latest events; once it has ended,
// after the resume grace (as the owner forgets it). Each replica subscribes to ctl:{replica}
// for cancels and for resumes of its streams served elsewhere (which keep its resume grace off).
//
// Writes are pipelined: the events appended in one turn of the event loop (one upstream chunk,
// for every stream) go to Redis in one round trip. A resume elsewhere replays with XREAD from
// the client's last id and then blocks on XREAD for new entries, on a connection of its own.
import type { ServerResponse } from 'node:http';
import { type ChainableCommander, Redis } from 'ioredis';
import { TokenstormError } from '../errors.js';
import type { Logger } from './log.js';
import type { ControlMessage, FollowOptions, StoredStream, StreamStore } from './store.js';
import { StoreUnavailableError } from './store.js';
import type { ServerStream } from './stream.js';
import type { ReferenceEventType } from './wire.js';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  /** How long an ended stream stays resumable (the server's resume grace). */
  graceMs: number;
  /** Entries kept per stream (approximately: XADD MAXLEN ~). */
  maxEvents: number;
  replica: string;
  log: Logger;
  /** A message for one of this replica's streams. */
  onControl(msg: ControlMessage): void;
  /** A mirror write failed: the stream's events may be incomplete in Redis. */
  onWriteError?(err: Error): void;
}

/** Keys of a running stream live this long after its latest events. */
const LIVE_TTL_MS = 5 * 60_000;
const CONNECT_TIMEOUT_MS = 3000;
/** Entries read per XREAD while replaying. */
const READ_COUNT = 256;
const TERMINAL = new Set<string>(['done', 'error']);

function client(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    // Fail at once while Redis is unreachable, never queue: callers answer 503 store_unavailable.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

export async function connectRedisStore(opts: RedisStoreOptions): Promise<StreamStore> {
  const main = client(opts.url);
  const sub = client(opts.url);
  // Errors are reported through command failures and `ready()`; without a listener ioredis logs them.
  let lastError = '';
  const onError = (err: Error) => {
    if (err.message !== lastError) opts.log.warn('redis_error', { error: err.message });
    lastError = err.message;
  };
  main.on('error', onError);
  sub.on('error', onError);
  main.on('ready', () => {
    if (lastError !== '') opts.log.info('redis_ready', {});
    lastError = '';
  });
  const channel = `${opts.prefix}ctl:${opts.replica}`;
  try {
    await Promise.all([main.connect(), sub.connect()]);
    await sub.subscribe(channel);
  } catch (err) {
    main.disconnect();
    sub.disconnect();
    throw new TokenstormError(
      'E_STORE_UNAVAILABLE',
      `serve cannot reach Redis at ${redact(opts.url)}: ${(err as Error).message}`,
    );
  }
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    try {
      opts.onControl(JSON.parse(text) as ControlMessage);
    } catch {
      opts.log.warn('redis_bad_control_message', { text: text.slice(0, 200) });
    }
  });
  return new RedisStreamStore(main, sub, opts);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

class RedisStreamStore implements StreamStore {
  readonly kind = 'redis';
  readonly replica: string;
  private pipe: ChainableCommander | undefined;
  /** Streams written in the current pipeline → whether they ended (their keys' expiry). */
  private touched = new Map<string, boolean>();
  private readonly followers = new Set<Redis>();

  constructor(
    private readonly main: Redis,
    private readonly sub: Redis,
    private readonly opts: RedisStoreOptions,
  ) {
    this.replica = opts.replica;
  }

  private ev(id: string): string {
    return `${this.opts.prefix}s:${id}:ev`;
  }

  private meta(id: string): string {
    return `${this.opts.prefix}s:${id}:meta`;
  }

  ready(): boolean {
    return this.main.status === 'ready';
  }

  add(s: ServerStream): void {
    this.batch().hset(this.meta(s.id), 'owner', this.replica, 'principal', s.principal, 'model', s.model);
    this.touched.set(s.id, false);
    s.onAppend = (seq, type, event) => this.append(s.id, seq, type, event);
  }

  private append(id: string, seq: number, type: ReferenceEventType, event: string): void {
    this.batch().xadd(this.ev(id), 'MAXLEN', '~', this.opts.maxEvents, `${seq}-0`, 't', type, 'e', event);
    if (TERMINAL.has(type)) this.touched.set(id, true);
    else if (!this.touched.has(id)) this.touched.set(id, false);
  }

  /** The pipeline of this turn of the event loop, sent at its end. */
  private batch(): ChainableCommander {
    if (this.pipe === undefined) {
      this.pipe = this.main.pipeline();
      setImmediate(() => this.flush());
    }
    return this.pipe;
  }

  private flush(): void {
    const pipe = this.pipe!;
    this.pipe = undefined;
    for (const [id, ended] of this.touched) {
      // PEXPIRE 0 would delete at once: an ended stream with no grace is kept 1 ms.
      const ttl = ended ? Math.max(1, this.opts.graceMs) : this.opts.graceMs + LIVE_TTL_MS;
      pipe.pexpire(this.ev(id), ttl).pexpire(this.meta(id), ttl);
    }
    this.touched.clear();
    pipe.exec().then(
      (results) => {
        const failed = results?.find(([err]) => err !== null)?.[0];
        if (failed) this.writeFailed(failed);
      },
      (err: Error) => this.writeFailed(err),
    );
  }

  private writeFailed(err: Error): void {
    this.opts.log.warn('redis_write_failed', { error: err.message });
    this.opts.onWriteError?.(err);
  }

  async find(id: string): Promise<StoredStream | undefined> {
    try {
      const [meta, last, first] = await Promise.all([
        this.main.hgetall(this.meta(id)),
        this.main.xrevrange(this.ev(id), '+', '-', 'COUNT', 1),
        this.main.xrange(this.ev(id), '-', '+', 'COUNT', 1),
      ]);
      if (meta['owner'] === undefined || meta['principal'] === undefined) return undefined;
      const lastSeq = last[0] ? seqOf(last[0][0]) : 0;
      return {
        id,
        owner: meta['owner'],
        principal: meta['principal'],
        lastSeq,
        firstSeq: first[0] ? seqOf(first[0][0]) : lastSeq + 1,
        ended: last[0] !== undefined && TERMINAL.has(field(last[0][1], 't')),
      };
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async follow(
    stream: StoredStream,
    afterSeq: number,
    res: ServerResponse,
    opts: FollowOptions,
  ): Promise<void> {
    const reader = this.main.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    reader.on('error', () => {}); // the read that fails ends the response
    this.followers.add(reader);
    const key = this.ev(stream.id);
    let cursor = `${afterSeq}-0`;
    let prefix = opts.prefix;
    let closed = false;
    res.once('close', () => {
      closed = true;
      reader.disconnect();
    });
    const blockMs = Math.max(100, Math.min(opts.heartbeatMs, 5000));
    try {
      for (;;) {
        const got = (await reader.xread('COUNT', READ_COUNT, 'BLOCK', blockMs, 'STREAMS', key, cursor)) as
          | [string, [string, string[]][]][]
          | null;
        if (closed) return;
        const entries = got?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          // Nothing new for a while: keep the connection alive, unless the stream has expired
          // (its owner is gone), which ends the response so the client sees it truncated.
          if ((await this.main.exists(key)) === 0) break;
          res.write(opts.heartbeat);
          continue;
        }
        let chunk = prefix;
        prefix = '';
        let terminal = false;
        for (const [entryId, fields] of entries) {
          chunk += field(fields, 'e');
          cursor = entryId;
          if (TERMINAL.has(field(fields, 't'))) terminal = true;
        }
        const ok = res.write(chunk);
        if (terminal) break;
        if (!ok)
          await new Promise<void>((r) =>
            res.writableNeedDrain ? res.once('drain', r).once('close', r) : r(),
          );
        if (closed) return;
      }
      if (prefix !== '') res.write(prefix);
      res.end();
    } catch (err) {
      // Redis failed while following: the client sees the stream cut and may resume again.
      if (!closed) {
        this.opts.log.warn('redis_follow_failed', { id: stream.id, error: (err as Error).message });
        res.destroy();
      }
    } finally {
      this.followers.delete(reader);
      reader.disconnect();
    }
  }

  async control(owner: string, msg: ControlMessage): Promise<number> {
    try {
      return await this.main.publish(`${this.opts.prefix}ctl:${owner}`, JSON.stringify(msg));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  async close(): Promise<void> {
    if (this.pipe !== undefined) this.flush();
    for (const r of this.followers) r.disconnect();
    this.sub.disconnect();
    // QUIT lets the last pipeline finish; when Redis is gone, drop the connection.
    await this.main.quit().catch(() => this.main.disconnect());
  }
}

function seqOf(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}

function field(fields: string[], name: string): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
  return '';
}
