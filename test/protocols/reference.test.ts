import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReferenceAccumulator } from '../../src/protocols/reference.js';
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

  describe('integrity: contiguous event ids and the sha256 of the text', () => {
    const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
    const idEv = (seq: number, type: string, data: unknown): SseEvent => ({
      type,
      data: JSON.stringify(data),
      lastEventId: `abc:${seq}`,
    });
    const stream = (texts: string[], done: Record<string, unknown> = {}) => {
      const text = texts.join('');
      return [
        idEv(1, 'meta', { stream_id: 'abc', model: 'm' }),
        ...texts.map((t, i) => idEv(i + 2, 'delta', { text: t })),
        idEv(texts.length + 2, 'done', {
          stop_reason: 'end_turn',
          output_chars: text.length,
          output_tokens: texts.length,
          sha256: sha(text),
          ...done,
        }),
      ];
    };

    it('verifies an intact stream (ids 1…n, the text hashes to done.sha256), non-ASCII text included', () => {
      const acc = new ReferenceAccumulator();
      for (const e of stream(['Grüße ', '— ', '日本 ', '🙂'])) acc.push(e);
      expect(acc.end().outcome).toBe('completed');
      expect(acc.verified).toBe(true);
      expect(acc.lastEventId).toBe('abc:6');
    });

    it('a missing event is an integrity failure that names the gap', () => {
      const events = stream(['a', 'b', 'c']);
      events.splice(2, 1);
      const { summary } = runAccumulator('reference', events);
      expect(summary).toMatchObject({ outcome: 'protocol_error', errorType: 'E_PROTOCOL_INTEGRITY' });
      expect(summary.errorMessage).toBe('event abc:4 follows sequence 2: 1 event(s) missing (SSE event #3)');
    });

    it('a repeated event is an integrity failure', () => {
      const events = stream(['a', 'b', 'c']);
      events.splice(3, 0, events[2]!);
      const { summary } = runAccumulator('reference', events);
      expect(summary.errorType).toBe('E_PROTOCOL_INTEGRITY');
      expect(summary.errorMessage).toContain('repeats a sequence number already received (last 3)');
    });

    it('text altered with the same length fails on sha256', () => {
      const acc = new ReferenceAccumulator();
      for (const e of stream(['ab', 'cd'], { sha256: sha('abce') })) acc.push(e);
      const summary = acc.end();
      expect(summary).toMatchObject({ outcome: 'protocol_error', errorType: 'E_PROTOCOL_INTEGRITY' });
      expect(summary.errorMessage).toContain('text was altered');
      expect(acc.verified).toBe(false);
    });
  });
});
