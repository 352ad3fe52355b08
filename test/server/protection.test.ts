// Every refusal path of docs/server.md (Errors, Protection): 400 with field-level problems,
// 401, 404 for another principal's stream, 405, 413, 415, 429, 503, CORS on and off. Each is
// JSON `{"error": {"type", "message", …}}` and counted in the metrics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectWholeStream,
  fastMock,
  openStream,
  postJson,
  rawRequest,
  serverMetric,
  useServers,
} from '../helpers/server.js';

const start = useServers();
let dir: string;
let tokensFile: string;
const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-9876543210';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-serve-'));
  tokensFile = join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, `${ALICE}: alice\n${BOB}: bob\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('400 invalid_request and invalid_json', () => {
  it('lists every field problem with its path', async () => {
    const server = await start({ max_tokens_limit: 100 });
    const r = await postJson(`${server.url}/v1/chat/stream`, {
      messages: [{ role: 'robot', content: '' }],
      max_tokens: 1.5,
      temperature: 3,
      surprise: true,
    });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.error!.type).toBe('invalid_request');
    const fields = r.json.error!.fields as { path: string; message: string }[];
    expect(fields.map((f) => f.path).sort()).toEqual(
      ['(top level)', 'max_tokens', 'messages[0].content', 'messages[0].role', 'temperature'].sort(),
    );
    for (const f of fields) expect(r.json.error!.message).toContain(`${f.path}: ${f.message}`);

    const neither = await postJson(`${server.url}/v1/chat/stream`, { max_tokens: 5 });
    expect(neither.status).toBe(400);
    expect(neither.json.error!.fields).toEqual([
      { path: 'messages', message: expect.stringContaining('exactly one') },
    ]);

    const both = await postJson(`${server.url}/v1/chat/stream`, {
      prompt: 'x',
      messages: [{ role: 'user', content: 'y' }],
    });
    expect(both.status).toBe(400);

    const over = await postJson(`${server.url}/v1/chat/stream`, { prompt: 'x', max_tokens: 101 });
    expect(over.status).toBe(400);
    expect(over.json.error!.fields).toEqual([{ path: 'max_tokens', message: 'at most 100' }]);

    const notObject = await postJson(`${server.url}/v1/chat/stream`, '[1, 2]');
    expect(notObject.status).toBe(400);
    expect(notObject.json.error!.type).toBe('invalid_request');

    const json = await postJson(`${server.url}/v1/chat/stream`, '{"prompt": ');
    expect(json.status).toBe(400);
    expect(json.json.error!.type).toBe('invalid_json');

    expect(
      await serverMetric(server, 'tokenstorm_server_rejected_requests_total', {
        http_response_status_code: '400',
      }),
    ).toBe(6);
    expect(server.mock!.stats.requests).toBe(0); // nothing reached the upstream
  });
});

describe('401 and principals', () => {
  it('refuses a missing, unknown or non-Bearer token, and accepts both principals', async () => {
    const server = await start({ auth_tokens_file: tokensFile });
    const body = { prompt: 'auth', max_tokens: 3 };
    for (const headers of [
      {},
      bearer('not-a-token-at-all'),
      { authorization: `Basic ${ALICE}` },
      { authorization: ALICE },
    ]) {
      const r = await postJson(`${server.url}/v1/chat/stream`, body, headers);
      expect(r.status).toBe(401);
      expect(r.json.error!.type).toBe('unauthorized');
    }
    for (const token of [ALICE, BOB]) {
      const r = await openStream(server.url, body, { headers: bearer(token) });
      expect(r.status).toBe(200);
      expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    }
    expect(
      await serverMetric(server, 'tokenstorm_server_rejected_requests_total', {
        http_response_status_code: '401',
      }),
    ).toBe(4);
  });

  it("another principal's stream is 404 on resume and cancel, exactly like an unknown id", async () => {
    const server = await start({ auth_tokens_file: tokensFile, resume_grace_ms: 10_000 }, fastMock(5));
    let probes: Promise<Response[]> | undefined;
    let id = '';
    const r = await openStream(
      server.url,
      { prompt: 'mine', max_tokens: 30 },
      {
        headers: bearer(ALICE),
        onEvent: (ev) => {
          if (probes !== undefined || ev.type !== 'delta') return;
          id = ev.id!.split(':')[0]!;
          probes = Promise.all([
            fetch(`${server.url}/v1/chat/stream/${id}`, {
              headers: { ...bearer(BOB), 'last-event-id': ev.id! },
            }),
            fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST', headers: bearer(BOB) }),
            fetch(`${server.url}/v1/chat/stream/AAAAAAAAAAAAAAAAAAAAAA`, { headers: bearer(ALICE) }),
            fetch(`${server.url}/v1/chat/stream/${id}`),
            fetch(`${server.url}/v1/chat/stream/${id}/cancel`, { method: 'POST' }),
          ]);
        },
      },
    );
    const [resumeBob, cancelBob, unknown, resumeAnon, cancelAnon] = await probes!;
    const bodies = await Promise.all([resumeBob!.json(), cancelBob!.json(), unknown!.json()]);
    expect([resumeBob!.status, cancelBob!.status, unknown!.status]).toEqual([404, 404, 404]);
    expect(bodies[0]).toEqual(bodies[2]);
    expect(bodies[1]).toEqual(bodies[2]);
    expect(bodies[2]).toMatchObject({ error: { type: 'stream_not_found' } });
    expect([resumeAnon!.status, cancelAnon!.status]).toEqual([401, 401]);
    await Promise.all([resumeAnon!.body?.cancel(), cancelAnon!.body?.cancel()]);
    // Bob's cancel did nothing: Alice's stream completed.
    const { done } = expectWholeStream(r.events, id);
    expect(done.stop_reason).toBe('max_tokens');
    expect(await serverMetric(server, 'tokenstorm_server_cancels_total')).toBe(0);
    // Alice herself can resume it.
    const mine = await fetch(`${server.url}/v1/chat/stream/${id}`, { headers: bearer(ALICE) });
    expect(mine.status).toBe(200);
    await mine.body?.cancel();
  });
});

describe('404, 405', () => {
  it('unknown routes are 404 not_found; wrong methods are 405 with Allow', async () => {
    const server = await start({ resume_grace_ms: 10_000 });
    const r = await openStream(server.url, { prompt: 'x', max_tokens: 2 });
    const id = r.headers.get('x-stream-id')!;
    const cases: [string, string, string][] = [
      ['GET', '/v1/chat/stream', 'POST'],
      ['PUT', '/v1/chat/stream', 'POST'],
      ['POST', `/v1/chat/stream/${id}`, 'GET'],
      ['DELETE', `/v1/chat/stream/${id}`, 'GET'],
      ['GET', `/v1/chat/stream/${id}/cancel`, 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await rawRequest(`${server.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.allow, `${method} ${path}`).toBe(allow);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'method_not_allowed' } });
    }
    for (const path of ['/', '/v1/chat', '/v1/chat/stream/', '/v1/messages']) {
      const res = await rawRequest(`${server.url}${path}`, { method: 'POST' });
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'not_found' } });
    }
    expect(
      await serverMetric(server, 'tokenstorm_server_rejected_requests_total', {
        http_response_status_code: '405',
      }),
    ).toBe(5);
  });
});

describe('413 and 415', () => {
  it('413 body_too_large for a declared or a streamed (chunked) body over --max-body-bytes', async () => {
    const server = await start({ max_body_bytes: 200 });
    const big = JSON.stringify({ prompt: 'x'.repeat(300), max_tokens: 3 });
    const declared = await postJson(`${server.url}/v1/chat/stream`, big);
    expect(declared.status).toBe(413);
    expect(declared.json.error!.type).toBe('body_too_large');

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/v1/chat/stream`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 50) req.write(big.slice(i, i + 50));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ error: { type: 'body_too_large' } });

    // Just under the limit is fine.
    const ok = await openStream(server.url, { prompt: 'x'.repeat(150), max_tokens: 2 });
    expect(ok.status).toBe(200);
    expect(
      await serverMetric(server, 'tokenstorm_server_rejected_requests_total', {
        http_response_status_code: '413',
      }),
    ).toBe(2);
  });

  it('415 unsupported_media_type unless the body is application/json', async () => {
    const server = await start();
    const body = JSON.stringify({ prompt: 'x', max_tokens: 2 });
    const cases: Record<string, string>[] = [
      { 'content-type': 'text/plain' },
      {},
      { 'content-type': 'application/jsonp' },
    ];
    for (const headers of cases) {
      const res = await rawRequest(`${server.url}/v1/chat/stream`, { method: 'POST', headers, body });
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'unsupported_media_type' } });
    }
    const withCharset = await openStream(server.url, body, {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(withCharset.status).toBe(200);
  });
});

describe('429 and 503', () => {
  it("429 rate_limited with Retry-After once a principal's bucket is empty; other principals are unaffected", async () => {
    const server = await start({ auth_tokens_file: tokensFile, rate_limit_rps: 0.5, rate_limit_burst: 1 });
    const body = { prompt: 'limited', max_tokens: 2 };
    const first = await openStream(server.url, body, { headers: bearer(ALICE) });
    expect(first.status).toBe(200);
    const second = await postJson(`${server.url}/v1/chat/stream`, body, bearer(ALICE));
    expect(second.status).toBe(429);
    expect(second.json.error!.type).toBe('rate_limited');
    const retryAfter = Number(second.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2); // one token per 2 s
    const bob = await openStream(server.url, body, { headers: bearer(BOB) });
    expect(bob.status).toBe(200);
    expect(await serverMetric(server, 'tokenstorm_server_rate_limited_requests_total')).toBe(1);
  });

  it('503 over_capacity with Retry-After while --max-streams streams are open', async () => {
    const server = await start({ max_streams: 1 }, fastMock(5));
    const ac = new AbortController();
    let refused: ReturnType<typeof postJson> | undefined;
    const first = openStream(
      server.url,
      { prompt: 'hog', max_tokens: 10 },
      {
        signal: ac.signal,
        onEvent: (ev) => {
          if (ev.type === 'delta' && refused === undefined)
            refused = postJson(`${server.url}/v1/chat/stream`, { prompt: 'me too', max_tokens: 2 });
        },
      },
    );
    const r = await first;
    const second = await refused!;
    expect(second.status).toBe(503);
    expect(second.json.error!.type).toBe('over_capacity');
    expect(second.headers.get('retry-after')).toBe('1');
    expectWholeStream(r.events, r.headers.get('x-stream-id')!);
    // Once the first stream has ended there is room again.
    const third = await openStream(server.url, { prompt: 'now', max_tokens: 2 });
    expect(third.status).toBe(200);
    expect(await serverMetric(server, 'tokenstorm_server_shed_requests_total')).toBe(1);
  });

  it('--max-streams holds when requests arrive together (their bodies after both headers)', async () => {
    const server = await start({ max_streams: 1 });
    const body = JSON.stringify({ prompt: 'race', max_tokens: 3 });
    let seen = 0;
    const bothSeen = new Promise<void>((resolve) => {
      server.server.on('request', () => {
        if (++seen === 2) resolve();
      });
    });
    const results: Promise<number>[] = [];
    const reqs = [0, 1].map(() => {
      const req = httpRequest(`${server.url}/v1/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
      });
      results.push(
        new Promise<number>((resolve, reject) => {
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
        }),
      );
      req.flushHeaders();
      return req;
    });
    try {
      await bothSeen;
      for (const req of reqs) req.end(body);
      expect((await Promise.all(results)).sort()).toEqual([200, 503]);
    } finally {
      for (const req of reqs) req.destroy();
    }
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example';

  it('allows only the configured origins, on streams, errors and preflight', async () => {
    const server = await start({ cors_origins: [ORIGIN] });
    const body = { prompt: 'cors', max_tokens: 2 };
    const ok = await openStream(server.url, body, { headers: { origin: ORIGIN } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('vary')?.toLowerCase()).toContain('origin');
    expect(ok.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('x-stream-id');
    const err = await postJson(`${server.url}/v1/chat/stream`, {}, { origin: ORIGIN });
    expect(err.status).toBe(400);
    expect(err.headers.get('access-control-allow-origin')).toBe(ORIGIN);

    const other = await openStream(server.url, body, { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const pre = await rawRequest(`${server.url}/v1/chat/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
    const allowed = String(pre.headers['access-control-allow-headers']).toLowerCase();
    for (const h of ['authorization', 'content-type', 'last-event-id']) expect(allowed).toContain(h);

    const evil = await rawRequest(`${server.url}/v1/chat/stream`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is off without --cors-origin', async () => {
    const server = await start();
    const r = await openStream(
      server.url,
      { prompt: 'cors', max_tokens: 2 },
      { headers: { origin: ORIGIN } },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await rawRequest(`${server.url}/v1/chat/stream`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });
});
