// Property test: random and malformed requests never crash the mock, and every one gets a
// 4xx with a readable JSON error body in its route's shape (Anthropic or OpenAI). Afterwards
// the mock still serves a valid stream.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_HEADER, type MockServer, startMock } from '../../src/mock/server.js';
import { anthropicBody, getStats, openaiBody, openaiDeltas, post, types } from '../helpers/stream.js';

const MAX_BODY = 8192;
let mock: MockServer;

beforeAll(async () => {
  mock = await startMock({
    config: {
      seed: 3,
      max_body_bytes: MAX_BODY,
      latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1 } },
    },
  });
});
afterAll(async () => {
  await mock.close();
});

type Flavour = 'anthropic' | 'openai';
const ROUTES: Record<Flavour, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };
const FAULT_KINDS = new Set([
  'http_error',
  'inband_error',
  'stall',
  'ping_stall',
  'reset',
  'slow_headers',
  'truncate',
]);

// --- what a valid value looks like, per field (from the API docs, not from the mock) -------

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isBlockList = (v: Json) =>
  Array.isArray(v) && v.every((b) => isObject(b) && typeof b.type === 'string');
const nonEmptyString = (v: Json) => typeof v === 'string' && v !== '';
const positiveInt = (v: Json) => Number.isInteger(v) && (v as number) >= 1;

const anthropicValid: Record<string, (v: Json) => boolean> = {
  model: nonEmptyString,
  max_tokens: positiveInt,
  messages: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (m) =>
        isObject(m) &&
        (m.role === 'user' || m.role === 'assistant') &&
        (typeof m.content === 'string' || (isBlockList(m.content) && (m.content as Json[]).length > 0)),
    ),
  system: (v) => typeof v === 'string' || isBlockList(v),
  stream: (v) => typeof v === 'boolean',
  temperature: (v) => typeof v === 'number' && v >= 0 && v <= 1,
};

const openaiValid: Record<string, (v: Json) => boolean> = {
  model: nonEmptyString,
  messages: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (m) =>
        isObject(m) &&
        typeof m.role === 'string' &&
        (m.content === undefined ||
          m.content === null ||
          typeof m.content === 'string' ||
          isBlockList(m.content)),
    ),
  stream: (v) => v === null || typeof v === 'boolean',
  stream_options: (v) =>
    v === null ||
    (isObject(v) &&
      (v.include_usage === undefined || v.include_usage === null || typeof v.include_usage === 'boolean')),
  max_tokens: (v) => v === null || positiveInt(v),
  max_completion_tokens: (v) => v === null || positiveInt(v),
  n: (v) => v === null || v === 1,
};

const VALID_FIELDS: Record<Flavour, Record<string, (v: Json) => boolean>> = {
  anthropic: anthropicValid,
  openai: openaiValid,
};

const badMessages: Json[] = [
  [],
  [1],
  ['hi'],
  [null],
  [{ content: 'no role' }],
  [{ role: 'robot', content: 'x' }],
  [{ role: 'user' }],
  [{ role: 'user', content: 5 }],
  [{ role: 'user', content: [] }],
  [{ role: 'user', content: [1] }],
  [{ role: 'user', content: [{ text: 'no type' }] }],
  [{ role: 5, content: 'x' }],
  [{ role: 'user', content: 'ok' }, 'then junk'],
];

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<Json>(0, -1, 1.5, 2, '5', '', 'true', true, false, null, [], {}, [null], {
    include_usage: 'yes',
  }),
  fc.constantFrom(...badMessages),
);

function base(flavour: Flavour): Record<string, Json> {
  return flavour === 'anthropic' ? anthropicBody(5, 'fuzz') : openaiBody(5, 'fuzz');
}

// --- the cases ------------------------------------------------------------------------------

type Case =
  | { kind: 'json'; flavour: Flavour; value: Json; contentType: string }
  | { kind: 'field'; flavour: Flavour; field: string; value: Json; contentType: string }
  | { kind: 'bytes'; flavour: Flavour; bytes: Uint8Array; contentType: string }
  | { kind: 'truncated'; flavour: Flavour; cut: number; contentType: string }
  | { kind: 'huge'; flavour: Flavour; size: number; chunked: boolean; contentType: string }
  | { kind: 'route'; path: string; method: string }
  | { kind: 'method'; flavour: Flavour; method: string }
  | { kind: 'fault'; flavour: Flavour; spec: string };

const flavour = fc.constantFrom<Flavour>('anthropic', 'openai');
const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const token = fc.stringMatching(/^[a-z][a-z0-9.+-]{0,12}$/);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'text/event-stream',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/octet-stream',
    '',
  ),
  fc.tuple(token, token).map(([a, b]) => `${a}/${b}`),
  printable(40),
);

const mentionsMessages = (v: Json) =>
  isObject(v) &&
  Object.hasOwn(v, 'messages') &&
  (anthropicValid.messages!(v.messages) || openaiValid.messages!(v.messages));

const jsonCase = fc.record({
  kind: fc.constant('json' as const),
  flavour,
  // Without a valid messages list no request can be valid, on either route.
  value: fc.jsonValue({ maxDepth: 4 }).filter((v) => !mentionsMessages(v)),
  contentType,
});

const fieldCase = flavour.chain((f) =>
  fc.constantFrom(...Object.keys(VALID_FIELDS[f])).chain((field) =>
    fc.record({
      kind: fc.constant('field' as const),
      flavour: fc.constant(f),
      field: fc.constant(field),
      value: anyJson.filter((v) => !VALID_FIELDS[f][field]!(v)),
      contentType,
    }),
  ),
);

const bytesCase = fc.record({
  kind: fc.constant('bytes' as const),
  flavour,
  bytes: fc.uint8Array({ maxLength: 2048 }).filter((b) => {
    try {
      return !mentionsMessages(JSON.parse(new TextDecoder().decode(b)));
    } catch {
      return true;
    }
  }),
  contentType,
});

const truncatedCase = fc.record({
  kind: fc.constant('truncated' as const),
  flavour,
  cut: fc.nat(),
  contentType,
});

const hugeCase = fc.record({
  kind: fc.constant('huge' as const),
  flavour,
  size: fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 8 }),
  chunked: fc.boolean(),
  contentType,
});

const KNOWN_PATHS = new Set([
  '/v1/messages',
  '/v1/chat/completions',
  '/healthz',
  '/mock/stats',
  '/mock/stats/reset',
]);
const routeCase = fc.record({
  kind: fc.constant('route' as const),
  path: fc
    .oneof(
      fc.webPath(),
      fc.constantFrom('/', '/v1', '/v1/messages/', '/v1/Messages', '/v2/messages', '/healthz/x', '/mock'),
      fc.constantFrom(...KNOWN_PATHS).map((p) => `${p}x`),
    )
    .map((p) => (p.startsWith('/') ? p : `/${p}`))
    .filter((p) => !KNOWN_PATHS.has(new URL(`http://h${p}`).pathname)),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
});

const methodCase = fc.record({
  kind: fc.constant('method' as const),
  flavour,
  method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
});

const BAD_SPECS = [
  'explode',
  'NONE',
  'Reset',
  ';;',
  'stall',
  'stall;duration_ms=0',
  'stall;duration_ms=-5',
  'stall;duration_ms=abc',
  'slow_headers',
  'ping_stall;duration_ms=10;ping_interval_ms=0',
  'reset;after_tokens=abc',
  'reset;after_tokens=5-2',
  'reset;after_tokens=1.5',
  'reset;after_tokens=-1',
  'reset;after_tokens',
  'reset;=5',
  'reset;bogus=1',
  'truncate;probability=2',
  'http_error;status=200',
  'http_error;status=abc',
  'http_error;status=600',
  'inband_error;error_type=',
];
const faultCase = fc.record({
  kind: fc.constant('fault' as const),
  flavour,
  spec: fc.oneof(
    fc.constantFrom(...BAD_SPECS),
    printable(60).filter((s) => {
      const kind = s
        .split(';')
        .map((p) => p.trim())
        .find((p) => p !== '');
      return kind === undefined || (!FAULT_KINDS.has(kind) && kind !== 'none');
    }),
  ),
});

const anyCase: fc.Arbitrary<Case> = fc.oneof(
  jsonCase,
  fieldCase,
  bytesCase,
  truncatedCase,
  hugeCase,
  routeCase,
  methodCase,
  faultCase,
);

// --- sending a case and what must come back ---------------------------------------------------

interface Expected {
  status: number;
  flavour: Flavour;
  /** A word the message must contain, when there is one to check. */
  mentions?: string;
}

function expectedFor(c: Case): Expected {
  switch (c.kind) {
    case 'route':
      return { status: 404, flavour: 'anthropic', mentions: c.method };
    case 'method':
      return { status: 405, flavour: c.flavour, mentions: c.method };
    case 'huge':
      return { status: 413, flavour: c.flavour, mentions: String(MAX_BODY) };
    case 'field':
      return { status: 400, flavour: c.flavour, mentions: c.field };
    default:
      return { status: 400, flavour: c.flavour };
  }
}

function requestFor(c: Case): { path: string; init: RequestInit } {
  const headers: Record<string, string> = {};
  if ('contentType' in c && c.contentType !== '') headers['content-type'] = c.contentType;
  switch (c.kind) {
    case 'json':
      return { path: ROUTES[c.flavour], init: { method: 'POST', headers, body: JSON.stringify(c.value) } };
    case 'field':
      return {
        path: ROUTES[c.flavour],
        init: { method: 'POST', headers, body: JSON.stringify({ ...base(c.flavour), [c.field]: c.value }) },
      };
    case 'bytes':
      return { path: ROUTES[c.flavour], init: { method: 'POST', headers, body: c.bytes } };
    case 'truncated': {
      const json = JSON.stringify(base(c.flavour));
      return {
        path: ROUTES[c.flavour],
        init: { method: 'POST', headers, body: json.slice(0, c.cut % json.length) },
      };
    }
    case 'huge': {
      // A valid request padded past the limit: only its size is wrong.
      const body = JSON.stringify(base(c.flavour)).replace('"fuzz"', `"${'x'.repeat(c.size)}"`);
      const bytes = new TextEncoder().encode(body);
      if (!c.chunked) return { path: ROUTES[c.flavour], init: { method: 'POST', headers, body: bytes } };
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
          controller.close();
        },
      });
      return { path: ROUTES[c.flavour], init: { method: 'POST', headers, body: stream, duplex: 'half' } };
    }
    case 'route': {
      const hasBody = c.method !== 'GET';
      return { path: c.path, init: { method: c.method, ...(hasBody ? { body: '{}' } : {}) } };
    }
    case 'method':
      return { path: ROUTES[c.flavour], init: { method: c.method } };
    case 'fault':
      return {
        path: ROUTES[c.flavour],
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json', [FAULT_HEADER]: c.spec },
          body: JSON.stringify(base(c.flavour)),
        },
      };
  }
}

function expectErrorBody(res: Response, text: string, want: Expected): void {
  expect(res.status).toBe(want.status);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
  const body = JSON.parse(text) as Record<string, unknown>;
  let message: string;
  if (want.flavour === 'anthropic') {
    const anthropicType: Record<number, string> = {
      400: 'invalid_request_error',
      404: 'not_found_error',
      405: 'invalid_request_error',
      413: 'request_too_large',
    };
    expect(body).toEqual({
      type: 'error',
      error: { type: anthropicType[want.status], message: expect.any(String) },
      request_id: res.headers.get('request-id'),
    });
    expect(body.request_id).toMatch(/^req_/);
    message = (body.error as { message: string }).message;
  } else {
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });
    message = (body.error as { message: string }).message;
  }
  expect(message.trim().length).toBeGreaterThan(0);
  expect(message).not.toMatch(/\[object \w+\]|undefined|NaN/);
  if (want.mentions !== undefined) expect(message).toContain(want.mentions);
  if (want.status === 405) expect(res.headers.get('allow')).toBe('POST');
}

describe('fuzzing the mock with malformed requests', () => {
  it('answers every one with a 4xx and a JSON error in the route shape, then still streams', async () => {
    const before = await getStats(mock);
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(anyCase, async (c) => {
        const { path, init } = requestFor(c);
        sent++;
        const res = await fetch(`${mock.url}${path}`, init);
        const text = await res.text();
        expectErrorBody(res, text, expectedFor(c));
      }),
      { numRuns: 200, seed: 20240611 },
    );
    const after = await getStats(mock);
    // Every malformed request was counted as rejected, and none started a stream.
    expect(after.rejected - before.rejected).toBe(sent);
    expect(after.streams_started).toBe(before.streams_started);
    expect(after.active).toBe(0);

    const health = await fetch(`${mock.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const a = await post(`${mock.url}/v1/messages`, anthropicBody(5));
    expect(a.status).toBe(200);
    expect(types(a.events).at(-1)).toBe('message_stop');
    const o = await post(`${mock.url}/v1/chat/completions`, openaiBody(5));
    expect(o.status).toBe(200);
    expect(openaiDeltas(o.events)).toHaveLength(5);
    expect(o.events.at(-1)!.data).toBe('[DONE]');
  });

  it('the same with a random seed (fewer runs): no input found so far breaks the contract', async () => {
    await fc.assert(
      fc.asyncProperty(anyCase, async (c) => {
        const { path, init } = requestFor(c);
        const res = await fetch(`${mock.url}${path}`, init);
        expectErrorBody(res, await res.text(), expectedFor(c));
      }),
      { numRuns: 100 },
    );
    expect((await fetch(`${mock.url}/healthz`)).status).toBe(200);
  });
});

/** Writes raw bytes on a fresh connection and reads everything until the server closes it. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
    });
    // The server may close (even reset) while the rest of an oversized request is in flight;
    // what it answered before that is what counts.
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
    socket.write(request);
  });
}

function parseRaw(text: string): { status: number; headers: Map<string, string>; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: text.slice(split + 4) };
}

describe('below HTTP: what the parser itself refuses', () => {
  it.each([
    { what: 'a garbage request line', request: 'GARBAGE\r\n\r\n', status: 400 },
    {
      what: 'a bad header line',
      request: 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      status: 400,
    },
    {
      what: 'a bad chunked body',
      request: 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      status: 400,
    },
    {
      what: 'oversized headers',
      request: `POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
    },
  ])(
    '$what gets a $status with an Anthropic JSON error body, and the mock carries on',
    async ({ request, status }) => {
      const rejected = mock.stats.rejected;
      const { status: got, headers, body } = parseRaw(await rawExchange(mock.port, request));
      expect(mock.stats.rejected).toBe(rejected + 1);
      expect(got).toBe(status);
      expect(headers.get('content-type')).toBe('application/json');
      expect(Number(headers.get('content-length'))).toBe(Buffer.byteLength(body));
      const parsed = JSON.parse(body) as { type: string; error: { type: string; message: string } };
      expect(parsed).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(parsed.error.message.length).toBeGreaterThan(0);
      expect((await fetch(`${mock.url}/healthz`)).status).toBe(200);
    },
  );

  it('a multi-megabyte body gets 413 whether its length is declared or chunked', async () => {
    const bytes = new Uint8Array(4 * 1024 * 1024).fill(0x61);
    const declared = await fetch(`${mock.url}/v1/messages`, { method: 'POST', body: bytes });
    expect(declared.status).toBe(413);
    expectErrorBody(declared, await declared.text(), { status: 413, flavour: 'anthropic' });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 65_536) controller.enqueue(bytes.slice(i, i + 65_536));
        controller.close();
      },
    });
    const chunked = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    });
    expectErrorBody(chunked, await chunked.text(), { status: 413, flavour: 'openai' });
  });
});
