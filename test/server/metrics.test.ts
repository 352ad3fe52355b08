// GET /metrics after a mix of streams and refusals: `promtool check metrics` (Prometheus's
// own parser and linter) accepts it, the documented names are there, and no label carries
// a stream id. promtool comes from Debian's `prometheus` package; set PROMTOOL to use
// another binary. Without it this test fails (it does not skip), saying how to install it.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fastMock, metricValue, openStream, postJson, useServers, waitFor } from '../helpers/server.js';

const start = useServers();
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

interface Check {
  code: number | null;
  output: string;
}

function promtoolCheck(text: string): Promise<Check> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `${PROMTOOL} is not installed: it comes with Prometheus (Debian/Ubuntu: apt-get install prometheus; ` +
                'or download it from https://prometheus.io/download/ and set PROMTOOL=/path/to/promtool)',
            )
          : err,
      ),
    );
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.on('error', () => {}); // an early exit is reported through close
    child.stdin.end(text);
  });
}

describe('GET /metrics', () => {
  it('passes promtool check metrics after completed, cancelled, abandoned and refused streams', async () => {
    const server = await start(
      { metrics_port: 0, max_tokens_limit: 50, resume_grace_ms: 0, heartbeat_ms: 20, rate_limit_rps: 1000 },
      fastMock(2, { faults: [{ kind: 'stall', after_tokens: 2, duration_ms: 60, probability: 0.5 }] }),
    );
    const ids: string[] = [];
    const keepId = (r: { headers: Headers }) => ids.push(r.headers.get('x-stream-id')!);
    // Completed (two models, so the model attribute has two values).
    for (const model of ['model-a', 'model-b'])
      keepId(await openStream(server.url, { prompt: 'p', model, max_tokens: 5 }));
    // Cancelled.
    let cancel: Promise<Response> | undefined;
    const cancelled = await openStream(
      server.url,
      { prompt: 'cancel', max_tokens: 50 },
      {
        onEvent: (ev) => {
          if (cancel === undefined && ev.type === 'delta')
            cancel = fetch(`${server.url}/v1/chat/stream/${ev.id!.split(':')[0]}/cancel`, { method: 'POST' });
        },
      },
    );
    keepId(cancelled);
    await (await cancel!).text();
    // Abandoned (client gone, grace 0).
    const ac = new AbortController();
    const abandoned = await openStream(
      server.url,
      { prompt: 'bye', max_tokens: 50 },
      { signal: ac.signal, onEvent: (ev) => ev.type === 'delta' && ac.abort() },
    );
    keepId(abandoned);
    // Refused: 400, 404, 405.
    await postJson(`${server.url}/v1/chat/stream`, { prompt: 'x', max_tokens: 51 });
    await (await fetch(`${server.url}/v1/chat/stream/nope`)).text();
    await (await fetch(`${server.url}/v1/chat/stream`)).text();
    await waitFor('the abandoned stream to end', () => server.activeStreams() === 0);

    const res = await fetch(server.metricsUrl!);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const [name, labels] of [
      ['tokenstorm_server_streams_total', { tokenstorm_outcome: 'completed' }],
      ['tokenstorm_server_streams_total', { tokenstorm_outcome: 'cancelled' }],
      ['tokenstorm_server_streams_total', { tokenstorm_outcome: 'client_gone' }],
      ['tokenstorm_server_cancels_total', {}],
      ['tokenstorm_server_upstream_aborts_total', {}],
      ['tokenstorm_server_rejected_requests_total', { http_response_status_code: '400' }],
      ['tokenstorm_server_rejected_requests_total', { http_response_status_code: '404' }],
      ['tokenstorm_server_rejected_requests_total', { http_response_status_code: '405' }],
      ['gen_ai_server_time_to_first_token_count', { gen_ai_request_model: 'model-a' }],
      ['gen_ai_server_request_duration_count', { gen_ai_request_model: 'model-b' }],
      ['gen_ai_server_time_per_output_token_count', {}],
      ['gen_ai_client_token_usage_count', { gen_ai_token_type: 'output' }],
    ] as const) {
      expect(metricValue(text, name, labels), `${name} ${JSON.stringify(labels)}`).toBeGreaterThan(0);
    }
    expect(text).toMatch(/^# TYPE gen_ai_server_time_to_first_token histogram$/m);
    expect(text).toMatch(/^# TYPE tokenstorm_server_active_streams gauge$/m);
    // Bounded labels: no stream id anywhere in the exposition.
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(text).not.toContain(id);

    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });
});
