// The mock's Prometheus metrics (tokenstorm.mock.*): they equal its /mock/stats counters, pass
// `promtool check metrics`, and `tokenstorm mock --metrics-port` (or TOKENSTORM_MOCK_METRICS_PORT)
// serves them. promtool comes from Debian's `prometheus` package; without it the test fails with
// the install command.
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { startMockMetrics } from '../../src/mock/metrics.js';
import { PROMTOOL, requireBinary } from '../dashboards/prometheus.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { metricValue } from '../helpers/server.js';
import { anthropicBody, getStats, nextServerResponse, post, withMock } from '../helpers/stream.js';

const cli = useCli();

function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  requireBinary(PROMTOOL);
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.on('error', () => {});
    child.stdin.end(text);
  });
}

describe('mock metrics', () => {
  it('equal the mock stats after completed, faulted, aborted and refused requests, and pass promtool', async () => {
    await withMock(
      { seed: 3, latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1 } }, capacity: { slots: 2 } },
      async (mock) => {
        const metrics = await startMockMetrics(mock, { port: 0 });
        try {
          const url = `${mock.url}/v1/messages`;
          for (let i = 0; i < 3; i++) await post(url, anthropicBody(5, `ok ${i}`));
          await post(url, anthropicBody(5, 'e'), {
            headers: { 'x-tokenstorm-fault': 'inband_error;after_tokens=2' },
          });
          await post(url, anthropicBody(5, 't'), {
            headers: { 'x-tokenstorm-fault': 'truncate;after_tokens=2' },
          });
          await post(url, anthropicBody(5, 'h'), {
            headers: { 'x-tokenstorm-fault': 'http_error;status=429' },
          });
          await (await fetch(`${mock.url}/nope`)).text();
          // A client that goes away mid-stream.
          const ac = new AbortController();
          const closed = nextServerResponse(mock).then((res) => new Promise((r) => res.once('close', r)));
          await post(url, anthropicBody(1000, 'bye'), { signal: ac.signal, onEvent: () => ac.abort() }).catch(
            () => {},
          );
          await closed;

          const stats = await getStats(mock);
          const text = await (await fetch(metrics.url!)).text();
          const v = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
          expect(v('tokenstorm_mock_requests_total')).toBe(stats.requests);
          expect(v('tokenstorm_mock_streams_started_total')).toBe(stats.streams_started);
          expect(v('tokenstorm_mock_streams_total', { tokenstorm_outcome: 'completed' })).toBe(3);
          expect(v('tokenstorm_mock_streams_total', { tokenstorm_outcome: 'faulted' })).toBe(2);
          expect(v('tokenstorm_mock_streams_total', { tokenstorm_outcome: 'client_aborted' })).toBe(1);
          expect(v('tokenstorm_mock_faults_total', { tokenstorm_fault_kind: 'inband_error' })).toBe(1);
          expect(v('tokenstorm_mock_faults_total', { tokenstorm_fault_kind: 'truncate' })).toBe(1);
          expect(v('tokenstorm_mock_faults_total', { tokenstorm_fault_kind: 'http_error' })).toBe(1);
          expect(v('tokenstorm_mock_faults_total', { tokenstorm_fault_kind: 'reset' })).toBe(0);
          expect(text).toMatch(/^tokenstorm_mock_faults_total\{tokenstorm_fault_kind="reset",/m);
          expect(v('tokenstorm_mock_rejected_requests_total')).toBe(stats.rejected);
          expect(v('tokenstorm_mock_rejected_requests_total')).toBeGreaterThan(0);
          expect(v('tokenstorm_mock_tokens_total')).toBe(stats.tokens);
          expect(v('tokenstorm_mock_events_total')).toBe(stats.events);
          expect(v('tokenstorm_mock_slots')).toBe(2);
          expect(v('tokenstorm_mock_busy_slots')).toBe(0);
          expect(v('tokenstorm_mock_queue_depth')).toBe(0);
          expect(text).toMatch(/^process_cpu_time_total\{cpu_mode="user",/m);
          expect(text).toMatch(/^# TYPE nodejs_eventloop_delay_p99 gauge$/m);

          const check = await promtoolCheck(text);
          expect(check.output).toBe('');
          expect(check.code).toBe(0);
        } finally {
          await metrics.close();
        }
      },
    );
  });

  it('show busy slots and the queue while requests wait', async () => {
    await withMock(
      {
        seed: 3,
        latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 1000 } },
        capacity: { slots: 1 },
      },
      async (mock) => {
        const metrics = await startMockMetrics(mock);
        const ac = new AbortController();
        try {
          const url = `${mock.url}/v1/messages`;
          const opened: Promise<unknown>[] = [];
          // Both answer with headers at once (queued requests too), then hold: one decodes, one waits.
          for (const p of ['a', 'b'])
            opened.push(
              new Promise((resolve) => {
                post(url, anthropicBody(50, p), { signal: ac.signal, onEvent: resolve }).catch(() => {});
              }),
            );
          await Promise.all(opened);
          const text = await metrics.scrape();
          expect(metricValue(text, 'tokenstorm_mock_busy_slots')).toBe(1);
          expect(metricValue(text, 'tokenstorm_mock_queue_depth')).toBe(1);
        } finally {
          ac.abort();
          await metrics.close();
        }
      },
    );
  });
});

describe('tokenstorm mock --metrics-port (built CLI)', () => {
  beforeAll(() => assertBuilt(['src/cli', 'src/mock', 'src/telemetry']));

  it.each([
    ['--metrics-port 0', ['--metrics-port', '0'], {}],
    ['TOKENSTORM_MOCK_METRICS_PORT=0', [], { TOKENSTORM_MOCK_METRICS_PORT: '0' }],
  ])('%s serves GET /metrics and prints its URL', async (_name, args, env) => {
    const { child, exited, stdout } = cli(['mock', '--port', '0', ...args], env);
    const m = await new Promise<RegExpExecArray>((resolve, reject) => {
      const scan = () => {
        const found = /metrics on (http:\/\/\S+)/.exec(stdout());
        if (found) resolve(found);
      };
      child.stdout.on('data', scan);
      void exited.then((r) => reject(new Error(`mock exited (${r.code}):\n${r.stderr}`)));
    });
    const text = await (await fetch(m[1]!)).text();
    expect(text).toMatch(/^target_info\{service_name="tokenstorm-mock"\} 1$/m);
    expect(text).toMatch(/^tokenstorm_mock_slots\{otel_scope_name="tokenstorm-mock"\} 256$/m);
    process.kill(child.pid!, 'SIGTERM');
    expect((await exited).code).toBe(0);
  });

  it('an invalid --metrics-port is a usage error: exit 2', async () => {
    const r = await cli(['mock', '--port', '0', '--metrics-port', '70000']).exited;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--metrics-port must be an integer from 0 to 65535');
  });
});
