// The scenario schema: durations, defaults, the load models, messages that say what to fix, and
// the JSON Schema editors use (schemas/scenario.schema.json must match the code).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/validate.js';
import { TokenstormError } from '../../src/errors.js';
import { loadScenario } from '../../src/scenario/load.js';
import {
  didYouMean,
  parseDurationMs,
  type Scenario,
  scenarioJsonSchema,
  scenarioSchema,
} from '../../src/scenario/schema.js';
import { describeLoad, formatDuration } from '../../src/scenario/summary.js';
import { ROOT } from '../helpers/cli.js';

const SCENARIOS = join(ROOT, 'scenarios');

// biome-ignore lint/suspicious/noExplicitAny: walking the generated JSON Schema
type Json = any;

/** The problems `validate` reports for `input`, or [] when it is valid. */
function problems(input: unknown): string[] {
  try {
    validate(scenarioSchema, input, 'test');
    return [];
  } catch (err) {
    if (err instanceof TokenstormError) return [...err.problems];
    throw err;
  }
}

function parse(input: unknown): Scenario {
  return validate(scenarioSchema, input, 'test');
}

const base = { name: 't', target: { embedded: true } };
const closed = (load: Record<string, unknown>) => ({ ...base, load: { type: 'closed', ...load } });
const open = (load: Record<string, unknown>) => ({ ...base, load: { type: 'open', ...load } });

describe('scenarios/*.yaml', () => {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml'));

  it('includes the ready scenarios', () => {
    expect(files.sort()).toEqual(
      expect.arrayContaining([
        'anthropic-api.yaml',
        'baseline.yaml',
        'demo.yaml',
        'open-poisson.yaml',
        'openai-vllm.yaml',
        'smoke.yaml',
      ]),
    );
  });

  it.each(files)('%s is valid and points editors at the JSON Schema', (file) => {
    const path = join(SCENARIOS, file);
    const s = loadScenario(path, {}, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(s.name).toBe(file.replace(/\.yaml$/, ''));
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(
      '# yaml-language-server: $schema=../schemas/scenario.schema.json',
    );
  });

  it('demo.yaml is about 30 s: a closed ramp to 300 with warmup, mock faults and thresholds', () => {
    const s = loadScenario(join(SCENARIOS, 'demo.yaml'), {}, {});
    expect(s.load.type).toBe('closed');
    if (s.load.type !== 'closed') return;
    expect(s.load.stages?.reduce((t, st) => t + st.duration, 0)).toBe(30_000);
    expect(Math.max(...(s.load.stages ?? []).map((st) => st.target))).toBe(300);
    expect(s.load.warmup).toBe(3000);
    expect(s.target.embedded).toBe(true);
    expect(s.target.mock?.latency.ttft_base_ms).toBe(150);
    expect(s.faults.upstream.map((f) => f.kind).sort()).toEqual(['http_error', 'inband_error', 'truncate']);
    expect(s.thresholds.ttft_ms).toContain('p(95)<1000');
    expect(s.thresholds.completion_rate).toContain('rate>0.9');
  });

  it('openai-vllm.yaml expands the key with its default and asks for usage', () => {
    const s = loadScenario(join(SCENARIOS, 'openai-vllm.yaml'), {}, {});
    expect(s.target.headers.Authorization).toBe('Bearer EMPTY');
    expect(s.request.extra_body).toEqual({ stream_options: { include_usage: true } });
    const keyed = loadScenario(join(SCENARIOS, 'openai-vllm.yaml'), {}, { OPENAI_API_KEY: 'k1' });
    expect(keyed.target.headers.Authorization).toBe('Bearer k1');
  });

  it('anthropic-api.yaml refuses to load without ANTHROPIC_API_KEY', () => {
    let err: unknown;
    try {
      loadScenario(join(SCENARIOS, 'anthropic-api.yaml'), {}, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenstormError);
    expect((err as TokenstormError).problems).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${ENV} syntax, literally
      'target.headers.x-api-key: environment variable ANTHROPIC_API_KEY is not set; export it, or write ${ANTHROPIC_API_KEY:-default}',
    ]);
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h0m5s', 3_605_000],
    ['1.5s', 1500],
    ['0.3s', 300],
    ['0s', 0],
    [1.5, 1500],
    [0, 0],
    [60, 60_000],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each([
    '10 sec',
    '30',
    '-1s',
    's',
    '',
    '1d',
    '1m 30s',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    null,
    {},
  ])('%j is not a duration', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });

  it('are converted to ms in the parsed scenario, with defaults for warmup and graceful_stop', () => {
    const s = parse(open({ rate: 5, duration: '1m30s' }));
    expect(s.load).toMatchObject({ duration: 90_000, warmup: 0, graceful_stop: 30_000 });
    const t = parse({
      ...open({ rate: 5, duration: 2, warmup: '500ms' }),
      thresholds: { ttft_ms: [{ threshold: 'p(95)<500', delayAbortEval: '10s' }] },
    });
    expect(t.load).toMatchObject({ duration: 2000, warmup: 500 });
    expect(t.thresholds.ttft_ms).toEqual([
      { threshold: 'p(95)<500', abortOnFail: false, delayAbortEval: 10_000 },
    ]);
  });

  it('report what is wrong and how to write one', () => {
    expect(problems(open({ rate: 5, duration: '10 sec' }))).toEqual([
      'load.duration: "10 sec" is not a duration; write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds',
    ]);
    expect(problems(open({ rate: 5, duration: -3 }))).toEqual([
      'load.duration: a duration must not be negative; write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds',
    ]);
    expect(problems(open({ rate: 5, duration: true }))).toEqual([
      'load.duration: expected a duration: write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds',
    ]);
    expect(problems(closed({ stages: [{ target: 5 }] }))).toEqual([
      'load.stages[0].duration: Field required (a duration: write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds)',
    ]);
  });
});

describe('defaults', () => {
  it('a minimal scenario gets every default', () => {
    const s = parse(closed({ concurrency: 2, streams: 4 }));
    expect(s).toEqual({
      name: 't',
      seed: 1,
      target: { embedded: true, protocol: 'reference', headers: {}, http2: false, direct: false },
      request: { model: 'claude-sonnet-5-5', max_tokens: 64, turns: 1, extra_body: {} },
      load: {
        type: 'closed',
        concurrency: 2,
        streams: 4,
        think_time_ms: 0,
        warmup: 0,
        graceful_stop: 30_000,
      },
      timeouts: { connect_ms: 10_000, headers_ms: 60_000, stall_ms: 30_000, total_ms: 600_000 },
      slo: {},
      faults: { client: [], upstream: [] },
      leak_check: {},
      thresholds: {},
    });
  });

  it('an open load defaults to poisson arrivals, burstiness 1 and 1000 in flight', () => {
    expect(parse(open({ rate: 5, streams: 10 })).load).toMatchObject({
      arrival: 'poisson',
      burstiness: 1,
      max_concurrency: 1000,
    });
  });

  it('a partly given section keeps the defaults of the rest', () => {
    const s = parse({
      ...closed({ concurrency: 1, streams: 1 }),
      timeouts: { stall_ms: 5000 },
      request: { max_tokens: 9 },
    });
    expect(s.timeouts).toEqual({ connect_ms: 10_000, headers_ms: 60_000, stall_ms: 5000, total_ms: 600_000 });
    expect(s.request).toEqual({ model: 'claude-sonnet-5-5', max_tokens: 9, turns: 1, extra_body: {} });
  });
});

describe('the load models', () => {
  it('a missing or unknown type says which types exist and what each needs', () => {
    expect(problems({ ...base, load: { concurrency: 5, duration: '1m' } })).toEqual([
      'load.type: Field required: set type: closed (with concurrency or stages), type: open (with rate) or type: trace (with file)',
    ]);
    expect(problems({ ...base, load: { type: 'closd', concurrency: 5, duration: '1m' } })).toEqual([
      'load.type: "closd" is not a load type; set type: closed (with concurrency or stages), type: open (with rate) or type: trace (with file)',
    ]);
    expect(problems({ ...base, load: 'closed' })).toEqual([
      'load: load must be a mapping with type: closed (with concurrency or stages), type: open (with rate) or type: trace (with file)',
    ]);
  });

  it('a field of the other model says which model it belongs to', () => {
    expect(problems(closed({ rate: 5, duration: '1m' }))).toEqual([
      'load: rate belongs to an open load: set type: open, or use concurrency (or stages) for a closed one',
      'load.concurrency: a closed load needs concurrency (virtual users) or stages (a ramp)',
    ]);
    expect(problems(open({ rate: 5, concurrency: 5, think_time_ms: 100, duration: '1m' }))).toEqual([
      'load: concurrency belongs to a closed load: set type: closed, or use rate (and max_concurrency) for an open one; think_time_ms belongs to a closed load; an open load starts streams at rate regardless',
    ]);
    expect(problems(open({ concurrency: 5, duration: '1m' }))).toEqual([
      'load.rate: Field required (expected number)',
      'load: concurrency belongs to a closed load: set type: closed, or use rate (and max_concurrency) for an open one',
    ]);
  });

  it('a run needs an end', () => {
    expect(problems(closed({ concurrency: 5 }))).toEqual([
      'load.duration: the run needs an end: give duration (e.g. "60s"), streams (a count), or stages',
    ]);
    expect(problems(open({ rate: 5 }))).toEqual([
      'load.duration: the run needs an end: give duration (e.g. "60s") or streams (a count)',
    ]);
    expect(problems(open({ rate: 5, duration: 0 }))).toEqual([
      'load.duration: duration must be more than 0, e.g. "60s"',
    ]);
    expect(problems(closed({ stages: [{ duration: '10s', target: 5 }] }))).toEqual([]);
  });

  it('closed: stages set the length, concurrency 0 alone runs nothing', () => {
    expect(problems(closed({ stages: [{ duration: '10s', target: 5 }], duration: '1m' }))).toEqual([
      'load.duration: stages already set the length of the run (the sum of their durations): remove duration (streams may still stop it early)',
    ]);
    expect(problems(closed({ concurrency: 0, duration: '1m' }))).toEqual([
      'load.concurrency: concurrency 0 runs nothing: give at least 1, or stages to ramp up from 0',
    ]);
    expect(problems(closed({ stages: [{ duration: 0, target: 5 }] }))).toEqual([
      'load.stages: the stages add up to 0 s: give them durations',
    ]);
  });

  it('open: burstiness only with gamma arrivals', () => {
    expect(problems(open({ rate: 5, duration: '1m', burstiness: 0.5 }))).toEqual([
      'load.burstiness: burstiness applies only to arrival: gamma (this load is poisson): set arrival: gamma or remove burstiness',
    ]);
    expect(problems(open({ rate: 5, duration: '1m', arrival: 'gamma', burstiness: 0.5 }))).toEqual([]);
  });

  it('warmup must be shorter than the run', () => {
    expect(problems(open({ rate: 5, duration: '10s', warmup: '10s' }))).toEqual([
      'load.warmup: warmup (10 s) must be shorter than the run (10 s), or nothing is measured',
    ]);
    expect(problems(closed({ stages: [{ duration: '5s', target: 5 }], warmup: '6s' }))).toEqual([
      'load.warmup: warmup (6 s) must be shorter than the run (5 s), or nothing is measured',
    ]);
  });
});

describe('target', () => {
  it('needs a url or embedded, not both', () => {
    expect(problems({ ...base, target: {}, load: { type: 'open', rate: 1, streams: 1 } })).toEqual([
      'target.url: Field required: give target.url, or set target.embedded: true to start mock and server in-process',
    ]);
    expect(
      problems({
        ...base,
        target: { embedded: true, url: 'http://x' },
        load: { type: 'open', rate: 1, streams: 1 },
      }),
    ).toEqual([
      'target.url: an embedded target has no url (it listens on a free port); remove url or embedded',
    ]);
  });

  it('accepts only http(s) urls and valid header names', () => {
    const load = { type: 'open', rate: 1, streams: 1 };
    expect(problems({ ...base, target: { url: 'ws://x/stream' }, load })).toEqual([
      'target.url: url must be an absolute http:// or https:// URL of the streaming endpoint, e.g. http://127.0.0.1:8080/v1/chat/stream',
    ]);
    expect(
      problems({ ...base, target: { url: 'https://x/v1', headers: { 'x api key': 'k' } }, load }),
    ).toEqual([
      `target.headers.x api key: "x api key" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`,
    ]);
  });

  it('embedded-only fields on an external target, and protocols the embedded target does not speak', () => {
    const load = { type: 'open', rate: 1, streams: 1 };
    expect(problems({ ...base, target: { url: 'http://x/v1', mock: {}, direct: true }, load })).toEqual([
      'target.mock: mock applies only with embedded: true; remove it',
      'target.direct: direct applies only with embedded: true; remove it',
    ]);
    expect(problems({ ...base, target: { embedded: true, protocol: 'openai' }, load })).toEqual([
      'target.protocol: an embedded target is the reference server: use protocol: reference, or add direct: true to send openai requests to the mock',
    ]);
    expect(problems({ ...base, target: { embedded: true, direct: true }, load })).toEqual([
      'target.protocol: direct: true sends streams to the mock, which speaks anthropic and openai: set protocol to one of them',
    ]);
    expect(
      problems({ ...base, target: { embedded: true, direct: true, protocol: 'anthropic' }, load }),
    ).toEqual([]);
  });

  it('at most one fault per stream: client and upstream probabilities add up to at most 1', () => {
    const load = { type: 'open', rate: 1, streams: 1 };
    // Upstream faults travel as a request header, so an external tokenstorm mock or server takes them too.
    expect(
      problems({
        ...base,
        target: { url: 'http://x/v1' },
        load,
        faults: { upstream: [{ kind: 'truncate', probability: 0.1 }] },
      }),
    ).toEqual([]);
    expect(
      problems({
        ...base,
        load,
        faults: {
          client: [{ kind: 'cancel', probability: 0.6 }],
          upstream: [{ kind: 'truncate', probability: 0.5 }],
        },
      }),
    ).toEqual([
      'faults: fault probabilities (faults.client and faults.upstream together) add up to 1.100; at most one fault strikes a stream, so they must add up to 1 or less',
    ]);
  });

  it('client faults: resume needs the reference protocol, one trigger, known kinds', () => {
    const load = { type: 'open', rate: 1, streams: 1 };
    expect(
      problems({
        ...base,
        target: { url: 'http://x/v1', protocol: 'openai' },
        load,
        faults: { client: [{ kind: 'disconnect', probability: 0.1 }] },
      }),
    ).toEqual([
      'faults.client[0].reconnect: reconnect: resume needs protocol: reference (only tokenstorm serve resumes a stream); use reconnect: retry or none for openai',
    ]);
    expect(
      problems({
        ...base,
        load,
        faults: {
          client: [
            { kind: 'stall', probability: 0.1, after_tokens: 3, after_ms: 100, duration_ms: 50 },
            { kind: 'explode', probability: 0.1 },
            { kind: 'slow_reader', probability: 0.1 },
          ],
        },
      }),
    ).toEqual([
      'faults.client[0].after_ms: give after_tokens or after_ms, not both',
      'faults.client[1].kind: kind must be one of disconnect, stall, slow_reader, cancel, abort_before_headers',
      'faults.client[2].bytes_per_s: Field required (expected number)',
    ]);
  });

  it('the leak check needs the server metrics', () => {
    expect(
      problems({
        ...base,
        target: { url: 'http://x/v1' },
        load: { type: 'open', rate: 1, streams: 1 },
        leak_check: { enabled: true },
      }),
    ).toEqual([
      "leak_check.enabled: the leak check reads the reference server's metrics: set target.metrics_url (e.g. http://127.0.0.1:9464/metrics) or use an embedded target without direct",
    ]);
    expect(
      problems({
        ...base,
        target: { url: 'http://x/v1', metrics_url: 'http://x:9464/metrics' },
        load: { type: 'open', rate: 1, streams: 1 },
        leak_check: { enabled: true },
      }),
    ).toEqual([]);
  });
});

describe('messages that say what to fix', () => {
  it('unknown fields name the closest known one and list the allowed ones', () => {
    expect(problems({ ...closed({ concurrency: 1, streams: 1 }), request: { max_token: 5 } })).toEqual([
      'request: unknown field "max_token" (did you mean "max_tokens"?); allowed here: model, max_tokens, system, temperature, prompts, prompt_tokens, dataset, output_tokens, turns, thinking, tools, output_schema, extra_body',
    ]);
    expect(didYouMean('thresholds', ['threshold', 'name'])).toBe(' (did you mean "threshold"?)');
    expect(didYouMean('ttft', ['e2e_ms', 'ttft_ms'])).toBe(' (did you mean "ttft_ms"?)');
    expect(didYouMean('zzzz', ['name', 'seed'])).toBe('');
  });

  it('threshold problems are reported with the schema problems, each with its path', () => {
    expect(
      problems({
        ...open({ rate: 5, duration: 'x' }),
        thresholds: {
          ttft: ['p(95)<500'],
          ttft_ms: ['p(95)<500', 'p95<500', { threshold: 'avg<' }],
          completion_rate: 'rate>0.99',
          error_rate: [],
        },
      }),
    ).toEqual([
      'load.duration: "x" is not a duration; write e.g. "30s", "500ms", "2m", "1m30s", or a number of seconds',
      'thresholds.completion_rate: write a list: ["rate>0.99"]',
      'thresholds.error_rate: give at least one expression; e.g. ttft_ms: ["p(95)<500"], completion_rate: ["rate>0.99"]',
      expect.stringMatching(
        /^thresholds\.ttft: unknown metric "ttft" \(did you mean "ttft_ms"\?\); known: ttft_ms, /,
      ),
      'thresholds.ttft_ms[1]: unknown aggregation "p95" in "p95<500"; ttft_ms is a histogram: use p(N), avg, min, max, med or count',
      'thresholds.ttft_ms[2]: "avg<" has no number after the operator',
    ]);
  });

  it('temperature above 1 only for openai', () => {
    const load = { type: 'open', rate: 1, streams: 1 };
    expect(problems({ ...base, load, request: { temperature: 1.5 } })).toEqual([
      'request.temperature: temperature above 1 is accepted only by protocol: openai (anthropic and reference: 0 to 1)',
    ]);
    expect(
      problems({
        ...base,
        target: { url: 'http://x/v1', protocol: 'openai' },
        load,
        request: { temperature: 1.5 },
      }),
    ).toEqual([]);
  });
});

describe('summary', () => {
  it('formats durations in the scenario syntax', () => {
    expect([0, 500, 30_000, 90_000, 3_605_000, 1500].map(formatDuration)).toEqual([
      '0s',
      '500ms',
      '30s',
      '1m30s',
      '1h5s',
      '1s500ms',
    ]);
    for (const ms of [500, 30_000, 90_000, 3_605_000, 1500])
      expect(parseDurationMs(formatDuration(ms))).toBe(ms);
  });

  it('describes each load model in a line', () => {
    expect(
      describeLoad(
        parse(
          closed({
            stages: [
              { duration: '10s', target: 300 },
              { duration: '5s', target: 0 },
            ],
            warmup: '3s',
          }),
        ).load,
      ),
    ).toBe('closed, 0→300→0 users over 15s, warmup 3s');
    expect(describeLoad(parse(closed({ concurrency: 10, streams: 60 })).load)).toBe(
      'closed, 10 users, at most 60 streams',
    );
    expect(describeLoad(parse(open({ rate: 50, duration: '1m', max_concurrency: 500 })).load)).toBe(
      'open poisson 50/s for 1m, max 500 in flight',
    );
  });
});

describe('JSON Schema', () => {
  const schema = scenarioJsonSchema();

  it('schemas/scenario.schema.json is up to date with src/scenario/schema.ts', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'schemas', 'scenario.schema.json'), 'utf8'));
    expect(
      committed,
      'schemas/scenario.schema.json is out of date: run `node bin/tokenstorm.js validate --print-schema > schemas/scenario.schema.json` (or npm run schema)',
    ).toEqual(schema);
  });

  it('describes the file as written: durations as strings or numbers, defaults as written', () => {
    const props = schema.properties as Record<string, Json>;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(['name', 'target', 'load']);
    expect(schema.additionalProperties).toBe(false);
    const [closedJs, openJs] = props.load.oneOf;
    expect(closedJs.properties.type.const).toBe('closed');
    expect(openJs.required).toEqual(['type', 'rate']);
    const warmup = openJs.properties.warmup;
    expect(warmup.default).toBe('0s');
    expect(openJs.properties.graceful_stop.default).toBe('30s');
    expect(warmup.anyOf).toEqual([
      { type: 'number', minimum: 0 },
      { type: 'string', pattern: expect.any(String) },
    ]);
    const pattern = new RegExp(warmup.anyOf[1].pattern);
    expect(['30s', '1m30s', '500ms'].every((d) => pattern.test(d))).toBe(true);
    expect(pattern.test('10 sec')).toBe(false);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${ENV} syntax, literally
  it('leaves ${ENV} urls alone, lists threshold metrics and carries descriptions', () => {
    const props = schema.properties as Record<string, Json>;
    expect(props.target.properties.url).not.toHaveProperty('format');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${ENV} syntax, literally
    expect(props.target.properties.url.description).toContain('${ENV}');
    expect(props.thresholds.propertyNames.enum).toEqual(
      expect.arrayContaining(['ttft_ms', 'completion_rate', 'streams']),
    );
    expect(props.load.description).toContain('type: closed');
  });
});
