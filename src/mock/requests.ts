// Validation of the request bodies the mock accepts. Field-level messages in the style of
// the real APIs ("max_tokens: Field required"); unknown fields are accepted and ignored,
// so SDK options the mock does not model never break a run.
import { z } from 'zod';
import { formatIssuePath } from '../config/validate.js';
import type { RichRequest, ToolSpec } from './rich.js';

const required = (what: string) => (iss: { input: unknown }) =>
  iss.input === undefined ? 'Field required' : `Input should be ${what}`;

const textBlock = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(textBlock).min(1)], {
  error: 'Input should be a string or a non-empty list of content blocks',
});

const anthropicRequest = z.looseObject({
  model: z.string({ error: required('a model name string') }).min(1),
  max_tokens: z
    .number({ error: required('an integer >= 1') })
    .int()
    .min(1),
  messages: z
    .array(z.looseObject({ role: z.enum(['user', 'assistant']), content }), {
      error: required('a list of {role, content} messages'),
    })
    .min(1, 'at least one message is required'),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
});

const openaiRequest = z.looseObject({
  model: z.string({ error: required('a model name string') }).min(1),
  messages: z
    .array(
      z.looseObject({
        role: z.string(),
        content: z.union([z.string(), z.array(textBlock), z.null()]).optional(),
      }),
      { error: required('a list of {role, content} messages') },
    )
    .min(1, 'at least one message is required'),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  n: z.literal(1, { error: 'the mock generates one choice: n must be 1' }).nullish(),
});

/** What the engine needs from a request, whatever its protocol. */
export interface GenerationRequest {
  readonly model: string;
  readonly maxTokens: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** The prompt text (all messages and system prompt) used to seed the response text. */
  readonly prompt: string;
  readonly inputTokens: number;
  /** Thinking, a tool or structured output asked for; undefined for a plain text request. */
  readonly rich?: RichRequest;
}

export type ParseResult = { ok: true; request: GenerationRequest } | { ok: false; message: string };

/** OpenAI-compatible servers without max_tokens generate until end of sequence; we cap here. */
export const OPENAI_DEFAULT_MAX_TOKENS = 256;

function issuesMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`).join('; ');
}

function blockText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let out = '';
  for (const b of c) {
    if (b && typeof b === 'object') {
      const t = (b as { text?: unknown }).text;
      if (typeof t === 'string') out += t;
    }
  }
  return out;
}

/** Rough token estimate (4 characters per token), as the capacity model needs only a size. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function promptOf(system: unknown, messages: readonly { role: string; content?: unknown }[]): string {
  let prompt = system === undefined ? '' : `system:${blockText(system)}\n`;
  for (const m of messages) prompt += `${m.role}:${blockText(m.content)}\n`;
  return prompt;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * The tool the mock calls: the one tool_choice names, else the first (none when tool_choice is none).
 * `name` and `schema` read each tool's fields in the protocol's shape.
 */
function pickTool(
  tools: unknown,
  choice: unknown,
  read: (t: Record<string, unknown>) => ToolSpec | undefined,
): ToolSpec | null {
  if (!Array.isArray(tools) || tools.length === 0) return null;
  const c = obj(choice);
  if (choice === 'none' || c?.['type'] === 'none') return null;
  const specs = tools.map((t) => (obj(t) ? read(obj(t)!) : undefined)).filter((t) => t !== undefined);
  const wanted = c?.['name'] ?? obj(c?.['function'])?.['name'];
  return specs.find((t) => t.name === wanted) ?? specs[0] ?? null;
}

function richOf(
  thinking: RichRequest['thinking'],
  tool: ToolSpec | null,
  structured: unknown,
): RichRequest | undefined {
  if (thinking === null && tool === null && structured === null) return undefined;
  return { thinking, tool, structured };
}

/** Anthropic: thinking {type: enabled, budget_tokens}, tools + tool_choice, output_format {json_schema}. */
function anthropicRich(d: Record<string, unknown>): RichRequest | undefined {
  const th = obj(d['thinking']);
  const thinking =
    th?.['type'] === 'enabled'
      ? { budgetTokens: typeof th['budget_tokens'] === 'number' ? th['budget_tokens'] : 1024 }
      : null;
  const tool = pickTool(d['tools'], d['tool_choice'], (t) =>
    typeof t['name'] === 'string' ? { name: t['name'], schema: t['input_schema'] } : undefined,
  );
  const of = obj(d['output_format']);
  const structured = of === undefined ? null : (obj(of['schema']) ?? true);
  return richOf(thinking, tool, structured);
}

/** OpenAI: reasoning_effort, tools [{type: function, function}], response_format json_schema / json_object. */
function openaiRich(d: Record<string, unknown>, maxTokens: number): RichRequest | undefined {
  const effort = d['reasoning_effort'];
  const thinking =
    typeof effort === 'string' && effort !== 'none' && effort !== 'minimal'
      ? { budgetTokens: maxTokens }
      : null;
  const tool = pickTool(d['tools'], d['tool_choice'], (t) => {
    const f = obj(t['function']);
    return typeof f?.['name'] === 'string' ? { name: f['name'], schema: f['parameters'] } : undefined;
  });
  const rf = obj(d['response_format']);
  const structured =
    rf?.['type'] === 'json_schema'
      ? (obj(obj(rf['json_schema'])?.['schema']) ?? true)
      : rf?.['type'] === 'json_object'
        ? true
        : null;
  return richOf(thinking, tool, structured);
}

export function parseAnthropicRequest(body: unknown): ParseResult {
  const r = anthropicRequest.safeParse(body);
  if (!r.success) return { ok: false, message: issuesMessage(r.error) };
  const d = r.data;
  const prompt = promptOf(d.system, d.messages);
  const rich = anthropicRich(d);
  return {
    ok: true,
    request: {
      model: d.model,
      maxTokens: d.max_tokens,
      stream: d.stream === true,
      includeUsage: true,
      prompt,
      inputTokens: estimateTokens(prompt),
      ...(rich !== undefined ? { rich } : {}),
    },
  };
}

export function parseOpenAIRequest(body: unknown): ParseResult {
  const r = openaiRequest.safeParse(body);
  if (!r.success) return { ok: false, message: issuesMessage(r.error) };
  const d = r.data;
  const prompt = promptOf(undefined, d.messages);
  const maxTokens = d.max_completion_tokens ?? d.max_tokens ?? OPENAI_DEFAULT_MAX_TOKENS;
  const rich = openaiRich(d, maxTokens);
  return {
    ok: true,
    request: {
      model: d.model,
      maxTokens,
      stream: d.stream === true,
      includeUsage: d.stream_options?.include_usage === true,
      prompt,
      inputTokens: estimateTokens(prompt),
      ...(rich !== undefined ? { rich } : {}),
    },
  };
}
