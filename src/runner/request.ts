// Request bodies per protocol, and the prompts they carry. Everything drawn here comes from the
// scenario's seeded Rng, so a `--seed` reproduces the exact sequence of prompts.
//
// Beyond one synthetic prompt: a prompt dataset (JSONL rows of messages, each with an optional
// expected output length), per-stream output lengths (`output_tokens`), thinking, tools and
// structured output, multi-turn history (the caller passes the conversation so far) and trace
// arrivals (the caller passes the arrival's input and output lengths).
import { VOCAB } from '../mock/text.js';
import type { Protocol } from '../protocols/types.js';
import { type Rng, sampler } from '../random.js';
import type { Scenario } from '../scenario/schema.js';
import { type DatasetRow, loadDataset } from '../workloads/dataset.js';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** What a stream's caller decides about its request (all optional). */
export interface BodyParams {
  /** The conversation before this turn's user message (multi-turn sessions). */
  history?: readonly ChatMessage[];
  /** Synthesise the user message with about this many tokens (trace replay). */
  inputTokens?: number;
  /** max_tokens for this stream (trace replay, dataset rows). */
  maxTokens?: number;
}

/** One stream's request: the body, and the user message it sent (sessions append it to the history). */
export interface BuiltRequest {
  body: string;
  user: ChatMessage[];
}

export interface RequestSpec {
  /** Absolute URL of the streaming endpoint. */
  url: URL;
  headers: Record<string, string>;
  protocol: Protocol;
  /** The answer is structured output (JSON): the client watches it for its first complete field. */
  structured: boolean;
  /** A fresh request for the next stream. */
  build(rng: Rng, params?: BodyParams): BuiltRequest;
  /** A fresh JSON body for the next stream (build without params). */
  body(rng: Rng): string;
}

/** Headers every protocol needs, under the scenario's own (which win). */
function baseHeaders(protocol: Protocol): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (protocol === 'anthropic') h['anthropic-version'] = '2023-06-01';
  return h;
}

/** Synthetic text of `n` vocabulary words (about n tokens). */
export function syntheticText(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += VOCAB[rng.int(VOCAB.length)];
  return s.trimEnd();
}

/** A prompt source: the scenario's list, or synthetic text of a drawn number of words. */
export function promptSource(req: Scenario['request']): (rng: Rng) => string {
  if (req.prompts !== undefined) {
    const prompts = req.prompts;
    return (rng) => prompts[rng.int(prompts.length)]!;
  }
  const spec = req.prompt_tokens ?? 16;
  const draw = typeof spec === 'number' ? () => spec : sampler(spec);
  return (rng) => syntheticText(rng, Math.max(1, Math.round(draw(rng))));
}

/** The rich fields of a request body in the protocol's shape (thinking, tools, structured output). */
function richFields(protocol: Protocol, req: Scenario['request']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (protocol === 'openai') {
    if (req.thinking !== undefined) out['reasoning_effort'] = req.thinking.effort;
    if (req.tools !== undefined)
      out['tools'] = req.tools.map((t) => ({
        type: 'function',
        function: {
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          parameters: t.input_schema,
        },
      }));
    if (req.output_schema !== undefined)
      out['response_format'] = {
        type: 'json_schema',
        json_schema: { name: 'output', schema: req.output_schema },
      };
    return out;
  }
  if (req.thinking !== undefined)
    out['thinking'] = { type: 'enabled', budget_tokens: req.thinking.budget_tokens };
  if (req.tools !== undefined) out['tools'] = req.tools;
  if (req.output_schema !== undefined)
    out['output_format'] = { type: 'json_schema', schema: req.output_schema };
  return out;
}

export function requestSpec(
  url: string,
  protocol: Protocol,
  scenario: Scenario,
  baseDir = process.cwd(),
): RequestSpec {
  const req = scenario.request;
  const prompt = promptSource(req);
  const dataset: readonly DatasetRow[] | undefined =
    req.dataset !== undefined ? loadDataset(req.dataset, baseDir) : undefined;
  const outLen = req.output_tokens;
  const drawOut =
    outLen === undefined ? undefined : typeof outLen === 'number' ? () => outLen : sampler(outLen);
  const extra = req.extra_body;
  const rich = richFields(protocol, req);
  const headers: Record<string, string> = { ...baseHeaders(protocol) };
  for (const [k, v] of Object.entries(scenario.target.headers)) headers[k.toLowerCase()] = v;

  /** This stream's new user messages and max_tokens. */
  const turn = (rng: Rng, p: BodyParams): { user: ChatMessage[]; maxTokens: number } => {
    let maxTokens = req.max_tokens;
    let user: ChatMessage[];
    if (p.inputTokens !== undefined) {
      user = [{ role: 'user', content: syntheticText(rng, Math.max(1, p.inputTokens)) }];
    } else if (dataset !== undefined) {
      const row = dataset[rng.int(dataset.length)]!;
      // Later turns of a session continue with the row's last user message only.
      user = p.history !== undefined && p.history.length > 0 ? row.messages.slice(-1) : [...row.messages];
      if (row.output_tokens !== undefined) maxTokens = row.output_tokens;
    } else {
      user = [{ role: 'user', content: prompt(rng) }];
    }
    if (drawOut !== undefined) maxTokens = Math.max(1, Math.round(drawOut(rng)));
    if (p.maxTokens !== undefined) maxTokens = p.maxTokens;
    return { user, maxTokens };
  };

  let build: (rng: Rng, p?: BodyParams) => BuiltRequest;
  switch (protocol) {
    case 'reference':
    case 'anthropic': {
      // The reference server takes the Messages API's fields (thinking, tools and output_format
      // too); only the upstream needs stream: true.
      const stream = protocol === 'anthropic' ? { stream: true } : {};
      build = (rng, p = {}) => {
        const t = turn(rng, p);
        const body = JSON.stringify({
          model: req.model,
          max_tokens: t.maxTokens,
          ...stream,
          system: req.system,
          temperature: req.temperature,
          messages: [...(p.history ?? []), ...t.user],
          ...rich,
          ...extra,
        });
        return { body, user: t.user };
      };
      break;
    }
    case 'openai':
      build = (rng, p = {}) => {
        const t = turn(rng, p);
        const body = JSON.stringify({
          model: req.model,
          max_tokens: t.maxTokens,
          stream: true,
          // Usage in the final chunk, so output tokens come from the server, not from counting chunks.
          stream_options: { include_usage: true },
          temperature: req.temperature,
          messages: [
            ...(req.system !== undefined ? [{ role: 'system', content: req.system }] : []),
            ...(p.history ?? []),
            ...t.user,
          ],
          ...rich,
          ...extra,
        });
        return { body, user: t.user };
      };
      break;
  }
  return {
    url: new URL(url),
    headers,
    protocol,
    structured: req.output_schema !== undefined,
    build,
    body: (rng) => build(rng).body,
  };
}
