import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../src/sse/types.js';
import { fixture, runAccumulator } from '../helpers/protocols.js';

const ev = (type: string, data: string): SseEvent => ({ type, data, lastEventId: '' });
const META = ev('meta', '{"stream_id":"abc","model":"m"}');

describe('reference protocol', () => {
  it('turns a captured server stream into start, tokens, usage and stop', () => {
    const { events, summary } = runAccumulator('reference', fixture('reference-text.sse'));
    expect(events[0]).toEqual({ kind: 'start', model: 'claude-sonnet-5-5' });
    expect(events.filter((e) => e.kind === 'token')).toHaveLength(6);
    expect(events.at(-1)).toEqual({ kind: 'stop', reason: 'max_tokens' });
    expect(summary).toMatchObject({ outcome: 'completed', textChars: 40, outputTokens: 6, inputTokens: 4 });
  });

  it('reports an error event as stream_error with its type', () => {
    const { summary } = runAccumulator('reference', [
      META,
      ev('delta', '{"text":"hi"}'),
      ev('error', '{"type":"server_shutdown","message":"draining","retryable":true}'),
    ]);
    expect(summary).toMatchObject({
      outcome: 'stream_error',
      errorType: 'server_shutdown',
      errorMessage: 'draining',
    });
  });

  it('catches lost text: done.output_chars must match the deltas', () => {
    const { summary } = runAccumulator('reference', [
      META,
      ev('delta', '{"text":"hello"}'),
      ev('done', '{"stop_reason":"end_turn","output_chars":11,"output_tokens":2,"sha256":"x"}'),
    ]);
    expect(summary.outcome).toBe('protocol_error');
    expect(summary.errorMessage).toContain('done reports 11 output characters but the deltas carried 5');
  });

  it('enforces meta first and once', () => {
    expect(runAccumulator('reference', [ev('delta', '{"text":"a"}')]).summary.errorType).toBe(
      'E_PROTOCOL_ORDER',
    );
    expect(runAccumulator('reference', [META, META]).summary.errorMessage).toContain('a second meta');
  });

  it('is truncated without a terminal event, and ignores unknown events', () => {
    const { summary } = runAccumulator('reference', [
      META,
      ev('surprise', '{}'),
      ev('delta', '{"text":"a"}'),
    ]);
    expect(summary).toMatchObject({
      outcome: 'truncated',
      ignoredEvents: 1,
      errorMessage: 'stream ended without done or error',
    });
  });
});
