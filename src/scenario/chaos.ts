// The chaos parts of a scenario (docs/chaos.md): client-side faults (`faults.client`), drawn per
// stream from the scenario's seed, and the leak check run against the reference server's metrics
// at the end. Upstream faults reuse the mock's fault rules (src/mock/config.ts).
import { z } from 'zod';
import { strict } from './zod-helpers.js';

const count = z.number().int().nonnegative();
const countRange = z.union([
  count,
  z.tuple([count, count]).refine(([a, b]) => a <= b, 'a range [min, max] needs min <= max'),
]);
const ms = z.number().nonnegative();
const msRange = z.union([
  ms,
  z.tuple([ms, ms]).refine(([a, b]) => a <= b, 'a range [min, max] needs min <= max'),
]);
const probability = z
  .number()
  .min(0)
  .max(1)
  .default(1)
  .describe('Share of streams this fault strikes (0–1). At most one fault strikes a stream.');
const afterTokens = countRange
  .optional()
  .describe('Strike after this many content tokens (a number or [min, max], drawn per stream).');
const afterMs = msRange
  .optional()
  .describe('Strike this many ms after the response started (a number or [min, max]).');

export const CLIENT_FAULT_KINDS = [
  'disconnect',
  'stall',
  'slow_reader',
  'cancel',
  'abort_before_headers',
] as const;
export type ClientFaultKind = (typeof CLIENT_FAULT_KINDS)[number];
export const RECONNECT = ['none', 'retry', 'resume'] as const;

export const clientFaultSchema = z
  .discriminatedUnion(
    'kind',
    [
      strict({
        kind: z.literal('disconnect').describe('Drop the connection mid-stream.'),
        probability,
        after_tokens: afterTokens,
        after_ms: afterMs,
        reconnect: z
          .enum(RECONNECT, {
            error: 'reconnect must be none, retry (a new request) or resume (Last-Event-ID)',
          })
          .default('resume')
          .describe(
            'none: the stream ends client_aborted; retry: send the request again; resume: GET the stream with Last-Event-ID (protocol reference).',
          ),
        reconnect_delay_ms: msRange
          .default(0)
          .describe('Wait before reconnecting, ms (number or [min, max]).'),
        max_attempts: z
          .number()
          .int()
          .min(1)
          .max(20)
          .default(3)
          .describe(
            'Reconnect attempts before the stream is given up (each failed attempt waits the delay again).',
          ),
      }),
      strict({
        kind: z.literal('stall').describe('Stop reading for a while (real TCP backpressure on the server).'),
        probability,
        after_tokens: afterTokens,
        after_ms: afterMs,
        duration_ms: msRange.describe('How long to stop reading, ms (number or [min, max]).'),
      }),
      strict({
        kind: z.literal('slow_reader').describe('Read at a fixed byte rate from the strike on.'),
        probability,
        after_tokens: afterTokens,
        after_ms: afterMs,
        bytes_per_s: z.number().positive().describe('Reading rate, bytes per second.'),
      }),
      strict({
        kind: z
          .literal('cancel')
          .describe(
            "Cancel through the reference server's cancel route (POST …/:id/cancel) and time the terminal event; other protocols abort.",
          ),
        probability,
        after_tokens: afterTokens,
        after_ms: afterMs,
      }),
      strict({
        kind: z.literal('abort_before_headers').describe('Give up before the response starts.'),
        probability,
        after_ms: msRange
          .default(0)
          .describe('Give up this many ms after sending the request (0: as soon as it is written).'),
      }),
    ],
    {
      error: (iss) =>
        iss.code === 'invalid_union' ? `kind must be one of ${CLIENT_FAULT_KINDS.join(', ')}` : undefined,
    },
  )
  .superRefine((f, ctx) => {
    if ('after_tokens' in f && f.after_tokens !== undefined && 'after_ms' in f && f.after_ms !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['after_ms'],
        message: 'give after_tokens or after_ms, not both',
      });
  });
export type ClientFaultRule = z.output<typeof clientFaultSchema>;

export const leakCheckSchema = strict({
  enabled: z
    .boolean()
    .optional()
    .describe(
      "Check the server's active streams and upstream requests return to zero after the run. Default: on for a run with faults when the server's metrics are known (embedded, or target.metrics_url).",
    ),
  timeout_ms: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "How long to wait for zero, ms. Default: the server's resume grace + 5 s (embedded), else 15 s.",
    ),
})
  .prefault({})
  .describe('The leak check at the end of a run against the reference server (docs/chaos.md).');
