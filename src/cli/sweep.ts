// `tokenstorm sweep SCENARIO --slo 'ttft_ms p(95)<500'`: capacity planning. Steps the scenario's
// load geometrically, bisects to the highest load that meets every SLO, stops early when the
// service saturates (src/sweep/). Exit 0 when a load met the SLOs (and --min-load, if given),
// 99 when none did, 2 on bad usage, 1 when interrupted.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT, TokenstormError } from '../errors.js';
import { fmtFixed, fmtMs } from '../report/format.js';
import { sweepHtml } from '../report/html.js';
import { sweepJunit } from '../report/junit.js';
import { sweepMarkdown } from '../report/markdown.js';
import { formatSweepSummary } from '../report/sweep-summary.js';
import { VERSION } from '../runner/result.js';
import { runScenario } from '../runner/run.js';
import { loadScenario } from '../scenario/load.js';
import { parseDurationMs } from '../scenario/schema.js';
import type { ParsedThreshold } from '../stats/thresholds.js';
import { parseSlo } from '../sweep/slo.js';
import { runSweep } from '../sweep/sweep.js';
import {
  COLOR_OPTION,
  colorFor,
  REPORT_OPTIONS,
  type ReportArgs,
  writeFile,
  writeReports,
} from './reports.js';

interface SweepArgs extends ReportArgs {
  scenario: string;
  slo: string[];
  start?: number;
  factor: number;
  max?: number;
  precision: number;
  beyond: number;
  'step-duration'?: string;
  repeats: number;
  noise: number;
  'min-load'?: number;
  workers: number;
  seed?: number;
  url?: string;
  out?: string;
  quiet: boolean;
  color?: boolean;
}

export async function sweepHandler(args: Omit<SweepArgs, '_' | '$0'>): Promise<void> {
  const problems: string[] = [];
  const slos: ParsedThreshold[] = [];
  for (const text of args.slo) {
    const s = parseSlo(text);
    if (typeof s === 'string') problems.push(s);
    else slos.push(s);
  }
  const num = (name: string, v: number | undefined, ok: (x: number) => boolean, what: string) => {
    if (v !== undefined && !(Number.isFinite(v) && ok(v)))
      problems.push(`--${name} must be ${what} (got ${v})`);
  };
  num('factor', args.factor, (x) => x > 1, 'above 1, e.g. 2');
  num('precision', args.precision, (x) => x > 0 && x < 1, 'a fraction between 0 and 1, e.g. 0.05');
  num('beyond', args.beyond, (x) => Number.isInteger(x) && x >= 0 && x <= 10, 'an integer from 0 to 10');
  num('repeats', args.repeats, (x) => Number.isInteger(x) && x >= 0 && x <= 10, 'an integer from 0 to 10');
  num('noise', args.noise, (x) => x >= 0 && x < 1, 'a fraction from 0 to 1, e.g. 0.1');
  num('start', args.start, (x) => x > 0, 'above 0');
  num('max', args.max, (x) => x > 0, 'above 0');
  num('min-load', args['min-load'], (x) => x > 0, 'above 0');
  num('workers', args.workers, (x) => Number.isInteger(x) && x >= 1 && x <= 64, 'an integer from 1 to 64');
  let stepDurationMs: number | undefined;
  if (args['step-duration'] !== undefined) {
    const raw = args['step-duration'];
    stepDurationMs = parseDurationMs(/^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
    if (stepDurationMs === undefined || stepDurationMs <= 0)
      problems.push(
        `--step-duration "${raw}" is not a duration; write e.g. "10s", "1m" or a number of seconds`,
      );
  }
  const scenario = loadScenario(args.scenario, { seed: args.seed, url: args.url });
  if (slos.length === 0 && Object.keys(scenario.thresholds).length === 0)
    problems.push("give at least one --slo, e.g. --slo 'ttft_ms p(95)<500', or thresholds in the scenario");
  if (problems.length > 0)
    throw new TokenstormError(
      'E_USAGE',
      `${problems.length} invalid argument${problems.length > 1 ? 's' : ''}:`,
      {
        problems,
      },
    );
  // Without --slo the scenario's thresholds are the SLOs.
  if (slos.length === 0)
    for (const [metric, items] of Object.entries(scenario.thresholds))
      for (const item of items) {
        const s = parseSlo(`${metric} ${typeof item === 'string' ? item : item.threshold}`);
        if (typeof s !== 'string') slos.push(s);
      }
  const l = scenario.load;
  const start = args.start ?? (l.type === 'closed' ? (l.concurrency ?? 1) : l.type === 'open' ? l.rate : 1);
  const max = args.max ?? (l.type === 'closed' ? 10_000 : start * 1024);
  const err = process.stderr;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      err.write(`\n${sig}: stopping the sweep after the current step is interrupted\n`);
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runSweep({
      scenario,
      file: args.scenario,
      slos,
      plan: { start, factor: args.factor, max, precision: args.precision, beyond: args.beyond },
      stepDurationMs,
      repeats: args.repeats,
      noise: args.noise,
      minLoad: args['min-load'] ?? null,
      version: VERSION,
      signal: controller.signal,
      runStep: (s) =>
        runScenario({ scenario: s, file: args.scenario, workers: args.workers, signal: controller.signal }),
      onStep: (st, i) => {
        if (args.quiet) return;
        const failed = st.slos.filter((x) => !x.ok).map((x) => x.slo);
        const verdict =
          st.verdict === 'pass'
            ? 'pass'
            : st.verdict === 'fail'
              ? `fail (${failed.join(', ')})`
              : 'client-bound';
        err.write(
          `step ${i + 1}: ${l.type === 'closed' ? 'concurrency' : 'rate'} ${st.load}${st.runs > 1 ? ` (×${st.runs})` : ''} → ${fmtFixed(st.streams_per_s, 1)} streams/s, TTFT p95 ${fmtMs(st.ttft_ms.p95)} ms: ${verdict}\n`,
        );
      },
    });
    process.stdout.write(formatSweepSummary(result, { color: colorFor(args.color) }));
    if (args.out !== undefined) {
      writeFile(args.out, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`sweep written to ${args.out}\n`);
    }
    const lines = writeReports(args, {
      junit: () => sweepJunit(result),
      markdown: () => sweepMarkdown(result),
      html: () => sweepHtml(result),
    });
    for (const line of lines) process.stdout.write(`${line}\n`);
    if (!result.ok) process.exitCode = EXIT.thresholds;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep <scenario>',
  describe: 'Capacity: step the load up, bisect to the highest load that meets every SLO, find the knee',
  builder: (y) =>
    (y as Argv)
      .positional('scenario', { type: 'string', demandOption: true, describe: 'Scenario YAML file' })
      .options({
        slo: {
          type: 'string',
          array: true,
          default: [] as string[],
          describe:
            "An SLO every passing step meets, e.g. 'ttft_ms p(95)<500', 'completion_rate>0.99' [default: the scenario's thresholds]",
        },
        start: {
          type: 'number',
          describe: "First load: concurrency (closed) or rate (open) [default: the scenario's]",
        },
        factor: { type: 'number', default: 2, describe: 'Load multiplier per step while every SLO holds' },
        max: {
          type: 'number',
          describe: 'Highest load to try [default: 10000 concurrency, or 1024 × the start rate]',
        },
        precision: {
          type: 'number',
          default: 0.05,
          describe: 'Bisect until the bracket is this fraction of the load (or 1 stream)',
        },
        beyond: {
          type: 'number',
          default: 2,
          describe:
            'Steps past the first load that breaks an SLO, until the throughput plateau shows (to locate the knee)',
        },
        'step-duration': {
          type: 'string',
          describe: "Length of each step, e.g. 20s [default: the scenario's load.duration]",
        },
        repeats: {
          type: 'number',
          default: 1,
          describe: 'Extra runs of a step whose SLO value is within --noise of its limit',
        },
        noise: {
          type: 'number',
          default: 0.1,
          describe: 'Relative band around an SLO limit inside which a step is repeated',
        },
        'min-load': {
          type: 'number',
          describe: 'Exit 99 unless the capacity found is at least this (for CI)',
        },
        workers: { type: 'number', default: 1, describe: 'Worker threads generating load in each step' },
        seed: { type: 'number', describe: "Seed (overrides the scenario's)" },
        url: { type: 'string', describe: "Target URL (overrides the scenario's target)" },
        out: { type: 'string', describe: 'Write the sweep (JSON) to this file' },
        quiet: { type: 'boolean', default: false, describe: 'No per-step lines on stderr' },
        ...COLOR_OPTION,
        ...REPORT_OPTIONS,
      })
      .usage(
        "$0 sweep <scenario> --slo 'ttft_ms p(95)<500' [--slo 'completion_rate>0.99'] [options]\n\nSteps concurrency (closed load) or rate (open load). Exit codes: 0 capacity found, 1 interrupted, 2 invalid usage or scenario, 99 no load met the SLOs (or below --min-load).",
      ) as unknown as Argv<SweepArgs>,
  handler: (args: ArgumentsCamelCase<SweepArgs>) => sweepHandler(args),
};
