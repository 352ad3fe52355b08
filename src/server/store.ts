// Where the reference server keeps what other replicas need to reach a stream: its replay buffer
// (for a resume on another replica) and its owner (for a cancel routed to the replica running the
// upstream request). Every replica keeps its own streams in memory (src/server/stream.ts: the hot
// path is unchanged); a store makes them reachable from elsewhere.
//
//   memory (default): nothing leaves the process; a stream is only found on the replica that
//     started it (one replica, or sticky load balancing).
//   redis (--redis-url): each stream's events are mirrored to a Redis Stream, its owner and
//     principal to a hash, both expiring; a resume on another replica replays and follows the
//     Redis Stream (XREAD BLOCK), a cancel is published to the owner's channel (store-redis.ts).
import type { ServerResponse } from 'node:http';
import type { ServerStream } from './stream.js';

/** A stream found in the store (not on this replica). */
export interface StoredStream {
  id: string;
  principal: string;
  owner: string;
  /** Highest sequence number stored; 0 when none yet. */
  lastSeq: number;
  /** Lowest sequence number still stored (older ones trimmed); lastSeq + 1 when none. */
  firstSeq: number;
  /** The stored events end with a terminal event (done or error). */
  ended: boolean;
}

/** What the owner is told by the replica that serves its stream's client or cancel. */
export type ControlMessage = { op: 'cancel' | 'attach' | 'detach'; id: string };

/** The store could not answer (Redis unreachable): the caller answers 503 store_unavailable. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the stream store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

export interface FollowOptions {
  /** Written before the first event (the `retry:` line). */
  prefix: string;
  heartbeat: string;
  heartbeatMs: number;
}

export interface StreamStore {
  readonly kind: 'memory' | 'redis';
  /** This replica's id (the owner named in the store). */
  readonly replica: string;
  /** New streams may start (their events can be stored). */
  ready(): boolean;
  /** A stream this replica started: make it reachable from other replicas. */
  add(stream: ServerStream): void;
  /** A stream another replica started; undefined when unknown or expired. Throws StoreUnavailableError. */
  find(id: string): Promise<StoredStream | undefined>;
  /**
   * Writes the stored events after `afterSeq` to `res` (headers already sent), then follows new
   * ones until a terminal event or until the client goes. Resolves when the response is over.
   */
  follow(stream: StoredStream, afterSeq: number, res: ServerResponse, opts: FollowOptions): Promise<void>;
  /** Tells a stream's owner; resolves with how many replicas received it (0: the owner is gone). */
  control(owner: string, msg: ControlMessage): Promise<number>;
  close(): Promise<void>;
}

/** The default: streams are only reachable on the replica that runs them. */
export const memoryStore: StreamStore = {
  kind: 'memory',
  replica: 'local',
  ready: () => true,
  add: () => {},
  find: async () => undefined,
  follow: async () => {},
  control: async () => 0,
  close: async () => {},
};
