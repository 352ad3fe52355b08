// One-shot benchmark children: spawn `node args…` in the repo, wait for it to exit, parse the
// last line of its stdout as JSON. A child that outlives its timeout is killed by its PID; every
// PID ever spawned here is remembered so a benchmark can kill leftovers and check for them.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO } from './proc.js';

const live = new Set<number>();

export async function runJsonChild<T>(
  args: string[],
  opts: { timeoutMs: number; env?: Record<string, string> },
): Promise<T> {
  const proc = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...opts.env },
  });
  const pid = proc.pid!;
  live.add(pid);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d: string) => {
    out += d;
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  live.delete(pid);
  if (code !== 0)
    throw new Error(`node ${args.join(' ').slice(0, 200)} exited with ${code}:\n${out.slice(-2000)}`);
  const last = out.trimEnd().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

/** Kills, by PID, every one-shot child still running (after an exception). */
export function killLiveChildren(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** PIDs and command lines of this process's children still alive (Linux /proc). */
export function childProcessesOf(ppid: number): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid) continue;
      const state = fields[0];
      if (state === 'Z') continue; // already exited, not yet reaped
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push(`${name} ${cmd}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}
