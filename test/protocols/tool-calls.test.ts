// tool_call events: where a tool call starts and where its arguments are complete, per protocol.
import { describe, expect, it } from 'vitest';
import { fixture, runAccumulator } from '../helpers/protocols.js';

describe('tool_call events', () => {
  it('anthropic: start at content_block_start of a tool_use block, stop at its content_block_stop', () => {
    const r = runAccumulator('anthropic', fixture('anthropic-tool-use.sse'));
    const kinds = r.events.filter((e) => e.kind === 'tool_call' || e.kind === 'token');
    const start = kinds.findIndex((e) => e.kind === 'tool_call' && e.phase === 'start');
    const stop = kinds.findIndex((e) => e.kind === 'tool_call' && e.phase === 'stop');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(stop).toBeGreaterThan(start);
    // Every tool_input token lies between them.
    kinds.forEach((e, i) => {
      if (e.kind === 'token' && e.channel === 'tool_input') {
        expect(i).toBeGreaterThan(start);
        expect(i).toBeLessThan(stop);
      }
    });
    expect(kinds[start]).toMatchObject({ kind: 'tool_call', phase: 'start', name: expect.any(String) });
  });

  it('openai: start at the first tool_calls delta of a call, stop at the finish_reason', () => {
    const r = runAccumulator('openai', fixture('openai-tool-calls.sse'));
    const calls = r.events.filter((e) => e.kind === 'tool_call');
    const starts = calls.filter((e) => e.kind === 'tool_call' && e.phase === 'start');
    const stops = calls.filter((e) => e.kind === 'tool_call' && e.phase === 'stop');
    expect(starts.length).toBeGreaterThan(0);
    expect(stops.map((e) => e.index).sort()).toEqual(starts.map((e) => e.index).sort());
    expect(r.summary.outcome).toBe('completed');
  });
});
