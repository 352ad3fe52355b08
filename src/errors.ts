// Every error a user can hit has a stable code, a one-line meaning and a fix.
// docs/errors.md lists the same codes; test/errors.test.ts keeps the two in sync.
// (The pattern follows fastify's lib/errors.js + docs/Reference/Errors.md.)

export const EXIT = {
  ok: 0,
  runtime: 1,
  usage: 2,
  thresholds: 99,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface ErrorDef {
  /** What went wrong, in one line (the docs' "meaning" column). */
  readonly meaning: string;
  /** What the user should do about it. */
  readonly fix: string;
  /** Process exit code when this error ends a CLI command. */
  readonly exit: ExitCode;
}

export const ERRORS = {
  E_USAGE: {
    meaning: 'A command-line argument is missing, unknown or has an invalid value.',
    fix: 'Run the command with --help to see its arguments and their allowed values.',
    exit: EXIT.usage,
  },
  E_CONFIG_FILE: {
    meaning: 'A configuration file (fault profile, scenario) could not be read or parsed.',
    fix: 'Check that the path exists and that the file is valid YAML or JSON; the message names the line.',
    exit: EXIT.usage,
  },
  E_CONFIG_INVALID: {
    meaning: 'A configuration file parsed but one or more fields are invalid.',
    fix: 'Fix every field listed (each with its path in the file and the expected value), then run again.',
    exit: EXIT.usage,
  },
  E_LISTEN: {
    meaning: 'A server could not listen on the requested host and port.',
    fix: 'Pick a free port (or 0 for any free port), or stop whatever already listens there.',
    exit: EXIT.runtime,
  },
  E_SSE_EVENT_TOO_LARGE: {
    meaning: 'An SSE event grew beyond the decoder maximum event size before it was dispatched.',
    fix: 'The stream is malformed or the server sends huge events; raise the maximum event size if that is intended.',
    exit: EXIT.runtime,
  },
  E_SSE_TRUNCATED: {
    meaning: 'The byte stream ended in the middle of an SSE event (no blank line after it).',
    fix: 'The server or network cut the stream; the event was not dispatched, as the SSE specification requires.',
    exit: EXIT.runtime,
  },
  E_PROTOCOL_MALFORMED: {
    meaning: 'An SSE event did not carry the JSON the protocol requires.',
    fix: 'Check that the target speaks the protocol named in the scenario (reference, anthropic or openai).',
    exit: EXIT.runtime,
  },
  E_PROTOCOL_ORDER: {
    meaning:
      'Stream events arrived in an order the protocol does not allow (for example a delta before message_start).',
    fix: 'The server breaks the protocol; the stream is counted as protocol_error. Check the server, or the protocol setting.',
    exit: EXIT.runtime,
  },
  E_PROTOCOL_INTEGRITY: {
    meaning:
      "A reference-protocol stream lost or duplicated text: its event ids were not contiguous, or the text did not match the done event's output_chars and sha256.",
    fix: 'The server (or a proxy in between) dropped or repeated events, typically on resume. The stream is counted as protocol_error and in integrity failures; check the replay buffer and the resume path.',
    exit: EXIT.runtime,
  },
  E_RESULT_INVALID: {
    meaning: 'A result file (run, sweep or compare JSON) could not be read or is not a tokenstorm result.',
    fix: 'Pass a file written by tokenstorm run --out (or sweep/compare --out) of this format version; re-run to regenerate it.',
    exit: EXIT.usage,
  },
  E_SWEEP_INVALID: {
    meaning:
      'The scenario cannot be swept as written (for example a closed load with stages, or no step length).',
    fix: 'Change each field listed as it says (use concurrency or rate instead of stages; give load.duration or --step-duration).',
    exit: EXIT.usage,
  },
  E_SHARDS_MISMATCH: {
    meaning:
      'tokenstorm merge was given shard results of different scenarios, or shards that disagree on the shard count.',
    fix: 'Merge only the shards of one run: every shard must run the same scenario file with the same --seed and --url and the same shard count (the message lists the files by scenario hash).',
    exit: EXIT.usage,
  },
  E_SHARDS_INCOMPLETE: {
    meaning:
      'tokenstorm merge was not given exactly one result for each shard 0…N−1 (a shard is missing or given twice), or a file is not a shard result.',
    fix: 'Pass every shard result once (the message names the missing or repeated indices); re-run a failed shard with the same --shard i/N, or run without --shard for a single-machine result.',
    exit: EXIT.usage,
  },
  E_STORE_UNAVAILABLE: {
    meaning: 'tokenstorm serve could not reach the Redis server given with --redis-url when it started.',
    fix: 'Check that Redis runs and the URL (redis://host:port/db) is right; without --redis-url the server keeps streams in memory (a single replica).',
    exit: EXIT.runtime,
  },
  E_INTERRUPTED: {
    meaning: 'The command was interrupted (SIGINT or SIGTERM) before it finished.',
    fix: 'Run it again and let it finish; results written so far are incomplete.',
    exit: EXIT.runtime,
  },
  E_INTERNAL: {
    meaning: 'An unexpected internal error.',
    fix: 'This is a bug in tokenstorm: please report it with the command you ran and the full output.',
    exit: EXIT.runtime,
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code; its message says what happened and what to do. */
export class TokenstormError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  /** Individual problems, when one error reports several at once (validation). */
  readonly problems: readonly string[];

  constructor(
    code: ErrorCode,
    detail: string,
    options: { problems?: readonly string[]; cause?: unknown } = {},
  ) {
    const def = ERRORS[code];
    super(`${detail}\n  ${def.fix}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenstormError';
    this.code = code;
    this.exitCode = def.exit;
    this.problems = options.problems ?? [];
  }
}

export function isTokenstormError(err: unknown): err is TokenstormError {
  return err instanceof TokenstormError;
}

/** Formats an error for the terminal: `tokenstorm: [CODE] message` plus each listed problem. */
export function formatError(err: unknown): string {
  if (isTokenstormError(err)) {
    const lines = [`tokenstorm: [${err.code}] ${err.message}`];
    for (const p of err.problems) lines.push(`  - ${p}`);
    return lines.join('\n');
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return `tokenstorm: [E_INTERNAL] ${e.stack ?? e.message}\n  ${ERRORS.E_INTERNAL.fix}`;
}
