// Report files shared by run, sweep, compare and report: --junit, --summary-md, --html, and the
// Markdown summary appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Comparison } from '../compare/compare.js';
import { TokenstormError } from '../errors.js';
import { RESULT_FORMAT, type RunResult } from '../stats/result.js';
import type { SweepResult } from '../sweep/sweep.js';

export interface ReportArgs {
  junit?: string;
  'summary-md'?: string;
  html?: string;
}

export const REPORT_OPTIONS = {
  junit: { type: 'string', describe: 'Write JUnit XML (one test case per threshold or check) to this file' },
  'summary-md': {
    type: 'string',
    describe: 'Write a Markdown summary to this file (also appended to $GITHUB_STEP_SUMMARY when set)',
  },
  html: { type: 'string', describe: 'Write a self-contained HTML report with charts to this file' },
} as const;

/** `--color` / `--no-color` on every command that prints a summary (colorFor decides the default). */
export const COLOR_OPTION = {
  color: {
    type: 'boolean',
    describe: 'Colour the summary [default: when stdout is a TTY and NO_COLOR is unset]',
  },
} as const;

export interface Renderers {
  junit(): string;
  markdown(): string;
  html(): string;
}

export function writeFile(path: string, text: string): void {
  const p = resolve(path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

/** Writes the files asked for; returns a line per file written (for stdout). */
export function writeReports(args: ReportArgs, r: Renderers, env: NodeJS.ProcessEnv = process.env): string[] {
  const lines: string[] = [];
  if (args.junit !== undefined) {
    writeFile(args.junit, r.junit());
    lines.push(`JUnit XML written to ${args.junit}`);
  }
  let md: string | undefined;
  if (args['summary-md'] !== undefined) {
    md = r.markdown();
    writeFile(args['summary-md'], md);
    lines.push(`Markdown summary written to ${args['summary-md']}`);
  }
  const step = env['GITHUB_STEP_SUMMARY'];
  if (step !== undefined && step !== '') {
    appendFileSync(step, `${md ?? r.markdown()}\n`);
    lines.push('Markdown summary appended to $GITHUB_STEP_SUMMARY');
  }
  if (args.html !== undefined) {
    writeFile(args.html, r.html());
    lines.push(`HTML report written to ${args.html}`);
  }
  return lines;
}

export type AnyResult =
  | { kind: 'run'; result: RunResult }
  | { kind: 'sweep'; result: SweepResult }
  | { kind: 'compare'; result: Comparison };

/** Reads a run, sweep or compare JSON file; E_RESULT_INVALID (exit 2) when it is none of them. */
export function readAnyResult(path: string): AnyResult {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TokenstormError(
      'E_RESULT_INVALID',
      e.code === 'ENOENT' ? `${path} does not exist` : `${path} is not JSON: ${e.message}`,
    );
  }
  const d = doc as Record<string, unknown> | null;
  const ts = d?.['tokenstorm'] as { format?: unknown } | undefined;
  if (d === null || typeof d !== 'object' || ts === undefined || typeof ts.format !== 'number')
    throw new TokenstormError(
      'E_RESULT_INVALID',
      `${path} is not a tokenstorm result (no tokenstorm.format field)`,
    );
  if (d['kind'] === 'sweep') return { kind: 'sweep', result: d as unknown as SweepResult };
  if (d['kind'] === 'compare') return { kind: 'compare', result: d as unknown as Comparison };
  if (ts.format !== RESULT_FORMAT)
    throw new TokenstormError(
      'E_RESULT_INVALID',
      `${path} has result format ${ts.format}; this version reads format ${RESULT_FORMAT}`,
    );
  if (typeof d['metrics'] !== 'object' || typeof d['streams'] !== 'object')
    throw new TokenstormError('E_RESULT_INVALID', `${path} has no metrics or streams: not a run result`);
  return { kind: 'run', result: d as unknown as RunResult };
}

/** A run result, or E_RESULT_INVALID naming what the file is instead. */
export function readRunResult(path: string): RunResult {
  const r = readAnyResult(path);
  if (r.kind !== 'run')
    throw new TokenstormError(
      'E_RESULT_INVALID',
      `${path} is a ${r.kind} result; compare needs two run results (tokenstorm run --out)`,
    );
  return r.result;
}

export function colorFor(flag: boolean | undefined): boolean {
  return flag ?? (process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined);
}
