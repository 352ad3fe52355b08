// Accuracy of the content-channel metrics and of trace replay, against the mock in its own process
// (the built CLI, so it never shares the runner's event loop), run alone (vitest.solo.config.ts).
//
// - Thinking: with a fixed ITL the mock sends thinking_tokens thinking deltas, then the answer, on
//   its absolute schedule: the first answer token follows the first thinking token by exactly
//   thinking_tokens × ITL (the thinking time). At 100 concurrent streams the runner's ttfa − ttft
//   must show that within 2 ms (median over streams, and p50 of the result's histograms).
// - Tool calls: a tool_use block's arguments arrive as n fragments one ITL apart, and the block
//   stops with the last one: complete − first = (n − 1) × ITL, n recomputed from the mock's plan.
// - Trace replay: 2,000 arrivals on an absolute clock; their intended starts are the trace's offsets
//   and schedule_lag_ms p99 stays under 5 ms.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseMockConfig } from '../../src/mock/config.js';
import { buildPlan } from '../../src/mock/rich.js';
import { promptKey, textRng } from '../../src/mock/text.js';
import { Rng } from '../../src/random.js';
import type { StreamEnd } from '../../src/runner/recorder.js';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { runLocal, scenario, startMockProcess } from '../helpers/runner.js';

const cli = useCli();
const ITL_MS = 10;
const THINKING_TOKENS = 10;
const SEED = 5;
const dir = mkdtempSync(join(tmpdir(), 'ts-solo-'));

beforeAll(() => {
  assertBuilt(['src/cli', 'src/mock', 'src/config', 'src/errors.ts', 'src/random.ts']);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function profile(): string {
  const file = join(dir, 'mock.yaml');
  writeFileSync(
    file,
    `seed: ${SEED}\nlatency: { ttft_base_ms: 100, itl_ms: { type: fixed, mean: ${ITL_MS} } }\ncapacity: { slots: 5000 }\nresponses: { thinking_tokens: ${THINKING_TOKENS} }\n`,
  );
  return file;
}

describe('content channels at 100 streams', () => {
  it('ttfa − ttft is the mock thinking time within 2 ms; tool arguments complete on the mock schedule', async () => {
    const mock = await startMockProcess(cli, ['--profile', profile()]);
    const ends: StreamEnd[] = [];
    const r = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        request: { max_tokens: 30, thinking: { budget_tokens: 1024 } },
        load: {
          type: 'closed',
          concurrency: 100,
          think_time_ms: { type: 'uniform', min: 0, max: 20 },
          duration: '3s',
          warmup: '1s',
        },
      }),
      (e) => {
        if (!e.warmup) ends.push(e);
      },
    );
    expect(r.streams.by_outcome.completed).toBe(r.streams.measured);
    expect(r.streams.measured).toBeGreaterThan(100);
    const thinkingMs = THINKING_TOKENS * ITL_MS;
    const perStream = median(ends.map((e) => e.firstAnswerAt - e.firstTokenAt));
    const fromResult = r.metrics.ttfa_ms.p50 - r.metrics.ttft_ms.p50;
    const report = `thinking ${thinkingMs} ms: per-stream median ${perStream.toFixed(3)}, result p50 difference ${fromResult.toFixed(3)}`;
    expect(Math.abs(perStream - thinkingMs), report).toBeLessThanOrEqual(2);
    expect(Math.abs(fromResult - thinkingMs), report).toBeLessThanOrEqual(2);
    // The first token of a thinking stream is a thinking token: ttft_thinking_ms is ttft_ms.
    expect(r.metrics.ttft_thinking_ms.p50).toBe(r.metrics.ttft_ms.p50);
    expect(r.workload!.content_events.thinking).toBe(THINKING_TOKENS * r.streams.measured);
    console.log(report);

    // Tool calls: one fixed prompt, so one plan for every stream.
    const prompt = 'Look it up.';
    const schema = { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } } };
    const cfg = parseMockConfig({ seed: SEED, responses: { thinking_tokens: THINKING_TOKENS } });
    const key = promptKey(`user:${prompt}\n`);
    const plan = buildPlan(
      SEED,
      key,
      { thinking: null, tool: { name: 'lookup', schema }, structured: null },
      cfg.responses,
      30,
      30,
      textRng(SEED, key),
    );
    const fragments = plan.blocks[1]!.pieces.length;
    const toolEnds: StreamEnd[] = [];
    const t = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        request: { max_tokens: 30, prompts: [prompt], tools: [{ name: 'lookup', input_schema: schema }] },
        load: {
          type: 'closed',
          concurrency: 100,
          think_time_ms: { type: 'uniform', min: 0, max: 20 },
          duration: '3s',
          warmup: '1s',
        },
      }),
      (e) => {
        if (!e.warmup) toolEnds.push(e);
      },
    );
    expect(t.workload!.tool_calls.invalid_args).toBe(0);
    expect(t.workload!.tool_calls.completed).toBe(t.streams.measured);
    const argsMs = median(toolEnds.map((e) => e.toolArgsAt - e.toolCallAt));
    const expected = (fragments - 1) * ITL_MS;
    // The tool call starts with the preamble's last gap: 3 text tokens, then the first fragment.
    const startMs = median(toolEnds.map((e) => e.toolCallAt - e.firstTokenAt));
    const toolReport = `${fragments} fragments: args complete − first ${argsMs.toFixed(3)} ms (expected ${expected}), first call − ttft ${startMs.toFixed(3)} ms (expected ${3 * ITL_MS})`;
    expect(Math.abs(argsMs - expected), toolReport).toBeLessThanOrEqual(2);
    expect(Math.abs(startMs - 3 * ITL_MS), toolReport).toBeLessThanOrEqual(2);
    console.log(toolReport);
    expect(await mock.stop()).toBe(0);
  });
});

describe('trace replay', () => {
  it('2,000 arrivals at their trace times: schedule_lag_ms p99 < 5 ms, every arrival counted', async () => {
    const rng = new Rng(9);
    const rows: string[] = [];
    let t = 0;
    const offsets: number[] = [];
    for (let i = 0; i < 2000; i++) {
      t += rng.exponential(1000 / 250); // 250 arrivals/s, Poisson: 8 s of trace
      offsets.push(Math.round(t * 1000) / 1000);
      rows.push(
        JSON.stringify({
          timestamp: offsets[i],
          input_length: 20 + rng.int(200),
          output_length: 5 + rng.int(10),
        }),
      );
    }
    const file = join(dir, 'trace.jsonl');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const mock = await startMockProcess(cli, ['--ttft-ms', '20', '--itl-ms', '5', '--slots', '5000']);
    const ends: StreamEnd[] = [];
    const r = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        load: { type: 'trace', file, max_concurrency: 2000 },
      }),
      (e) => ends.push(e),
    );
    expect(r.streams.arrivals).toBe(2000);
    expect(r.streams.dropped_arrivals).toBe(0);
    expect(r.streams.by_outcome.completed).toBe(2000);
    // The intended starts are the trace's offsets on one clock (t0 = first intended − first offset).
    const intended = ends.map((e) => e.intendedAt).sort((a, b) => a - b);
    const base = intended[0]! - offsets[0]!;
    for (let i = 0; i < 2000; i++) expect(Math.abs(intended[i]! - base - offsets[i]!)).toBeLessThan(0.001);
    const lag = r.metrics.schedule_lag_ms;
    console.log(
      `trace replay: schedule_lag_ms p50 ${lag.p50} p99 ${lag.p99} max ${lag.max}, late ${r.workload!.late_arrivals}`,
    );
    expect(lag.count).toBe(2000);
    expect(lag.p99).toBeLessThan(5);
    // Output lengths followed the trace (max_tokens; the mock generates exactly that).
    expect(r.tokens.output_total).toBe(
      rows.reduce((s, l) => s + (JSON.parse(l) as { output_length: number }).output_length, 0),
    );
    expect(await mock.stop()).toBe(0);
  });
});
