// `npm run soak`: a bounded soak of the chaos paths (docs/chaos.md). Starts `tokenstorm serve`
// as a child process (its in-process mock is the upstream), runs mixed chaos against it from this
// process for SOAK_DURATION_S (default 600) at SOAK_CONCURRENCY streams (default 300), samples
// RSS and open file descriptors of both processes every 5 s, and fails (exit 1) when either grows
// after warm-up by more than 10%, or when the run itself fails its checks (leaks, integrity,
// unexpected outcomes). Prints a table and writes results/soak.json.
//
// Growth compares medians, not single samples (a GC cycle moves RSS by megabytes): the baseline
// is the median of the minute after warm-up, the end the median of the last minute.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/runner/run.js';
import { parseScenario } from '../src/scenario/load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION_S = Number(process.env['SOAK_DURATION_S'] ?? 600);
const CONCURRENCY = Number(process.env['SOAK_CONCURRENCY'] ?? 300);
const SAMPLE_MS = 5000;
const WARMUP_S = Math.min(120, DURATION_S * 0.2);
const WINDOW_S = Math.min(60, DURATION_S * 0.2);
const MAX_GROWTH = 0.1;

interface Sample {
  t: number;
  serverRssMb: number;
  serverFds: number;
  runnerRssMb: number;
  runnerFds: number;
  runnerActive: number;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function rssMb(pid: number | 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 102.4) / 10;
}

const fds = (pid: number | 'self'): number => readdirSync(`/proc/${pid}/fd`).length;

async function waitReady(url: string, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > end) throw new Error(`${url} did not become ready in ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<number> {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tokenstorm-soak-'));
  const profile = join(dir, 'mock.yaml');
  writeFileSync(
    profile,
    'latency:\n  ttft_base_ms: 100\n  itl_ms: { type: fixed, mean: 20 }\noutput_tokens: { type: uniform, min: 30, max: 50 }\ncapacity:\n  slots: 2048\n',
  );
  const args = [
    join(ROOT, 'bin', 'tokenstorm.js'),
    'serve',
    '--port',
    String(port),
    '--metrics-port',
    String(metricsPort),
    '--mock-profile',
    profile,
    '--log-level',
    'warn',
    '--upstream-max-retries',
    '0',
    '--resume-grace-ms',
    '3000',
    '--heartbeat-ms',
    '500',
  ];
  const server: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  let sampler: NodeJS.Timeout | undefined;
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, 30_000);
    const scenario = parseScenario(
      {
        name: 'soak',
        seed: 99,
        target: {
          url: `http://127.0.0.1:${port}/v1/chat/stream`,
          protocol: 'reference',
          metrics_url: `http://127.0.0.1:${metricsPort}/metrics`,
        },
        request: { max_tokens: 64 },
        load: {
          type: 'closed',
          concurrency: CONCURRENCY,
          duration: DURATION_S,
          warmup: 10,
          graceful_stop: 20,
        },
        timeouts: { stall_ms: 2500 },
        leak_check: { timeout_ms: 8000 },
        faults: {
          client: [
            {
              kind: 'disconnect',
              probability: 0.06,
              after_tokens: [3, 20],
              reconnect: 'resume',
              reconnect_delay_ms: [0, 200],
            },
            { kind: 'disconnect', probability: 0.02, after_tokens: [3, 20], reconnect: 'retry' },
            { kind: 'disconnect', probability: 0.02, after_tokens: [3, 20], reconnect: 'none' },
            { kind: 'stall', probability: 0.03, after_tokens: [3, 20], duration_ms: [200, 800] },
            { kind: 'slow_reader', probability: 0.02, after_tokens: 5, bytes_per_s: 4000 },
            { kind: 'cancel', probability: 0.03, after_tokens: [3, 10] },
            { kind: 'abort_before_headers', probability: 0.01 },
          ],
          upstream: [
            { kind: 'http_error', probability: 0.01, status: 529 },
            { kind: 'inband_error', probability: 0.01, after_tokens: [5, 20] },
            { kind: 'reset', probability: 0.01, after_tokens: [5, 20] },
            { kind: 'truncate', probability: 0.01, after_tokens: [5, 20] },
            { kind: 'ping_stall', probability: 0.01, after_tokens: [5, 20], duration_ms: 6000 },
          ],
        },
        thresholds: {
          unexpected_outcomes: ['count==0'],
          integrity_failures: ['count==0'],
          leaks: ['count==0'],
        },
      },
      'soak scenario',
      {},
    );
    const samples: Sample[] = [];
    const t0 = performance.now();
    let active = 0;
    const sample = () =>
      samples.push({
        t: Math.round((performance.now() - t0) / 100) / 10,
        serverRssMb: rssMb(server.pid!),
        serverFds: fds(server.pid!),
        runnerRssMb: rssMb('self'),
        runnerFds: fds('self'),
        runnerActive: active,
      });
    sample();
    sampler = setInterval(sample, SAMPLE_MS);
    console.error(
      `soak: ${DURATION_S} s of mixed chaos at ${CONCURRENCY} streams against tokenstorm serve (pid ${server.pid})`,
    );
    const result = await runScenario({
      scenario,
      onProgress: (p) => {
        active = p.active;
        if (Math.round(p.elapsedS) % 30 === 0)
          console.error(
            `[soak] ${p.elapsedS.toFixed(0)} s, ${p.active} active, ${p.done} done, ${p.errors} errors`,
          );
      },
    });
    clearInterval(sampler);
    sample();

    const during = samples.filter((s) => s.t <= DURATION_S);
    const base = during.filter((s) => s.t >= WARMUP_S && s.t < WARMUP_S + WINDOW_S);
    const end = during.filter((s) => s.t > DURATION_S - WINDOW_S);
    const growth = (k: keyof Sample) => {
      const b = median(base.map((s) => s[k]));
      const e = median(end.map((s) => s[k]));
      return { start: b, end: e, growth: Math.round((e / b - 1) * 1000) / 1000 };
    };
    const report = {
      duration_s: DURATION_S,
      concurrency: CONCURRENCY,
      streams: result.streams.measured,
      by_outcome: result.streams.by_outcome,
      thresholds_ok: result.thresholds_ok,
      thresholds: result.thresholds,
      chaos: {
        faults_injected: Object.values(result.chaos.faults).reduce((n, f) => n + f.injected, 0),
        unexpected_outcomes: result.chaos.unexpected_outcomes,
        integrity: result.chaos.integrity,
        server: result.chaos.server,
      },
      server_rss_mb: growth('serverRssMb'),
      server_fds: growth('serverFds'),
      runner_rss_mb: growth('runnerRssMb'),
      runner_fds: growth('runnerFds'),
      samples,
    };
    mkdirSync(join(ROOT, 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'results', 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
    const checks = (['server_rss_mb', 'server_fds', 'runner_rss_mb', 'runner_fds'] as const).map((k) => ({
      k,
      ...report[k],
      ok: report[k].growth <= MAX_GROWTH,
    }));
    console.log(
      `soak: ${report.streams} streams, ${report.chaos.faults_injected} faults injected, ${report.chaos.unexpected_outcomes} unexpected outcomes, integrity ${report.chaos.integrity.verified} verified / ${report.chaos.integrity.failed} failed, leaks ${result.chaos.server?.leak_check?.ok ? 'none' : 'FOUND'}`,
    );
    console.log(
      `warm-up ${WARMUP_S} s; baseline = median of [${WARMUP_S}, ${WARMUP_S + WINDOW_S}) s; end = median of the last ${WINDOW_S} s`,
    );
    for (const c of checks)
      console.log(
        `  ${c.ok ? '✓' : '✗'} ${c.k.padEnd(14)} ${String(c.start).padStart(8)} → ${String(c.end).padStart(8)}  (${(c.growth * 100).toFixed(1)}%, limit ${MAX_GROWTH * 100}%)`,
      );
    for (const t of result.thresholds)
      console.log(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression} (${t.actual})`);
    console.log('results/soak.json written');
    return checks.every((c) => c.ok) && result.thresholds_ok ? 0 : 1;
  } finally {
    clearInterval(sampler);
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`soak failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  },
);
