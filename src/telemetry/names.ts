// Every metric name, unit and bucket list tokenstorm exports, in one place.
// GenAI names, units, attributes and bucket boundaries follow the OpenTelemetry semantic
// conventions for generative AI metrics (docs/gen-ai/gen-ai-metrics.md); harness-specific
// metrics use the `tokenstorm.` prefix. Labels have bounded cardinality: never a stream id,
// prompt or user text.

/** Recommended boundaries from the GenAI semantic conventions. */
export const BUCKETS = {
  /** gen_ai.server.time_to_first_token, gen_ai.client.operation.time_to_first_chunk (s). */
  ttft: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
  /** gen_ai.server.time_per_output_token, gen_ai.client.operation.time_per_output_chunk (s). */
  tpot: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
  /** gen_ai.server.request.duration, gen_ai.client.operation.duration (s). */
  duration: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  /** gen_ai.client.token.usage ({token}). */
  tokens: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
} as const;

export const GENAI = {
  serverTtft: 'gen_ai.server.time_to_first_token',
  serverTpot: 'gen_ai.server.time_per_output_token',
  serverDuration: 'gen_ai.server.request.duration',
  clientDuration: 'gen_ai.client.operation.duration',
  clientTtfc: 'gen_ai.client.operation.time_to_first_chunk',
  clientTpoc: 'gen_ai.client.operation.time_per_output_chunk',
  tokenUsage: 'gen_ai.client.token.usage',
} as const;

/** GenAI attribute keys (bounded values only). */
export const ATTR = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  tokenType: 'gen_ai.token.type',
  errorType: 'error.type',
  outcome: 'tokenstorm.outcome',
  /** The scenario's name on every runner metric (one value per run: bounded). */
  scenario: 'tokenstorm.scenario',
  /** Chaos: client or upstream; the fault kinds are closed sets (docs/chaos.md). */
  faultSide: 'tokenstorm.fault.side',
  faultKind: 'tokenstorm.fault.kind',
  recoveryKind: 'tokenstorm.recovery.kind',
  recoveryResult: 'tokenstorm.recovery.result',
} as const;

/** The reference server's own metrics (tokenstorm.server.*). */
export const SERVER = {
  activeStreams: 'tokenstorm.server.active_streams',
  streams: 'tokenstorm.server.streams',
  resumes: 'tokenstorm.server.resumes',
  cancels: 'tokenstorm.server.cancels',
  upstreamActive: 'tokenstorm.server.upstream.active',
  upstreamAborts: 'tokenstorm.server.upstream.aborts',
  unreadTokens: 'tokenstorm.server.upstream.unread_tokens',
  heartbeats: 'tokenstorm.server.heartbeats',
  backpressureWaits: 'tokenstorm.server.backpressure_waits',
  slowConsumerDrops: 'tokenstorm.server.slow_consumer_drops',
  shedRequests: 'tokenstorm.server.shed_requests',
  rateLimitedRequests: 'tokenstorm.server.rate_limited_requests',
  rejectedRequests: 'tokenstorm.server.rejected_requests',
} as const;

/** The scenario runner's own metrics (tokenstorm.runner.*), next to the GenAI client ones. */
export const RUNNER = {
  streams: 'tokenstorm.runner.streams',
  activeStreams: 'tokenstorm.runner.active_streams',
  droppedArrivals: 'tokenstorm.runner.dropped_arrivals',
  eventLoopDelay: 'tokenstorm.runner.event_loop_delay',
  scheduleLag: 'tokenstorm.runner.schedule_lag',
  /** Chaos (docs/chaos.md): faults that struck, by tokenstorm.fault.side and tokenstorm.fault.kind. */
  faults: 'tokenstorm.runner.faults',
  /** Streams that tried to recover after a disconnect, by tokenstorm.recovery.kind and .result. */
  recoveries: 'tokenstorm.runner.recoveries',
  resumeDuration: 'tokenstorm.runner.resume.duration',
  cancelDuration: 'tokenstorm.runner.cancel.duration',
  integrityFailures: 'tokenstorm.runner.integrity_failures',
} as const;

/** Process and runtime metrics of every program (semantic conventions: process.*, nodejs.*, v8js.*). */
export const PROCESS = {
  cpuTime: 'process.cpu.time',
  memoryUsage: 'process.memory.usage',
  heapUsed: 'v8js.memory.heap.used',
  loopDelayP50: 'nodejs.eventloop.delay.p50',
  loopDelayP99: 'nodejs.eventloop.delay.p99',
  loopDelayMax: 'nodejs.eventloop.delay.max',
  loopUtilization: 'nodejs.eventloop.utilization',
} as const;

/** The mock upstream's own metrics (tokenstorm.mock.*): the ground truth beside what clients saw. */
export const MOCK = {
  queueDepth: 'tokenstorm.mock.queue_depth',
  busySlots: 'tokenstorm.mock.busy_slots',
  slots: 'tokenstorm.mock.slots',
  requests: 'tokenstorm.mock.requests',
  shedRequests: 'tokenstorm.mock.shed_requests',
  rejectedRequests: 'tokenstorm.mock.rejected_requests',
  streamsStarted: 'tokenstorm.mock.streams.started',
  streams: 'tokenstorm.mock.streams',
  faults: 'tokenstorm.mock.faults',
  tokens: 'tokenstorm.mock.tokens',
  events: 'tokenstorm.mock.events',
} as const;
