// Reading JSONL workload files (prompt datasets, arrival traces): every line a JSON object, blank
// lines skipped; every bad line reported at once with its line number (exit 2, E_CONFIG_INVALID).
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { TokenstormError } from '../errors.js';

/** Problems reported per file at most (the rest are counted). */
const MAX_PROBLEMS = 20;

/** A path as written in a scenario: relative paths are relative to the scenario file's directory. */
export function resolveWorkloadPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Parses each line with `row` (which returns the row, or a problem string); throws one
 * E_CONFIG_INVALID listing every problem, or when the file has no rows.
 */
export function readJsonl<T>(
  path: string,
  what: string,
  row: (v: Record<string, unknown>) => T | string,
): T[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TokenstormError(
      'E_CONFIG_INVALID',
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const rows: T[] = [];
  const problems: string[] = [];
  let extra = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let v: unknown;
    let r: T | string;
    try {
      v = JSON.parse(line);
      r =
        typeof v === 'object' && v !== null && !Array.isArray(v)
          ? row(v as Record<string, unknown>)
          : 'not a JSON object';
    } catch (err) {
      r = `not JSON (${(err as Error).message})`;
    }
    if (typeof r === 'string') {
      if (problems.length < MAX_PROBLEMS) problems.push(`${path}:${i + 1}: ${r}`);
      else extra++;
    } else rows.push(r);
  }
  if (extra > 0) problems.push(`… and ${extra} more`);
  if (problems.length === 0 && rows.length === 0) problems.push(`${path}: no rows`);
  if (problems.length > 0)
    throw new TokenstormError('E_CONFIG_INVALID', `the ${what} ${path} has problems:`, { problems });
  return rows;
}

export const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
