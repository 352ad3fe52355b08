// The `fetch` the reference server gives @anthropic-ai/sdk: undici's dispatch API on a
// dedicated keep-alive Agent instead of WHATWG fetch. The SDK still builds the request,
// retries, times out and raises its typed errors, because it sees a normal Response. For
// a successful streaming response that Response has no body: the body's chunks go, as the
// HTTP parser hands them over, to the server's own SSE decoder through takeRawBody().
// Profiling showed fetch's web streams and per-chunk promises costing more CPU than
// everything else per stream; the dispatch handler also skips a Readable per response.
import { Agent, type Dispatcher } from 'undici';

/** Receives an upstream response body: every chunk, then exactly one of end or error. */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

/** A streaming response body; chunks that arrive before start() wait for it. */
export class RawBody {
  private sink: BodySink | undefined;
  private queued: Buffer[] = [];
  /** undefined while open; null once ended; the error once failed. */
  private outcome: Error | null | undefined;

  constructor(private readonly abortRequest: (err: Error) => void) {}

  start(sink: BodySink): void {
    this.sink = sink;
    const queued = this.queued;
    this.queued = [];
    for (const c of queued) sink.data(c);
    if (this.outcome === null) sink.end();
    else if (this.outcome !== undefined) sink.error(this.outcome);
  }

  /** Aborts the request (its sink then gets error). */
  abort(err: Error): void {
    this.abortRequest(err);
  }

  push(chunk: Buffer): void {
    if (this.sink !== undefined) this.sink.data(chunk);
    else this.queued.push(chunk);
  }

  finish(err: Error | null): void {
    if (this.outcome !== undefined) return;
    this.outcome = err;
    if (this.sink === undefined) return;
    if (err === null) this.sink.end();
    else this.sink.error(err);
  }
}

const rawBodies = new WeakMap<Response, RawBody>();

/** The streaming body behind a Response returned by an undici fetch, taken once. */
export function takeRawBody(res: Response): RawBody | undefined {
  const body = rawBodies.get(res);
  rawBodies.delete(res);
  return body;
}

export interface UndiciFetch {
  fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

function plainHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  if (h instanceof Headers) {
    h.forEach((v, k) => {
      out[k] = v;
    });
  } else if (Array.isArray(h)) {
    for (const [k, v] of h) out[k!.toLowerCase()] = v!;
  } else {
    for (const [k, v] of Object.entries(h as Record<string, string>)) out[k.toLowerCase()] = v;
  }
  return out;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

export function createUndiciFetch(): UndiciFetch {
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { noDelay: true },
  });
  const fetchImpl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string')
      return Promise.reject(new TypeError('the upstream fetch only sends string bodies (JSON)'));
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      let abort: ((err: Error) => void) | undefined;
      let settled = false;
      let stream: RawBody | undefined;
      /** Status and headers of a non-streaming answer, whose body is buffered. */
      let status = 0;
      let headers: Headers | undefined;
      let chunks: Buffer[] | undefined;
      const onAbort = (): void => abort?.(abortReason(signal!));
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      const handler: Dispatcher.DispatchHandler = {
        onConnect(abortRequest) {
          abort = abortRequest;
          if (signal?.aborted) abortRequest(abortReason(signal));
        },
        onHeaders(statusCode, rawHeaders) {
          const h = new Headers();
          for (let i = 0; i + 1 < rawHeaders.length; i += 2)
            h.append(rawHeaders[i]!.toString('latin1'), rawHeaders[i + 1]!.toString('latin1'));
          const isStream = (h.get('content-type') ?? '').startsWith('text/event-stream');
          if (statusCode >= 200 && statusCode < 300 && isStream) {
            stream = new RawBody((err) => abort?.(err));
            const res = new Response(null, { status: statusCode, headers: h });
            rawBodies.set(res, stream);
            settled = true;
            resolve(res);
          } else {
            // Error answers and JSON bodies are small: buffered so the SDK reads them as usual.
            status = statusCode;
            headers = h;
            chunks = [];
          }
          return true;
        },
        onData(chunk) {
          if (stream !== undefined) stream.push(chunk);
          else chunks?.push(chunk);
          return true;
        },
        onComplete() {
          done();
          if (stream !== undefined) return stream.finish(null);
          settled = true;
          const text = Buffer.concat(chunks ?? []).toString('utf8');
          resolve(new Response(status === 204 || status === 304 ? null : text, { status, headers }));
        },
        onError(err) {
          done();
          if (stream !== undefined) return stream.finish(err);
          if (!settled) {
            settled = true;
            reject(err);
          }
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      agent.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: plainHeaders(init.headers),
          body: body ?? null,
        },
        handler,
      );
    });
  };
  return {
    fetch: fetchImpl as typeof globalThis.fetch,
    close: () => agent.close(),
  };
}
