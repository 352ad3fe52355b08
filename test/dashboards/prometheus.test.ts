// Every query of every panel of every dashboard returns data from what tokenstorm really exports.
// A real Prometheus (Debian's `prometheus`) scrapes, with the repository's dashboards/prometheus.yml
// rewritten to loopback ports and a 1 s interval: the mock upstream with its metrics, the reference
// server proxying to it, and a short runner scenario against the server (upstream faults drawn by
// the mock), all real servers on 127.0.0.1 in this process. Then each dashboard's variables are
// resolved through the HTTP API (label_values) and each target's expression is evaluated twice:
// with every variable at "All" (.*) and with the first concrete value of each. Any query that errors
// or returns no series fails the test, listed all at once. Prometheus is stopped by PID in a finally
// and checked gone, pass or fail.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMockMetrics } from '../../src/mock/metrics.js';
import { startMock } from '../../src/mock/server.js';
import { runScenario } from '../../src/runner/run.js';
import { startRunnerTelemetry } from '../../src/runner/telemetry.js';
import { parseScenario } from '../../src/scenario/load.js';
import { startReferenceServer } from '../../src/server/app.js';
import { committedDashboards, DASHBOARD_DIR, type DashboardJson, variableQuery } from './load.js';
import {
  alive,
  type Prometheus,
  regexEscape,
  rewriteScrapeConfig,
  startPrometheus,
  substitute,
  until,
} from './prometheus.js';

/** Grafana's built-in interval variables, sized for a run of a few seconds scraped every second. */
const BUILTINS = { __rate_interval: '30s', __interval: '5s', __range: '5m' };

const LABEL_VALUES = /^label_values\((.+),\s*(\w+)\)$/;

interface Failure {
  dashboard: string;
  panel: string;
  expr: string;
  problem: string;
}

/** Resolves the dashboard's variables in order: "all" → the allValue, "first" → the first value. */
async function resolveVariables(
  prom: Prometheus,
  d: DashboardJson,
  mode: 'all' | 'first',
  failures: Failure[],
): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...BUILTINS };
  for (const v of d.templating.list) {
    if (v.type === 'datasource') continue;
    if (v.type === 'custom') {
      values[v.name] = String(v.current?.value);
      continue;
    }
    const query = variableQuery(v);
    const m = LABEL_VALUES.exec(query);
    if (m === null) throw new Error(`${d.uid}: variable ${v.name} is not label_values(…): ${query}`);
    const selector = substitute(m[1]!, values);
    let found: string[] = [];
    try {
      found = await prom.api<string[]>(`label/${m[2]}/values`, { 'match[]': selector });
    } catch (err) {
      failures.push({ dashboard: d.uid, panel: `variable $${v.name}`, expr: selector, problem: String(err) });
    }
    if (found.length === 0)
      failures.push({ dashboard: d.uid, panel: `variable $${v.name}`, expr: query, problem: 'no values' });
    values[v.name] = mode === 'all' || found.length === 0 ? (v.allValue ?? '.*') : regexEscape(found[0]!);
  }
  return values;
}

async function checkDashboard(prom: Prometheus, d: DashboardJson, mode: 'all' | 'first'): Promise<Failure[]> {
  const failures: Failure[] = [];
  const values = await resolveVariables(prom, d, mode, failures);
  for (const p of d.panels)
    for (const t of p.targets ?? []) {
      const expr = substitute(t.expr, values);
      const panel = `${p.id} "${p.title}" ${t.refId} (${mode})`;
      if (/\$\w/.test(expr)) {
        failures.push({ dashboard: d.uid, panel, expr, problem: 'an unresolved variable' });
        continue;
      }
      try {
        const result = await prom.query(expr);
        if (result.length === 0) failures.push({ dashboard: d.uid, panel, expr, problem: 'no series' });
      } catch (err) {
        failures.push({ dashboard: d.uid, panel, expr, problem: String(err) });
      }
    }
  return failures;
}

/** The sum of a counter's samples in a Prometheus text exposition. */
function counterSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe('dashboards against a real Prometheus', () => {
  it('every panel query of every dashboard returns series from the server, mock and runner metrics', async () => {
    const mock = await startMock({
      config: {
        seed: 11,
        latency: { ttft_base_ms: 5, itl_ms: { type: 'fixed', mean: 3 } },
        capacity: { slots: 4 },
        faults: [
          { kind: 'inband_error', after_tokens: 3, probability: 0.05 },
          { kind: 'reset', after_tokens: 2, probability: 0.03 },
          { kind: 'truncate', after_tokens: 4, probability: 0.03 },
        ],
      },
    });
    const cleanup: (() => Promise<unknown>)[] = [() => mock.close()];
    let prom: Prometheus | undefined;
    try {
      const mockMetrics = await startMockMetrics(mock, { port: 0 });
      cleanup.push(() => mockMetrics.close());
      const server = await startReferenceServer({
        config: {
          port: 0,
          metrics_port: 0,
          log_level: 'silent',
          drain_timeout_ms: 0,
          upstream: mock.url,
          api_key: 'test-key',
          upstream_max_retries: 0,
        },
      });
      cleanup.push(() => server.shutdown());
      const scenario = parseScenario(
        {
          name: 'dashboards',
          target: { url: `${server.url}/v1/chat/stream`, protocol: 'reference' },
          request: { max_tokens: 16 },
          load: { type: 'closed', concurrency: 8, duration: '5s' },
          faults: {
            client: [
              { kind: 'disconnect', probability: 0.1, after_tokens: [2, 8], reconnect: 'resume' },
              { kind: 'disconnect', probability: 0.05, after_tokens: [2, 8], reconnect: 'retry' },
              { kind: 'cancel', probability: 0.05, after_tokens: [2, 8] },
            ],
            upstream: [{ kind: 'inband_error', probability: 0.05, after_tokens: [2, 8] }],
          },
        },
        'dashboard test scenario',
        {},
      );
      const telemetry = await startRunnerTelemetry(0, scenario);
      cleanup.push(() => telemetry.close());

      const hostPort = (url: string) => new URL(url).host;
      prom = await startPrometheus(
        rewriteScrapeConfig(join(DASHBOARD_DIR, 'prometheus.yml'), {
          'tokenstorm-server': hostPort(server.metricsUrl!),
          'tokenstorm-mock': hostPort(mockMetrics.url!),
          'tokenstorm-runner': hostPort(telemetry.url),
        }),
      );
      const p = prom;
      await until(
        'Prometheus to scrape all three targets',
        async () => ((await p.query('sum(up)'))[0]?.value[1] === '3' ? true : undefined),
        20_000,
      );

      const result = await runScenario({ scenario, telemetry });
      expect(result.streams.by_outcome.completed).toBeGreaterThan(0);
      expect(result.streams.started - result.streams.by_outcome.completed).toBeGreaterThan(0); // faults showed

      // The last scrape has the run's final counts.
      const ended = counterSum(await telemetry.endpoint.scrape(), 'tokenstorm_runner_streams_total');
      expect(ended).toBe(result.streams.started);
      await until(
        'Prometheus to scrape the final runner counts',
        async () =>
          Number((await p.query('sum(tokenstorm_runner_streams_total)'))[0]?.value[1]) === ended
            ? true
            : undefined,
        15_000,
      );

      const failures: Failure[] = [];
      for (const { json } of committedDashboards())
        for (const mode of ['all', 'first'] as const) failures.push(...(await checkDashboard(p, json, mode)));
      expect(
        failures.map((f) => `${f.dashboard} panel ${f.panel}: ${f.problem}\n    ${f.expr}`).join('\n'),
      ).toBe('');
    } finally {
      const pid = prom?.pid;
      await prom?.stop();
      if (pid !== undefined) expect(alive(pid), 'Prometheus is still running').toBe(false);
      for (const close of cleanup.reverse()) await close();
    }
  }, 60_000);
});
