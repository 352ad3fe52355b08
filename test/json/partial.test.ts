// The partial JSON parser and the top-level field watcher, on fixtures split at every position:
// every partial value is a valid prefix of the final one (defined in validPrefix, ../helpers/json.ts).
import { describe, expect, it } from 'vitest';
import { TopLevelFields } from '../../src/json/fields.js';
import { parsePartial } from '../../src/json/partial.js';
import { jsonEqual as equal, validPrefix } from '../helpers/json.js';

const FIXTURES: unknown[] = [
  { city: 'Paris', days: 3, units: 'c' },
  { a: { b: [1, 2.5, -3e2, { c: 'd' }], e: null }, f: true, g: false, h: '' },
  { text: 'quote " backslash \\ newline \n tab \t unicode é 😀 \u0001', n: 0 },
  { list: [[], {}, [[]], [{ x: [] }]], empty: {}, s: 'end' },
  { nums: [0, 10, 123456789, 1.25, -0.5], deep: { deeper: { deepest: { v: 'x' } } } },
  [1, 'two', { three: 3 }, [4]],
  { 'key with spaces': 'v', '': 'empty key', 'é😀': 'unicode key' },
];

describe('parsePartial', () => {
  for (const [n, value] of FIXTURES.entries()) {
    for (const [style, text] of [
      ['compact', JSON.stringify(value)],
      ['indented', JSON.stringify(value, null, 2)],
    ] as const) {
      it(`fixture ${n} (${style}): every prefix parses to a valid prefix of the final value`, () => {
        let last: unknown;
        for (let k = 0; k <= text.length; k++) {
          const p = parsePartial(text.slice(0, k));
          if (p === undefined) {
            expect(last, `prefix ${k} lost what prefix ${k - 1} had`).toBeUndefined();
            continue;
          }
          expect(validPrefix(p, value), `prefix ${k}: ${JSON.stringify(p)}`).toBe(true);
          // Growing text never takes back what a shorter prefix showed.
          if (last !== undefined) expect(validPrefix(last, p), `prefix ${k} vs ${k - 1}`).toBe(true);
          last = p;
        }
        expect(parsePartial(text)).toEqual(value);
      });
    }
  }

  it('leaves out unfinished numbers, literals and keys', () => {
    expect(parsePartial('{"a": 12')).toEqual({});
    expect(parsePartial('{"a": 12,')).toEqual({ a: 12 });
    expect(parsePartial('{"a": tr')).toEqual({});
    expect(parsePartial('{"ke')).toEqual({});
    expect(parsePartial('{"key"')).toEqual({});
    expect(parsePartial('{"key": "val')).toEqual({ key: 'val' });
    expect(parsePartial('{"key": "a\\')).toEqual({ key: 'a' });
    expect(parsePartial('{"key": "\\ud83d\\ude0')).toEqual({ key: '' });
    expect(parsePartial('')).toBeUndefined();
    expect(parsePartial('12')).toBeUndefined();
  });
});

describe('TopLevelFields', () => {
  for (const [n, value] of FIXTURES.entries()) {
    if (Array.isArray(value)) continue;
    const text = JSON.stringify(value, null, n % 2 === 0 ? undefined : 2);
    const keys = Object.keys(value as object);
    it(`fixture ${n}: split at every position, counts each field once, when its value is complete`, () => {
      for (let k = 0; k <= text.length; k++) {
        const w = new TopLevelFields();
        w.feed(text.slice(0, k));
        const at = w.complete;
        expect(w.feed(text.slice(k))).toBe(keys.length);
        // What the watcher counts as complete, the partial parse has in full: the first `at` fields equal.
        const p = (parsePartial(text.slice(0, k)) ?? {}) as Record<string, unknown>;
        for (const key of keys.slice(0, at))
          expect(equal(p[key], (value as Record<string, unknown>)[key]), `prefix ${k}, field ${key}`).toBe(
            true,
          );
      }
    });
  }
});
