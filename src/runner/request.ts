// Request bodies per protocol, and the prompts they carry. Everything drawn here comes from the
// scenario's seeded Rng, so a `--seed` reproduces the exact sequence of prompts.
import { VOCAB } from '../mock/text.js';
import type { Protocol } from '../protocols/types.js';
import { type Rng, sampler } from '../random.js';
import type { Scenario } from '../scenario/schema.js';

export interface RequestSpec {
  /** Absolute URL of the streaming endpoint. */
  url: URL;
  headers: Record<string, string>;
  protocol: Protocol;
  /** A fresh JSON body for the next stream. */
  body(rng: Rng): string;
}

/** Headers every protocol needs, under the scenario's own (which win). */
function baseHeaders(protocol: Protocol): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (protocol === 'anthropic') h['anthropic-version'] = '2023-06-01';
  return h;
}

/** A prompt source: the scenario's list, or synthetic text of a drawn number of words. */
export function promptSource(req: Scenario['request']): (rng: Rng) => string {
  if (req.prompts !== undefined) {
    const prompts = req.prompts;
    return (rng) => prompts[rng.int(prompts.length)]!;
  }
  const spec = req.prompt_tokens ?? 16;
  const draw = typeof spec === 'number' ? () => spec : sampler(spec);
  return (rng) => {
    const n = Math.max(1, Math.round(draw(rng)));
    let s = '';
    for (let i = 0; i < n; i++) s += VOCAB[rng.int(VOCAB.length)];
    return s.trimEnd();
  };
}

export function requestSpec(url: string, protocol: Protocol, scenario: Scenario): RequestSpec {
  const req = scenario.request;
  const prompt = promptSource(req);
  const extra = req.extra_body;
  const headers: Record<string, string> = { ...baseHeaders(protocol) };
  for (const [k, v] of Object.entries(scenario.target.headers)) headers[k.toLowerCase()] = v;
  let body: (rng: Rng) => string;
  switch (protocol) {
    case 'reference':
    case 'anthropic': {
      // The reference server takes the Messages API's fields; only the upstream needs stream: true.
      const stream = protocol === 'anthropic' ? { stream: true } : {};
      body = (rng) =>
        JSON.stringify({
          model: req.model,
          max_tokens: req.max_tokens,
          ...stream,
          system: req.system,
          temperature: req.temperature,
          messages: [{ role: 'user', content: prompt(rng) }],
          ...extra,
        });
      break;
    }
    case 'openai':
      body = (rng) =>
        JSON.stringify({
          model: req.model,
          max_tokens: req.max_tokens,
          stream: true,
          // Usage in the final chunk, so output tokens come from the server, not from counting chunks.
          stream_options: { include_usage: true },
          temperature: req.temperature,
          messages: [
            ...(req.system !== undefined ? [{ role: 'system', content: req.system }] : []),
            { role: 'user', content: prompt(rng) },
          ],
          ...extra,
        });
      break;
  }
  return { url: new URL(url), headers, protocol, body };
}
