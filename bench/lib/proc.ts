// Process helpers for benchmarks: spawn a child, wait for a line on its stdout, read its
// CPU time and RSS from /proc (Linux), and always kill it by PID.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLK_TCK = 100; // Linux USER_HZ

export interface Child {
  proc: ChildProcess;
  pid: number;
  kill(): Promise<void>;
}

/** Spawns `node args…` in the repo, resolving once a stdout line matches `ready`. */
export async function spawnNode(
  args: string[],
  ready: RegExp,
  opts: { ipc?: boolean; env?: Record<string, string> } = {},
): Promise<{ child: Child; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: opts.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...opts.env },
  });
  const child: Child = {
    proc,
    pid: proc.pid!,
    kill: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = ready.exec(buf);
      if (m) {
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve(m);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${buf}`)),
    );
  });
  return { child, match };
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints rows as an aligned table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, k) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
