// A real Prometheus for tests: started from Debian's `prometheus` binary with a scrape config
// written to a temp dir, on a free loopback port, its TSDB in that temp dir; stopped by PID and
// checked gone. Plus the bits of Grafana the dashboard test needs: variable substitution and
// label_values() evaluated through the HTTP API.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

const INSTALL_HINT =
  'it comes with Prometheus (Debian/Ubuntu: apt-get install -y prometheus; .ci/run installs it), ' +
  'or download it from https://prometheus.io/download/ and set PROMETHEUS=/path/to/prometheus and PROMTOOL=/path/to/promtool';

/** Throws (the test fails, never skips) when `bin` cannot be run. */
export function requireBinary(bin: string, hint = INSTALL_HINT): void {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`${bin} is not installed (${r.error.message}): ${hint}`);
}

/** A port nothing listens on right now (listen on 0, close). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** Polls `check` until it returns a value other than undefined, or throws after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The committed scrape config with every job's targets replaced by `targets[job]` (loopback
 * addresses) and a 1 s scrape interval. Throws when the config and `targets` name different jobs.
 */
export function rewriteScrapeConfig(file: string, targets: Record<string, string>): string {
  const cfg = parse(readFileSync(file, 'utf8')) as {
    global?: Record<string, unknown>;
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  cfg.global = { ...cfg.global, scrape_interval: '1s', evaluation_interval: '1s' };
  const jobs = cfg.scrape_configs.map((j) => j.job_name).sort();
  const want = Object.keys(targets).sort();
  if (JSON.stringify(jobs) !== JSON.stringify(want))
    throw new Error(`${file} scrapes jobs ${jobs.join(', ')}; the test provides ${want.join(', ')}`);
  for (const job of cfg.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name]!] }];
  return stringify(cfg);
}

export interface Prometheus {
  readonly url: string;
  readonly pid: number;
  /** What Prometheus logged (the end of it), for failure messages. */
  log(): string;
  /** GET /api/v1/<path> with query parameters; throws on a non-success answer. */
  api<T>(path: string, params: Record<string, string | string[]>): Promise<T>;
  /** An instant query: the result vector (or scalar as a one-element vector). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` (YAML text) and waits until /-/ready answers 200. */
export async function startPrometheus(config: string): Promise<Prometheus> {
  requireBinary(PROMETHEUS);
  const dir = mkdtempSync(join(tmpdir(), 'tokenstorm-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // A crash of the test process itself must not leave Prometheus running either.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const api = async <T>(path: string, params: Record<string, string | string[]>): Promise<T> => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) qs.append(k, one);
    const res = await fetch(`${url}/api/v1/${path}?${qs}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`${body.errorType}: ${body.error}`);
    return body.data;
  };
  try {
    await spawned;
    await until(
      `Prometheus to be ready on ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`Prometheus exited (${child.exitCode}):\n${output}`);
        const r = await fetch(`${url}/-/ready`);
        await r.text();
        return r.status === 200 ? true : undefined;
      },
      20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    log: () => output,
    api,
    query: async (expr) => {
      const data = await api<{ resultType: string; result: unknown }>('query', { query: expr });
      if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
      return data.result as { metric: Record<string, string>; value: [number, string] }[];
    },
    stop,
  };
}

/** True while a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Replaces Grafana variables ($name, ${name}) with `values[name]`; unknown names are left as they are. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    return values[name] ?? m;
  });
}

/** Escapes a label value for use inside a PromQL regex matcher, as Grafana does for variables. */
export function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');
}
