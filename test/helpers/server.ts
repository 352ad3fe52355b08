// Test helpers for the reference server: start servers that are always shut down, read its
// SSE streams with ids and arrival times, check a reassembled stream against its `done`
// checksum, read Prometheus metrics, and poll for a condition with a deadline.
// The SSE splitting (./stream.ts) is deliberately tiny and independent of src/sse.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, expect } from 'vitest';
import type { MockConfigInput } from '../../src/mock/config.js';
import { type ReferenceServer, startReferenceServer } from '../../src/server/app.js';
import type { ServeConfigInput } from '../../src/server/config.js';
import { readSseBlocks } from './stream.js';

/** Settings every test server starts from: any free port, no logs, no drain wait at teardown. */
export const BASE_CONFIG: ServeConfigInput = { port: 0, log_level: 'silent', drain_timeout_ms: 0 };

/** A fast, deterministic in-process mock: 2 ms to the first token, then one token per `itlMs`. */
export function fastMock(itlMs = 1, extra: MockConfigInput = {}): MockConfigInput {
  return { seed: 7, latency: { ttft_base_ms: 2, itl_ms: { type: 'fixed', mean: itlMs } }, ...extra };
}

/**
 * Registers an afterEach that shuts down every server started through the returned
 * function, so a failing test never leaves a listener (or its in-process mock) behind.
 */
export function useServers(): (
  config?: ServeConfigInput,
  mock?: MockConfigInput,
) => Promise<ReferenceServer> {
  const started = new Set<ReferenceServer>();
  afterEach(async () => {
    const all = [...started];
    started.clear();
    await Promise.all(all.map((s) => s.shutdown()));
  });
  return async (config = {}, mock = fastMock()) => {
    const s = await startReferenceServer({ config: { ...BASE_CONFIG, ...config }, mock });
    started.add(s);
    return s;
  };
}

export interface SseEvent {
  /** The `id:` field of this event (undefined when it had none). */
  id: string | undefined;
  /** The `event:` field; `message` when absent. */
  type: string;
  data: string;
  /** performance.now() when the chunk completing this event arrived. */
  at: number;
}

export interface SseResult {
  status: number;
  headers: Headers;
  /** The `retry:` values received. */
  retries: number[];
  events: SseEvent[];
  /** SSE comment lines (without the leading colon), e.g. ` hb` heartbeats. */
  comments: string[];
  /** The whole body as text. */
  text: string;
  /** `end`: the body ended cleanly; `error`: reading it failed (reset, abort). */
  outcome: 'end' | 'error';
  error?: unknown;
}

export interface ReadOptions {
  /** Called as each event arrives; abort the request from here to disconnect mid-stream. */
  onEvent?: (ev: SseEvent, all: readonly SseEvent[]) => void;
}

/** Reads an SSE (or any) response body to its end, splitting events as they arrive. */
export async function readSse(res: Response, opts: ReadOptions = {}): Promise<SseResult> {
  const out: SseResult = {
    status: res.status,
    headers: res.headers,
    retries: [],
    events: [],
    comments: [],
    text: '',
    outcome: 'end',
  };
  if (!res.body) return out;
  const read = await readSseBlocks(res.body, (block, at) => {
    out.comments.push(...block.comments);
    out.retries.push(...block.retries);
    if (!block.dispatches) return;
    const ev: SseEvent = { id: block.id, type: block.event ?? 'message', data: block.data, at };
    out.events.push(ev);
    opts.onEvent?.(ev, out.events);
  });
  out.text = read.text;
  if (read.outcome === 'error') {
    out.outcome = 'error';
    out.error = read.error;
  }
  return out;
}

export interface StreamOptions extends ReadOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** POST /v1/chat/stream with a JSON body, read to the end. */
export async function openStream(
  baseUrl: string,
  body: unknown,
  opts: StreamOptions = {},
): Promise<SseResult> {
  const res = await fetch(`${baseUrl}/v1/chat/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: opts.signal ?? null,
  });
  return readSse(res, opts);
}

/** GET /v1/chat/stream/:id (resume), with Last-Event-ID when given, read to the end. */
export async function resumeStream(
  baseUrl: string,
  streamId: string,
  lastEventId: string | undefined,
  opts: StreamOptions = {},
): Promise<SseResult> {
  const res = await fetch(`${baseUrl}/v1/chat/stream/${streamId}`, {
    headers: { ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }), ...opts.headers },
    signal: opts.signal ?? null,
  });
  return readSse(res, opts);
}

export interface DonePayload {
  stop_reason: string | null;
  output_chars: number;
  output_tokens: number;
  sha256: string;
}

export interface Assembled {
  text: string;
  deltas: number;
  done: DonePayload;
}

/**
 * Checks that `events` (possibly gathered over several connections) are one whole stream:
 * ids `<streamId>:1…N` contiguous with no gap and no duplicate, `meta` first, exactly one
 * terminal `done` last, and the reassembled text matching the done checksum and length.
 */
export function expectWholeStream(events: readonly SseEvent[], streamId: string): Assembled {
  expect(events.length).toBeGreaterThan(1);
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `${streamId}:${i + 1}`));
  expect(events[0]!.type).toBe('meta');
  expect(JSON.parse(events[0]!.data)).toMatchObject({ stream_id: streamId });
  const terminals = events.filter((e) => e.type === 'done' || e.type === 'error');
  expect(terminals.map((e) => e.type)).toEqual(['done']);
  expect(events.at(-1)!.type).toBe('done');
  const deltas = events
    .filter((e) => e.type === 'delta')
    .map((e) => (JSON.parse(e.data) as { text: string }).text);
  const text = deltas.join('');
  const done = JSON.parse(events.at(-1)!.data) as DonePayload;
  expect(done.sha256).toBe(sha256(text));
  expect(done.output_chars).toBe(text.length);
  return { text, deltas: deltas.length, done };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function dataOf<T = Record<string, unknown>>(ev: SseEvent | undefined): T {
  if (ev === undefined) throw new Error('no such event');
  return JSON.parse(ev.data) as T;
}

/** The sum of every sample of `name` (as exported) whose labels include `labels`; 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      have.set(l[1]!, l[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Scrapes the server's metrics and returns one value (see metricValue). */
export async function serverMetric(
  server: ReferenceServer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metricValue(await server.metrics.endpoint.scrape(), name, labels);
}

/**
 * Polls `check` every 5 ms until it returns true; fails with `what` after `timeoutMs`.
 * For conditions with no event to await (a counter reaching a value).
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with `promise`, or fails with `what` after `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive pool), read to the end. */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A JSON request/response helper for the refusal paths. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Headers;
  json: { error?: Record<string, unknown> } & Record<string, unknown>;
}> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? {} : JSON.parse(text) };
}
