// Running the built CLI (bin/tokenstorm.js → dist/) in a child process as a user would.
// `useCli()` registers an afterEach that kills every child still running, by PID.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'tokenstorm.js');

/** The newest modification time (ms) of the .ts files under `path`. */
function newestSource(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return path.endsWith('.ts') ? st.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((f) => newestSource(join(path, f))));
}

/**
 * Throws (so the suite fails, not skips) when dist/ is missing or older than `sources`
 * (paths relative to the repository root: all of src/ unless narrowed).
 */
export function assertBuilt(sources: readonly string[] = ['src']): void {
  let built: number;
  try {
    built = statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
  }
  if (Math.max(...sources.map((p) => newestSource(join(ROOT, p)))) > built)
    throw new Error('dist/ is older than src/: run `npm run build` before the CLI tests');
}

/** The environment without TOKENSTORM_* settings from the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TOKENSTORM_')) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited and its output is complete. */
  exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout JSON log line whose `msg` is `msg`; rejects if the process exits first. */
  logLine(msg: string): Promise<Record<string, unknown>>;
}

export function useCli(): (args: string[], env?: Record<string, string>) => Cli {
  const children = new Set<ChildProcessWithoutNullStreams>();
  afterEach(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    children.clear();
  });
  return (args, env = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env) });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<Exit>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    const logLine = (msg: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const scan = () => {
          for (const line of stdout.split('\n')) {
            if (!line.startsWith('{')) continue;
            try {
              const rec = JSON.parse(line) as Record<string, unknown>;
              if (rec.msg === msg) {
                child.stdout.off('data', scan);
                resolve(rec);
                return;
              }
            } catch {
              // a partial line; the next chunk completes it
            }
          }
        };
        child.stdout.on('data', scan);
        scan();
        void exited.then((r) =>
          reject(
            new Error(`the process exited (${r.code ?? r.signal}) before logging "${msg}":\n${r.stderr}`),
          ),
        );
      });
    return { child, exited, stdout: () => stdout, stderr: () => stderr, logLine };
  };
}
