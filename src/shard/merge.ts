// `tokenstorm merge`: the shards of one distributed run → one result, as if one runner had
// recorded every stream. Histograms are added exactly (mergeResults), and the scenario's
// thresholds are evaluated on the whole run: a threshold that every shard passes alone may fail
// the run (and the other way round). Shards of different scenarios, or an incomplete or
// duplicated set, are refused: a merge of the wrong files would look like a valid result.
import { TokenstormError } from '../errors.js';
import { mergeResults } from '../stats/merge.js';
import type { RunResult, ThresholdResult } from '../stats/result.js';
import { evaluateThresholds, type ThresholdsConfig, thresholdSourceFromResult } from '../stats/thresholds.js';

export interface ShardFile {
  file: string;
  result: RunResult;
}

/** Checks that `shards` are exactly shards 0…N−1 of one scenario; throws naming what is wrong. */
export function checkShardSet(shards: readonly ShardFile[]): void {
  const unsharded = shards.filter((s) => s.result.shard == null);
  if (unsharded.length > 0)
    throw new TokenstormError(
      'E_SHARDS_INCOMPLETE',
      `not shard results (run without --shard): ${unsharded.map((s) => s.file).join(', ')}`,
    );
  const byHash = new Map<string, string[]>();
  for (const s of shards) {
    const h = s.result.scenario.hash ?? '(none)';
    byHash.set(h, [...(byHash.get(h) ?? []), s.file]);
  }
  if (byHash.size > 1)
    throw new TokenstormError(
      'E_SHARDS_MISMATCH',
      `the shards ran different scenarios (scenario hashes differ):`,
      {
        problems: [...byHash].map(
          ([h, files]) =>
            `hash ${h}: ${files.join(', ')} (${shards.find((s) => files.includes(s.file))!.result.scenario.name})`,
        ),
      },
    );
  const counts = new Set(shards.map((s) => s.result.shard!.count));
  if (counts.size > 1)
    throw new TokenstormError(
      'E_SHARDS_MISMATCH',
      `the shards disagree on the shard count: ${shards.map((s) => `${s.file} is ${s.result.shard!.index}/${s.result.shard!.count}`).join(', ')}`,
    );
  const count = [...counts][0]!;
  const seen = new Map<number, string[]>();
  for (const s of shards)
    seen.set(s.result.shard!.index, [...(seen.get(s.result.shard!.index) ?? []), s.file]);
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    const files = seen.get(i);
    if (files === undefined) problems.push(`shard ${i}/${count} is missing`);
    else if (files.length > 1)
      problems.push(`shard ${i}/${count} is given ${files.length} times: ${files.join(', ')}`);
  }
  if (problems.length > 0)
    throw new TokenstormError('E_SHARDS_INCOMPLETE', `the shards are not one complete set of ${count}:`, {
      problems,
    });
}

/** The thresholds a shard was judged by, as a thresholds section (built-in checks included). */
function thresholdsOf(result: RunResult): ThresholdsConfig {
  const config: Record<string, { threshold: string; abortOnFail: boolean }[]> = {};
  for (const t of result.thresholds)
    (config[t.metric] ??= []).push({ threshold: t.expression, abortOnFail: t.abort_on_fail });
  return config;
}

/**
 * Merges a complete set of shards and evaluates the scenario's thresholds on the whole run.
 * Client-bound shards are named in runner.warnings (their latencies are partly the runner's).
 */
export function mergeShards(shards: readonly ShardFile[]): RunResult {
  checkShardSet(shards);
  const ordered = [...shards].sort((a, b) => a.result.shard!.index - b.result.shard!.index);
  const merged = mergeResults(ordered.map((s) => s.result));
  merged.scenario = { ...ordered[0]!.result.scenario };
  merged.shard = null;
  merged.merged_from = ordered.map((s) => ({
    index: s.result.shard!.index,
    count: s.result.shard!.count,
    file: s.file,
    client_bound: s.result.runner.client_bound,
  }));
  for (const s of ordered)
    if (s.result.runner.client_bound)
      merged.runner.warnings.push(
        `shard ${s.result.shard!.index}/${s.result.shard!.count} (${s.file}) was client-bound: its latencies include the runner's own delay; give it more workers or more shards`,
      );
  const thresholds: ThresholdResult[] = evaluateThresholds(
    thresholdSourceFromResult(merged),
    thresholdsOf(ordered[0]!.result),
  );
  merged.thresholds = thresholds;
  merged.thresholds_ok = thresholds.every((t) => t.ok);
  return merged;
}
