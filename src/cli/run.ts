// `tokenstorm run SCENARIO` and `tokenstorm demo`: load a scenario, run it with live progress,
// print the summary, write the result file, exit 0 / 99 (a threshold failed) / 1 (interrupted).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT, TokenstormError } from '../errors.js';
import { runHtml } from '../report/html.js';
import { runJunit } from '../report/junit.js';
import { runMarkdown } from '../report/markdown.js';
import { formatProgress } from '../report/progress.js';
import { formatSummary } from '../report/summary.js';
import { runScenario } from '../runner/run.js';
import { startRunnerTelemetry } from '../runner/telemetry.js';
import { loadScenario } from '../scenario/load.js';
import { parseStartAt, shardFromArgs } from '../shard/spec.js';
import { COLOR_OPTION, colorFor, REPORT_OPTIONS, type ReportArgs, writeReports } from './reports.js';

export interface RunArgs extends ReportArgs {
  scenario: string;
  out?: string;
  seed?: number;
  url?: string;
  speed?: number;
  workers: number;
  quiet: boolean;
  'metrics-port'?: number;
  'metrics-host'?: string;
  color?: boolean;
  shard?: string;
  'shard-count'?: number;
  'start-at'?: string;
}

const SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));
/** How often a non-TTY progress line is written (a TTY line is rewritten every second). */
const PLAIN_PROGRESS_EVERY_S = 5;

function options<T>(y: Argv<T>) {
  return y.options({
    out: { type: 'string', describe: 'Write the result (JSON, docs/results.md) to this file' },
    seed: {
      type: 'number',
      describe: "Seed for arrivals, prompts and injected faults (overrides the scenario's)",
    },
    url: { type: 'string', describe: "Target URL (overrides the scenario's target; turns embedded off)" },
    speed: {
      type: 'number',
      describe: 'Trace replay: time scale (2 = twice as fast); overrides load.speed of a trace load',
    },
    workers: {
      type: 'number',
      default: 1,
      describe: 'Worker threads generating load; histograms are merged exactly',
    },
    quiet: { type: 'boolean', default: false, describe: 'No progress, only the summary' },
    'metrics-port': {
      type: 'number',
      describe: 'Serve the runner metrics (OpenTelemetry, Prometheus format) on this port during the run',
    },
    'metrics-host': {
      type: 'string',
      default: '127.0.0.1',
      describe: 'Address the --metrics-port listener binds (0.0.0.0 in a container)',
    },
    ...COLOR_OPTION,
    shard: {
      type: 'string',
      describe:
        'Run shard i of N of the load (0 ≤ i < N): N processes, e.g. on N machines, each run their part; merge their results with tokenstorm merge',
    },
    'shard-count': {
      type: 'number',
      describe: 'Shard count N, the index taken from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)',
    },
    'start-at': {
      type: 'string',
      describe:
        'Common start of all shards, in epoch ms: the load waits for it; a late shard counts the arrivals it missed as dropped',
    },
    ...REPORT_OPTIONS,
  });
}

export async function runCommandHandler(file: string, args: Omit<RunArgs, 'scenario'>): Promise<void> {
  if (!Number.isInteger(args.workers) || args.workers < 1 || args.workers > 64)
    throw new TokenstormError('E_USAGE', `--workers must be an integer from 1 to 64 (got ${args.workers})`);
  const shard = shardFromArgs(args.shard, args['shard-count']);
  const startAtEpochMs = parseStartAt(args['start-at']);
  const scenario = loadScenario(file, { seed: args.seed, url: args.url, speed: args.speed });
  const err = process.stderr;
  const tty = err.isTTY === true && !args.quiet;
  const color = colorFor(args.color);
  const telemetry =
    args['metrics-port'] !== undefined
      ? await startRunnerTelemetry(args['metrics-port'], scenario, args['metrics-host'])
      : undefined;
  if (telemetry !== undefined) err.write(`runner metrics on ${telemetry.url}\n`);

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      err.write(`\n${sig}: stopping (streams in flight are interrupted; press again to exit at once)\n`);
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lastPlain = 0;
  try {
    const result = await runScenario({
      scenario,
      file,
      workers: args.workers,
      shard,
      startAtEpochMs,
      signal: controller.signal,
      telemetry,
      onTarget: (url) => {
        if (!args.quiet)
          err.write(
            `tokenstorm run: ${scenario.name} → ${url} (${scenario.target.protocol})${shard ? `, shard ${shard.index}/${shard.count}` : ''}\n`,
          );
      },
      onProgress: (p) => {
        if (args.quiet) return;
        if (tty) err.write(`\r${formatProgress(p, true)}`);
        else if (p.elapsedS - lastPlain >= PLAIN_PROGRESS_EVERY_S) {
          lastPlain = p.elapsedS;
          err.write(`${formatProgress(p, false)}\n`);
        }
      },
    });
    if (tty) err.write('\r\x1b[K');
    process.stdout.write(formatSummary(result, { color }));
    if (args.out !== undefined) {
      const path = resolve(args.out);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`result written to ${args.out}\n`);
    }
    const reports = {
      junit: () => runJunit(result),
      markdown: () => runMarkdown(result),
      html: () => runHtml(result),
    };
    for (const line of writeReports(args, reports)) process.stdout.write(`${line}\n`);
    if (controller.signal.aborted) process.exitCode = EXIT.runtime;
    else if (!result.thresholds_ok || result.aborted) process.exitCode = EXIT.thresholds;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await telemetry?.close();
  }
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <scenario>',
  describe: 'Run a scenario file: live progress, a summary, a result file; exit 99 when a threshold fails',
  builder: (y) =>
    options(y)
      .positional('scenario', {
        type: 'string',
        demandOption: true,
        describe: 'Scenario YAML file (docs/scenarios.md)',
      })
      .usage(
        '$0 run <scenario> [options]\n\nRuns the scenario. Exit codes: 0 ok, 1 runtime failure or interrupted, 2 invalid scenario or usage, 99 a threshold failed.',
      ) as Argv<RunArgs>,
  handler: (args: ArgumentsCamelCase<RunArgs>) => runCommandHandler(args.scenario, args),
};

export const demoCommand: CommandModule<object, Omit<RunArgs, 'scenario'>> = {
  command: 'demo',
  describe: 'Start the mock and the reference server in-process and run scenarios/demo.yaml (about 30 s)',
  builder: (y) =>
    options(y).usage(
      '$0 demo [options]\n\nNo Docker, no API key: runs scenarios/demo.yaml against an in-process mock upstream and reference server, shows progress, prints the summary and writes results/demo.json.',
    ) as Argv<Omit<RunArgs, 'scenario'>>,
  handler: (args) =>
    runCommandHandler(resolve(SCENARIOS_DIR, 'demo.yaml'), { ...args, out: args.out ?? 'results/demo.json' }),
};
