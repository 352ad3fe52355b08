import { describe, expect, it } from 'vitest';
import { parseAnthropicRequest, parseOpenAIRequest } from '../../src/mock/requests.js';

describe('request validation messages', () => {
  it('a missing nested field reads "Field required", never "received undefined"', () => {
    // Found by the random-seed fuzz run: an OpenAI message without a role.
    const r = parseOpenAIRequest({ model: 'm', messages: [{ content: 'no role' }] });
    expect(r).toEqual({ ok: false, message: 'messages[0].role: Field required (expected string)' });
    const a = parseAnthropicRequest({
      model: 'm',
      max_tokens: 1,
      messages: [{ role: 'user', content: [{}] }],
    });
    expect(a.ok).toBe(false);
    expect(a.ok ? '' : a.message).not.toMatch(/undefined/);
  });

  it('lists every missing top-level field', () => {
    expect(parseAnthropicRequest({})).toEqual({
      ok: false,
      message: 'model: Field required; max_tokens: Field required; messages: Field required',
    });
  });
});
