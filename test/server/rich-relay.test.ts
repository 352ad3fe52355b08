// Thinking, tool use and structured output through the reference server (docs/server.md
// "Thinking, tool use and structured output"): the typed events in order, partial values that are
// valid prefixes of the final object at every step (the mock cuts the arguments every character,
// so the server sees every prefix), the answer-text integrity contract (ids, sha256) with the
// runner's ReferenceAccumulator, replay of the new events after the stream ended, the request
// validation, and the runner's content-channel metrics measured through the server.
import { describe, expect, it } from 'vitest';
import { ReferenceAccumulator } from '../../src/protocols/reference.js';
import type { StreamEvent } from '../../src/protocols/types.js';
import { validPrefix } from '../helpers/json.js';
import { runLocal, scenario } from '../helpers/runner.js';
import {
  dataOf,
  expectWholeStream,
  fastMock,
  openStream,
  resumeStream,
  type SseEvent,
  useServers,
} from '../helpers/server.js';

const start = useServers();

const TOOL_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    days: { type: 'integer' },
    score: { type: 'number' },
    metric: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    where: { type: 'object', properties: { lat: { type: 'number' }, note: { type: 'string' } } },
  },
};
const TOOLS = [{ name: 'lookup', description: 'Look a city up.', input_schema: TOOL_SCHEMA }];
const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    count: { type: 'integer' },
    items: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
    ok: { type: 'boolean' },
  },
};

/** Every tool argument fragment is one character: the relay parses every prefix of the arguments. */
const mock = fastMock(0.2, { responses: { thinking_tokens: 8, tool_fragment_chars: [1, 1] } });

/** Event types with consecutive repeats collapsed: [meta, thinking, thinking] → [meta, thinking]. */
function runs(events: readonly SseEvent[]): string[] {
  return events.map((e) => e.type).filter((t, i, all) => i === 0 || all[i - 1] !== t);
}

/** Feeds the events to the runner's accumulator (as one connection) and returns what it emitted. */
function accumulate(events: readonly SseEvent[]) {
  const out: StreamEvent[] = [];
  const acc = new ReferenceAccumulator((e) => out.push(e));
  for (const e of events) acc.push({ type: e.type, data: e.data, lastEventId: e.id ?? '' });
  return { out, summary: acc.end(), verified: acc.verified };
}

/** Checks each value is a valid prefix of `final`, and of every later value (nothing taken back). */
function expectGrowingPrefixes(values: readonly unknown[], final: unknown): void {
  expect(values.length).toBeGreaterThan(0);
  for (const [i, v] of values.entries()) {
    expect(validPrefix(v, final), `value ${i}: ${JSON.stringify(v)}`).toBe(true);
    if (i > 0) expect(validPrefix(values[i - 1], v), `value ${i - 1} vs ${i}`).toBe(true);
  }
  expect(values.at(-1)).toEqual(final);
}

describe('thinking and tool use through the reference server', () => {
  it('relays thinking, tool_call, tool_input with valid partial values, and tool_done', async () => {
    const server = await start({}, mock);
    const r = await openStream(server.url, {
      prompt: 'What is the weather in Paris?',
      max_tokens: 300,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: TOOLS,
    });
    expect(r.status).toBe(200);
    const id = r.headers.get('x-stream-id')!;
    // Ids contiguous over every event; sha256 and output_chars cover the answer deltas only.
    const { text, done } = expectWholeStream(r.events, id);
    expect(runs(r.events)).toEqual([
      'meta',
      'usage',
      'thinking',
      'delta',
      'tool_call',
      'tool_input',
      'tool_done',
      'usage',
      'done',
    ]);
    expect(done.stop_reason).toBe('tool_use');

    const thinking = r.events.filter((e) => e.type === 'thinking').map((e) => dataOf(e));
    expect(thinking).toHaveLength(8);
    for (const t of thinking) expect(t).toEqual({ index: 0, text: expect.any(String) });

    const call = dataOf(r.events.find((e) => e.type === 'tool_call'));
    expect(call).toEqual({ index: 2, id: expect.stringMatching(/^toolu_/), name: 'lookup' });
    const inputs = r.events
      .filter((e) => e.type === 'tool_input')
      .map((e) => dataOf<{ index: number; partial_json: string; value?: unknown }>(e));
    for (const i of inputs) expect(i.index).toBe(2);
    const json = inputs.map((i) => i.partial_json).join('');
    expect(inputs.every((i) => i.partial_json.length === 1)).toBe(true);
    const final = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(final)).toEqual(Object.keys(TOOL_SCHEMA.properties));
    const toolDone = dataOf(r.events.find((e) => e.type === 'tool_done'));
    expect(toolDone).toEqual({ index: 2, input: final });
    // A value rides along whenever the arguments so far changed: the first one at the first
    // character (`{`), and fewer values than fragments (a number or a key adds nothing until done).
    const values = inputs.filter((i) => 'value' in i).map((i) => i.value);
    expect(values[0]).toEqual({});
    expect(values.length).toBeLessThan(inputs.length);
    expectGrowingPrefixes(values, final);

    // The runner's accumulator: integrity verified, the same channels and tool-call events as the
    // Anthropic adapter would emit from the upstream stream.
    const { out, summary, verified } = accumulate(r.events);
    expect(summary.outcome).toBe('completed');
    expect(verified).toBe(true);
    expect(summary.textChars).toBe(text.length);
    expect(summary.thinkingChars).toBe(
      thinking.map((t) => (t['text'] as string).length).reduce((a, b) => a + b),
    );
    expect(summary.toolInputChars).toBe(json.length);
    expect(out.filter((e) => e.kind === 'tool_call')).toEqual([
      { kind: 'tool_call', phase: 'start', index: 2, name: 'lookup', id: call['id'] },
      { kind: 'tool_call', phase: 'stop', index: 2 },
    ]);
    const channels = out.flatMap((e) => (e.kind === 'token' ? [e.channel] : []));
    expect(channels.filter((c, i) => i === 0 || channels[i - 1] !== c)).toEqual([
      'thinking',
      'text',
      'tool_input',
    ]);
  });

  it('replays the new events byte for byte after the stream ended (packed storage)', async () => {
    const server = await start({}, mock);
    const r = await openStream(server.url, {
      prompt: 'Again, with a replay.',
      max_tokens: 300,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: TOOLS,
      tool_choice: { type: 'tool', name: 'lookup' },
    });
    const id = r.headers.get('x-stream-id')!;
    const replay = await resumeStream(server.url, id, `${id}:0`);
    expect(replay.status).toBe(200);
    const strip = (es: readonly SseEvent[]) => es.map(({ id, type, data }) => ({ id, type, data }));
    expect(strip(replay.events)).toEqual(strip(r.events));
    expect(replay.events.some((e) => e.type === 'tool_input')).toBe(true);
  });
});

describe('structured output through the reference server', () => {
  it('sends a partial event after each delta that changes the answer object, each a valid prefix', async () => {
    const server = await start({}, mock);
    const r = await openStream(server.url, {
      prompt: 'Summarise as JSON.',
      max_tokens: 400,
      output_format: { type: 'json_schema', schema: OUTPUT_SCHEMA },
    });
    const id = r.headers.get('x-stream-id')!;
    const { text, done } = expectWholeStream(r.events, id);
    expect(done.stop_reason).toBe('end_turn');
    const final = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(final)).toEqual(Object.keys(OUTPUT_SCHEMA.properties));
    // A partial event always directly follows the delta that changed the value.
    let answer = '';
    const values: unknown[] = [];
    for (const [i, e] of r.events.entries()) {
      if (e.type === 'delta') answer += dataOf<{ text: string }>(e).text;
      if (e.type !== 'partial') continue;
      expect(r.events[i - 1]!.type).toBe('delta');
      const { value } = dataOf<{ value: unknown }>(e);
      expect(validPrefix(value, JSON.parse(JSON.stringify(final))), `at ${answer.length} chars`).toBe(true);
      values.push(value);
    }
    expectGrowingPrefixes(values, final);
    for (let i = 1; i < values.length; i++) expect(values[i]).not.toEqual(values[i - 1]);
    const { summary, verified, out } = accumulate(r.events);
    expect(summary.outcome).toBe('completed');
    expect(verified).toBe(true);
    expect(
      out
        .filter((e) => e.kind === 'token')
        .map((e) => (e.kind === 'token' ? e.text : ''))
        .join(''),
    ).toBe(text);
  });

  it('a plain request gets no rich events', async () => {
    const server = await start({}, mock);
    const r = await openStream(server.url, { prompt: 'Plain.', max_tokens: 10 });
    expect(runs(r.events)).toEqual(['meta', 'usage', 'delta', 'usage', 'done']);
  });
});

describe('request validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['thinking without a budget', { thinking: { type: 'enabled' } }, 'thinking.budget_tokens'],
    ['an unknown thinking type', { thinking: { type: 'sometimes' } }, 'thinking.type'],
    ['a tool without input_schema', { tools: [{ name: 'f' }] }, 'tools[0].input_schema'],
    [
      'a tool schema that is not an object type',
      { tools: [{ name: 'f', input_schema: { type: 'string' } }] },
      'tools[0].input_schema.type',
    ],
    ['a bad tool name', { tools: [{ name: 'a b', input_schema: { type: 'object' } }] }, 'tools[0].name'],
    ['empty tools', { tools: [] }, 'tools'],
    ['tool_choice without tools', { tool_choice: { type: 'auto' } }, 'tool_choice'],
    ['output_format of another type', { output_format: { type: 'text' } }, 'output_format.type'],
    ['output_format without a schema', { output_format: { type: 'json_schema' } }, 'output_format.schema'],
  ];
  for (const [what, extra, path] of cases)
    it(`400 for ${what}`, async () => {
      const server = await start({}, mock);
      const res = await fetch(`${server.url}/v1/chat/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'x', ...extra }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as {
        error: { type: string; message: string; fields: { path: string }[] };
      };
      expect(body.error.type).toBe('invalid_request');
      expect(body.error.fields.map((f) => f.path)).toContain(path);
      expect(body.error.message).toContain(`${path}: `);
      if (path === 'thinking.type') expect(body.error.message).toContain('{type: "enabled", budget_tokens');
    });
});

describe('the runner through the reference server', () => {
  it('measures thinking, answer, tool-call and first-field times from the relayed events', async () => {
    // 2 ms between tokens: the first answer token comes 8 thinking tokens (16 ms) after the first
    // thinking token, never in the same read.
    const server = await start(
      {},
      fastMock(2, { responses: { thinking_tokens: 8, tool_fragment_chars: [1, 6] } }),
    );
    const target = { url: `${server.url}/v1/chat/stream`, protocol: 'reference' };
    const load = { type: 'closed', concurrency: 2, streams: 4, duration: '30s' };
    const t = await runLocal(
      scenario({
        target,
        request: { max_tokens: 200, thinking: { budget_tokens: 1024 }, tools: TOOLS },
        load,
      }),
    );
    expect(t.streams.by_outcome.completed).toBe(4);
    expect(t.metrics.ttft_thinking_ms.count).toBe(4);
    expect(t.metrics.ttfa_ms.count).toBe(4);
    expect(t.metrics.ttfa_ms.p50).toBeGreaterThan(t.metrics.ttft_thinking_ms.p50);
    expect(t.workload!.content_events.thinking).toBe(4 * 8);
    expect(t.workload!.tool_calls).toEqual({ started: 4, completed: 4, invalid_args: 0 });
    expect(t.metrics.tool_args_complete_ms.count).toBe(4);
    expect(t.metrics.tool_args_complete_ms.p50).toBeGreaterThanOrEqual(t.metrics.tool_call_first_ms.p50);

    const s = await runLocal(
      scenario({ target, request: { max_tokens: 400, output_schema: OUTPUT_SCHEMA }, load }),
    );
    expect(s.streams.by_outcome.completed).toBe(4);
    expect(s.metrics.first_field_ms.count).toBe(4);
    expect(s.metrics.first_field_ms.p50).toBeGreaterThanOrEqual(s.metrics.ttfa_ms.p50);
  });
});
