// The reference server's settings, validated once and frozen. The CLI fills them from
// flags and TOKENSTORM_SERVE_* environment variables; tests pass them directly.
import { z } from 'zod';
import { validate } from '../config/validate.js';

const ms = z.number().int().nonnegative();

export const serveConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Port for GET /metrics (Prometheus); undefined: no metrics listener. */
  metrics_port: z.number().int().min(0).max(65535).optional(),
  /** Upstream Anthropic API base URL; undefined: start the mock in-process. */
  upstream: z.url({ error: 'upstream must be a URL such as https://api.anthropic.com' }).optional(),
  api_key: z.string().optional(),
  upstream_max_retries: z.number().int().min(0).max(10).default(2),
  upstream_timeout_ms: ms.default(600_000),
  default_model: z.string().min(1).default('claude-sonnet-5-5'),
  max_tokens_limit: z.number().int().positive().default(8192),
  heartbeat_ms: z.number().int().positive().default(15_000),
  retry_ms: ms.default(2000),
  resume_grace_ms: ms.default(10_000),
  replay_buffer_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  max_buffered_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  flush_interval_ms: ms.default(0),
  max_body_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  auth_tokens_file: z.string().optional(),
  rate_limit_rps: z.number().nonnegative().default(0),
  rate_limit_burst: z.number().positive().default(20),
  max_streams: z.number().int().positive().default(10_000),
  cors_origins: z.array(z.string()).default([]),
  drain_timeout_ms: ms.default(10_000),
  log_level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Shared stream store for several replicas (docs/server.md, Replicas); undefined: in memory. */
  redis_url: z
    .string()
    .regex(/^rediss?:\/\//, { error: 'redis_url must be a URL such as redis://127.0.0.1:6379/0' })
    .optional(),
  redis_key_prefix: z.string().min(1).default('tokenstorm:'),
  /** Events kept per stream in Redis (approximately). */
  redis_max_events: z.number().int().positive().default(100_000),
});

export type ServeConfig = z.output<typeof serveConfigSchema>;
export type ServeConfigInput = z.input<typeof serveConfigSchema>;

export function parseServeConfig(input: ServeConfigInput, source = 'serve options'): ServeConfig {
  return validate(serveConfigSchema, input, source);
}
