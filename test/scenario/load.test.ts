// Loading a scenario: ${ENV} expansion, every problem at once with its path, overrides, freezing.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${ENV} references, literally
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenstormError } from '../../src/errors.js';
import { expandEnv, loadScenario, parseScenario } from '../../src/scenario/load.js';
import { ROOT } from '../helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'scenarios');
const load = { type: 'open', rate: 1, streams: 1 };
const external = (target: Record<string, unknown>) => ({ name: 't', target, load });

/** The error parseScenario/loadScenario throws (the test fails if it does not throw one). */
function failure(fn: () => unknown): TokenstormError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TokenstormError) return err;
    throw err;
  }
  throw new Error('expected a TokenstormError');
}

describe('${ENV} expansion', () => {
  it('expands set variables in target.url and target.headers', () => {
    const s = parseScenario(
      external({
        url: 'https://${HOST}/v1/messages',
        headers: { 'x-api-key': '${KEY}', 'x-both': '${A}-${B}', literal: 'no refs' },
      }),
      'test',
      { HOST: 'api.example.com', KEY: 'sk-1', A: 'a', B: 'b' },
    );
    expect(s.target.url).toBe('https://api.example.com/v1/messages');
    expect(s.target.headers).toEqual({ 'x-api-key': 'sk-1', 'x-both': 'a-b', literal: 'no refs' });
  });

  it('${NAME:-default} uses the default when NAME is unset or empty, the value otherwise', () => {
    const target = {
      url: 'http://127.0.0.1:${PORT:-8000}/v1',
      headers: { Authorization: 'Bearer ${KEY:-EMPTY}' },
    };
    expect(parseScenario(external(target), 'test', {}).target).toMatchObject({
      url: 'http://127.0.0.1:8000/v1',
      headers: { Authorization: 'Bearer EMPTY' },
    });
    expect(parseScenario(external(target), 'test', { KEY: '' }).target.headers.Authorization).toBe(
      'Bearer EMPTY',
    );
    expect(parseScenario(external(target), 'test', { PORT: '9', KEY: 'k' }).target).toMatchObject({
      url: 'http://127.0.0.1:9/v1',
      headers: { Authorization: 'Bearer k' },
    });
  });

  it('an unset variable is a problem with its path, reported with the others; the url is not blamed twice', () => {
    const err = failure(() =>
      parseScenario(
        { name: '', target: { url: 'https://${HOST}:${PORT}/v1', headers: { 'x-api-key': '${KEY}' } }, load },
        'file.yaml',
        { KEY: '' },
      ),
    );
    expect(err.code).toBe('E_CONFIG_INVALID');
    expect(err.message).toMatch(/^file\.yaml has 4 problems:/);
    expect(err.problems).toEqual([
      'target.url: environment variable HOST is not set; export it, or write ${HOST:-default}',
      'target.url: environment variable PORT is not set; export it, or write ${PORT:-default}',
      'target.headers.x-api-key: environment variable KEY is empty; export it, or write ${KEY:-default}',
      'name: name must not be empty: give the scenario a short name (it labels results)',
    ]);
  });

  it("'warn' mode turns a header's unset variable into a warning; the url's stays a problem", () => {
    const warnings: string[] = [];
    const s = parseScenario(
      external({ url: 'https://x/v1', headers: { 'x-api-key': '${KEY}' } }),
      'test',
      {},
      {},
      {
        missingEnv: 'warn',
        warnings,
      },
    );
    expect(s.target.headers['x-api-key']).toBe('${KEY}');
    expect(warnings).toEqual([
      'target.headers.x-api-key: environment variable KEY is not set; export it, or write ${KEY:-default}',
    ]);
    const err = failure(() =>
      parseScenario(
        external({ url: 'https://${HOST}/v1' }),
        'test',
        {},
        {},
        { missingEnv: 'warn', warnings: [] },
      ),
    );
    expect(err.problems).toEqual([
      'target.url: environment variable HOST is not set; export it, or write ${HOST:-default}',
    ]);
  });

  it('touches nothing but target.url and target.headers', () => {
    const raw = {
      name: '${X}',
      target: { url: 'http://${X}/', mock: { api_key: '${X}' } },
      request: { model: '${X}' },
    };
    const problems: string[] = [];
    expect(expandEnv(raw, { X: 'y' }, problems)).toEqual({
      name: '${X}',
      target: { url: 'http://y/', mock: { api_key: '${X}' } },
      request: { model: '${X}' },
    });
    expect(problems).toEqual([]);
    expect(raw.target.url).toBe('http://${X}/'); // the input is not modified
  });
});

describe('every problem at once', () => {
  it('a file with many mistakes reports each with its path', () => {
    const err = failure(() => loadScenario(join(FIXTURES, 'invalid.yaml'), {}, {}));
    expect(err.code).toBe('E_CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('invalid.yaml has 9 problems:');
    expect(err.problems).toEqual([
      'name: name must not be empty: give the scenario a short name (it labels results)',
      'target.url: url must be an absolute http:// or https:// URL of the streaming endpoint, e.g. http://127.0.0.1:8080/v1/chat/stream',
      'target.protocol: protocol must be reference (tokenstorm serve), anthropic (Messages API) or openai (chat completions)',
      'request: unknown field "max_token" (did you mean "max_tokens"?); allowed here: model, max_tokens, system, temperature, prompts, prompt_tokens, dataset, output_tokens, turns, thinking, tools, output_schema, extra_body',
      'load.duration: "10 sec" is not a duration; write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds',
      'load: rate belongs to an open load: set type: open, or use concurrency (or stages) for a closed one',
      'timeouts.stall_ms: Invalid input: expected number, received string',
      expect.stringMatching(/^thresholds\.ttft: unknown metric "ttft" \(did you mean "ttft_ms"\?\); known: /),
      'thresholds.ttft_ms[0]: unknown aggregation "p95" in "p95<500"; ttft_ms is a histogram: use p(N), avg, min, max, med or count',
    ]);
  });

  it('a document that is not a mapping, and a file that is not YAML or missing', () => {
    expect(failure(() => parseScenario(['a'], 'list.yaml')).message).toMatch(
      /^list\.yaml must be a YAML mapping/,
    );
    expect(failure(() => parseScenario(null, 'empty.yaml')).message).toMatch(
      /^empty\.yaml must be a YAML mapping/,
    );
    const broken = failure(() => loadScenario(join(FIXTURES, 'broken.yaml')));
    expect(broken.code).toBe('E_CONFIG_FILE');
    expect(broken.message).toContain('broken.yaml is not valid YAML');
    expect(failure(() => loadScenario(join(FIXTURES, 'nope.yaml'))).code).toBe('E_CONFIG_FILE');
  });
});

describe('overrides and the result', () => {
  it('--seed replaces the seed; --url makes an embedded scenario external', () => {
    const s = loadScenario(join(ROOT, 'scenarios', 'baseline.yaml'), {
      seed: 5,
      url: 'http://127.0.0.1:8080/v1/chat/stream',
    });
    expect(s.seed).toBe(5);
    expect(s.target).toMatchObject({ embedded: false, url: 'http://127.0.0.1:8080/v1/chat/stream' });
    expect(s.target.mock).toBeUndefined();
    // Upstream faults go along as the x-tokenstorm-fault header (a tokenstorm mock or server applies them).
    const demo = loadScenario(join(ROOT, 'scenarios', 'demo.yaml'), { url: 'http://127.0.0.1:1/x' });
    expect(demo.faults.upstream.map((f) => f.kind)).toEqual(['inband_error', 'truncate', 'http_error']);
  });

  it('is deeply frozen', () => {
    const s = loadScenario(join(FIXTURES, 'minimal.yaml'));
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.load)).toBe(true);
    expect(Object.isFrozen(s.target.headers)).toBe(true);
    expect(s.load).toMatchObject({ type: 'closed', concurrency: 2, streams: 4 });
  });
});
