// Loading a scenario: read YAML, expand ${ENV} references, apply command-line overrides,
// validate once (every problem together, each with its path), freeze.
import { dirname, isAbsolute, resolve } from 'node:path';
import { deepFreeze, formatIssuePath, readYamlFile } from '../config/validate.js';
import { TokenstormError } from '../errors.js';
import { type Scenario, scenarioSchema } from './schema.js';

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands ${NAME} and ${NAME:-default} in target.url and target.headers (as in a POSIX shell,
 * `:-` also applies when NAME is set but empty). A variable that is unset or empty and has no
 * default is a problem (reported with the others), never silently empty: it is pushed to
 * `problems` and the reference is left as written.
 */
export function expandEnv(raw: unknown, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const doc = raw as Record<string, unknown>;
  const t = doc['target'];
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return raw;
  const target = { ...(t as Record<string, unknown>) };
  const expand = (value: string, path: string): string =>
    value.replace(ENV_REF, (ref: string, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      problems.push(
        `${path}: environment variable ${name} is ${v === undefined ? 'not set' : 'empty'}; export it, or write \${${name}:-default}`,
      );
      return ref;
    });
  if (typeof target['url'] === 'string') target['url'] = expand(target['url'], 'target.url');
  const headers = target['headers'];
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(headers))
      out[k] = typeof v === 'string' ? expand(v, `target.headers.${k}`) : v;
    target['headers'] = out;
  }
  return { ...doc, target };
}

export interface ScenarioOverrides {
  seed?: number | undefined;
  /** Replaces target.url, turns embedded off and drops the embedded-only mock, server and direct. */
  url?: string | undefined;
  /** Replaces load.speed (trace replay); a problem for other load types. */
  speed?: number | undefined;
}

export interface ParseOptions {
  /**
   * 'error' (default): an unset ${ENV} is a problem, as `tokenstorm run` needs it.
   * 'warn': a header's is pushed to `warnings` instead (`tokenstorm validate` checks files
   * without their secrets); one in target.url stays a problem, as the url cannot be checked.
   */
  missingEnv?: 'error' | 'warn';
  warnings?: string[];
}

/** Validates a parsed scenario document; `source` names it in error messages. */
export function parseScenario(
  raw: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: ScenarioOverrides = {},
  options: ParseOptions = {},
): Scenario {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new TokenstormError(
      'E_CONFIG_INVALID',
      `${source} must be a YAML mapping (name:, target:, load:, …)`,
    );
  const envProblems: string[] = [];
  let doc = expandEnv(raw, env, envProblems) as Record<string, unknown>;
  if (overrides.seed !== undefined) doc = { ...doc, seed: overrides.seed };
  if (overrides.url !== undefined) {
    const t = doc['target'];
    const {
      mock: _m,
      server: _s,
      direct: _d,
      ...rest
    } = typeof t === 'object' && t !== null && !Array.isArray(t) ? (t as Record<string, unknown>) : {};
    doc = { ...doc, target: { ...rest, url: overrides.url, embedded: false } };
  }
  const problems: string[] = [];
  if (overrides.speed !== undefined) {
    const l = doc['load'];
    if (typeof l === 'object' && l !== null && (l as Record<string, unknown>)['type'] === 'trace')
      doc = { ...doc, load: { ...(l as Record<string, unknown>), speed: overrides.speed } };
    else problems.push('--speed: applies only to a trace load (load.type: trace)');
  }
  // A url cannot be checked without its variables, so those stay problems even in 'warn' mode.
  const urlEnv = envProblems.filter((p) => p.startsWith('target.url:'));
  for (const p of envProblems)
    if (options.missingEnv === 'warn' && !urlEnv.includes(p)) options.warnings?.push(p);
    else problems.push(p);
  const parsed = scenarioSchema.safeParse(doc);
  if (!parsed.success)
    for (const i of parsed.error.issues) {
      const p = `${formatIssuePath(i.path)}: ${i.message}`;
      // An unexpanded ${ENV} also fails the url check; the environment problem already says why.
      if (!(urlEnv.length > 0 && p.startsWith('target.url: url must be'))) problems.push(p);
    }
  if (problems.length > 0) {
    const n = problems.length;
    throw new TokenstormError('E_CONFIG_INVALID', `${source} has ${n} problem${n === 1 ? '' : 's'}:`, {
      problems,
    });
  }
  return deepFreeze(parsed.data as Scenario);
}

export function loadScenario(
  path: string,
  overrides: ScenarioOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  options: ParseOptions = {},
): Scenario {
  return parseScenario(
    resolveWorkloadFiles(readYamlFile(path), dirname(path)),
    path,
    env,
    overrides,
    options,
  );
}

/** Workload files (request.dataset, a trace's load.file) as written are relative to the scenario file. */
function resolveWorkloadFiles(raw: unknown, dir: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const doc = { ...(raw as Record<string, unknown>) };
  const fix = (section: string, key: string): void => {
    const o = doc[section];
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return;
    const v = (o as Record<string, unknown>)[key];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) doc[section] = { ...o, [key]: resolve(dir, v) };
  };
  fix('request', 'dataset');
  const l = doc['load'];
  if (typeof l === 'object' && l !== null && (l as Record<string, unknown>)['type'] === 'trace')
    fix('load', 'file');
  return doc;
}
