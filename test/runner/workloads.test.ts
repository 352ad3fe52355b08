// Workloads against the in-process mock: multi-turn sessions (per-turn TTFT rises with the history
// when the mock charges prefill per input token, stays flat when it does not), prompt datasets,
// structured output and invalid tool arguments. No timing within a few ms here (those are in
// workloads.solo.test.ts): the prefill effect is tens of ms per turn.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type MockServer, startMock } from '../../src/mock/server.js';
import { formatSummary } from '../../src/report/summary.js';
import { expectOneOutcomeEach, runLocal, scenario } from '../helpers/runner.js';

let mock: MockServer | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

async function multiTurn(prefill: number) {
  mock = await startMock({
    config: {
      latency: { ttft_base_ms: 5, prefill_ms_per_input_token: prefill, itl_ms: { type: 'fixed', mean: 1 } },
    },
  });
  const s = scenario({
    target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
    request: { max_tokens: 30, prompt_tokens: 20, turns: 4 },
    load: { type: 'closed', concurrency: 3, streams: 12, duration: '60s' },
  });
  // A first run compiles the runner's and the mock's hot paths (they share this thread): its first
  // streams would otherwise carry tens of ms of JIT in turn 1 alone.
  await runLocal(s);
  return runLocal(s);
}

describe('multi-turn sessions', () => {
  it('TTFT rises with the turn index when prefill costs per input token', async () => {
    const r = await multiTurn(1);
    expectOneOutcomeEach(r);
    expect(r.streams.by_outcome.completed).toBe(12);
    const turns = r.workload!.per_turn;
    expect(turns.map((t) => t.turn)).toEqual([1, 2, 3, 4]);
    expect(turns.map((t) => t.streams)).toEqual([3, 3, 3, 3]);
    for (let i = 1; i < turns.length; i++) {
      // The history grows by a user message and an answer (~60 tokens) a turn: ~60 ms more prefill.
      expect(turns[i]!.input_tokens.p50).toBeGreaterThan(turns[i - 1]!.input_tokens.p50 + 30);
      expect(turns[i]!.ttft_ms.p50).toBeGreaterThan(turns[i - 1]!.ttft_ms.p50 + 20);
    }
    const text = formatSummary(r, { color: false });
    expect(text).toMatch(/turn\s+streams\s+ttft p50/);
    expect(text).toMatch(/^4\s+3\s/m);
  });

  it('TTFT stays flat over turns when prefill is free', async () => {
    const r = await multiTurn(0);
    const turns = r.workload!.per_turn;
    expect(turns).toHaveLength(4);
    expect(turns[3]!.input_tokens.p50).toBeGreaterThan(turns[0]!.input_tokens.p50 + 100);
    const p50s = turns.map((t) => t.ttft_ms.p50);
    // Flat: no turn more than 15 ms (the base TTFT is 5 ms) from the first, although the history grew.
    for (const v of p50s) expect(Math.abs(v - p50s[0]!)).toBeLessThan(15);
  });
});

describe('prompt datasets and rich requests', () => {
  it('draws prompts from a JSONL dataset; output_tokens sets max_tokens exactly', async () => {
    mock = await startMock({
      config: { latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 0.2 } } },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ts-ds-'));
    const file = join(dir, 'prompts.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ prompt: 'hello there', output_tokens: 7 })}\n\n${JSON.stringify({
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 'c' },
        ],
        output_tokens: 7,
      })}\n`,
    );
    const r = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        request: { dataset: file },
        load: { type: 'closed', concurrency: 2, streams: 10, duration: '30s' },
      }),
    );
    expect(r.streams.by_outcome.completed).toBe(10);
    expect(r.tokens.output_total).toBe(70);
  });

  it('structured output gets first_field_ms; thinking and tools their channels and tool-call metrics', async () => {
    mock = await startMock({
      config: { latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 0.5 } } },
    });
    const r = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        request: {
          max_tokens: 40,
          thinking: { budget_tokens: 1024 },
          output_schema: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } } },
        },
        load: { type: 'closed', concurrency: 2, streams: 6, duration: '30s' },
      }),
    );
    expect(r.streams.by_outcome.completed).toBe(6);
    for (const m of ['ttft_thinking_ms', 'ttfa_ms', 'first_field_ms'] as const)
      expect(r.metrics[m].count).toBe(6);
    // Under load the pieces up to the first field may arrive in one read: the same timestamp.
    expect(r.metrics.first_field_ms.p50).toBeGreaterThanOrEqual(r.metrics.ttfa_ms.p50);
    expect(r.workload!.content_events.thinking).toBe(6 * 32);
    const t = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/chat/completions`, protocol: 'openai' },
        request: {
          max_tokens: 40,
          tools: [{ name: 'f', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
        },
        load: { type: 'closed', concurrency: 2, streams: 4, duration: '30s' },
      }),
    );
    expect(t.workload!.tool_calls).toEqual({ started: 4, completed: 4, invalid_args: 0 });
    expect(t.metrics.tool_args_complete_ms.p50).toBeGreaterThanOrEqual(t.metrics.tool_call_first_ms.p50);
  });

  it('flags a tool call whose arguments never became valid JSON (truncated mid-arguments)', async () => {
    mock = await startMock({
      config: { latency: { ttft_base_ms: 1, itl_ms: { type: 'fixed', mean: 0.2 } } },
    });
    const r = await runLocal(
      scenario({
        target: { url: `${mock.url}/v1/messages`, protocol: 'anthropic' },
        request: {
          max_tokens: 40,
          tools: [{ name: 'f', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
        },
        faults: { upstream: [{ kind: 'truncate', after_tokens: 5, probability: 1 }] },
        load: { type: 'closed', concurrency: 1, streams: 2, duration: '30s' },
      }),
    );
    expect(r.workload!.tool_calls.started).toBe(2);
    expect(r.workload!.tool_calls.invalid_args).toBe(2);
    expect(formatSummary(r, { color: false })).toMatch(/2 with invalid JSON arguments/);
  });
});
