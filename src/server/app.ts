// The reference streaming server: routes, protection (auth, limits, validation, CORS),
// the stream registry, heartbeats, batching, resume, cancel and graceful shutdown.

import { randomFillSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import type Anthropic from '@anthropic-ai/sdk';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { formatIssuePath } from '../config/validate.js';
import { TokenstormError } from '../errors.js';
import type { MockConfigInput } from '../mock/config.js';
import { FAULT_HEADER, type MockServer, startMock } from '../mock/server.js';
import { authenticate, loadAuthTokens, RateLimiter } from './auth.js';
import { parseServeConfig, type ServeConfig, type ServeConfigInput } from './config.js';
import { createLogger, type Logger } from './log.js';
import { modelAttrs, outcomeAttrs, type ServerMetrics, startServerMetrics, tokenAttrs } from './metrics.js';
import { type ControlMessage, memoryStore, type StoredStream, type StreamStore } from './store.js';
import { connectRedisStore } from './store-redis.js';
import { ServerStream, type StreamHooks } from './stream.js';
import { createUpstreamClient, mapUpstreamError, pumpUpstream, type UpstreamParams } from './upstream.js';
import { createUndiciFetch, type RawBody, takeRawBody } from './upstream-fetch.js';
import { HEARTBEAT, parseEventId } from './wire.js';

const requestSchema = z
  .strictObject({
    messages: z
      .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().min(1) }))
      .min(1)
      .optional(),
    prompt: z.string().min(1).optional(),
    model: z.string().min(1).max(200).optional(),
    max_tokens: z.number().int().positive().optional(),
    system: z.string().optional(),
    temperature: z.number().min(0).max(1).optional(),
    // Passed through to the upstream (docs/server.md "Thinking, tool use and structured output").
    thinking: z
      .discriminatedUnion(
        'type',
        [
          z.strictObject({ type: z.literal('enabled'), budget_tokens: z.number().int().positive() }),
          z.strictObject({ type: z.literal('disabled') }),
        ],
        { error: 'give {type: "enabled", budget_tokens: <integer>} or {type: "disabled"}' },
      )
      .optional(),
    tools: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'a tool name is 1–128 letters, digits, _ or -'),
          description: z.string().optional(),
          input_schema: z.looseObject(
            { type: z.literal('object', { error: 'input_schema.type must be "object"' }) },
            { error: 'input_schema must be a JSON Schema object ({type: "object", properties, …})' },
          ),
        }),
      )
      .min(1, 'give at least one tool, or leave tools out')
      .max(128)
      .optional(),
    tool_choice: z
      .discriminatedUnion(
        'type',
        [
          z.strictObject({ type: z.enum(['auto', 'any', 'none']) }),
          z.strictObject({ type: z.literal('tool'), name: z.string().min(1) }),
        ],
        { error: 'give {type: "auto" | "any" | "none"} or {type: "tool", name}' },
      )
      .optional(),
    output_format: z
      .strictObject({
        type: z.literal('json_schema'),
        schema: z.record(z.string(), z.unknown(), { error: 'schema must be a JSON Schema object' }),
      })
      .optional(),
  })
  .refine((r) => r.tool_choice === undefined || r.tools !== undefined, {
    message: 'tool_choice needs tools',
    path: ['tool_choice'],
  })
  .refine((r) => (r.messages === undefined) !== (r.prompt === undefined), {
    message: 'give exactly one of messages (a list of {role, content}) or prompt (a string)',
    path: ['messages'],
  });

export interface ReferenceServer {
  readonly url: string;
  readonly port: number;
  readonly metricsUrl: string | undefined;
  readonly metrics: ServerMetrics;
  readonly config: ServeConfig;
  /** The in-process mock, when no upstream was configured. */
  readonly mock: MockServer | undefined;
  readonly server: Server;
  /** Streams that have not sent a terminal event. */
  activeStreams(): number;
  /** Upstream requests in flight. */
  upstreamInFlight(): number;
  /** Graceful shutdown: refuse new streams, drain, end the rest with server_shutdown. */
  shutdown(): Promise<void>;
  /** Where other replicas reach this replica's streams (memory: nowhere; redis: --redis-url). */
  readonly store: StreamStore;
}

export interface StartServerOptions {
  config: ServeConfigInput;
  /** Configuration of the in-process mock (only when config.upstream is unset). */
  mock?: MockConfigInput;
  logger?: Logger;
  /**
   * V8's --heap-growing-percent, set (process-wide) when the server runs on the main thread;
   * 0 leaves V8's default. See docs/server.md, Performance.
   */
  heapGrowingPercent?: number;
}

const DEFAULT_HEAP_GROWING_PERCENT = 20;

const SHUTDOWN_ERROR = {
  type: 'server_shutdown',
  message: 'The server is shutting down; resume or retry elsewhere.',
  retryable: true,
} as const;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

export async function startReferenceServer(opts: StartServerOptions): Promise<ReferenceServer> {
  const config = parseServeConfig(opts.config);
  // V8 lets the old generation grow to about twice what is live before a full collection.
  // Every stream's objects live long enough to be promoted, then die, so under load that
  // slack is most of the server's RSS: a smaller growth step about halves RSS at 1,000
  // streams for a few percent more CPU. It is process-wide, so it is only set by a server
  // that runs on the main thread (not embedded in a runner's worker).
  const growing = opts.heapGrowingPercent ?? DEFAULT_HEAP_GROWING_PERCENT;
  if (growing > 0 && isMainThread) setFlagsFromString(`--heap-growing-percent=${Math.floor(growing)}`);
  const log = opts.logger ?? createLogger(config.log_level);
  const tokens = config.auth_tokens_file ? loadAuthTokens(config.auth_tokens_file) : undefined;
  const limiter = new RateLimiter(config.rate_limit_rps, config.rate_limit_burst);
  const mock = config.upstream === undefined ? await startMock({ config: opts.mock ?? {} }) : undefined;
  const upstreamUrl = config.upstream ?? mock!.url;
  const upstreamFetch = createUndiciFetch();
  const client: Anthropic = createUpstreamClient(
    upstreamUrl,
    config.api_key,
    config.upstream_max_retries,
    config.upstream_timeout_ms,
    upstreamFetch.fetch,
  );
  // Nothing start-up acquired may outlive a failed start (the CLI would hang on it).
  const metrics = await startServerMetrics(config.host, config.metrics_port).catch(async (err: unknown) => {
    await upstreamFetch.close();
    if (mock) await mock.close();
    throw err;
  });
  const streams = new Map<string, ServerStream>();
  const tracer = trace.getTracer('tokenstorm-server');
  let active = 0;
  let upstreamLive = 0;
  let draining = false;
  const dirty = new Set<ServerStream>();
  /** Streams whose upstream request is being opened → settles when that is over. */
  const opening = new Map<ServerStream, Promise<void>>();
  /** Shutdown has ended the drain: streams still opening end with server_shutdown. */
  let shutdownCut = false;
  let flushTimer: NodeJS.Timeout | undefined;
  const now = () => performance.now();
  const retryLine = `retry: ${config.retry_ms}\n\n`;

  const hooks: StreamHooks = {
    onBackpressure: () => metrics.backpressureWaits.add(1),
    onSlowConsumer: () => metrics.slowConsumerDrops.add(1),
    onFirstToken: (s) => {
      metrics.ttft.record((s.firstTokenAt - s.startedAt) / 1000, modelAttrs(s.model));
      s.span?.addEvent('first_token');
    },
    onDirty: (s) => {
      dirty.add(s);
      flushTimer ??= setTimeout(flushDirty, config.flush_interval_ms);
    },
    onClientGone: (s) => {
      // The upstream keeps going for the resume grace; then it is aborted.
      if (config.resume_grace_ms === 0) return endClientGone(s);
      s.graceTimer = setTimeout(() => endClientGone(s), config.resume_grace_ms);
    },
    onTerminal: (s) => {
      active--;
      metrics.activeStreams.add(-1);
      clearTimeout(s.graceTimer);
      const attrs = modelAttrs(s.model);
      const seconds = (s.endedAt - s.startedAt) / 1000;
      metrics.duration.record(seconds, attrs);
      if (s.tokens > 1 && s.firstTokenAt > 0)
        metrics.tpot.record((s.endedAt - s.firstTokenAt) / 1000 / (s.tokens - 1), attrs);
      if (s.inputTokens > 0) metrics.tokenUsage.record(s.inputTokens, tokenAttrs(s.model, 'input'));
      metrics.tokenUsage.record(s.outputTokens || s.tokens, tokenAttrs(s.model, 'output'));
      metrics.streams.add(1, outcomeAttrs(s.outcome!));
      if (s.span) {
        s.span.setAttributes({
          'gen_ai.usage.input_tokens': s.inputTokens,
          'gen_ai.usage.output_tokens': s.outputTokens || s.tokens,
          'gen_ai.response.finish_reasons': [s.stopReason ?? s.outcome!],
          'tokenstorm.outcome': s.outcome!,
        });
        if (s.outcome !== 'completed' && s.outcome !== 'cancelled')
          s.span.setStatus({ code: SpanStatusCode.ERROR, message: s.outcome! });
        s.span.end();
        s.span = undefined; // a finished stream is kept for the resume grace: keep it small
      }
      if (s.outcome === 'cancelled' || s.outcome === 'client_gone' || s.outcome === 'server_shutdown')
        metrics.upstreamAborts.add(1);
      log.info('stream_end', {
        id: s.id,
        principal: s.principal,
        model: s.model,
        outcome: s.outcome,
        ttft_ms: s.firstTokenAt > 0 ? round(s.firstTokenAt - s.startedAt) : null,
        tokens: s.tokens,
        duration_ms: round(s.endedAt - s.startedAt),
        resumes: s.resumes,
      });
      // Keep the finished stream for the resume grace so a client that lost the tail can fetch it.
      retain(s);
    },
  };

  // Finished streams wait out the resume grace in a FIFO (the grace is the same for all, so
  // it is in expiry order) under one timer, rather than one timer and closure per stream.
  const retained: ({ s: ServerStream; until: number } | undefined)[] = [];
  let retainedHead = 0;
  let retainTimer: NodeJS.Timeout | undefined;
  const retain = (s: ServerStream): void => {
    retained.push({ s, until: now() + config.resume_grace_ms });
    if (retainTimer === undefined) scheduleForget();
  };
  const scheduleForget = (): void => {
    const next = retained[retainedHead];
    if (next === undefined) return;
    retainTimer = setTimeout(forgetExpired, Math.max(1, Math.ceil(next.until - now())));
    retainTimer.unref();
  };
  const forgetExpired = (): void => {
    retainTimer = undefined;
    const t = now();
    while (retainedHead < retained.length && retained[retainedHead]!.until <= t) {
      forget(retained[retainedHead]!.s);
      retained[retainedHead++] = undefined;
    }
    if (retainedHead > 1024 && retainedHead * 2 > retained.length) {
      retained.splice(0, retainedHead);
      retainedHead = 0;
    }
    scheduleForget();
  };

  function forget(s: ServerStream): void {
    if (streams.get(s.id) === s) streams.delete(s.id);
    // A stream read on another replica (shared store) was delivered there.
    const unread = remotelyRead.delete(s.id) ? 0 : s.unreadTokens;
    if (unread > 0) metrics.unreadTokens.add(unread);
    remoteReaders.delete(s.id);
  }

  /** Resumes of this replica's streams being served by other replicas (shared store), per stream. */
  const remoteReaders = new Map<string, number>();
  /** Streams of this replica that a client read on another replica. */
  const remotelyRead = new Set<string>();

  /** A message from another replica about one of this replica's streams. */
  function onControl(msg: ControlMessage): void {
    const s = streams.get(msg.id);
    if (msg.op === 'cancel') {
      if (s === undefined || s.ended) return;
      metrics.cancels.add(1);
      s.span?.addEvent('cancel');
      s.done('cancelled', 'cancelled', now());
    } else if (msg.op === 'attach') {
      remoteReaders.set(msg.id, (remoteReaders.get(msg.id) ?? 0) + 1);
      remotelyRead.add(msg.id);
      if (s !== undefined) {
        clearTimeout(s.graceTimer); // a client reads it elsewhere: no resume grace runs out
        s.graceTimer = undefined;
      }
    } else {
      const n = (remoteReaders.get(msg.id) ?? 1) - 1;
      if (n > 0) remoteReaders.set(msg.id, n);
      else remoteReaders.delete(msg.id);
      if (n <= 0 && s !== undefined && !s.ended && !s.attached) hooks.onClientGone(s);
    }
  }

  function endClientGone(s: ServerStream): void {
    if (s.ended || s.attached || remoteReaders.has(s.id)) return;
    s.error(
      { type: 'client_gone', message: 'No client resumed within the grace period.', retryable: false },
      'client_gone',
      now(),
    );
  }

  function flushDirty(): void {
    flushTimer = undefined;
    for (const s of dirty) s.flushClient();
    dirty.clear();
  }

  const heartbeatTimer = setInterval(
    () => {
      const t = now();
      for (const s of streams.values()) {
        if (s.attached && !s.ended && t - s.lastWriteAt >= config.heartbeat_ms && s.heartbeat(HEARTBEAT, t))
          metrics.heartbeats.add(1);
      }
    },
    Math.max(10, Math.floor(config.heartbeat_ms / 3)),
  );

  const cors = (req: IncomingMessage, res: ServerResponse): void => {
    const origin = req.headers.origin;
    if (origin && config.cors_origins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', 'x-stream-id, retry-after');
    }
  };

  const reject = (res: ServerResponse, status: number, type: string, message: string, extra: object = {}) => {
    if (status === 503) metrics.shedRequests.add(1);
    else if (status === 429) metrics.rateLimitedRequests.add(1);
    else if (status < 500) metrics.rejectedRequests.add(1, { 'http.response.status_code': status });
    sendJson(res, status, { error: { type, message, ...extra } });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    cors(req, res);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'OPTIONS') return preflight(req, res);
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz')
      return draining ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ready' });
    if (path === '/v1/chat/stream') {
      if (req.method !== 'POST') return notAllowed(res, 'POST', 'Use POST /v1/chat/stream.');
      return void startStream(req, res);
    }
    const m = /^\/v1\/chat\/stream\/([A-Za-z0-9_-]{1,64})(\/cancel)?$/.exec(path);
    if (m) {
      const principal = authenticate(tokens, req.headers.authorization);
      if (principal === null) return reject(res, 401, 'unauthorized', 'Send Authorization: Bearer <token>.');
      const s = streams.get(m[1]!);
      // Not here: with a shared store, another replica may run it.
      if (s === undefined && store.kind !== 'memory')
        return void remoteStream(m[1]!, m[2] !== undefined, principal, req, res, url);
      // Another principal's stream is indistinguishable from a missing one.
      if (s === undefined || s.principal !== principal)
        return reject(res, 404, 'stream_not_found', 'No such stream (unknown id, expired, or not yours).');
      if (m[2]) {
        if (req.method !== 'POST') return notAllowed(res, 'POST', 'Use POST to cancel.');
        return cancel(s, res);
      }
      if (req.method !== 'GET') return notAllowed(res, 'GET', 'Use GET to resume a stream.');
      return resume(s, req, res, url);
    }
    reject(res, 404, 'not_found', `No route ${req.method} ${path}. See docs/server.md.`);
  };

  // RFC 9110 §15.5.6: a 405 response must list the allowed methods.
  const notAllowed = (res: ServerResponse, allow: string, message: string): void => {
    res.setHeader('allow', allow);
    reject(res, 405, 'method_not_allowed', message);
  };

  const preflight = (req: IncomingMessage, res: ServerResponse): void => {
    const origin = req.headers.origin;
    if (!origin || !config.cors_origins.includes(origin)) {
      res.writeHead(403);
      res.end();
      return;
    }
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, last-event-id',
      'access-control-max-age': '600',
    });
    res.end();
  };

  const overCapacity = (res: ServerResponse): boolean => {
    if (active < config.max_streams) return false;
    res.setHeader('retry-after', '1');
    reject(
      res,
      503,
      'over_capacity',
      `The server is at its cap of ${config.max_streams} concurrent streams.`,
    );
    return true;
  };

  const startStream = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const principal = authenticate(tokens, req.headers.authorization);
    if (principal === null) return reject(res, 401, 'unauthorized', 'Send Authorization: Bearer <token>.');
    if (draining) {
      res.setHeader('connection', 'close');
      res.setHeader('retry-after', '1');
      return reject(res, 503, 'draining', 'The server is shutting down; retry on another instance.');
    }
    if (!store.ready()) {
      // Its events could not be stored: it could not be resumed on another replica.
      res.setHeader('retry-after', '1');
      return reject(res, 503, 'store_unavailable', STORE_DOWN);
    }
    const wait = limiter.take(principal, Date.now());
    if (wait > 0) {
      res.setHeader('retry-after', String(Math.ceil(wait)));
      return reject(
        res,
        429,
        'rate_limited',
        `Rate limit for ${principal} exceeded; retry after ${Math.ceil(wait)} s.`,
      );
    }
    if (overCapacity(res)) return;
    const ctype = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(ctype)) {
      req.resume();
      return reject(
        res,
        415,
        'unsupported_media_type',
        'Send the request body as JSON with Content-Type: application/json.',
      );
    }
    const raw = await readBody(req, config.max_body_bytes);
    if (raw === null) {
      res.setHeader('connection', 'close');
      return reject(res, 413, 'body_too_large', `The request body exceeds ${config.max_body_bytes} bytes.`);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      return reject(
        res,
        400,
        'invalid_json',
        `The request body is not valid JSON: ${(err as Error).message}`,
      );
    }
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ path: formatIssuePath(i.path), message: i.message }));
      return reject(res, 400, 'invalid_request', fields.map((f) => `${f.path}: ${f.message}`).join('; '), {
        fields,
      });
    }
    const r = parsed.data;
    if (r.max_tokens !== undefined && r.max_tokens > config.max_tokens_limit)
      return reject(res, 400, 'invalid_request', `max_tokens: at most ${config.max_tokens_limit}`, {
        fields: [{ path: 'max_tokens', message: `at most ${config.max_tokens_limit}` }],
      });
    // Again: other streams may have started while this body was read (the cap must hold).
    if (overCapacity(res)) return;
    if (shutdownCut) {
      res.setHeader('connection', 'close');
      res.setHeader('retry-after', '1');
      return reject(res, 503, 'draining', 'The server is shutting down; retry on another instance.');
    }
    const params: UpstreamParams = {
      model: r.model ?? config.default_model,
      max_tokens: r.max_tokens ?? 1024,
      messages: r.messages ?? [{ role: 'user', content: r.prompt! }],
      system: r.system,
      temperature: r.temperature,
      thinking: r.thinking,
      tools: r.tools,
      tool_choice: r.tool_choice,
      output_format: r.output_format,
    };
    const id = newStreamId();
    const s = new ServerStream(
      id,
      principal,
      params.model,
      { replayBytes: config.replay_buffer_bytes, maxBufferedBytes: config.max_buffered_bytes },
      hooks,
      now(),
    );
    s.span = tracer.startSpan(`chat ${params.model}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': params.model,
        'gen_ai.request.max_tokens': params.max_tokens,
        'tokenstorm.stream.id': id,
        'enduser.id': principal,
      },
    });
    active++;
    metrics.activeStreams.add(1);
    upstreamLive++;
    metrics.upstreamActive.add(1);
    const endUpstream = () => {
      upstreamLive--;
      metrics.upstreamActive.add(-1);
    };
    const gone = () => s.upstream.abort();
    res.once('close', gone);
    let upstreamBody: RawBody;
    let opened!: () => void;
    opening.set(s, new Promise<void>((r) => (opened = r)));
    try {
      // A chaos run's per-request upstream fault (docs/chaos.md) goes on to the mock.
      const fault = req.headers[FAULT_HEADER];
      const response = await client.messages
        .create(
          { ...params, stream: true },
          typeof fault === 'string'
            ? { signal: s.upstream.signal, headers: { [FAULT_HEADER]: fault } }
            : { signal: s.upstream.signal },
        )
        .asResponse();
      const raw = takeRawBody(response);
      if (raw === undefined) throw new Error('the upstream answered 2xx without an event stream');
      upstreamBody = raw;
    } catch (err) {
      endUpstream();
      res.off('close', gone);
      if (shutdownCut && !res.destroyed) {
        // The drain timeout ended while the upstream request was still opening: the client
        // gets a stream whose only answer is the retryable server_shutdown error.
        streams.set(id, s);
        store.add(s);
        res.writeHead(200, { ...SSE_HEADERS, 'x-stream-id': id });
        s.meta();
        s.attach(res, 0, false, retryLine);
        s.error(SHUTDOWN_ERROR, 'server_shutdown', now());
        return;
      }
      active--;
      metrics.activeStreams.add(-1);
      s.span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream refused' });
      s.span.end();
      if (res.destroyed) return;
      const refusal = mapUpstreamError(err);
      if (refusal.retryAfterS !== undefined) res.setHeader('retry-after', String(refusal.retryAfterS));
      if (refusal.status === 429) metrics.rateLimitedRequests.add(1);
      else if (refusal.status === 503) metrics.shedRequests.add(1);
      sendJson(res, refusal.status, { error: { type: refusal.type, message: refusal.message } });
      return;
    } finally {
      opening.delete(s);
      opened();
    }
    res.off('close', gone);
    streams.set(id, s);
    store.add(s);
    if (res.destroyed) {
      // The client left while the upstream was being opened.
      hooks.onClientGone(s);
    } else {
      res.writeHead(200, { ...SSE_HEADERS, 'x-stream-id': id });
    }
    s.meta();
    // The headers, the retry line and the first events go out in one write.
    if (!res.destroyed) s.attach(res, 0, config.flush_interval_ms > 0, retryLine);
    pumpUpstream(s, upstreamBody, {
      now,
      onUpstreamEnd: endUpstream,
      structured: params.output_format !== undefined,
    });
  };

  /**
   * Where a resume starts: the sequence in Last-Event-ID (or ?last_event_id=), 0 without one.
   * Answers 400 for an id of another stream or one not yet sent (`lastSeq`), 410 when the events
   * after it are no longer kept (before `oldestSeq`), and then returns undefined.
   */
  const resumePoint = (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    streamId: string,
    lastSeq: number,
    oldestSeq: number,
  ): number | undefined => {
    const header = req.headers['last-event-id'];
    const lastId =
      (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('last_event_id') ?? undefined;
    let afterSeq = 0;
    if (lastId !== undefined && lastId !== '') {
      const parsed = parseEventId(lastId);
      if (!parsed || parsed.streamId !== streamId) {
        reject(
          res,
          400,
          'invalid_last_event_id',
          `Last-Event-ID "${lastId}" is not an id of this stream (<stream id>:<seq>).`,
        );
        return undefined;
      }
      if (parsed.seq > lastSeq) {
        reject(
          res,
          400,
          'invalid_last_event_id',
          `Last-Event-ID names event ${parsed.seq}, but the stream has sent ${lastSeq}.`,
        );
        return undefined;
      }
      afterSeq = parsed.seq;
    }
    if (afterSeq < oldestSeq) {
      reject(
        res,
        410,
        'replay_expired',
        `Events after ${afterSeq} are no longer buffered; start a new stream.`,
      );
      return undefined;
    }
    return afterSeq;
  };

  const resume = (s: ServerStream, req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const afterSeq = resumePoint(req, res, url, s.id, s.lastSeq, s.oldestResumableSeq);
    if (afterSeq === undefined) return;
    clearTimeout(s.graceTimer);
    s.graceTimer = undefined;
    s.resumes++;
    metrics.resumes.add(1);
    s.span?.addEvent('resume', { 'tokenstorm.last_event_seq': afterSeq });
    res.writeHead(200, { ...SSE_HEADERS, 'x-stream-id': s.id });
    s.attach(res, afterSeq, config.flush_interval_ms > 0, retryLine);
  };

  /** 503 store_unavailable: Redis could not answer. */
  const storeDown = (res: ServerResponse, err: unknown): void => {
    log.warn('store_unavailable', { error: (err as Error).message });
    res.setHeader('retry-after', '1');
    reject(res, 503, 'store_unavailable', STORE_DOWN);
  };

  /** Resume or cancel of a stream that another replica runs (shared store). */
  const remoteStream = async (
    id: string,
    isCancel: boolean,
    principal: string,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<void> => {
    if (isCancel && req.method !== 'POST') return notAllowed(res, 'POST', 'Use POST to cancel.');
    if (!isCancel && req.method !== 'GET') return notAllowed(res, 'GET', 'Use GET to resume a stream.');
    let found: StoredStream | undefined;
    try {
      found = await store.find(id);
    } catch (err) {
      return storeDown(res, err);
    }
    if (found === undefined || found.principal !== principal)
      return reject(res, 404, 'stream_not_found', 'No such stream (unknown id, expired, or not yours).');
    if (isCancel) {
      if (found.ended) return sendJson(res, 200, { status: 'already_finished', stream_id: id });
      let reached: number;
      try {
        reached = await store.control(found.owner, { op: 'cancel', id });
      } catch (err) {
        return storeDown(res, err);
      }
      if (reached === 0)
        return reject(
          res,
          503,
          'owner_unavailable',
          'The replica running this stream is gone; it cannot be cancelled.',
        );
      return sendJson(res, 200, { status: 'cancelled', stream_id: id });
    }
    // A running stream's latest events may still be on their way to Redis: only an ended one
    // knows its last id for sure.
    const afterSeq = resumePoint(
      req,
      res,
      url,
      id,
      found.ended ? found.lastSeq : Number.POSITIVE_INFINITY,
      found.firstSeq - 1,
    );
    if (afterSeq === undefined) return;
    metrics.resumes.add(1, STORE_RESUME);
    res.writeHead(200, { ...SSE_HEADERS, 'x-stream-id': id });
    const live = !found.ended;
    if (live) await store.control(found.owner, { op: 'attach', id }).catch(() => 0);
    try {
      await store.follow(found, afterSeq, res, {
        prefix: retryLine,
        heartbeat: HEARTBEAT,
        heartbeatMs: config.heartbeat_ms,
      });
    } finally {
      if (live) await store.control(found.owner, { op: 'detach', id }).catch(() => 0);
    }
  };

  const cancel = (s: ServerStream, res: ServerResponse): void => {
    if (s.ended)
      return sendJson(res, 200, { status: 'already_finished', stream_id: s.id, outcome: s.outcome });
    metrics.cancels.add(1);
    s.span?.addEvent('cancel');
    s.done('cancelled', 'cancelled', now());
    sendJson(res, 200, { status: 'cancelled', stream_id: s.id });
  };

  let store: StreamStore = memoryStore;
  if (config.redis_url !== undefined)
    store = await connectRedisStore({
      url: config.redis_url,
      prefix: config.redis_key_prefix,
      graceMs: config.resume_grace_ms,
      maxEvents: config.redis_max_events,
      replica: newStreamId(),
      log,
      onControl,
    }).catch(async (err: unknown) => {
      clearInterval(heartbeatTimer);
      await metrics.endpoint.close();
      await upstreamFetch.close();
      if (mock) await mock.close();
      throw err;
    });

  const server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, handle);
  server.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, rejectListen) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        rejectListen(
          new TokenstormError(
            'E_LISTEN',
            `serve cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`,
          ),
        ),
      );
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    clearInterval(heartbeatTimer);
    await store.close();
    await metrics.endpoint.close();
    await upstreamFetch.close();
    if (mock) await mock.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      draining = true;
      log.info('shutdown', { active, drain_timeout_ms: config.drain_timeout_ms });
      // Keep listening while draining, so that probes get /readyz 503 and new streams a 503
      // (docs/server.md) rather than a refused connection; idle keep-alive connections go now.
      server.closeIdleConnections();
      const deadline = now() + config.drain_timeout_ms;
      while (active > 0 && now() < deadline) await waitForActive(Math.min(50, deadline - now()));
      for (const s of streams.values()) if (!s.ended) s.error(SHUTDOWN_ERROR, 'server_shutdown', now());
      // Streams whose upstream request is still opening: abort it, and each one's client is
      // sent server_shutdown by startStream (see shutdownCut); wait for that.
      shutdownCut = true;
      const pending = [...opening.values()];
      for (const s of opening.keys()) s.upstream.abort();
      await Promise.all(pending);
      // Let the terminal events reach the sockets, then close what is left.
      await new Promise<void>((r) => setImmediate(r));
      clearInterval(heartbeatTimer);
      clearTimeout(flushTimer);
      flushDirty();
      clearTimeout(retainTimer);
      retained.length = 0;
      retainedHead = 0;
      for (const s of streams.values()) forget(s);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await store.close();
      await metrics.endpoint.close();
      await upstreamFetch.close();
      if (mock) await mock.close();
    })();
    return shuttingDown;
  };
  const waitForActive = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  log.info('listening', {
    url: `http://${urlHost}:${port}`,
    store: store.kind,
    upstream: upstreamUrl,
    metrics: metrics.endpoint.url ?? null,
  });
  return {
    url: `http://${urlHost}:${port}`,
    port,
    metricsUrl: metrics.endpoint.url,
    metrics,
    config,
    mock,
    server,
    activeStreams: () => active,
    upstreamInFlight: () => upstreamLive,
    shutdown,
    store,
  };
}

/** Resumes served from the shared store for a stream another replica runs (a bounded label). */
const STORE_RESUME = { 'tokenstorm.resume.from': 'store' } as const;

const STORE_DOWN = 'The shared stream store (Redis) is unavailable; retry shortly.';

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return resolve(null);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks, size).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

const round = (v: number) => Math.round(v * 100) / 100;

// Stream ids: 128 random bits, base64url. Drawn from a pool refilled 256 ids at a time
// (one call into the CSPRNG rather than one per stream).
const ID_BYTES = 16;
const idPool = Buffer.alloc(ID_BYTES * 256);
let idNext = idPool.length;

function newStreamId(): string {
  if (idNext === idPool.length) {
    randomFillSync(idPool);
    idNext = 0;
  }
  const id = idPool.toString('base64url', idNext, idNext + ID_BYTES);
  idNext += ID_BYTES;
  return id;
}
