// What both dashboards share: the variables, the SLO threshold values and the process panels.
// Metric names below are as the OpenTelemetry Prometheus exporter renders them (dots become
// underscores, counters get `_total`, no unit suffix): see docs/observability.md.
import { BUCKETS } from '../telemetry/names.js';
import { customVariable, type Layout, labelVariable, type Variable } from './grafana.js';

/** `target_info` carries the OpenTelemetry resource's service.name: it tells the programs apart. */
export const SERVICE = {
  server: 'tokenstorm-server',
  mock: 'tokenstorm-mock',
  runner: 'tokenstorm-runner',
} as const;

export const jobVariable = (service: string, what: string): Variable =>
  labelVariable(
    'job',
    'Job',
    `Prometheus job(s) scraping the ${what}`,
    `label_values(target_info{service_name="${service}"}, job)`,
  );

export const instanceVariable = (what: string): Variable =>
  labelVariable(
    'instance',
    'Instance',
    `Instance(s) of the ${what} within the selected jobs`,
    'label_values(target_info{job=~"$job"}, instance)',
  );

export const mockJobVariable = (): Variable =>
  labelVariable(
    'mock_job',
    'Mock job',
    'Prometheus job(s) scraping the mock upstream (its ground-truth metrics)',
    `label_values(target_info{service_name="${SERVICE.mock}"}, job)`,
  );

/** The TTFT SLO: values are bucket boundaries of the TTFT histograms, so attainment is exact. */
export const sloVariable = (): Variable =>
  customVariable(
    'slo_ttft',
    'TTFT SLO (s)',
    'TTFT threshold of the SLO, in seconds: drawn as a dashed line on the TTFT panels; SLO attainment is the share of streams at or under it. The values are the TTFT histogram bucket boundaries, so the share is exact.',
    BUCKETS.ttft.filter((b) => b >= 0.1).map(String),
    '0.5',
  );

export const RATE = '$__rate_interval';

/** CPU, memory, event-loop delay and utilisation of the processes selected by `sel`. */
export function processPanels(layout: Layout, sel: string, what: string): void {
  layout.timeseries({
    title: `${what} CPU`,
    description: `CPU time used per second by each ${what} process, by mode: rate(process_cpu_time_total). 1 = one core busy.`,
    unit: 'percentunit',
    w: 6,
    stack: 'normal',
    queries: [
      {
        expr: `sum by (instance, cpu_mode) (rate(process_cpu_time_total${sel}[${RATE}]))`,
        legend: '{{instance}} {{cpu_mode}}',
      },
    ],
  });
  layout.timeseries({
    title: `${what} memory`,
    description: `Resident set size (process_memory_usage) and V8 heap in use (sum of v8js_memory_heap_used over heap spaces) of each ${what} process.`,
    unit: 'bytes',
    w: 6,
    queries: [
      { expr: `sum by (instance) (process_memory_usage${sel})`, legend: '{{instance}} RSS' },
      { expr: `sum by (instance) (v8js_memory_heap_used${sel})`, legend: '{{instance}} heap' },
    ],
  });
  layout.timeseries({
    title: `${what} event-loop lag`,
    description: `Event-loop delay of each ${what} process since the previous scrape (nodejs_eventloop_delay_p99 and _max): how late timers and I/O callbacks ran. Tens of milliseconds mean the process is CPU-bound and its latencies include its own queueing.`,
    unit: 's',
    w: 6,
    thresholds: [[0.02, 'red']],
    queries: [
      { expr: `max by (instance) (nodejs_eventloop_delay_p99${sel})`, legend: '{{instance}} p99' },
      { expr: `max by (instance) (nodejs_eventloop_delay_max${sel})`, legend: '{{instance}} max' },
    ],
  });
  layout.timeseries({
    title: `${what} event-loop utilisation`,
    description: `Share of the time since the previous scrape that each ${what} event loop was busy (nodejs_eventloop_utilization). Above 0.9 the process is saturated.`,
    unit: 'percentunit',
    w: 6,
    min: 0,
    max: 1,
    thresholds: [[0.9, 'red']],
    queries: [{ expr: `max by (instance) (nodejs_eventloop_utilization${sel})`, legend: '{{instance}}' }],
  });
}
