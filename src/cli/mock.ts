// `tokenstorm mock`: the Anthropic- and OpenAI-compatible mock upstream.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { isTokenstormError, TokenstormError } from '../errors.js';
import {
  capacityEstimate,
  type FaultRule,
  loadMockProfile,
  type MockConfig,
  type MockConfigInput,
  parseFaultSpec,
  parseMockConfig,
} from '../mock/config.js';
import { startMockMetrics } from '../mock/metrics.js';
import { startMock } from '../mock/server.js';
import { runUntilSignal } from './signals.js';

interface MockArgs {
  host: string;
  port: number;
  'metrics-port'?: number;
  profile?: string;
  seed?: number;
  'ttft-ms'?: number;
  'prefill-ms-per-token'?: number;
  'itl-ms'?: number;
  'itl-dist'?: 'fixed' | 'normal' | 'lognormal' | 'exponential';
  'itl-stddev-ms'?: number;
  slots?: number;
  'max-queue'?: number;
  degradation?: number;
  'ping-interval-ms'?: number;
  fault?: string[];
  'api-key'?: string;
  'max-body-bytes'?: number;
  'print-capacity': boolean;
  'input-tokens': number;
  'output-tokens': number;
}

function builder(y: Argv): Argv<MockArgs> {
  return y
    .usage(
      '$0 mock [options]\n\nStarts the mock upstream: POST /v1/messages (Anthropic), POST /v1/chat/completions (OpenAI), GET /healthz, GET /mock/stats.\nOptions override the --profile file. Every option can also be set as TOKENSTORM_MOCK_<OPTION> (e.g. TOKENSTORM_MOCK_PORT).',
    )
    .env('TOKENSTORM_MOCK')
    .options({
      host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' },
      port: { type: 'number', default: 8081, describe: 'Port to listen on (0: any free port)' },
      'metrics-port': {
        type: 'number',
        describe:
          'Serve the mock metrics (tokenstorm.mock.*, Prometheus format) on this port (0: any free port) [default: off]',
      },
      profile: {
        type: 'string',
        describe: 'YAML file with latency, capacity, output_tokens, faults (see docs/mock.md)',
      },
      seed: { type: 'number', describe: 'Seed for text, lengths, ITL jitter and fault draws [default: 1]' },
      'ttft-ms': { type: 'number', describe: 'Base time to first token once a slot is free [default: 200]' },
      'prefill-ms-per-token': { type: 'number', describe: 'Extra TTFT per input token [default: 0]' },
      'itl-ms': { type: 'number', describe: 'Mean inter-token latency [default: 20]' },
      'itl-dist': {
        choices: ['fixed', 'normal', 'lognormal', 'exponential'] as const,
        describe: 'Inter-token latency distribution [default: fixed]',
      },
      'itl-stddev-ms': { type: 'number', describe: 'ITL standard deviation for normal/lognormal' },
      slots: {
        type: 'number',
        describe: 'Concurrent decode slots; beyond them requests queue [default: 256]',
      },
      'max-queue': { type: 'number', describe: 'Queued requests beyond this get 529 [default: 100000]' },
      degradation: {
        type: 'number',
        describe: 'ITL grows by this fraction as slots fill (0.5: 1.5x at full) [default: 0]',
      },
      'ping-interval-ms': {
        type: 'number',
        describe: 'Send a ping every N ms on open streams (0: only the first) [default: 0]',
      },
      fault: {
        type: 'string',
        array: true,
        describe: 'Fault rule kind;key=value;…, repeatable, e.g. "http_error;status=429;probability=0.05"',
      },
      'api-key': {
        type: 'string',
        describe: 'Require this key as x-api-key or Bearer token (401 otherwise)',
      },
      'max-body-bytes': {
        type: 'number',
        describe: 'Largest request body accepted (413 beyond) [default: 10485760]',
      },
      'print-capacity': {
        type: 'boolean',
        default: false,
        describe: 'Print the analytical capacity of the model and exit',
      },
      'input-tokens': { type: 'number', default: 100, describe: 'Request size assumed by --print-capacity' },
      'output-tokens': {
        type: 'number',
        default: 100,
        describe: 'Response size assumed by --print-capacity',
      },
    })
    .example('$0 mock --port 8081 --slots 64 --itl-ms 25', 'A mock with a knee at 64 concurrent streams')
    .example(
      '$0 mock --fault "inband_error;after_tokens=5;probability=0.1"',
      'One stream in ten fails in-band',
    )
    .example(
      '$0 mock --print-capacity --slots 64 --output-tokens 200',
      'What load the model sustains',
    ) as unknown as Argv<MockArgs>;
}

/** Builds the mock configuration from --profile and the flags that override it. */
export function mockConfigFromArgs(args: MockArgs): MockConfig {
  const base: MockConfigInput = args.profile ? loadMockProfile(args.profile) : {};
  const cfg = structuredClone(base) as Record<string, unknown> & MockConfigInput;
  const latency = { ...(cfg.latency ?? {}) } as Record<string, unknown>;
  const capacity = { ...(cfg.capacity ?? {}) } as Record<string, unknown>;
  if (args.seed !== undefined) cfg.seed = args.seed;
  if (args['ttft-ms'] !== undefined) latency.ttft_base_ms = args['ttft-ms'];
  if (args['prefill-ms-per-token'] !== undefined)
    latency.prefill_ms_per_input_token = args['prefill-ms-per-token'];
  if (args['ping-interval-ms'] !== undefined) latency.ping_interval_ms = args['ping-interval-ms'];
  if (args['itl-ms'] !== undefined || args['itl-dist'] !== undefined || args['itl-stddev-ms'] !== undefined) {
    const prev = (latency.itl_ms ?? {}) as Record<string, unknown>;
    latency.itl_ms = {
      ...prev,
      type: args['itl-dist'] ?? prev.type ?? 'fixed',
      mean: args['itl-ms'] ?? prev.mean ?? 20,
      ...(args['itl-stddev-ms'] !== undefined ? { stddev: args['itl-stddev-ms'] } : {}),
    };
  }
  if (args.slots !== undefined) capacity.slots = args.slots;
  if (args['max-queue'] !== undefined) capacity.max_queue = args['max-queue'];
  if (args.degradation !== undefined) capacity.degradation = args.degradation;
  if (args['api-key'] !== undefined) cfg.api_key = args['api-key'];
  if (args['max-body-bytes'] !== undefined) cfg.max_body_bytes = args['max-body-bytes'];
  // Every bad --fault and every bad field is reported together (exit 2 lists all problems).
  const problems: string[] = [];
  if (args.fault && args.fault.length > 0) {
    const rules: FaultRule[] = [];
    for (const spec of args.fault) {
      try {
        const rule = parseFaultSpec(spec, '--fault');
        if (rule) rules.push(rule);
      } catch (err) {
        if (!isTokenstormError(err)) throw err;
        if (err.problems.length === 0) problems.push(err.message.split('\n')[0]!);
        else for (const p of err.problems) problems.push(`--fault "${spec}": ${p}`);
      }
    }
    cfg.faults = [...(cfg.faults ?? []), ...rules];
  }
  cfg.latency = latency as MockConfigInput['latency'];
  cfg.capacity = capacity as MockConfigInput['capacity'];
  const source = args.profile ? `${args.profile} with command-line overrides` : 'mock options';
  try {
    const parsed = parseMockConfig(cfg, source);
    if (problems.length === 0) return parsed;
  } catch (err) {
    if (!isTokenstormError(err) || problems.length === 0) throw err;
    problems.push(...err.problems);
  }
  const n = problems.length;
  throw new TokenstormError('E_CONFIG_INVALID', `${source} has ${n} problem${n === 1 ? '' : 's'}:`, {
    problems,
  });
}

export function describeCapacity(cfg: MockConfig, inputTokens: number, outputTokens: number): string {
  const c = capacityEstimate(cfg, { inputTokens, outputTokens });
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '∞');
  return [
    `capacity model: ${c.slots} decode slots; each ${inputTokens}-in/${outputTokens}-out request holds one for ${f(c.holdMs)} ms`,
    `  (TTFT ${f(cfg.latency.ttft_base_ms + cfg.latency.prefill_ms_per_input_token * inputTokens)} ms + ${outputTokens - 1} × ITL ${f(c.itlAtFullMs, 2)} ms at full occupancy)`,
    `  knee: ${c.slots} concurrent streams (closed model); max sustainable ${f(c.maxStreamsPerSec)} streams/s = ${f(c.maxTokensPerSec, 0)} tokens/s (open model)`,
    '  beyond it requests queue and TTFT grows by about one hold time per slots-worth of queued requests',
  ].join('\n');
}

async function handler(args: ArgumentsCamelCase<MockArgs>): Promise<void> {
  const cfg = mockConfigFromArgs(args);
  if (args['print-capacity']) {
    process.stdout.write(`${describeCapacity(cfg, args['input-tokens'], args['output-tokens'])}\n`);
    return;
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new TokenstormError('E_USAGE', `--port must be an integer from 0 to 65535, got ${args.port}`);
  const metricsPort = args['metrics-port'];
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
    throw new TokenstormError(
      'E_USAGE',
      `--metrics-port must be an integer from 0 to 65535, got ${metricsPort}`,
    );
  const mock = await startMock({ host: args.host, port: args.port, config: cfg });
  const metrics =
    metricsPort === undefined
      ? undefined
      : await startMockMetrics(mock, { host: args.host, port: metricsPort }).catch(async (err: unknown) => {
          await mock.close();
          throw err;
        });
  process.stdout.write(
    `tokenstorm mock listening on ${mock.url}\n` +
      '  POST /v1/messages (Anthropic), POST /v1/chat/completions (OpenAI), GET /healthz, GET /mock/stats\n' +
      (metrics?.url !== undefined ? `  metrics on ${metrics.url}\n` : '') +
      `${describeCapacity(cfg, args['input-tokens'], args['output-tokens'])}\n` +
      (cfg.faults.length > 0
        ? `  faults: ${cfg.faults.map((f) => `${f.kind} p=${f.probability}`).join(', ')}\n`
        : ''),
  );
  await runUntilSignal(async () => {
    await mock.close();
    await metrics?.close();
  });
}

export const mockCommand: CommandModule<object, MockArgs> = {
  command: 'mock',
  describe: 'Run the Anthropic/OpenAI-compatible mock upstream (latency and capacity model, faults)',
  builder,
  handler,
};
