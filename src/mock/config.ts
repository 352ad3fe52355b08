// The mock upstream's configuration: latency model, capacity model, output lengths and
// server-side faults. One zod schema per part gives the type, the validator and (later)
// the JSON Schema. Field names are snake_case, as in every tokenstorm YAML file.
import { z } from 'zod';
import { readYamlFile, validate } from '../config/validate.js';
import { TokenstormError } from '../errors.js';
import { distributionMean } from '../random.js';

// The custom message is for a missing or mistyped value only; range checks keep their own
// ("Too small: expected number to be >=0"), or -5 would be reported as "must be a number".
const numberOf = (what: string) =>
  z.number({ error: (iss) => (iss.code === 'invalid_type' ? `${what} must be a number` : undefined) });
const positive = (what: string) => numberOf(what).positive();
const nonNegative = (what: string) => numberOf(what).nonnegative();

export const distributionSchema = z
  .strictObject({
    type: z.enum(['fixed', 'normal', 'lognormal', 'uniform', 'exponential']),
    mean: nonNegative('mean').optional(),
    stddev: nonNegative('stddev').optional(),
    min: nonNegative('min').optional(),
    max: nonNegative('max').optional(),
  })
  .superRefine((d, ctx) => {
    if (d.type === 'uniform') {
      if (d.min === undefined || d.max === undefined)
        ctx.addIssue({ code: 'custom', message: 'a uniform distribution needs min and max' });
    } else if (d.mean === undefined) {
      ctx.addIssue({ code: 'custom', message: `a ${d.type} distribution needs mean`, path: ['mean'] });
    }
    if ((d.type === 'normal' || d.type === 'lognormal') && d.stddev === undefined)
      ctx.addIssue({ code: 'custom', message: `a ${d.type} distribution needs stddev`, path: ['stddev'] });
    if (d.type === 'lognormal' && d.mean === 0)
      ctx.addIssue({ code: 'custom', message: 'a lognormal distribution needs mean > 0', path: ['mean'] });
    if (d.min !== undefined && d.max !== undefined && d.min > d.max)
      ctx.addIssue({ code: 'custom', message: 'min must not exceed max', path: ['min'] });
  });

/** A count of tokens: a fixed number, or [min, max] drawn uniformly per request. */
const tokenCount = z.union([
  z.number().int().nonnegative(),
  z
    .tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])
    .refine(([a, b]) => a <= b, 'a range [min, max] needs min <= max'),
]);

const probability = z.number().min(0).max(1).default(1);

export const faultSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('http_error'),
      probability,
      status: z.number().int().min(400).max(599).default(529),
      retry_after_s: nonNegative('retry_after_s').optional(),
    }),
    z.strictObject({
      kind: z.literal('inband_error'),
      probability,
      after_tokens: tokenCount.default(0),
      error_type: z.string().min(1).default('overloaded_error'),
      message: z.string().default('Overloaded'),
    }),
    z.strictObject({
      kind: z.literal('stall'),
      probability,
      after_tokens: tokenCount.default(0),
      duration_ms: positive('duration_ms'),
    }),
    z.strictObject({
      kind: z.literal('ping_stall'),
      probability,
      after_tokens: tokenCount.default(0),
      duration_ms: positive('duration_ms'),
      ping_interval_ms: positive('ping_interval_ms').default(1000),
    }),
    z.strictObject({ kind: z.literal('reset'), probability, after_tokens: tokenCount.default(0) }),
    z.strictObject({ kind: z.literal('slow_headers'), probability, delay_ms: positive('delay_ms') }),
    z.strictObject({ kind: z.literal('truncate'), probability, after_tokens: tokenCount.default(0) }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? 'kind must be one of http_error, inband_error, stall, ping_stall, reset, slow_headers, truncate'
        : undefined,
  },
);
export type FaultRule = z.output<typeof faultSchema>;
export type FaultKind = FaultRule['kind'];

export const mockConfigSchema = z
  .strictObject({
    seed: z.number().int().default(1),
    latency: z
      .strictObject({
        /** Time from taking a decode slot to the first token, before prefill. */
        ttft_base_ms: nonNegative('ttft_base_ms').default(200),
        /** Prefill cost per input token, added to TTFT. */
        prefill_ms_per_input_token: nonNegative('prefill_ms_per_input_token').default(0),
        /** Inter-token latency. */
        itl_ms: distributionSchema.default({ type: 'fixed', mean: 20 }),
        /** Periodic `ping` events while a stream is open (0: only the one after content_block_start). */
        ping_interval_ms: nonNegative('ping_interval_ms').default(0),
      })
      .default({
        ttft_base_ms: 200,
        prefill_ms_per_input_token: 0,
        itl_ms: { type: 'fixed', mean: 20 },
        ping_interval_ms: 0,
      }),
    capacity: z
      .strictObject({
        /** Concurrent decode slots; requests beyond them queue, so TTFT grows with load. */
        slots: z.number().int().positive().default(256),
        /** Queued requests beyond this are refused with 529 overloaded_error. */
        max_queue: z.number().int().nonnegative().default(100_000),
        /** ITL multiplier grows linearly to (1 + degradation) as slots fill. */
        degradation: nonNegative('degradation').default(0),
      })
      .default({ slots: 256, max_queue: 100_000, degradation: 0 }),
    /** Thinking, tool-use and structured-output responses (src/mock/rich.ts, docs/mock.md). */
    responses: z
      .strictObject({
        /** request: a thinking block only when the request enables thinking; always: on every response. */
        thinking: z.enum(['request', 'always']).default('request'),
        /** Thinking tokens per response (capped at the request's budget_tokens and max_tokens − 1). */
        thinking_tokens: z.number().int().positive().default(32),
        /** request: JSON text only when the request asks for an output format; always: every answer. */
        structured: z.enum(['request', 'always']).default('request'),
        /** Text tokens before a tool_use block. */
        tool_preamble_tokens: z.number().int().positive().default(3),
        /** Tool argument fragments are cut every [min, max] characters, anywhere in the JSON. */
        tool_fragment_chars: z
          .tuple([z.number().int().positive(), z.number().int().positive()])
          .refine(([a, b]) => a <= b, 'a range [min, max] needs min <= max')
          .default([1, 12]),
      })
      .default({
        thinking: 'request',
        thinking_tokens: 32,
        structured: 'request',
        tool_preamble_tokens: 3,
        tool_fragment_chars: [1, 12],
      }),
    /** Output length per request, capped by the request's max_tokens; absent: always max_tokens. */
    output_tokens: distributionSchema.optional(),
    faults: z.array(faultSchema).default([]),
    /** When set, requests must carry it as x-api-key (or Authorization: Bearer). */
    api_key: z.string().min(1).optional(),
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
  })
  .superRefine((c, ctx) => {
    const total = c.faults.reduce((s, f) => s + f.probability, 0);
    if (total > 1 + 1e-9)
      ctx.addIssue({
        code: 'custom',
        path: ['faults'],
        message: `fault probabilities add up to ${total.toFixed(3)}; at most one fault strikes a request, so they must add up to 1 or less`,
      });
  });

export type MockConfig = z.output<typeof mockConfigSchema>;
export type MockConfigInput = z.input<typeof mockConfigSchema>;

export function parseMockConfig(input: unknown, source = 'mock configuration'): MockConfig {
  return validate(mockConfigSchema, input ?? {}, source);
}

export function loadMockProfile(path: string): MockConfigInput {
  const raw = readYamlFile(path);
  if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw)))
    throw new TokenstormError(
      'E_CONFIG_INVALID',
      `${path} must be a YAML mapping (latency:, capacity:, faults:, …)`,
    );
  return (raw ?? {}) as MockConfigInput;
}

/** The request header that sets one request's fault (compact syntax below); tokenstorm serve forwards it. */
export const FAULT_HEADER = 'x-tokenstorm-fault';

/**
 * Parses the compact fault syntax shared by `--fault` and the `x-tokenstorm-fault` header:
 * `kind;key=value;key=value`, e.g. `reset;after_tokens=5` or `http_error;status=429;retry_after_s=0`.
 * `none` means no fault. Returns the validated rule or throws E_CONFIG_INVALID.
 */
export function parseFaultSpec(spec: string, source: string): FaultRule | null {
  const parts = spec
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const kind = parts.shift();
  if (kind === undefined)
    throw new TokenstormError(
      'E_CONFIG_INVALID',
      `${source}: empty fault; write kind;key=value, e.g. reset;after_tokens=5`,
    );
  if (kind === 'none') return null;
  const obj: Record<string, unknown> = { kind };
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0)
      throw new TokenstormError(
        'E_CONFIG_INVALID',
        `${source}: "${p}" is not key=value (in fault "${spec}")`,
      );
    const key = p.slice(0, eq).trim();
    const value = p.slice(eq + 1).trim();
    const range = /^(\d+)-(\d+)$/.exec(value);
    if (range) obj[key] = [Number(range[1]), Number(range[2])];
    else if (value !== '' && Number.isFinite(Number(value))) obj[key] = Number(value);
    else obj[key] = value;
  }
  return validate(faultSchema, obj, `${source} "${spec}"`);
}

/**
 * The analytical capacity of the model (Little's law over the decode slots): a request
 * holds a slot for its TTFT (base + prefill) plus (tokens − 1) inter-token gaps, with the
 * ITL at full occupancy. Throughput beyond slots / holdTime only grows the queue.
 */
export interface CapacityEstimate {
  slots: number;
  holdMs: number;
  maxStreamsPerSec: number;
  maxTokensPerSec: number;
  itlAtFullMs: number;
}

export function capacityEstimate(
  cfg: MockConfig,
  req: { inputTokens: number; outputTokens: number },
): CapacityEstimate {
  const itlAtFullMs = distributionMean(cfg.latency.itl_ms) * (1 + cfg.capacity.degradation);
  const holdMs =
    cfg.latency.ttft_base_ms +
    cfg.latency.prefill_ms_per_input_token * req.inputTokens +
    Math.max(0, req.outputTokens - 1) * itlAtFullMs;
  const maxStreamsPerSec = holdMs > 0 ? (cfg.capacity.slots * 1000) / holdMs : Number.POSITIVE_INFINITY;
  return {
    slots: cfg.capacity.slots,
    holdMs,
    maxStreamsPerSec,
    maxTokensPerSec: maxStreamsPerSec * req.outputTokens,
    itlAtFullMs,
  };
}
