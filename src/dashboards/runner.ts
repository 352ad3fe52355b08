// dashboards/tokenstorm-runner.json: a load run (tokenstorm run --metrics-port) as the client saw
// it: TTFT, ITL, outcomes, injected faults against recoveries, and whether the runner itself was
// the bottleneck (schedule lag, dropped arrivals, its own event loop).
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
import { RUNNER_UID, SERVER_UID } from './server.js';

export function runnerDashboard(): Record<string, unknown> {
  const R = '{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario"}';
  const RM =
    '{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario",gen_ai_request_model=~"$model"}';
  const P = '{job=~"$job",instance=~"$instance"}';
  const MOCK = '{job=~"$mock_job"}';
  const streams = (extra = '') =>
    `tokenstorm_runner_streams_total{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario",gen_ai_request_model=~"$model"${extra}}`;
  const l = new Layout();

  l.timeseries({
    title: 'TTFT p50 / p95 / p99 (client)',
    description:
      "Time to first token as the runner measured it (gen_ai.client.operation.time_to_first_chunk): from the stream's intended start (open model: its scheduled arrival; closed model: when its virtual user was ready) to the first content chunk, so coordinated omission is counted, not hidden. Quantiles over $__rate_interval from the buckets; dashed red line: the SLO ($slo_ttft).",
    unit: 's',
    targetLine: 'SLO',
    queries: [
      ...quantiles('gen_ai_client_operation_time_to_first_chunk_bucket', RM),
      { expr: 'vector($slo_ttft)', legend: 'SLO' },
    ],
  });
  l.heatmap({
    title: 'TTFT heatmap (client)',
    description:
      'Streams per TTFT bucket per interval: increase(gen_ai_client_operation_time_to_first_chunk_bucket[$__rate_interval]) by le.',
    unit: 's',
    queries: heatmapQuery('gen_ai_client_operation_time_to_first_chunk_bucket', RM),
  });
  l.timeseries({
    title: 'Inter-token latency p50 / p95 / p99',
    description:
      'Every gap between consecutive content chunks of a stream (gen_ai.client.operation.time_per_output_chunk). Chunks that arrive in one TCP read get the same timestamp, so gaps of 0 are real.',
    unit: 's',
    w: 8,
    queries: quantiles('gen_ai_client_operation_time_per_output_chunk_bucket', RM),
  });
  l.timeseries({
    title: 'Stream duration p50 / p95 / p99',
    description:
      "gen_ai.client.operation.duration: from the stream's intended start to its end, whatever the outcome.",
    unit: 's',
    w: 8,
    queries: quantiles('gen_ai_client_operation_duration_bucket', RM),
  });
  l.timeseries({
    title: 'Schedule lag p50 / p95 / p99',
    description:
      'Intended start → actual start of each stream (tokenstorm.runner.schedule_lag). Growing lag means the runner (or its connection pool) cannot start streams on time: the run is client-bound.',
    unit: 's',
    w: 8,
    thresholds: [[0.02, 'red']],
    queries: quantiles('tokenstorm_runner_schedule_lag_bucket', RM),
  });

  l.newLine();
  const outcomes: OutcomeSource = {
    streams,
    counter: 'tokenstorm_runner_streams_total',
    ttft: 'gen_ai_client_operation_time_to_first_chunk',
    ttftSelector: RM,
    who: 'client',
  };
  completionPanels(l, outcomes);
  l.timeseries({
    title: 'Active streams and streams/s',
    description:
      'Streams in flight (tokenstorm.runner.active_streams, left) and streams ended per second (rate of tokenstorm_runner_streams_total).',
    unit: 'short',
    w: 8,
    queries: [
      { expr: `sum(tokenstorm_runner_active_streams${R})`, legend: 'active streams' },
      { expr: `sum(rate(${streams()}[${RATE}]))`, legend: 'streams/s' },
    ],
  });
  outcomePanels(
    l,
    outcomes,
    'Outcomes',
    'exactly one each: completed, http_error, connection_error, stream_error, protocol_error, truncated, stalled, timed_out, client_aborted, cancelled, interrupted',
  );

  // Chaos: faults against recoveries.
  l.timeseries({
    title: 'Injected faults vs recoveries',
    description:
      'Faults the runner injected per second (tokenstorm.runner.faults, by tokenstorm.fault.side client|upstream and tokenstorm.fault.kind) against stream recoveries (tokenstorm.runner.recoveries, by tokenstorm.recovery.kind resume|retry and tokenstorm.recovery.result success|failure).',
    unit: 'ops',
    w: 12,
    queries: [
      {
        expr: `sum by (tokenstorm_fault_side, tokenstorm_fault_kind) (rate(tokenstorm_runner_faults_total${R}[${RATE}]))`,
        legend: 'fault {{tokenstorm_fault_side}}/{{tokenstorm_fault_kind}}',
      },
      {
        expr: `sum by (tokenstorm_recovery_kind, tokenstorm_recovery_result) (rate(tokenstorm_runner_recoveries_total${R}[${RATE}]))`,
        legend: 'recovery {{tokenstorm_recovery_kind}} {{tokenstorm_recovery_result}}',
      },
    ],
  });
  l.timeseries({
    title: 'Upstream faults: asked by the runner vs injected by the mock',
    description:
      'Upstream faults the runner asked for (tokenstorm.runner.faults, side="upstream") beside the faults the mock actually injected (tokenstorm.mock.faults, ground truth; includes faults the mock drew from its own profile).',
    unit: 'suffix: faults/s',
    w: 12,
    queries: [
      {
        expr: `sum by (tokenstorm_fault_kind) (rate(tokenstorm_runner_faults_total{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario",tokenstorm_fault_side="upstream"}[${RATE}]))`,
        legend: 'runner {{tokenstorm_fault_kind}}',
      },
      {
        expr: `sum by (tokenstorm_fault_kind) (rate(tokenstorm_mock_faults_total${MOCK}[${RATE}]))`,
        legend: 'mock {{tokenstorm_fault_kind}}',
      },
    ],
  });
  l.stat({
    title: 'Recovery success',
    description:
      'Recoveries (resume or retry) that succeeded / all recoveries over the time range (tokenstorm_runner_recoveries_total, tokenstorm.recovery.result).',
    unit: 'percentunit',
    decimals: 2,
    w: 4,
    thresholds: [
      [0.99, 'orange'],
      [1, 'green'],
    ],
    queries: [
      {
        expr: `sum(increase(tokenstorm_runner_recoveries_total{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario",tokenstorm_recovery_result="success"}[$__range])) / sum(increase(tokenstorm_runner_recoveries_total${R}[$__range]))`,
        legend: 'success',
        instant: true,
      },
    ],
  });
  l.stat({
    title: 'Integrity failures',
    description:
      'Streams whose reassembled text did not match what the server said it sent (tokenstorm.runner.integrity_failures) over the time range: lost or duplicated tokens, e.g. after a resume. Anything but 0 is a bug.',
    unit: 'short',
    w: 4,
    thresholds: [[1, 'red']],
    queries: [
      {
        expr: `sum(increase(tokenstorm_runner_integrity_failures_total${R}[$__range]))`,
        legend: 'integrity failures',
        instant: true,
      },
    ],
  });
  l.timeseries({
    title: 'Resume latency p50 / p95 / p99',
    description:
      'Reconnect → first new token for streams resumed with Last-Event-ID (tokenstorm.runner.resume.duration).',
    unit: 's',
    w: 8,
    queries: quantiles('tokenstorm_runner_resume_duration_bucket', R),
  });
  l.timeseries({
    title: 'Cancel latency p50 / p95 / p99',
    description: 'Cancel request sent → stream ended (tokenstorm.runner.cancel.duration).',
    unit: 's',
    w: 8,
    queries: quantiles('tokenstorm_runner_cancel_duration_bucket', R),
  });

  // Is the runner the bottleneck?
  l.newLine();
  l.timeseries({
    title: 'Dropped arrivals',
    description:
      'Open-model arrivals per second that found no free slot (max_concurrency) and were dropped (tokenstorm.runner.dropped_arrivals, after warm-up). Any drop means the target (or the runner) could not keep up with the offered rate.',
    unit: 'suffix: arrivals/s',
    w: 6,
    queries: [
      { expr: `sum(rate(tokenstorm_runner_dropped_arrivals_total${R}[${RATE}]))`, legend: 'dropped' },
    ],
  });
  l.timeseries({
    title: 'Runner event-loop delay (client-bound?)',
    description:
      "p99 of the runner's own event-loop delay so far in the run (tokenstorm.runner.event_loop_delay, the value the result's client_bound check uses) and since the previous scrape (nodejs_eventloop_delay_p99). Above 20 ms (dashed line) the latencies are the client's, not the target's: use --workers N.",
    unit: 's',
    w: 6,
    thresholds: [[0.02, 'red']],
    queries: [
      { expr: `max(tokenstorm_runner_event_loop_delay${R})`, legend: 'p99 so far' },
      { expr: `max(nodejs_eventloop_delay_p99${P})`, legend: 'p99 last scrape interval' },
    ],
  });
  l.timeseries({
    title: 'Output tokens/s (client)',
    description:
      'Output tokens per second the runner received (gen_ai_client_token_usage_sum, gen_ai.token.type="output": from the usage the target reported, else counted content events).',
    unit: 'suffix: tok/s',
    w: 12,
    queries: [
      {
        expr: `sum(rate(gen_ai_client_token_usage_sum{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario",gen_ai_request_model=~"$model",gen_ai_token_type="output"}[${RATE}]))`,
        legend: 'output',
      },
    ],
  });
  processPanels(l, P, 'Runner');

  return dashboard({
    uid: RUNNER_UID,
    title: 'tokenstorm / runner',
    description:
      'A tokenstorm run (tokenstorm run SCENARIO --metrics-port N) as the client saw it: TTFT, ITL, outcomes, faults and recoveries, and whether the runner itself was the bottleneck.',
    links: [{ title: 'tokenstorm / server', uid: SERVER_UID }],
    variables: [
      datasourceVariable(),
      jobVariable(SERVICE.runner, 'runner'),
      instanceVariable('runner'),
      labelVariable(
        'scenario',
        'Scenario',
        'The scenario name (tokenstorm.scenario) of the run',
        'label_values(tokenstorm_runner_active_streams{job=~"$job",instance=~"$instance"}, tokenstorm_scenario)',
      ),
      labelVariable(
        'model',
        'Model',
        'The scenario request model (gen_ai.request.model)',
        'label_values(gen_ai_client_operation_duration_count{job=~"$job",instance=~"$instance",tokenstorm_scenario=~"$scenario"}, gen_ai_request_model)',
      ),
      mockJobVariable(),
      sloVariable(),
    ],
    panels: l.panels,
  });
}
