// The mock upstream's HTTP front: routes, body limits, validation, auth, fault selection,
// and the sinks that put the engine's output on the wire. Bad input always gets an
// Anthropic-shaped (or, on the OpenAI route, OpenAI-shaped) 4xx; nothing crashes the process.
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenstormError } from '../errors.js';
import { Rng } from '../random.js';
import {
  FAULT_HEADER,
  type MockConfig,
  type MockConfigInput,
  parseFaultSpec,
  parseMockConfig,
} from './config.js';
import { Engine, type GenerationSink, type ResolvedFault, resolveFault } from './engine.js';
import {
  type GenerationRequest,
  type ParseResult,
  parseAnthropicRequest,
  parseOpenAIRequest,
} from './requests.js';
import { MockStats } from './stats.js';
import {
  anthropicErrorBody,
  anthropicErrorType,
  anthropicWire,
  openaiErrorBody,
  openaiErrorType,
  openaiWire,
  type WireWriter,
} from './wire.js';

export { FAULT_HEADER };

/** Capped by the kernel's net.core.somaxconn (4096 on current Linux). */
const LISTEN_BACKLOG = 4096;

export interface MockServerOptions {
  host?: string;
  port?: number;
  config?: MockConfigInput;
}

export interface MockServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: MockConfig;
  readonly stats: MockStats;
  readonly engine: Engine;
  readonly server: Server;
  close(): Promise<void>;
}

type Flavour = 'anthropic' | 'openai';

interface Route {
  flavour: Flavour;
  writer: WireWriter;
  parse: (body: unknown) => ParseResult;
}

const ROUTES: Record<string, Route> = {
  '/v1/messages': { flavour: 'anthropic', writer: anthropicWire, parse: parseAnthropicRequest },
  '/v1/chat/completions': { flavour: 'openai', writer: openaiWire, parse: parseOpenAIRequest },
};

const JSON_TYPE = 'application/json';

function sendError(
  res: ServerResponse,
  flavour: Flavour,
  status: number,
  message: string,
  extra: Record<string, string> = {},
) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const type = flavour === 'openai' ? openaiErrorType(status) : anthropicErrorType(status);
  const body = errorBody(res, flavour, type, message);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function errorBody(res: ServerResponse, flavour: Flavour, errorType: string, message: string): string {
  return flavour === 'openai'
    ? openaiErrorBody(errorType, message)
    : anthropicErrorBody(errorType, message, String(res.getHeader('request-id') ?? ''));
}

function rateLimitHeaders(status: number, retryAfterS: number | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (retryAfterS !== undefined) {
    h['retry-after'] = String(Math.ceil(retryAfterS));
    h['retry-after-ms'] = String(Math.round(retryAfterS * 1000));
  }
  if (status === 429) {
    const reset = new Date(Date.now() + (retryAfterS ?? 1) * 1000).toISOString();
    h['anthropic-ratelimit-requests-limit'] = '1000';
    h['anthropic-ratelimit-requests-remaining'] = '0';
    h['anthropic-ratelimit-requests-reset'] = reset;
    h['anthropic-ratelimit-tokens-limit'] = '100000';
    h['anthropic-ratelimit-tokens-remaining'] = '0';
    h['anthropic-ratelimit-tokens-reset'] = reset;
  }
  return h;
}

function httpErrorMessage(status: number): string {
  switch (status) {
    case 429:
      return 'Number of requests has exceeded your rate limit (injected by the tokenstorm mock).';
    case 529:
      return 'Overloaded (injected by the tokenstorm mock).';
    default:
      return `Injected HTTP ${status} (tokenstorm mock fault).`;
  }
}

class ResponseSink implements GenerationSink {
  constructor(
    private readonly res: ServerResponse,
    private readonly flavour: Flavour,
    private readonly contentType: string,
  ) {}

  open(head: string): void {
    if (head === '') return; // non-streaming: headers go out with the body
    this.res.writeHead(200, { 'content-type': this.contentType, 'cache-control': 'no-cache' });
    this.res.write(head);
  }

  write(text: string): void {
    this.res.write(text);
  }

  end(text: string): void {
    this.res.end(text);
  }

  complete(body: string): void {
    this.res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  fail(status: number, errorType: string, message: string): void {
    const body = errorBody(this.res, this.flavour, errorType, message);
    this.res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  reset(): void {
    const socket = this.res.socket;
    if (!socket || socket.destroyed) return;
    // Let what was written reach the kernel first, then drop the connection with RST.
    setImmediate(() => {
      if (!socket.destroyed) socket.resetAndDestroy();
    });
  }
}

export async function startMock(opts: MockServerOptions = {}): Promise<MockServer> {
  const config = parseMockConfig(opts.config ?? {});
  const stats = new MockStats();
  const engine = new Engine(config, stats);
  const headerFaultRng = new Rng(`header-faults:${config.seed}`);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    res.setHeader('request-id', engine.nextId('req_'));
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = ROUTES[path];
    if (route === undefined) {
      if (req.method === 'GET' && path === '/healthz') return json(res, 200, { status: 'ok' });
      if (req.method === 'GET' && path === '/mock/stats') return json(res, 200, stats.snapshot());
      if (req.method === 'POST' && path === '/mock/stats/reset') {
        stats.reset();
        return json(res, 200, { status: 'reset' });
      }
      stats.rejected++;
      return sendError(
        res,
        'anthropic',
        404,
        `Not found: ${req.method} ${path}. The mock serves POST /v1/messages, POST /v1/chat/completions and GET /healthz.`,
      );
    }
    if (req.method !== 'POST') {
      stats.rejected++;
      return sendError(res, route.flavour, 405, `Method ${req.method} not allowed on ${path}; use POST.`, {
        allow: 'POST',
      });
    }
    if (config.api_key !== undefined && !authorised(req, config.api_key)) {
      stats.rejected++;
      return sendError(res, route.flavour, 401, 'invalid x-api-key');
    }
    readBody(req, res, config.max_body_bytes, route.flavour, stats, (raw) => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (err) {
        stats.rejected++;
        return sendError(
          res,
          route.flavour,
          400,
          `The request body is not valid JSON: ${(err as Error).message}`,
        );
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        stats.rejected++;
        return sendError(res, route.flavour, 400, 'The request body must be a JSON object.');
      }
      const parsed = route.parse(body);
      if (!parsed.ok) {
        stats.rejected++;
        return sendError(res, route.flavour, 400, parsed.message);
      }
      let fault: ResolvedFault | null;
      const spec = req.headers[FAULT_HEADER];
      if (typeof spec === 'string') {
        try {
          const rule = parseFaultSpec(spec, FAULT_HEADER);
          fault = rule === null ? null : resolveFault(rule, headerFaultRng);
        } catch (err) {
          stats.rejected++;
          const msg =
            err instanceof TokenstormError
              ? [err.message.split('\n')[0], ...err.problems].join(' ')
              : String(err);
          return sendError(res, route.flavour, 400, msg);
        }
      } else {
        fault = engine.drawFault();
      }
      serve(res, route, parsed.request, fault);
    });
  };

  const serve = (
    res: ServerResponse,
    route: Route,
    request: GenerationRequest,
    fault: ResolvedFault | null,
  ): void => {
    if (fault?.kind === 'http_error') {
      stats.faults.http_error++;
      return sendError(
        res,
        route.flavour,
        fault.status,
        httpErrorMessage(fault.status),
        rateLimitHeaders(fault.status, fault.retryAfterS),
      );
    }
    if (engine.saturated()) {
      stats.shed++;
      return sendError(
        res,
        route.flavour,
        529,
        'Overloaded: the mock queue is full (capacity.max_queue).',
        rateLimitHeaders(529, 1),
      );
    }
    const info = {
      messageId: route.flavour === 'openai' ? engine.nextId('chatcmpl-') : engine.nextId('msg_'),
      model: request.model,
      inputTokens: request.inputTokens,
      created: Math.floor(Date.now() / 1000),
      includeUsage: request.includeUsage,
    };
    const g = engine.start(
      request,
      route.writer,
      new ResponseSink(res, route.flavour, route.writer.contentType),
      info,
      fault,
    );
    res.on('close', () => {
      if (!res.writableFinished) engine.abort(g);
    });
  };

  const server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, handle);
  // Bytes the HTTP parser refuses never reach `handle`; answer them in the same JSON shape.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    stats.rejected++;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = anthropicErrorBody(
      anthropicErrorType(status),
      `Malformed HTTP request (${err.code ?? err.message}); send an HTTP/1.1 POST with a JSON body.`,
      engine.nextId('req_'),
    );
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: ${JSON_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new TokenstormError(
          'E_LISTEN',
          `mock cannot listen on ${host}:${opts.port ?? 0}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    // A deep accept queue: a load test opens thousands of connections at once, and Node's default
    // backlog (511) makes the kernel drop SYNs, which clients retry after 1, 2, 4 s.
    server.listen({ port: opts.port ?? 0, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  stats.start();
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    config,
    stats,
    engine,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        engine.close();
        stats.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function authorised(req: IncomingMessage, key: string): boolean {
  if (req.headers['x-api-key'] === key) return true;
  const auth = req.headers.authorization;
  return typeof auth === 'string' && auth === `Bearer ${key}`;
}

function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  flavour: Flavour,
  stats: MockStats,
  done: (raw: string) => void,
) {
  const tooLarge = () => {
    stats.rejected++;
    res.setHeader('connection', 'close');
    sendError(
      res,
      flavour,
      413,
      `Request body too large: the mock accepts at most ${limit} bytes (max_body_bytes).`,
    );
    req.resume();
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > limit) {
      failed = true;
      chunks.length = 0;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!failed) done(Buffer.concat(chunks, size).toString('utf8'));
  });
  req.on('error', () => {
    failed = true;
  });
}
