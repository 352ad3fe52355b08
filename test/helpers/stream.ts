// Test helpers for talking to the mock over real HTTP with node's fetch (undici): one
// request, its headers, and every SSE event with its arrival time (performance.now()).
// The SSE splitting here (parseSseBlock, readSseBlocks; also used by ./server.ts) is
// deliberately tiny and independent of src/sse, so the tests do not depend on the decoder
// they are meant to check.
import type { ServerResponse } from 'node:http';
import type { MockConfigInput } from '../../src/mock/config.js';
import { type MockServer, startMock } from '../../src/mock/server.js';
import type { MockStatsSnapshot } from '../../src/mock/stats.js';

export interface ArrivedEvent {
  /** The `event:` field; `message` when absent; `comment` for a block of `:` lines only. */
  type: string;
  data: string;
  /** performance.now() when the chunk completing this event arrived. */
  at: number;
}

export interface StreamResult {
  status: number;
  headers: Headers;
  /** performance.now() before fetch() was called. */
  startedAt: number;
  /** performance.now() when fetch() resolved (status line and headers received). */
  headersAt: number;
  events: ArrivedEvent[];
  /** The whole body as text (for JSON bodies and raw assertions). */
  text: string;
  /** `end`: the body ended cleanly; `error`: reading it failed (reset, abort). */
  outcome: 'end' | 'error';
  error?: unknown;
  endedAt: number;
}

export interface PostOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called as each event arrives, e.g. to abort after the first delta. */
  onEvent?: (ev: ArrivedEvent, all: readonly ArrivedEvent[]) => void;
  /** Called once the response headers are in. */
  onHeaders?: (res: Response) => void;
}

/** One blank-line-terminated SSE block, split into its fields. */
export interface SseBlock {
  /** The last `id:` field (undefined when it had none). */
  id: string | undefined;
  /** The `event:` field (undefined when it had none). */
  event: string | undefined;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** Whether the block dispatches an event: it has an `event:` or a `data:` field. */
  dispatches: boolean;
  /** Comment lines, without the leading colon (` hb` for `: hb`). */
  comments: string[];
  /** The `retry:` values, in order. */
  retries: number[];
}

/** Splits one SSE block (without its terminating blank line) into its fields. */
export function parseSseBlock(block: string): SseBlock {
  let id: string | undefined;
  let event: string | undefined;
  const data: string[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  for (const line of block.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(':')) {
      comments.push(line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry') retries.push(Number(value));
  }
  return {
    id,
    event,
    data: data.join('\n'),
    dispatches: event !== undefined || data.length > 0,
    comments,
    retries,
  };
}

export interface BodyRead {
  /** The whole body as text. */
  text: string;
  /** `end`: the body ended cleanly; `error`: reading it failed (reset, abort). */
  outcome: 'end' | 'error';
  error?: unknown;
}

/**
 * Reads `body` to its end, handing over each SSE block as it completes, with
 * performance.now() when the chunk completing it arrived. A read failure ends the read.
 */
export async function readSseBlocks(
  body: ReadableStream<Uint8Array>,
  onBlock: (block: SseBlock, at: number) => void,
): Promise<BodyRead> {
  const out: BodyRead = { text: '', outcome: 'end' };
  const decoder = new TextDecoder();
  let pending = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const at = performance.now();
      const chunk = decoder.decode(value, { stream: true });
      out.text += chunk;
      pending += chunk;
      let sep = pending.indexOf('\n\n');
      while (sep >= 0) {
        const block = pending.slice(0, sep);
        pending = pending.slice(sep + 2);
        onBlock(parseSseBlock(block), at);
        sep = pending.indexOf('\n\n');
      }
    }
  } catch (err) {
    out.outcome = 'error';
    out.error = err;
  }
  return out;
}

/** POSTs `body` (JSON-encoded unless a string or bytes) and reads the response to its end. */
export async function post(url: string, body: unknown, opts: PostOptions = {}): Promise<StreamResult> {
  const startedAt = performance.now();
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: payload,
    signal: opts.signal ?? null,
  });
  const headersAt = performance.now();
  opts.onHeaders?.(res);
  const events: ArrivedEvent[] = [];
  const { text, outcome, error } = await readSseBlocks(res.body!, (block, at) => {
    let ev: ArrivedEvent | null = null;
    if (block.dispatches) ev = { type: block.event ?? 'message', data: block.data, at };
    else if (block.comments.length > 0) ev = { type: 'comment', data: '', at };
    if (ev) {
      events.push(ev);
      opts.onEvent?.(ev, events);
    }
  });
  return {
    status: res.status,
    headers: res.headers,
    startedAt,
    headersAt,
    events,
    text,
    outcome,
    error,
    endedAt: performance.now(),
  };
}

/** The error code behind a fetch failure (`TypeError: terminated` wraps the socket error). */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Text deltas of an Anthropic stream, in order. */
export function anthropicDeltas(events: readonly ArrivedEvent[]): string[] {
  return events
    .filter((e) => e.type === 'content_block_delta')
    .map((e) => (JSON.parse(e.data) as { delta: { text: string } }).delta.text);
}

/** Content deltas of an OpenAI stream, in order (role and finish chunks excluded). */
export function openaiDeltas(events: readonly ArrivedEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.type !== 'message' || e.data === '[DONE]') continue;
    const chunk = JSON.parse(e.data) as { choices?: { delta?: { content?: string } }[] };
    const content = chunk.choices?.[0]?.delta?.content;
    if (typeof content === 'string' && content !== '') out.push(content);
  }
  return out;
}

export function types(events: readonly ArrivedEvent[]): string[] {
  return events.map((e) => e.type);
}

export async function getStats(mock: MockServer): Promise<MockStatsSnapshot> {
  const res = await fetch(`${mock.url}/mock/stats`);
  return (await res.json()) as MockStatsSnapshot;
}

/** An Anthropic Messages request body. */
export function anthropicBody(
  maxTokens: number,
  content = 'Hello, mock.',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model: 'claude-test',
    max_tokens: maxTokens,
    stream: true,
    messages: [{ role: 'user', content }],
    ...extra,
  };
}

/** An OpenAI chat completions request body. */
export function openaiBody(
  maxTokens: number,
  content = 'Hello, mock.',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model: 'gpt-test',
    max_tokens: maxTokens,
    stream: true,
    messages: [{ role: 'user', content }],
    ...extra,
  };
}

/**
 * Resolves with the server-side response of the next request the mock receives, so a test
 * can await its 'close' (the moment the mock has seen a client go away) instead of sleeping.
 */
export function nextServerResponse(mock: MockServer): Promise<ServerResponse> {
  return new Promise((resolve) => {
    mock.server.once('request', (_req, res) => resolve(res));
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Starts a mock for the duration of `fn`, closing it even when `fn` throws. */
export async function withMock<T>(config: MockConfigInput, fn: (mock: MockServer) => Promise<T>): Promise<T> {
  const mock = await startMock({ config });
  try {
    return await fn(mock);
  } finally {
    await mock.close();
  }
}
