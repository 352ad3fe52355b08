// Fault plans: which fault (if any) strikes each stream, drawn from the scenario's seed, and the
// outcome that fault should cause. At most one fault (client or upstream) per stream, so every
// injected fault can be matched to the outcome it caused (docs/chaos.md, "accounting").
//
// Upstream faults are not configured on the mock: the runner draws them per stream and sends the
// concrete rule as the `x-tokenstorm-fault` header (the mock's per-request fault; tokenstorm serve
// forwards it upstream). The runner therefore knows exactly which stream got which fault, for an
// embedded target and for a standalone mock or server alike.
import { FAULT_HEADER, type FaultRule } from '../mock/config.js';
import type { Protocol } from '../protocols/types.js';
import { Rng } from '../random.js';
import type { ClientFaultKind, ClientFaultRule } from '../scenario/chaos.js';
import type { Scenario } from '../scenario/schema.js';
import type { Outcome } from '../stats/metrics.js';

export { FAULT_HEADER };

interface PlanBase {
  /** `client.<kind>` (disconnect: `client.disconnect.<reconnect>`) or `upstream.<kind>`: the accounting key. */
  readonly key: string;
  /** The outcome this fault should cause (docs/chaos.md). */
  readonly expected: Outcome;
}

export interface ClientPlan extends PlanBase {
  readonly side: 'client';
  readonly kind: ClientFaultKind;
  /** Strike after this many content tokens, or … */
  readonly afterTokens: number | undefined;
  /** … this many ms after the response started (abort_before_headers: after the request was sent). */
  readonly afterMs: number | undefined;
  /** stall: how long to stop reading. */
  readonly durationMs: number;
  /** slow_reader: reading rate. */
  readonly bytesPerS: number;
  /** disconnect: what to do next. */
  readonly reconnect: 'none' | 'retry' | 'resume';
  readonly reconnectDelayMs: number;
  readonly maxAttempts: number;
}

export interface UpstreamPlan extends PlanBase {
  readonly side: 'upstream';
  readonly kind: FaultRule['kind'];
  /** The header value: the resolved rule in the mock's compact syntax. */
  readonly header: string;
}

export type FaultPlan = ClientPlan | UpstreamPlan;

type Range = number | readonly [number, number];

function drawInt(v: Range, rng: Rng): number {
  return typeof v === 'number' ? v : v[0] + rng.int(v[1] - v[0] + 1);
}

function drawMs(v: Range, rng: Rng): number {
  return typeof v === 'number' ? v : v[0] + rng.next() * (v[1] - v[0]);
}

/** What the scenario's timeouts and target make of each fault. */
interface Context {
  protocol: Protocol;
  /** The target is the reference server (it turns upstream failures into `error` events). */
  viaServer: boolean;
  stallMs: number;
  headersMs: number;
}

function clientPlan(r: ClientFaultRule, rng: Rng): ClientPlan {
  const afterTokens =
    'after_tokens' in r && r.after_tokens !== undefined ? drawInt(r.after_tokens, rng) : undefined;
  const afterMs = r.after_ms !== undefined ? drawMs(r.after_ms, rng) : undefined;
  const base = {
    side: 'client' as const,
    kind: r.kind,
    key: r.kind === 'disconnect' ? `client.disconnect.${r.reconnect}` : `client.${r.kind}`,
    // Without a trigger, a mid-stream fault strikes after the first token.
    afterTokens: afterTokens ?? (afterMs === undefined && r.kind !== 'abort_before_headers' ? 1 : undefined),
    afterMs,
    durationMs: 0,
    bytesPerS: 0,
    reconnect: 'none' as const,
    reconnectDelayMs: 0,
    maxAttempts: 0,
  };
  switch (r.kind) {
    case 'disconnect':
      return {
        ...base,
        expected: r.reconnect === 'none' ? 'client_aborted' : 'completed',
        reconnect: r.reconnect,
        reconnectDelayMs: drawMs(r.reconnect_delay_ms, rng),
        maxAttempts: r.max_attempts,
      };
    case 'stall':
      return { ...base, expected: 'completed', durationMs: drawMs(r.duration_ms, rng) };
    case 'slow_reader':
      return { ...base, expected: 'completed', bytesPerS: r.bytes_per_s };
    case 'cancel':
      return { ...base, expected: 'cancelled' };
    case 'abort_before_headers':
      return { ...base, expected: 'client_aborted' };
  }
}

/** The outcome an upstream fault causes, seen through the reference server or straight from the mock. */
function upstreamExpected(f: FaultRule, c: Context, durationMs: number): Outcome {
  switch (f.kind) {
    case 'http_error':
      return 'http_error';
    case 'inband_error':
      return 'stream_error';
    case 'reset':
    case 'truncate':
      // The server ends the stream with an `error` event (upstream_error, upstream_truncated);
      // straight from the mock the byte stream just stops.
      return c.viaServer ? 'stream_error' : 'truncated';
    case 'stall':
    case 'ping_stall':
      return durationMs > c.stallMs ? 'stalled' : 'completed';
    case 'slow_headers':
      return f.delay_ms > c.headersMs ? 'timed_out' : 'completed';
  }
}

/** The rule as the mock's compact header syntax, with every range drawn. */
function upstreamPlan(f: FaultRule, rng: Rng, c: Context): UpstreamPlan {
  const parts: string[] = [f.kind];
  let durationMs = 0;
  for (const [k, v] of Object.entries(f)) {
    if (k === 'kind' || k === 'probability' || v === undefined) continue;
    if (k === 'message') continue; // free text; the mock's default is fine and ';' would break the syntax
    const value = k === 'after_tokens' ? drawInt(v as Range, rng) : (v as number | string);
    if (k === 'duration_ms') durationMs = value as number;
    parts.push(`${k}=${value}`);
  }
  return {
    side: 'upstream',
    kind: f.kind,
    key: `upstream.${f.kind}`,
    expected: upstreamExpected(f, c, durationMs),
    header: parts.join(';'),
  };
}

/**
 * Draws each stream's fault from its own generator, seeded by the scenario's seed and the stream's
 * global index (this thread's n-th stream is stream n × threads + thread). The faults therefore do
 * not depend on how the streams are spread over worker threads: `--workers 2` injects the same
 * faults as `--workers 1` for a run with a fixed number of streams.
 */
export class FaultPlanner {
  private readonly rules: (
    | { side: 'client'; rule: ClientFaultRule }
    | { side: 'upstream'; rule: FaultRule }
  )[];
  private readonly ctx: Context;
  private readonly seed: number;
  private next = 0;

  constructor(
    scenario: Scenario,
    private readonly share: { index: number; count: number },
  ) {
    this.rules = [
      ...scenario.faults.client.map((rule) => ({ side: 'client' as const, rule })),
      ...scenario.faults.upstream.map((rule) => ({ side: 'upstream' as const, rule })),
    ];
    this.seed = scenario.seed;
    const t = scenario.target;
    this.ctx = {
      protocol: t.protocol,
      viaServer: t.protocol === 'reference',
      stallMs: scenario.timeouts.stall_ms,
      headersMs: scenario.timeouts.headers_ms,
    };
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  /** The next stream's fault, or undefined. */
  draw(): FaultPlan | undefined {
    if (this.rules.length === 0) return undefined;
    const rng = new Rng(`${this.seed}:faults:${this.next++ * this.share.count + this.share.index}`);
    let u = rng.next();
    for (const r of this.rules) {
      u -= r.rule.probability;
      if (u < 0) return r.side === 'client' ? clientPlan(r.rule, rng) : upstreamPlan(r.rule, rng, this.ctx);
    }
    return undefined;
  }
}
