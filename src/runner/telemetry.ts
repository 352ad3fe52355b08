// The runner's live metrics over OpenTelemetry (Prometheus exposition on --metrics-port), so
// Grafana shows a run while it happens. GenAI client instruments per the semantic conventions
// (seconds, recommended buckets), tokenstorm.runner.* for outcomes, active streams, drops and the
// runner's own event-loop delay. Recorded per stream end and per content chunk gap: with worker
// threads the values arrive in per-second batches and are recorded here, on the main thread.
import type { Attributes } from '@opentelemetry/api';
import type { Scenario } from '../scenario/schema.js';
import { type MetricsEndpoint, startMetrics } from '../telemetry/metrics.js';
import { ATTR, BUCKETS, GENAI, RUNNER } from '../telemetry/names.js';
import type { LiveCounts } from './live.js';
import type { StreamEnd } from './recorder.js';

/** Where a thread's measurements go besides its recorder (telemetry, or a batch for the main thread). */
export interface TelemetrySink {
  streamEnded(e: StreamEnd): void;
  /** One gap between consecutive content chunks, ms. */
  chunkGap(ms: number): void;
}

export interface RunnerTelemetry extends TelemetrySink {
  readonly url: string;
  readonly endpoint: MetricsEndpoint;
  /** Gauges read the latest live snapshot (active streams, drops, event-loop delay). */
  observe(live: LiveCounts): void;
  close(): Promise<void>;
}

const PROVIDER: Record<Scenario['target']['protocol'], string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  reference: 'tokenstorm',
};

export async function startRunnerTelemetry(
  port: number,
  scenario: Scenario,
  host = '127.0.0.1',
): Promise<RunnerTelemetry> {
  const endpoint = await startMetrics({
    serviceName: 'tokenstorm-runner',
    host,
    port,
    views: {
      [GENAI.clientDuration]: BUCKETS.duration,
      [GENAI.clientTtfc]: BUCKETS.ttft,
      [GENAI.clientTpoc]: BUCKETS.tpot,
      [GENAI.tokenUsage]: BUCKETS.tokens,
      [RUNNER.scheduleLag]: BUCKETS.ttft,
      [RUNNER.resumeDuration]: BUCKETS.ttft,
      [RUNNER.cancelDuration]: BUCKETS.ttft,
    },
  });
  const m = endpoint.meter;
  const duration = m.createHistogram(GENAI.clientDuration, {
    description: 'Stream duration from its intended start to its end, as the runner saw it',
    unit: 's',
  });
  const ttfc = m.createHistogram(GENAI.clientTtfc, {
    description:
      'Time from the intended start to the first content chunk (TTFT, coordinated omission included)',
    unit: 's',
  });
  const tpoc = m.createHistogram(GENAI.clientTpoc, {
    description: 'Time between consecutive content chunks of a stream',
    unit: 's',
  });
  const usage = m.createHistogram(GENAI.tokenUsage, {
    description: 'Input and output tokens per stream',
    unit: '{token}',
  });
  const streams = m.createCounter(RUNNER.streams, {
    description: 'Streams ended, by outcome',
    unit: '{stream}',
  });
  const lag = m.createHistogram(RUNNER.scheduleLag, {
    description: 'Intended start to actual start of each stream',
    unit: 's',
  });
  const faults = m.createCounter(RUNNER.faults, {
    description: 'Injected faults that struck a stream, by side (client, upstream) and kind',
    unit: '{fault}',
  });
  const recoveries = m.createCounter(RUNNER.recoveries, {
    description: 'Streams that reconnected after an injected disconnect, by kind (resume, retry) and result',
    unit: '{stream}',
  });
  const resumeDuration = m.createHistogram(RUNNER.resumeDuration, {
    description: 'Reconnect request to the first new content after an injected disconnect',
    unit: 's',
  });
  const cancelDuration = m.createHistogram(RUNNER.cancelDuration, {
    description: 'Cancel request to the terminal event confirming it',
    unit: 's',
  });
  const integrityFailures = m.createCounter(RUNNER.integrityFailures, {
    description: 'Streams that lost or duplicated text (event ids not contiguous, or sha256 mismatch)',
    unit: '{stream}',
  });
  let latest: LiveCounts | undefined;
  const named: Attributes = { [ATTR.scenario]: scenario.name };
  // Zero is the healthy value: the series exists from the start so a dashboard shows 0, not "no data".
  integrityFailures.add(0, named);
  m.createObservableGauge(RUNNER.activeStreams, {
    description: 'Streams in flight',
    unit: '{stream}',
  }).addCallback((o) => o.observe(latest?.active ?? 0, named));
  m.createObservableCounter(RUNNER.droppedArrivals, {
    description: 'Open-model arrivals that found no free slot (after warm-up)',
    unit: '{stream}',
  }).addCallback((o) => o.observe(latest?.dropped_arrivals ?? 0, named));
  m.createObservableGauge(RUNNER.eventLoopDelay, {
    description: "p99 of the runner's own event-loop delay so far",
    unit: 's',
  }).addCallback((o) => o.observe((latest?.loopDelayP99Ms ?? 0) / 1000, named));

  const base: Attributes = {
    [ATTR.operation]: 'chat',
    [ATTR.provider]: PROVIDER[scenario.target.protocol],
    [ATTR.requestModel]: scenario.request.model,
    ...named,
  };
  const byOutcome = new Map<string, Attributes>();
  const attrsFor = (e: StreamEnd): Attributes => {
    const key = `${e.outcome}:${e.warmup}`;
    let a = byOutcome.get(key);
    if (a === undefined) {
      a = { ...base, [ATTR.outcome]: e.outcome, 'tokenstorm.phase': e.warmup ? 'warmup' : 'measured' };
      if (e.outcome !== 'completed') a[ATTR.errorType] = e.outcome;
      byOutcome.set(key, a);
    }
    return a;
  };
  const chaosAttrs = new Map<string, Attributes>();
  const chaosAttr = (key: string, make: () => Attributes): Attributes => {
    let a = chaosAttrs.get(key);
    if (a === undefined) chaosAttrs.set(key, (a = { ...named, ...make() }));
    return a;
  };
  const chaos = (e: StreamEnd): void => {
    const f = e.fault;
    if (f !== undefined && e.struck)
      faults.add(
        1,
        chaosAttr(`f:${f.side}:${f.kind}`, () => ({ [ATTR.faultSide]: f.side, [ATTR.faultKind]: f.kind })),
      );
    const r = e.recovery;
    if (r !== undefined) {
      const result = e.outcome === 'completed' ? 'success' : 'failure';
      recoveries.add(
        1,
        chaosAttr(`r:${r.kind}:${result}`, () => ({
          [ATTR.recoveryKind]: r.kind,
          [ATTR.recoveryResult]: result,
        })),
      );
    }
    if (!Number.isNaN(e.resumeMs)) resumeDuration.record(e.resumeMs / 1000, named);
    if (!Number.isNaN(e.cancelMs)) cancelDuration.record(e.cancelMs / 1000, named);
    if (e.errorType === 'E_PROTOCOL_INTEGRITY') integrityFailures.add(1, named);
  };
  const input = { ...base, [ATTR.tokenType]: 'input' };
  const output = { ...base, [ATTR.tokenType]: 'output' };
  return {
    url: endpoint.url!,
    endpoint,
    streamEnded(e) {
      const a = attrsFor(e);
      streams.add(1, a);
      if (!Number.isNaN(e.startedAt)) lag.record(Math.max(0, e.startedAt - e.intendedAt) / 1000, base);
      if (!Number.isNaN(e.firstTokenAt)) ttfc.record((e.firstTokenAt - e.intendedAt) / 1000, a);
      duration.record((e.endAt - e.intendedAt) / 1000, a);
      if (e.inputTokens !== undefined) usage.record(e.inputTokens, input);
      usage.record(e.outputTokens ?? e.contentEvents, output);
      if (e.fault !== undefined || e.errorType === 'E_PROTOCOL_INTEGRITY') chaos(e);
    },
    chunkGap(ms) {
      tpoc.record(ms / 1000, base);
    },
    observe(live) {
      latest = live;
    },
    close: () => endpoint.close(),
  };
}

/** Packs a thread's telemetry into arrays posted to the main thread once a second. */
export class TelemetryBatch implements TelemetrySink {
  ends: StreamEnd[] = [];
  gaps: number[] = [];
  streamEnded(e: StreamEnd): void {
    this.ends.push(e);
  }
  chunkGap(ms: number): void {
    this.gaps.push(ms);
  }
  /** Takes what was collected since the last call. */
  drain(): { ends: StreamEnd[]; gaps: Float64Array } {
    const out = { ends: this.ends, gaps: Float64Array.from(this.gaps) };
    this.ends = [];
    this.gaps = [];
    return out;
  }
}

/** Replays a batch from a worker into the main thread's telemetry. */
export function replayBatch(sink: TelemetrySink, batch: { ends: StreamEnd[]; gaps: Float64Array }): void {
  for (const e of batch.ends) sink.streamEnded(e);
  for (const g of batch.gaps) sink.chunkGap(g);
}
