import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, formatError, TokenstormError } from '../src/errors.js';

// docs/errors.md has one table row per code: | `CODE` | exit | meaning | fix |
function docRows(): Map<string, { exit: number; meaning: string; fix: string }> {
  const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { exit: number; meaning: string; fix: string }>();
  for (const line of text.split('\n')) {
    const m = /^\| `(E_[A-Z0-9_]+)` \| (\d+) \| (.+?) \| (.+?) \|$/.exec(line);
    if (m) rows.set(m[1]!, { exit: Number(m[2]), meaning: m[3]!, fix: m[4]! });
  }
  return rows;
}

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes in src/errors.ts, with the same text', () => {
    const rows = docRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [code, def] of Object.entries(ERRORS)) {
      expect(rows.get(code), code).toEqual({ exit: def.exit, meaning: def.meaning, fix: def.fix });
    }
  });

  it('formats a coded error with its fix and every problem', () => {
    const err = new TokenstormError('E_CONFIG_INVALID', 'faults.yaml has 2 problems', {
      problems: ['a: must be a number', 'b: unknown field'],
    });
    expect(err.exitCode).toBe(2);
    const text = formatError(err);
    expect(text).toContain('[E_CONFIG_INVALID] faults.yaml has 2 problems');
    expect(text).toContain(ERRORS.E_CONFIG_INVALID.fix);
    expect(text).toContain('  - b: unknown field');
  });
});
