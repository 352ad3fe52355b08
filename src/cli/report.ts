// `tokenstorm report RESULT.json --html FILE`: reports from a result file written earlier by
// run, sweep or compare (HTML, JUnit, Markdown), without running anything.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { TokenstormError } from '../errors.js';
import { compareHtml, runHtml, sweepHtml } from '../report/html.js';
import { compareJunit, runJunit, sweepJunit } from '../report/junit.js';
import { compareMarkdown, runMarkdown, sweepMarkdown } from '../report/markdown.js';
import { type AnyResult, REPORT_OPTIONS, type ReportArgs, readAnyResult, writeReports } from './reports.js';

interface ReportCmdArgs extends ReportArgs {
  result: string;
}

function renderers(r: AnyResult) {
  switch (r.kind) {
    case 'run':
      return {
        junit: () => runJunit(r.result),
        markdown: () => runMarkdown(r.result),
        html: () => runHtml(r.result),
      };
    case 'sweep':
      return {
        junit: () => sweepJunit(r.result),
        markdown: () => sweepMarkdown(r.result),
        html: () => sweepHtml(r.result),
      };
    default:
      return {
        junit: () => compareJunit(r.result),
        markdown: () => compareMarkdown(r.result),
        html: () => compareHtml(r.result),
      };
  }
}

export async function reportHandler(args: Omit<ReportCmdArgs, '_' | '$0'>): Promise<void> {
  if (args.html === undefined && args.junit === undefined && args['summary-md'] === undefined)
    throw new TokenstormError(
      'E_USAGE',
      'name at least one report: --html FILE, --junit FILE or --summary-md FILE',
    );
  const r = readAnyResult(args.result);
  for (const l of writeReports(args, renderers(r))) process.stdout.write(`${l}\n`);
}

export const reportCommand: CommandModule<object, ReportCmdArgs> = {
  command: 'report <result>',
  describe: 'Write HTML, JUnit or Markdown reports from a run, sweep or compare JSON file',
  builder: (y) =>
    (y as Argv)
      .positional('result', {
        type: 'string',
        demandOption: true,
        describe: 'A run, sweep or compare JSON file',
      })
      .options(REPORT_OPTIONS)
      .usage(
        '$0 report <result> --html report.html [--junit FILE] [--summary-md FILE]',
      ) as unknown as Argv<ReportCmdArgs>,
  handler: (args: ArgumentsCamelCase<ReportCmdArgs>) => reportHandler(args),
};
