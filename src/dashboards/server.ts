// dashboards/tokenstorm-server.json: the reference server (tokenstorm serve) as its operators see
// it, with the mock upstream's ground truth and the runner's client-side TTFT beside it.
import {
  completionPanels,
  instanceVariable,
  jobVariable,
  mockJobVariable,
  type OutcomeSource,
  outcomePanels,
  processPanels,
  RATE,
  SERVICE,
  sloVariable,
} from './common.js';
import { dashboard, datasourceVariable, heatmapQuery, Layout, labelVariable, quantiles } from './grafana.js';

export const SERVER_UID = 'tokenstorm-server';
export const RUNNER_UID = 'tokenstorm-runner';

export function serverDashboard(): Record<string, unknown> {
  const S = '{job=~"$job",instance=~"$instance"}';
  const SM = '{job=~"$job",instance=~"$instance",gen_ai_request_model=~"$model"}';
  const MOCK = '{job=~"$mock_job"}';
  const RUNNER = '{job=~"$runner_job",tokenstorm_scenario=~"$scenario",gen_ai_request_model=~"$model"}';
  const streams = (extra = '') =>
    `tokenstorm_server_streams_total{job=~"$job",instance=~"$instance"${extra}}`;
  const l = new Layout();

  // Latency.
  l.timeseries({
    title: 'TTFT p50 / p95 / p99',
    description:
      'Server-side time to first token: request received → first answer token written (gen_ai.server.time_to_first_token), quantiles over $__rate_interval from the histogram buckets: histogram_quantile(q, sum by (le) (rate(..._bucket))). The dashed red line is the TTFT SLO ($slo_ttft).',
    unit: 's',
    targetLine: 'SLO',
    queries: [
      ...quantiles('gen_ai_server_time_to_first_token_bucket', SM),
      { expr: 'vector($slo_ttft)', legend: 'SLO' },
    ],
  });
  l.heatmap({
    title: 'TTFT heatmap',
    description:
      'Streams per TTFT bucket per interval: increase(gen_ai_server_time_to_first_token_bucket[$__rate_interval]) by le. A second band means a second population (queueing, retries).',
    unit: 's',
    queries: heatmapQuery('gen_ai_server_time_to_first_token_bucket', SM),
  });
  l.timeseries({
    title: 'Time per output token p50 / p95 / p99',
    description:
      'gen_ai.server.time_per_output_token: (duration − TTFT) / (tokens − 1) per stream, quantiles over $__rate_interval.',
    unit: 's',
    w: 8,
    queries: quantiles('gen_ai_server_time_per_output_token_bucket', SM),
  });
  l.timeseries({
    title: 'Request duration p50 / p95 / p99',
    description:
      'gen_ai.server.request.duration: request received → terminal event, per stream, quantiles over $__rate_interval.',
    unit: 's',
    w: 8,
    queries: quantiles('gen_ai_server_request_duration_bucket', SM),
  });
  l.timeseries({
    title: 'Client vs server TTFT p95',
    description:
      "p95 TTFT as the runner measured it (gen_ai.client.operation.time_to_first_chunk, from the stream's intended start, so client queueing counts) beside the server's own (request received → first token). The gap is network, connection set-up and client-side lag. Runner series need a run with --metrics-port (scenario: $scenario).",
    unit: 's',
    w: 8,
    targetLine: 'SLO',
    queries: [
      {
        expr: `histogram_quantile(0.95, sum by (le) (rate(gen_ai_client_operation_time_to_first_chunk_bucket${RUNNER}[${RATE}])))`,
        legend: 'runner (client) p95',
      },
      {
        expr: `histogram_quantile(0.95, sum by (le) (rate(gen_ai_server_time_to_first_token_bucket${SM}[${RATE}])))`,
        legend: 'server p95',
      },
      { expr: 'vector($slo_ttft)', legend: 'SLO' },
    ],
  });

  // Throughput and outcomes.
  l.newLine();
  const outcomes: OutcomeSource = {
    streams,
    counter: 'tokenstorm_server_streams_total',
    ttft: 'gen_ai_server_time_to_first_token',
    ttftSelector: SM,
    who: 'server',
  };
  completionPanels(l, outcomes);
  l.timeseries({
    title: 'Output tokens/s',
    description:
      'Output tokens per second the server streamed (rate of gen_ai_client_token_usage_sum, gen_ai.token.type="output"; from the upstream usage), beside the tokens the mock emitted (tokenstorm_mock_tokens_total: ground truth when the upstream is the mock), and input tokens/s.',
    unit: 'suffix: tok/s',
    w: 8,
    queries: [
      {
        expr: `sum(rate(gen_ai_client_token_usage_sum{job=~"$job",instance=~"$instance",gen_ai_request_model=~"$model",gen_ai_token_type="output"}[${RATE}]))`,
        legend: 'server output',
      },
      {
        expr: `sum(rate(gen_ai_client_token_usage_sum{job=~"$job",instance=~"$instance",gen_ai_request_model=~"$model",gen_ai_token_type="input"}[${RATE}]))`,
        legend: 'server input',
      },
      { expr: `sum(rate(tokenstorm_mock_tokens_total${MOCK}[${RATE}]))`, legend: 'mock emitted' },
    ],
  });
  l.timeseries({
    title: 'Active streams',
    description:
      'Streams without a terminal event yet (tokenstorm.server.active_streams) and upstream requests in flight (tokenstorm.server.upstream.active). More upstream requests than streams: upstreams kept for a resume after the client left.',
    unit: 'short',
    w: 12,
    queries: [
      { expr: `sum(tokenstorm_server_active_streams${S})`, legend: 'active streams' },
      { expr: `sum(tokenstorm_server_upstream_active${S})`, legend: 'upstream requests' },
    ],
  });
  outcomePanels(
    l,
    outcomes,
    'Streams ended by outcome',
    'completed, cancelled, upstream_error, client_gone (no resume within the grace period), slow_consumer, server_shutdown',
  );

  // Interrupts, recovery and protection.
  l.timeseries({
    title: 'Resumes, cancels and upstream aborts',
    description:
      'Per second: successful resumes (GET with Last-Event-ID, tokenstorm.server.resumes), cancels through the cancel endpoint (tokenstorm.server.cancels), upstream requests aborted before they finished (cancel, nobody resumed, shutdown: tokenstorm.server.upstream.aborts).',
    unit: 'reqps',
    w: 12,
    queries: [
      { expr: `sum(rate(tokenstorm_server_resumes_total${S}[${RATE}]))`, legend: 'resumes' },
      { expr: `sum(rate(tokenstorm_server_cancels_total${S}[${RATE}]))`, legend: 'cancels' },
      { expr: `sum(rate(tokenstorm_server_upstream_aborts_total${S}[${RATE}]))`, legend: 'upstream aborts' },
    ],
  });
  l.timeseries({
    title: 'Unread upstream tokens',
    description:
      'Tokens per second the upstream generated that no client was sent (tokenstorm.server.upstream.unread_tokens): the cost of streams abandoned or cancelled mid-way.',
    unit: 'suffix: tok/s',
    w: 6,
    queries: [
      { expr: `sum(rate(tokenstorm_server_upstream_unread_tokens_total${S}[${RATE}]))`, legend: 'unread' },
    ],
  });
  l.timeseries({
    title: 'Backpressure and slow-consumer drops',
    description:
      'Per second: times a client socket was full and the server waited for drain (tokenstorm.server.backpressure_waits), and clients disconnected for exceeding --max-buffered-bytes (tokenstorm.server.slow_consumer_drops).',
    unit: 'ops',
    w: 6,
    queries: [
      {
        expr: `sum(rate(tokenstorm_server_backpressure_waits_total${S}[${RATE}]))`,
        legend: 'backpressure waits',
      },
      {
        expr: `sum(rate(tokenstorm_server_slow_consumer_drops_total${S}[${RATE}]))`,
        legend: 'slow-consumer drops',
      },
    ],
  });
  l.timeseries({
    title: 'Shed and rate-limited requests',
    description:
      'Requests refused per second: 503 at the concurrent-stream cap or while draining (tokenstorm.server.shed_requests), 429 by the per-principal rate limit (tokenstorm.server.rate_limited_requests), and the mock upstream shedding with 529 when its queue is full (tokenstorm.mock.shed_requests).',
    unit: 'reqps',
    w: 12,
    queries: [
      { expr: `sum(rate(tokenstorm_server_shed_requests_total${S}[${RATE}]))`, legend: 'shed (503)' },
      {
        expr: `sum(rate(tokenstorm_server_rate_limited_requests_total${S}[${RATE}]))`,
        legend: 'rate-limited (429)',
      },
      { expr: `sum(rate(tokenstorm_mock_shed_requests_total${MOCK}[${RATE}]))`, legend: 'mock shed (529)' },
    ],
  });

  // The mock upstream: ground truth.
  l.timeseries({
    title: 'Mock: busy slots and queue depth',
    description:
      'Ground truth from the mock upstream: decode slots generating (tokenstorm.mock.busy_slots) of those configured (tokenstorm.mock.slots), and requests waiting for a slot (tokenstorm.mock.queue_depth). A queue means TTFT now includes waiting for capacity.',
    unit: 'short',
    w: 12,
    queries: [
      { expr: `sum(tokenstorm_mock_busy_slots${MOCK})`, legend: 'busy slots' },
      { expr: `sum(tokenstorm_mock_slots${MOCK})`, legend: 'slots' },
      { expr: `sum(tokenstorm_mock_queue_depth${MOCK})`, legend: 'queued' },
    ],
  });
  l.timeseries({
    title: 'Mock: injected faults by kind',
    description:
      'Faults the mock injected per second, by tokenstorm.fault.kind (tokenstorm.mock.faults): compare with upstream_error outcomes above.',
    unit: 'suffix: faults/s',
    w: 12,
    stack: 'normal',
    queries: [
      {
        expr: `sum by (tokenstorm_fault_kind) (rate(tokenstorm_mock_faults_total${MOCK}[${RATE}]))`,
        legend: '{{tokenstorm_fault_kind}}',
      },
    ],
  });

  // The process.
  l.newLine();
  processPanels(l, S, 'Server');

  return dashboard({
    uid: SERVER_UID,
    title: 'tokenstorm / server',
    description:
      'The tokenstorm reference server (tokenstorm serve): TTFT, throughput, outcomes, interrupts, protection and the process, with the mock upstream ground truth and the runner view beside it.',
    links: [{ title: 'tokenstorm / runner', uid: RUNNER_UID }],
    variables: [
      datasourceVariable(),
      jobVariable(SERVICE.server, 'reference server'),
      instanceVariable('reference server'),
      labelVariable(
        'model',
        'Model',
        'gen_ai.request.model as the server recorded it (capped at 20 names, then "other")',
        'label_values(gen_ai_server_request_duration_count{job=~"$job",instance=~"$instance"}, gen_ai_request_model)',
      ),
      mockJobVariable(),
      labelVariable(
        'runner_job',
        'Runner job',
        'Prometheus job(s) scraping a tokenstorm run (--metrics-port), for the client-side TTFT panel',
        `label_values(target_info{service_name="${SERVICE.runner}"}, job)`,
      ),
      labelVariable(
        'scenario',
        'Scenario',
        'The scenario (tokenstorm.scenario) of the runner series shown beside the server',
        'label_values(tokenstorm_runner_active_streams{job=~"$runner_job"}, tokenstorm_scenario)',
      ),
      sloVariable(),
    ],
    panels: l.panels,
  });
}
