// What both dashboards share: the variables, the SLO threshold values and the process panels.
// Metric names below are as the OpenTelemetry Prometheus exporter renders them (dots become
// underscores, counters get `_total`, no unit suffix): see docs/observability.md.
import { BUCKETS } from '../telemetry/names.js';
import { customVariable, type Layout, labelVariable, sloAttainment, type Variable } from './grafana.js';

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

/** What the outcome panels of a dashboard read. */
export interface OutcomeSource {
  /** The streams counter with the dashboard's selector; `extra` adds label matchers (`,k="v"`). */
  streams: (extra?: string) => string;
  /** The counter's name as the descriptions cite it. */
  counter: string;
  /** The TTFT histogram (without `_bucket`) and its selector, for SLO attainment. */
  ttft: string;
  ttftSelector: string;
  /** Whose TTFT: "server" or "client". */
  who: string;
}

/** Completion rate and SLO attainment (over the range, and over time): the same on both dashboards. */
export function completionPanels(l: Layout, o: OutcomeSource): void {
  const completed = o.streams(',tokenstorm_outcome="completed"');
  l.stat({
    title: 'Completion rate',
    description: `Share of streams that ended with a terminal event (tokenstorm.outcome="completed") over the dashboard time range: increase(${o.counter}{completed}[$__range]) / increase(${o.counter}[$__range]).`,
    unit: 'percentunit',
    decimals: 2,
    w: 4,
    thresholds: [
      [0.99, 'orange'],
      [0.999, 'green'],
    ],
    queries: [
      {
        expr: `sum(increase(${completed}[$__range])) / sum(increase(${o.streams()}[$__range]))`,
        legend: 'completed',
        instant: true,
      },
    ],
  });
  l.stat({
    title: 'SLO attainment',
    description: `Share of streams over the time range whose ${o.who} TTFT was at or under $slo_ttft s: the bucket le="$slo_ttft" of ${o.ttft} divided by its count.`,
    unit: 'percentunit',
    decimals: 2,
    w: 4,
    thresholds: [
      [0.95, 'orange'],
      [0.99, 'green'],
    ],
    queries: [{ expr: sloAttainment(o.ttft, o.ttftSelector, '$__range'), legend: 'attained', instant: true }],
  });
  l.timeseries({
    title: 'Completion rate and SLO attainment over time',
    description: `Per $__rate_interval: completed / all ended streams (${o.counter}), and the share of streams with ${o.who} TTFT ≤ $slo_ttft s.`,
    unit: 'percentunit',
    w: 8,
    max: 1,
    queries: [
      {
        expr: `sum(rate(${completed}[${RATE}])) / sum(rate(${o.streams()}[${RATE}]))`,
        legend: 'completion rate',
      },
      { expr: sloAttainment(o.ttft, o.ttftSelector, RATE), legend: 'TTFT SLO attainment' },
    ],
  });
}

/** Streams ended per second by outcome, and each outcome's share. `outcomes` lists them for the description. */
export function outcomePanels(l: Layout, o: OutcomeSource, title: string, outcomes: string): void {
  l.timeseries({
    title,
    description: `Streams ended per second by tokenstorm.outcome: ${outcomes}. rate(${o.counter}).`,
    unit: 'suffix: streams/s',
    w: 12,
    stack: 'normal',
    queries: [
      {
        expr: `sum by (tokenstorm_outcome) (rate(${o.streams()}[${RATE}]))`,
        legend: '{{tokenstorm_outcome}}',
      },
    ],
  });
  l.timeseries({
    title: 'Outcome share',
    description: `Each outcome as a share of all streams ended in the interval: rate by outcome / total rate of ${o.counter}.`,
    unit: 'percentunit',
    w: 12,
    stack: 'normal',
    max: 1,
    queries: [
      {
        expr: `sum by (tokenstorm_outcome) (rate(${o.streams()}[${RATE}])) / ignoring (tokenstorm_outcome) group_left sum(rate(${o.streams()}[${RATE}]))`,
        legend: '{{tokenstorm_outcome}}',
      },
    ],
  });
}
