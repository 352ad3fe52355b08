// Validation at the boundary: parse once with a zod schema, report every problem together
// (each with its path in the file and what is expected), then freeze. One schema yields the
// TypeScript type (z.infer), the validator and the JSON Schema (z.toJSONSchema).
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { TokenstormError } from '../errors.js';

// A missing field reads "Field required (expected string)" everywhere (configuration files
// and the mock's request validation), never "expected string, received undefined".
z.config({
  customError: (iss) =>
    iss.code === 'invalid_type' && iss.input === undefined
      ? `Field required (expected ${iss.expected})`
      : undefined,
});

export function formatIssuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Validates `input` against `schema`; throws E_CONFIG_INVALID listing every problem. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return deepFreeze(result.data);
  const problems = result.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`);
  const n = problems.length;
  throw new TokenstormError('E_CONFIG_INVALID', `${source} has ${n} problem${n === 1 ? '' : 's'}:`, {
    problems,
  });
}

/** Reads a YAML (or JSON, which is YAML) file; syntax errors name the line. */
export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TokenstormError('E_CONFIG_FILE', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new TokenstormError('E_CONFIG_FILE', `${path} is not valid YAML:`, {
      problems: doc.errors.map((e) => e.message.split('\n')[0] ?? e.message),
    });
  }
  return doc.toJS();
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
