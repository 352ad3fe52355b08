// Sharding one run over several processes or machines (docs/distributed.md): which shard this
// process is (`--shard i/N`, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with a shard
// count), how a shard's part combines with worker threads, and the scenario hash that lets
// `tokenstorm merge` refuse results of different scenarios.
import { createHash } from 'node:crypto';
import { TokenstormError } from '../errors.js';
import type { Share } from '../runner/executors.js';
import type { Scenario } from '../scenario/schema.js';

/** Shard `index` (0-based) of `count`. */
export type Shard = Share;

export const MAX_SHARDS = 10_000;

/** Parses `i/N` (0 ≤ i < N). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m)
    throw new TokenstormError(
      'E_USAGE',
      `--shard "${text}" is not i/N (e.g. --shard 0/3: the first of three)`,
    );
  return checked(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

function checked(index: number, count: number, what: string): Shard {
  if (!(count >= 1 && count <= MAX_SHARDS))
    throw new TokenstormError('E_USAGE', `${what}: the shard count must be 1 to ${MAX_SHARDS}`);
  if (!(index >= 0 && index < count))
    throw new TokenstormError(
      'E_USAGE',
      `${what}: the shard index must be 0 to ${count - 1} (shards are numbered from 0, as JOB_COMPLETION_INDEX is)`,
    );
  return { index, count };
}

/**
 * The shard from the command line: `--shard i/N`, or `--shard-count N` with the index from
 * JOB_COMPLETION_INDEX (set by a Kubernetes Job with completionMode: Indexed). Undefined: not sharded.
 */
export function shardFromArgs(
  shard: string | undefined,
  shardCount: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Shard | undefined {
  if (shard !== undefined && shardCount !== undefined)
    throw new TokenstormError(
      'E_USAGE',
      'give either --shard i/N or --shard-count N (with JOB_COMPLETION_INDEX), not both',
    );
  if (shard !== undefined) return parseShard(shard);
  if (shardCount === undefined) return undefined;
  const raw = env['JOB_COMPLETION_INDEX'];
  if (raw === undefined || !/^\d+$/.test(raw))
    throw new TokenstormError(
      'E_USAGE',
      `--shard-count needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)${raw === undefined ? '' : `, got "${raw}"`}; or use --shard i/N`,
    );
  return checked(Number(raw), shardCount, `JOB_COMPLETION_INDEX=${raw} with --shard-count ${shardCount}`);
}

/**
 * Parses --start-at: epoch milliseconds ('' means unset, as an unset variable expands in a
 * Kubernetes manifest).
 */
export function parseStartAt(text: string | number | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const v = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(v) || v < 1e12 || !Number.isInteger(v))
    throw new TokenstormError(
      'E_USAGE',
      `--start-at "${text}" is not a time in epoch milliseconds (e.g. $(( $(date +%s%3N) + 30000 )) for 30 s from now)`,
    );
  return v;
}

/**
 * Worker thread `worker` of this shard as a share of the whole run: shard i of N with W workers
 * each is share i·W + w of N·W. Arrivals, prompts and faults are seeded per share, so every
 * thread of every shard draws independently, and a fixed-size run splits evenly.
 */
export function globalShare(shard: Shard | undefined, worker: Share): Share {
  const s = shard ?? { index: 0, count: 1 };
  return { index: s.index * worker.count + worker.index, count: s.count * worker.count };
}

/** JSON with object keys sorted: the same value always gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A stable hash of the validated scenario (after --seed and --url overrides, which change what
 * runs; --shard, --start-at and --out are not part of it): sha256, the first 16 hex digits.
 */
export function scenarioHash(scenario: Scenario): string {
  return createHash('sha256').update(canonical(scenario)).digest('hex').slice(0, 16);
}
