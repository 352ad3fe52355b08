// `tokenstorm merge SHARD.json … --out RUN.json`: merge the shards of a distributed run into one
// result (histograms added exactly, counts and series summed), evaluate the scenario's thresholds
// on the whole run, print the summary; exit 0, 99 (a threshold failed), or 2 (wrong set of shards).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import { runHtml } from '../report/html.js';
import { runJunit } from '../report/junit.js';
import { runMarkdown } from '../report/markdown.js';
import { formatSummary } from '../report/summary.js';
import { mergeShards } from '../shard/merge.js';
import {
  COLOR_OPTION,
  colorFor,
  REPORT_OPTIONS,
  type ReportArgs,
  readRunResult,
  writeFile,
  writeReports,
} from './reports.js';

interface MergeArgs extends ReportArgs {
  shards: string[];
  out?: string;
  color?: boolean;
}

export async function mergeHandler(args: Omit<MergeArgs, '_' | '$0'>): Promise<void> {
  const shards = args.shards.map((file) => ({ file, result: readRunResult(file) }));
  const merged = mergeShards(shards);
  process.stdout.write(formatSummary(merged, { color: colorFor(args.color) }));
  const count = merged.merged_from?.length ?? 0;
  process.stdout.write(
    `merged ${count} shard${count === 1 ? '' : 's'} of ${merged.scenario.name} (scenario ${merged.scenario.hash ?? '?'})\n`,
  );
  for (const w of merged.runner.warnings.filter((x) => x.startsWith('shard ')))
    process.stderr.write(`warning: ${w}\n`);
  if (args.out !== undefined) {
    writeFile(args.out, `${JSON.stringify(merged, null, 2)}\n`);
    process.stdout.write(`result written to ${args.out}\n`);
  }
  const reports = {
    junit: () => runJunit(merged),
    markdown: () => runMarkdown(merged),
    html: () => runHtml(merged),
  };
  for (const line of writeReports(args, reports)) process.stdout.write(`${line}\n`);
  if (!merged.thresholds_ok) process.exitCode = EXIT.thresholds;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <shards..>',
  describe:
    "Merge the shards of a distributed run exactly and judge the scenario's thresholds on the whole run",
  builder: (y) =>
    (y as Argv)
      .positional('shards', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Shard results (tokenstorm run --shard i/N --out FILE), one per shard 0…N−1',
      })
      .options({
        out: { type: 'string', describe: 'Write the merged result (JSON, docs/results.md) to this file' },
        ...COLOR_OPTION,
        ...REPORT_OPTIONS,
      })
      .usage(
        '$0 merge <shards..> [--out RUN.json]\n\nMerges shard results of one scenario (docs/distributed.md). Exit codes: 0 ok, 2 shards of different scenarios or not one complete set, 99 a threshold failed on the whole run.',
      ) as unknown as Argv<MergeArgs>,
  handler: (args: ArgumentsCamelCase<MergeArgs>) => mergeHandler(args),
};
