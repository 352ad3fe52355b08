// The reference server's instruments. Recorded per stream or per event of note, never per
// token, so metrics cost nothing on the hot path.
import type { Attributes, Counter, Histogram, UpDownCounter } from '@opentelemetry/api';
import { type MetricsEndpoint, startMetrics } from '../telemetry/metrics.js';
import { ATTR, BUCKETS, GENAI, SERVER } from '../telemetry/names.js';
import type { StreamOutcome } from './stream.js';

export interface ServerMetrics {
  readonly endpoint: MetricsEndpoint;
  readonly ttft: Histogram;
  readonly tpot: Histogram;
  readonly duration: Histogram;
  readonly tokenUsage: Histogram;
  readonly activeStreams: UpDownCounter;
  readonly upstreamActive: UpDownCounter;
  readonly streams: Counter;
  readonly resumes: Counter;
  readonly cancels: Counter;
  readonly upstreamAborts: Counter;
  readonly unreadTokens: Counter;
  readonly heartbeats: Counter;
  readonly backpressureWaits: Counter;
  readonly slowConsumerDrops: Counter;
  readonly shedRequests: Counter;
  readonly rateLimitedRequests: Counter;
  readonly rejectedRequests: Counter;
}

export async function startServerMetrics(host: string, port: number | undefined): Promise<ServerMetrics> {
  const endpoint = await startMetrics({
    serviceName: 'tokenstorm-server',
    host,
    port,
    views: {
      [GENAI.serverTtft]: BUCKETS.ttft,
      [GENAI.serverTpot]: BUCKETS.tpot,
      [GENAI.serverDuration]: BUCKETS.duration,
      [GENAI.tokenUsage]: BUCKETS.tokens,
    },
  });
  const m = endpoint.meter;
  const counter = (name: string, description: string, unit: string) =>
    m.createCounter(name, { description, unit });
  const metrics: ServerMetrics = {
    endpoint,
    ttft: m.createHistogram(GENAI.serverTtft, {
      description:
        'Time from the request reaching the server to its first answer token being written, per stream',
      unit: 's',
    }),
    tpot: m.createHistogram(GENAI.serverTpot, {
      description: 'Time per output token after the first: (duration − TTFT) / (tokens − 1), per stream',
      unit: 's',
    }),
    duration: m.createHistogram(GENAI.serverDuration, {
      description: 'Time from the request reaching the server to its terminal event, per stream',
      unit: 's',
    }),
    tokenUsage: m.createHistogram(GENAI.tokenUsage, {
      description: 'Input and output tokens per stream as the upstream reported them',
      unit: '{token}',
    }),
    activeStreams: m.createUpDownCounter(SERVER.activeStreams, {
      description: 'Streams that have not yet sent a terminal event',
      unit: '{stream}',
    }),
    upstreamActive: m.createUpDownCounter(SERVER.upstreamActive, {
      description: 'Upstream requests in flight',
      unit: '{request}',
    }),
    streams: counter(SERVER.streams, 'Streams ended, by outcome', '{stream}'),
    resumes: counter(SERVER.resumes, 'Successful resumes (GET with Last-Event-ID)', '{resume}'),
    cancels: counter(SERVER.cancels, 'Streams cancelled through the cancel endpoint', '{stream}'),
    upstreamAborts: counter(
      SERVER.upstreamAborts,
      'Upstream requests aborted before they finished',
      '{request}',
    ),
    unreadTokens: counter(
      SERVER.unreadTokens,
      'Upstream tokens generated that no client was sent',
      '{token}',
    ),
    heartbeats: counter(SERVER.heartbeats, 'Heartbeat comments written', '{heartbeat}'),
    backpressureWaits: counter(
      SERVER.backpressureWaits,
      'Times a client socket was full and the server waited for drain',
      '{wait}',
    ),
    slowConsumerDrops: counter(
      SERVER.slowConsumerDrops,
      'Clients disconnected for exceeding --max-buffered-bytes',
      '{client}',
    ),
    shedRequests: counter(
      SERVER.shedRequests,
      'Requests refused with 503 at the concurrent-stream cap or while draining',
      '{request}',
    ),
    rateLimitedRequests: counter(
      SERVER.rateLimitedRequests,
      'Requests refused with 429 by the per-principal rate limit',
      '{request}',
    ),
    rejectedRequests: counter(
      SERVER.rejectedRequests,
      'Requests refused with 4xx for bad input or auth, by status',
      '{request}',
    ),
  };
  // Counters start at 0 so that a rate() over them (a dashboard panel, an alert) has a series from
  // the first scrape instead of appearing with the first event (Prometheus' advice on counters).
  for (const c of [
    metrics.resumes,
    metrics.cancels,
    metrics.upstreamAborts,
    metrics.unreadTokens,
    metrics.heartbeats,
    metrics.backpressureWaits,
    metrics.slowConsumerDrops,
    metrics.shedRequests,
    metrics.rateLimitedRequests,
  ])
    c.add(0);
  for (const outcome of STREAM_OUTCOMES) metrics.streams.add(0, outcomeAttrs(outcome));
  return metrics;
}

/** Every tokenstorm.outcome of tokenstorm.server.streams (StreamOutcome in ./stream.ts). */
const STREAM_OUTCOMES: readonly StreamOutcome[] = [
  'completed',
  'cancelled',
  'upstream_error',
  'client_gone',
  'slow_consumer',
  'server_shutdown',
];

// Clients choose the model name, so its label values are capped: past MAX_MODEL_LABELS
// distinct names every new one is recorded as "other" (bounded cardinality). The attribute
// objects are built once per label: recording with a fresh object costs a hash of it.
const MAX_MODEL_LABELS = 20;
interface ModelLabels {
  base: Attributes;
  input: Attributes;
  output: Attributes;
}
const modelLabels = new Map<string, ModelLabels>();
let otherLabels: ModelLabels | undefined;

function labelsFor(model: string): ModelLabels {
  const known = modelLabels.get(model);
  if (known !== undefined) return known;
  if (modelLabels.size >= MAX_MODEL_LABELS) {
    otherLabels ??= makeLabels('other');
    return otherLabels;
  }
  const made = makeLabels(model);
  modelLabels.set(model, made);
  return made;
}

function makeLabels(label: string): ModelLabels {
  const base = { [ATTR.operation]: 'chat', [ATTR.provider]: 'anthropic', [ATTR.requestModel]: label };
  return {
    base: Object.freeze(base),
    input: Object.freeze({ ...base, [ATTR.tokenType]: 'input' }),
    output: Object.freeze({ ...base, [ATTR.tokenType]: 'output' }),
  };
}

/** Attributes for a stream's GenAI metrics. */
export function modelAttrs(model: string): Attributes {
  return labelsFor(model).base;
}

/** Attributes for gen_ai.client.token.usage. */
export function tokenAttrs(model: string, type: 'input' | 'output'): Attributes {
  return labelsFor(model)[type];
}

const outcomeLabels = new Map<string, Attributes>();

/** Attributes for tokenstorm.server.streams (outcomes are a closed set). */
export function outcomeAttrs(outcome: string): Attributes {
  let a = outcomeLabels.get(outcome);
  if (a === undefined) {
    a = Object.freeze({ [ATTR.outcome]: outcome });
    outcomeLabels.set(outcome, a);
  }
  return a;
}
