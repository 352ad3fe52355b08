// The mock's own Prometheus metrics (tokenstorm.mock.*) on `--metrics-port`: the ground truth a
// dashboard shows beside what the server and the runner saw. Every instrument is observable and
// reads the counters the mock keeps anyway (src/mock/stats.ts) when a scrape collects them, so
// the hot path pays nothing. Resetting the stats (POST /mock/stats/reset) resets these counters
// too, which Prometheus' rate() and increase() treat as a counter reset.
import type { Attributes } from '@opentelemetry/api';
import { type MetricsEndpoint, startMetrics } from '../telemetry/metrics.js';
import { ATTR, MOCK } from '../telemetry/names.js';
import type { FaultKind } from './config.js';
import type { MockStats } from './stats.js';

export interface MockMetricsOptions {
  host?: string;
  /** Port for GET /metrics; 0 picks a free port; undefined: only scrape() (tests). */
  port?: number | undefined;
}

/** Starts the metrics endpoint for one mock: its stats and its configured number of decode slots. */
export async function startMockMetrics(
  mock: { readonly stats: MockStats; readonly config: { readonly capacity: { readonly slots: number } } },
  opts: MockMetricsOptions = {},
): Promise<MetricsEndpoint> {
  const endpoint = await startMetrics({
    serviceName: 'tokenstorm-mock',
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    views: {},
  });
  const m = endpoint.meter;
  const stats = mock.stats;
  const slots = mock.config.capacity.slots;
  const queueDepth = m.createObservableGauge(MOCK.queueDepth, {
    description: 'Requests waiting for a decode slot',
    unit: '{request}',
  });
  const busySlots = m.createObservableGauge(MOCK.busySlots, {
    description: 'Decode slots generating a response',
    unit: '{slot}',
  });
  const slotCount = m.createObservableGauge(MOCK.slots, {
    description: 'Decode slots configured (capacity.slots)',
    unit: '{slot}',
  });
  const requests = m.createObservableCounter(MOCK.requests, {
    description: 'HTTP requests received (every route)',
    unit: '{request}',
  });
  const shed = m.createObservableCounter(MOCK.shedRequests, {
    description: 'Requests refused with 529 because the queue was full (capacity.max_queue)',
    unit: '{request}',
  });
  const rejected = m.createObservableCounter(MOCK.rejectedRequests, {
    description: 'Requests refused with a 4xx for bad input, auth or unknown routes',
    unit: '{request}',
  });
  const started = m.createObservableCounter(MOCK.streamsStarted, {
    description: 'Streaming responses started',
    unit: '{stream}',
  });
  const streams = m.createObservableCounter(MOCK.streams, {
    description:
      'Responses ended, by tokenstorm.outcome: completed, client_aborted, or faulted (inband_error, reset, truncate)',
    unit: '{stream}',
  });
  const faults = m.createObservableCounter(MOCK.faults, {
    description: 'Faults injected, by tokenstorm.fault.kind',
    unit: '{fault}',
  });
  const tokens = m.createObservableCounter(MOCK.tokens, {
    description: 'Output tokens emitted',
    unit: '{token}',
  });
  const events = m.createObservableCounter(MOCK.events, {
    description: 'SSE events written (tokens, pings, start and end events)',
    unit: '{event}',
  });
  // Attribute objects built once: the set of values is closed.
  const outcome = (o: string): Attributes => Object.freeze({ [ATTR.outcome]: o });
  const completed = outcome('completed');
  const aborted = outcome('client_aborted');
  const faulted = outcome('faulted');
  const kinds = (Object.keys(stats.faults) as FaultKind[]).map(
    (k) => [k, Object.freeze({ [ATTR.faultKind]: k })] as const,
  );
  m.addBatchObservableCallback(
    (r) => {
      r.observe(queueDepth, stats.queued);
      r.observe(busySlots, stats.active);
      r.observe(slotCount, slots);
      r.observe(requests, stats.requests);
      r.observe(shed, stats.shed);
      r.observe(rejected, stats.rejected);
      r.observe(started, stats.streamsStarted);
      r.observe(streams, stats.completed, completed);
      r.observe(streams, stats.clientAborts, aborted);
      const f = stats.faults;
      r.observe(streams, f.inband_error + f.reset + f.truncate, faulted);
      for (const [kind, attrs] of kinds) r.observe(faults, f[kind], attrs);
      r.observe(tokens, stats.tokens);
      r.observe(events, stats.events);
    },
    [queueDepth, busySlots, slotCount, requests, shed, rejected, started, streams, faults, tokens, events],
  );
  return endpoint;
}
