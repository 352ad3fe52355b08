// The tokenstorm CLI: thin yargs commands that parse, validate and call into the modules.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, formatError, isTokenstormError, TokenstormError } from '../errors.js';
import { compareCommand } from './compare.js';
import { mergeCommand } from './merge.js';
import { mockCommand } from './mock.js';
import { reportCommand } from './report.js';
import { demoCommand, runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { sweepCommand } from './sweep.js';
import { validateCommand } from './validate.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('tokenstorm')
  .usage('$0 <command> [options]\n\nLoad, chaos and observability harness for streaming LLM APIs over SSE.')
  .command(runCommand)
  .command(demoCommand)
  .command(mockCommand)
  .command(serveCommand)
  .command(validateCommand)
  .command(sweepCommand)
  .command(compareCommand)
  .command(mergeCommand)
  .command(reportCommand)
  .demandCommand(1, 'Name a command: tokenstorm <command> --help shows its options.')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stdout.columns || 110))
  .fail((msg, err) => {
    // yargs validation failures (unknown option, missing value) are usage errors: exit 2.
    if (err) throw err;
    throw new TokenstormError('E_USAGE', msg);
  });

try {
  await cli.parseAsync();
} catch (err) {
  process.stderr.write(`${formatError(err)}\n`);
  process.exitCode = isTokenstormError(err) ? err.exitCode : EXIT.runtime;
}
