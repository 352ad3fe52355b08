// `tokenstorm validate FILE...`: checks scenario files without running them, every problem of
// every file at once; `--print-schema` prints the JSON Schema editors use.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT, type ExitCode, formatError, isTokenstormError, TokenstormError } from '../errors.js';
import { loadScenario } from '../scenario/load.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { describeFaults, describeLoad, describeTarget } from '../scenario/summary.js';

interface ValidateArgs {
  files?: string[];
  'print-schema': boolean;
}

function builder(y: Argv): Argv<ValidateArgs> {
  return y
    .usage(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${ENV} syntax, literally
      '$0 validate FILE... [options]\n\nValidates scenario files: lists every problem of each file with its path, exit 2 if any file is invalid.\nUnset ${ENV} variables in target.headers are warnings here (tokenstorm run refuses them).',
    )
    .positional('files', { type: 'string', array: true, describe: 'Scenario YAML files' })
    .options({
      'print-schema': {
        type: 'boolean',
        default: false,
        describe: 'Print the scenario JSON Schema (for editors) and exit',
      },
    })
    .example('$0 validate scenarios/*.yaml', 'Check every scenario')
    .example(
      '$0 validate --print-schema',
      'Print the JSON Schema (npm run schema writes schemas/scenario.schema.json)',
    ) as unknown as Argv<ValidateArgs>;
}

/** Validates each file; returns the exit code (0, or that of the worst failure). */
export function validateFiles(
  files: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): ExitCode {
  let exit: ExitCode = EXIT.ok;
  let invalid = 0;
  for (const file of files) {
    const warnings: string[] = [];
    try {
      const s = loadScenario(file, {}, env, { missingEnv: 'warn', warnings });
      const nThresholds = Object.values(s.thresholds).reduce((n, items) => n + items.length, 0);
      out(
        `✓ ${file}: valid (${s.name}, ${describeLoad(s.load)}; ${describeTarget(s.target)}${describeFaults(s.faults)}; ${nThresholds} threshold${nThresholds === 1 ? '' : 's'})\n`,
      );
      for (const w of warnings) err(`  warning: ${file}: ${w} (tokenstorm run needs it)\n`);
    } catch (e) {
      if (!isTokenstormError(e)) throw e;
      invalid++;
      err(`${formatError(e)}\n`);
      if (e.exitCode > exit) exit = e.exitCode;
    }
  }
  if (files.length > 1 && invalid > 0) err(`${invalid} of ${files.length} scenario files are invalid\n`);
  return exit;
}

function handler(args: ArgumentsCamelCase<ValidateArgs>): void {
  const files = args.files ?? [];
  if (args['print-schema']) {
    if (files.length > 0)
      throw new TokenstormError('E_USAGE', '--print-schema prints the schema only: run it without files');
    process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    return;
  }
  if (files.length === 0)
    throw new TokenstormError(
      'E_USAGE',
      'name at least one scenario file, e.g. tokenstorm validate scenarios/demo.yaml',
    );
  const code = validateFiles(
    files,
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
  if (code !== EXIT.ok) process.exitCode = code;
}

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate [files..]',
  describe: 'Check scenario files (every problem, with its path) or print their JSON Schema',
  builder,
  handler,
};
