// `tokenstorm serve`: the reference streaming server.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadMockProfile } from '../mock/config.js';
import { startReferenceServer } from '../server/app.js';
import type { ServeConfigInput } from '../server/config.js';
import { startTracing } from '../telemetry/tracing.js';
import { runUntilSignal } from './signals.js';

interface ServeArgs {
  host: string;
  port: number;
  'metrics-port': number;
  upstream?: string;
  'upstream-max-retries': number;
  'upstream-timeout-ms': number;
  'default-model': string;
  'max-tokens-limit': number;
  'heartbeat-ms': number;
  'retry-ms': number;
  'resume-grace-ms': number;
  'replay-buffer-bytes': number;
  'max-buffered-bytes': number;
  'flush-interval-ms': number;
  'max-body-bytes': number;
  'auth-tokens-file'?: string;
  'rate-limit-rps': number;
  'rate-limit-burst': number;
  'max-streams': number;
  'cors-origin': string[];
  'drain-timeout-ms': number;
  'log-level': 'debug' | 'info' | 'warn' | 'error' | 'silent';
  'mock-profile'?: string;
  'redis-url'?: string;
  'redis-key-prefix': string;
}

function builder(y: Argv): Argv<ServeArgs> {
  return y
    .usage(
      '$0 serve [options]\n\nThe reference streaming server: POST /v1/chat/stream proxies the Anthropic Messages API through @anthropic-ai/sdk to clients as SSE, with resume, cancel, heartbeats, backpressure, auth, limits, graceful shutdown and OpenTelemetry metrics. Without --upstream it starts the mock upstream in-process (offline, no key). Every option can also be set as TOKENSTORM_SERVE_<OPTION> (e.g. TOKENSTORM_SERVE_PORT); the upstream key comes from ANTHROPIC_API_KEY. Wire format: docs/server.md.',
    )
    .env('TOKENSTORM_SERVE')
    .options({
      host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' },
      port: { type: 'number', default: 8080, describe: 'Port to listen on (0: any free port)' },
      'metrics-port': {
        type: 'number',
        default: 9464,
        describe: 'Port for GET /metrics (Prometheus); -1 disables it',
      },
      upstream: {
        type: 'string',
        describe: 'Anthropic API base URL, e.g. https://api.anthropic.com [default: in-process mock]',
      },
      'upstream-max-retries': {
        type: 'number',
        default: 2,
        describe: 'SDK retries before the first byte reaches the client',
      },
      'upstream-timeout-ms': { type: 'number', default: 600_000, describe: 'SDK request timeout' },
      'default-model': {
        type: 'string',
        default: 'claude-sonnet-5-5',
        describe: 'Model when the request names none',
      },
      'max-tokens-limit': {
        type: 'number',
        default: 8192,
        describe: 'Largest max_tokens a client may ask for',
      },
      'heartbeat-ms': {
        type: 'number',
        default: 15_000,
        describe: 'Heartbeat comment after this long without a write',
      },
      'retry-ms': { type: 'number', default: 2000, describe: 'SSE retry: value sent to clients' },
      'resume-grace-ms': {
        type: 'number',
        default: 10_000,
        describe:
          'How long the upstream keeps running after the client goes, so it can resume (0: abort at once)',
      },
      'replay-buffer-bytes': {
        type: 'number',
        default: 1_048_576,
        describe: 'Events kept per stream for resume',
      },
      'max-buffered-bytes': {
        type: 'number',
        default: 1_048_576,
        describe: 'Unsent bytes per client before it is dropped',
      },
      'flush-interval-ms': {
        type: 'number',
        default: 0,
        describe: 'Batch token writes every N ms (0: write each at once)',
      },
      'max-body-bytes': { type: 'number', default: 1_048_576, describe: 'Largest request body (413 beyond)' },
      'auth-tokens-file': {
        type: 'string',
        describe: 'YAML/JSON map of bearer token → principal; without it the server is OPEN to anyone',
      },
      'rate-limit-rps': {
        type: 'number',
        default: 0,
        describe: 'Streams per second per principal (0: no limit)',
      },
      'rate-limit-burst': { type: 'number', default: 20, describe: 'Burst allowance of the rate limit' },
      'max-streams': {
        type: 'number',
        default: 10_000,
        describe: 'Concurrent streams before new ones get 503',
      },
      'cors-origin': {
        type: 'string',
        array: true,
        default: [],
        describe: 'Origins allowed by CORS (off when empty)',
      },
      'drain-timeout-ms': {
        type: 'number',
        default: 10_000,
        describe: 'On SIGTERM, how long in-flight streams may finish',
      },
      'log-level': {
        choices: ['debug', 'info', 'warn', 'error', 'silent'] as const,
        default: 'info' as const,
        describe: 'Structured JSON log level (info logs one line per stream end)',
      },
      'mock-profile': { type: 'string', describe: 'Profile for the in-process mock (see docs/mock.md)' },
      'redis-url': {
        type: 'string',
        describe:
          'Share streams with other replicas through Redis (redis://host:port/db): resume and cancel on any replica [default: in memory, one replica]',
      },
      'redis-key-prefix': {
        type: 'string',
        default: 'tokenstorm:',
        describe: 'Prefix of every Redis key and channel (replicas that share streams use the same)',
      },
    })
    .example('$0 serve', 'Offline: the in-process mock is the upstream')
    .example(
      'ANTHROPIC_API_KEY=… $0 serve --upstream https://api.anthropic.com',
      'The real API',
    ) as unknown as Argv<ServeArgs>;
}

export function serveConfigFromArgs(a: ServeArgs): ServeConfigInput {
  return {
    host: a.host,
    port: a.port,
    ...(a['metrics-port'] >= 0 ? { metrics_port: a['metrics-port'] } : {}),
    ...(a.upstream ? { upstream: a.upstream } : {}),
    ...(process.env.ANTHROPIC_API_KEY ? { api_key: process.env.ANTHROPIC_API_KEY } : {}),
    upstream_max_retries: a['upstream-max-retries'],
    upstream_timeout_ms: a['upstream-timeout-ms'],
    default_model: a['default-model'],
    max_tokens_limit: a['max-tokens-limit'],
    heartbeat_ms: a['heartbeat-ms'],
    retry_ms: a['retry-ms'],
    resume_grace_ms: a['resume-grace-ms'],
    replay_buffer_bytes: a['replay-buffer-bytes'],
    max_buffered_bytes: a['max-buffered-bytes'],
    flush_interval_ms: a['flush-interval-ms'],
    max_body_bytes: a['max-body-bytes'],
    ...(a['auth-tokens-file'] ? { auth_tokens_file: a['auth-tokens-file'] } : {}),
    rate_limit_rps: a['rate-limit-rps'],
    rate_limit_burst: a['rate-limit-burst'],
    max_streams: a['max-streams'],
    cors_origins: a['cors-origin'],
    drain_timeout_ms: a['drain-timeout-ms'],
    log_level: a['log-level'],
    ...(a['redis-url'] ? { redis_url: a['redis-url'] } : {}),
    redis_key_prefix: a['redis-key-prefix'],
  };
}

async function handler(args: ArgumentsCamelCase<ServeArgs>): Promise<void> {
  const tracing = await startTracing('tokenstorm-server');
  const server = await startReferenceServer({
    config: serveConfigFromArgs(args),
    ...(args['mock-profile'] ? { mock: loadMockProfile(args['mock-profile']) } : {}),
  });
  if (args['log-level'] !== 'info' && args['log-level'] !== 'debug')
    process.stdout.write(`tokenstorm serve listening on ${server.url}\n`);
  await runUntilSignal(async () => {
    await server.shutdown();
    await tracing.shutdown();
  });
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the reference streaming server (SDK proxy with resume, cancel, backpressure, OpenTelemetry)',
  builder,
  handler,
};
