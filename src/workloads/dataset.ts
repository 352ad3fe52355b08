// Prompt datasets: a JSONL file, one prompt per line, drawn uniformly (seeded) per stream.
//   {"messages": [{"role": "user", "content": "…"}, …], "output_tokens": 120}
//   {"prompt": "…"}                                   (shorthand for one user message)
// `output_tokens` (optional) is the expected output length: it becomes the stream's max_tokens
// (the mock generates exactly max_tokens when its profile has no output_tokens distribution).
import type { ChatMessage } from '../runner/request.js';
import { isCount, readJsonl, resolveWorkloadPath } from './jsonl.js';

export interface DatasetRow {
  messages: ChatMessage[];
  output_tokens?: number;
}

function parseRow(v: Record<string, unknown>): DatasetRow | string {
  let messages: ChatMessage[];
  if (typeof v['prompt'] === 'string' && v['prompt'] !== '') {
    messages = [{ role: 'user', content: v['prompt'] }];
  } else if (Array.isArray(v['messages']) && v['messages'].length > 0) {
    messages = [];
    for (const m of v['messages'] as unknown[]) {
      const mm = m as { role?: unknown; content?: unknown } | null;
      if (
        mm === null ||
        typeof mm !== 'object' ||
        (mm.role !== 'user' && mm.role !== 'assistant') ||
        typeof mm.content !== 'string'
      )
        return 'each message needs role "user" or "assistant" and a string content';
      messages.push({ role: mm.role, content: mm.content });
    }
    if (messages.at(-1)!.role !== 'user') return "the last message must be the user's";
  } else {
    return 'needs "messages" (a non-empty list of {role, content}) or "prompt" (a string)';
  }
  const out = v['output_tokens'];
  if (out !== undefined && (!isCount(out) || out === 0)) return '"output_tokens" must be a positive integer';
  return out === undefined ? { messages } : { messages, output_tokens: out };
}

export function loadDataset(path: string, baseDir: string): DatasetRow[] {
  return readJsonl(resolveWorkloadPath(path, baseDir), 'prompt dataset', parseRow);
}
