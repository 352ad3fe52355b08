// Every metric a run records, in one place: histograms ("trends" in k6 terms), rates and counters.
// Names are the result file's keys and the names thresholds refer to (docs/results.md).

/** How a histogram's values are stored: value in the display unit × scale, as an integer. */
export interface HistogramDef {
  readonly unit: 'ms' | 'tokens' | 'tokens/s';
  readonly scale: number;
  readonly description: string;
}

export const HISTOGRAMS = {
  ttft_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'time to first content token, from the intended start (includes schedule lag)',
  },
  ttft_service_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'time to first content token, from the request being written',
  },
  ttft_thinking_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'time to the first thinking token, from the intended start (streams that thought)',
  },
  ttfa_ms: {
    unit: 'ms',
    scale: 1000,
    description:
      'time to the first answer token (the first non-thinking, non-tool text: what a user sees), from the intended start',
  },
  tool_call_first_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'time to the first tool call (its start event), from the intended start',
  },
  tool_args_complete_ms: {
    unit: 'ms',
    scale: 1000,
    description: "time to the first tool call's complete arguments, from the intended start",
  },
  first_field_ms: {
    unit: 'ms',
    scale: 1000,
    description:
      'structured output: time to the first complete top-level field of the JSON answer, from the intended start',
  },
  headers_ms: { unit: 'ms', scale: 1000, description: 'request written to response headers' },
  itl_ms: { unit: 'ms', scale: 1000, description: 'every gap between consecutive content events' },
  tpot_ms: { unit: 'ms', scale: 1000, description: 'per stream: (e2e − ttft) / (tokens − 1)' },
  e2e_ms: { unit: 'ms', scale: 1000, description: 'intended start to the terminal event' },
  schedule_lag_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'intended start to the request actually starting (coordinated omission made visible)',
  },
  resume_ms: {
    unit: 'ms',
    scale: 1000,
    description:
      'chaos: reconnect request sent to the first new content token (or terminal event) after a disconnect',
  },
  cancel_ms: {
    unit: 'ms',
    scale: 1000,
    description: 'chaos: cancel sent to the terminal event confirming it',
  },
  output_tokens: { unit: 'tokens', scale: 1, description: 'output tokens per completed stream' },
  stream_tokens_per_s: {
    unit: 'tokens/s',
    scale: 1000,
    description: 'per completed stream: output tokens / e2e (what one user sees, TTFT included)',
  },
} as const satisfies Record<string, HistogramDef>;

export type HistogramName = keyof typeof HISTOGRAMS;
export const HISTOGRAM_NAMES = Object.keys(HISTOGRAMS) as HistogramName[];

/**
 * Outcomes, exactly one per stream (DESIGN.md, extended). A 200 status is not success; a terminal event is.
 */
export const OUTCOMES = [
  /** The protocol's terminal success event arrived. */
  'completed',
  /** The response status was not 2xx. */
  'http_error',
  /** Connecting failed, or the connection broke before response headers (refused, reset, connect timeout). */
  'connection_error',
  /** The server sent an in-band error event. */
  'stream_error',
  /** The events broke the protocol (malformed JSON, wrong order, wrong content type). */
  'protocol_error',
  /** The byte stream ended without a terminal event. */
  'truncated',
  /** No content for the stall timeout (pings and heartbeats do not count). */
  'stalled',
  /** The headers timeout or the overall stream timeout expired. */
  'timed_out',
  /** The client dropped the connection on purpose (a client-side fault). */
  'client_aborted',
  /** The client cancelled the stream through the target's cancel route (a client-side fault). */
  'cancelled',
  /** Still running when the run's graceful stop expired; not counted against completion. */
  'interrupted',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Rates (0–1), thresholds use `rate`. Denominator: measured streams that ended, minus interrupted. */
export const RATES = {
  completion_rate: 'completed streams / ended streams',
  error_rate: 'streams that ended in any outcome but completed (client faults excluded) / ended streams',
  goodput_rate: "completed streams that met the scenario's slo / ended streams",
  drop_rate: 'dropped arrivals / (arrivals started + dropped); open model only',
} as const;
export type RateName = keyof typeof RATES;

/** Counters; thresholds use `count` (total) or `rate` (per second of measured time). */
export const COUNTERS = {
  streams: 'measured streams that ended',
  dropped_arrivals: 'arrivals that found no free slot (open model)',
  output_tokens_total: 'output tokens over all measured streams',
  ...(Object.fromEntries(
    OUTCOMES.map((o) => [`${o}_streams`, `measured streams whose outcome was ${o}`]),
  ) as Record<`${Outcome}_streams`, string>),
} as const;
export type CounterName = keyof typeof COUNTERS;
