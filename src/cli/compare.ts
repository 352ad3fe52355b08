// `tokenstorm compare BASELINE.json CURRENT.json`: every metric side by side and noise-aware
// regression checks (src/compare/); exit 99 on a regression, 2 on unreadable input.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { type CheckSpec, parseCheck, resolveChecks } from '../compare/checks.js';
import { compareResults } from '../compare/compare.js';
import { EXIT, TokenstormError } from '../errors.js';
import { formatCompareSummary } from '../report/compare-summary.js';
import { compareHtml } from '../report/html.js';
import { compareJunit } from '../report/junit.js';
import { compareMarkdown } from '../report/markdown.js';
import { VERSION } from '../runner/result.js';
import {
  COLOR_OPTION,
  colorFor,
  REPORT_OPTIONS,
  type ReportArgs,
  readRunResult,
  writeFile,
  writeReports,
} from './reports.js';

interface CompareArgs extends ReportArgs {
  baseline: string;
  current: string;
  'max-regression': string[];
  defaults: boolean;
  seed: number;
  out?: string;
  color?: boolean;
}

export async function compareHandler(args: Omit<CompareArgs, '_' | '$0'>): Promise<void> {
  const problems: string[] = [];
  const given: CheckSpec[] = [];
  for (const spec of args['max-regression']) {
    const c = parseCheck(spec);
    if (typeof c === 'string') problems.push(`--max-regression ${c}`);
    else given.push(c);
  }
  const checks = resolveChecks(given, args.defaults);
  if (checks.length === 0) problems.push('no checks: give --max-regression, or drop --no-defaults');
  if (problems.length > 0)
    throw new TokenstormError(
      'E_USAGE',
      `${problems.length} invalid argument${problems.length > 1 ? 's' : ''}:`,
      {
        problems,
      },
    );
  const baseline = readRunResult(args.baseline);
  const current = readRunResult(args.current);
  const c = compareResults(baseline, current, checks, {
    baselineFile: args.baseline,
    currentFile: args.current,
    version: VERSION,
    seed: args.seed,
  });
  process.stdout.write(formatCompareSummary(c, { color: colorFor(args.color) }));
  if (args.out !== undefined) {
    writeFile(args.out, `${JSON.stringify(c, null, 2)}\n`);
    process.stdout.write(`comparison written to ${args.out}\n`);
  }
  const lines = writeReports(args, {
    junit: () => compareJunit(c),
    markdown: () => compareMarkdown(c),
    html: () => compareHtml(c, baseline, current),
  });
  for (const l of lines) process.stdout.write(`${l}\n`);
  if (c.regressed) process.exitCode = EXIT.thresholds;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <baseline> <current>',
  describe:
    'Compare two run results: every metric side by side, noise-aware regression checks; exit 99 on a regression',
  builder: (y) =>
    (y as Argv)
      .positional('baseline', {
        type: 'string',
        demandOption: true,
        describe: 'The baseline result (run --out)',
      })
      .positional('current', { type: 'string', demandOption: true, describe: 'The result to check' })
      .options({
        'max-regression': {
          type: 'string',
          array: true,
          default: [] as string[],
          describe:
            "A check and its tolerance, e.g. 'ttft_ms.p95=10%', 'itl_ms.p99=10%,3ms', 'completion_rate=1%'; replaces the default on the same statistic",
        },
        defaults: {
          type: 'boolean',
          default: true,
          describe: 'Run the default checks (docs/capacity.md); --no-defaults runs only those given',
        },
        seed: { type: 'number', default: 1, describe: 'Seed of the bootstrap resampling' },
        out: { type: 'string', describe: 'Write the comparison (JSON) to this file' },
        ...COLOR_OPTION,
        ...REPORT_OPTIONS,
      })
      .usage(
        '$0 compare <baseline> <current> [options]\n\nA check regresses only when the whole 95 % bootstrap interval of the change is worse than its tolerance, max(relative, absolute). Exit codes: 0 no regression, 2 unreadable input or bad option, 99 a regression.',
      ) as unknown as Argv<CompareArgs>,
  handler: (args: ArgumentsCamelCase<CompareArgs>) => compareHandler(args),
};
