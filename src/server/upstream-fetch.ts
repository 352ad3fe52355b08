// The `fetch` the reference server gives @anthropic-ai/sdk: undici's request API on a
// dedicated keep-alive Agent instead of WHATWG fetch. The SDK still builds the request,
// retries, times out and raises its typed errors, because it sees a normal Response. For
// a successful streaming response that Response has no body: the body stays a Node stream,
// handed to the server's own SSE decoder through takeRawBody(). Profiling showed fetch's
// web streams and per-chunk promises costing more CPU than everything else per stream.
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';

const rawBodies = new WeakMap<Response, Readable>();

/** The Node stream behind a Response returned by an undici fetch, taken once. */
export function takeRawBody(res: Response): Readable | undefined {
  const body = rawBodies.get(res);
  rawBodies.delete(res);
  return body;
}

export interface UndiciFetch {
  fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

function headerPairs(h: Record<string, string | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
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

export function createUndiciFetch(): UndiciFetch {
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { noDelay: true },
  });
  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === 'string' || input instanceof URL ? input : input.url;
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string')
      throw new TypeError('the upstream fetch only sends string bodies (JSON)');
    const r = await request(url, {
      dispatcher: agent,
      method: (init.method ?? 'GET') as 'GET',
      headers: plainHeaders(init.headers),
      body: body ?? null,
      signal: init.signal ?? null,
    });
    const headers = new Headers(headerPairs(r.headers));
    const isStream = (headers.get('content-type') ?? '').startsWith('text/event-stream');
    if (r.statusCode >= 200 && r.statusCode < 300 && isStream) {
      const res = new Response(null, { status: r.statusCode, headers });
      rawBodies.set(res, r.body);
      return res;
    }
    // Error answers and JSON bodies are small: buffer them so the SDK can read them as usual.
    const text = await r.body.text();
    return new Response(r.statusCode === 204 || r.statusCode === 304 ? null : text, {
      status: r.statusCode,
      headers,
    });
  };
  return {
    fetch: fetchImpl as typeof globalThis.fetch,
    close: () => agent.close(),
  };
}
