import { describe, expect, it } from 'vitest';
import { splitInt } from '../../src/runner/executors.js';
import { globalShare, parseShard, parseStartAt, scenarioHash, shardFromArgs } from '../../src/shard/spec.js';
import { scenario } from '../helpers/runner.js';

describe('shard arguments', () => {
  it('parses i/N, numbered from 0 like JOB_COMPLETION_INDEX', () => {
    expect(parseShard('0/3')).toEqual({ index: 0, count: 3 });
    expect(parseShard(' 2 / 3 ')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('3/3')).toThrow(/0 to 2/);
    expect(() => parseShard('1-3')).toThrow(/not i\/N/);
    expect(() => parseShard('0/0')).toThrow(/count must be/);
  });

  it('takes the index from JOB_COMPLETION_INDEX with --shard-count', () => {
    expect(shardFromArgs(undefined, 4, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(shardFromArgs(undefined, undefined, { JOB_COMPLETION_INDEX: '3' })).toBeUndefined();
    expect(() => shardFromArgs(undefined, 4, {})).toThrow(/JOB_COMPLETION_INDEX/);
    expect(() => shardFromArgs(undefined, 4, { JOB_COMPLETION_INDEX: '4' })).toThrow(/0 to 3/);
    expect(() => shardFromArgs('0/2', 2, {})).toThrow(/not both/);
  });

  it('parses --start-at as epoch ms; empty is unset', () => {
    expect(parseStartAt('')).toBeUndefined();
    expect(parseStartAt('1700000000000')).toBe(1_700_000_000_000);
    expect(() => parseStartAt('soon')).toThrow(/epoch milliseconds/);
    expect(() => parseStartAt('1700000000')).toThrow(/epoch milliseconds/); // seconds, not ms
  });
});

describe('globalShare', () => {
  it('gives every thread of every shard its own share, and the shares split totals exactly', () => {
    const shares = [];
    for (let s = 0; s < 3; s++)
      for (let w = 0; w < 2; w++) shares.push(globalShare({ index: s, count: 3 }, { index: w, count: 2 }));
    expect(new Set(shares.map((x) => x.index)).size).toBe(6);
    expect(shares.every((x) => x.count === 6)).toBe(true);
    for (const total of [0, 1, 5, 60, 61, 1000])
      expect(shares.reduce((sum, sh) => sum + splitInt(total, sh), 0)).toBe(total);
    expect(globalShare(undefined, { index: 1, count: 2 })).toEqual({ index: 1, count: 2 });
  });
});

describe('scenarioHash', () => {
  const doc = {
    target: { url: 'http://127.0.0.1:1/v1/chat/stream', protocol: 'reference' },
    load: { type: 'closed', concurrency: 3, streams: 9 },
    thresholds: { ttft_ms: ['p(95)<500'] },
  };
  it('is stable and independent of key order', () => {
    const a = scenarioHash(scenario(doc));
    const b = scenarioHash(scenario({ thresholds: doc.thresholds, load: doc.load, target: doc.target }));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
  });
  it('changes with anything that changes the run', () => {
    const a = scenarioHash(scenario(doc));
    expect(scenarioHash(scenario({ ...doc, seed: 7 }))).not.toBe(a);
    expect(scenarioHash(scenario({ ...doc, load: { ...doc.load, concurrency: 4 } }))).not.toBe(a);
    expect(scenarioHash(scenario({ ...doc, thresholds: { ttft_ms: ['p(95)<501'] } }))).not.toBe(a);
  });
});
