// zod helpers shared by the scenario schema's parts: messages that say what to fix.
import { z } from 'zod';

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** ` (did you mean "x"?)` when one of `known` is close to `word` or starts with it, else ''. */
export function didYouMean(word: string, known: readonly string[]): string {
  const prefixed = known.find((k) => word.length >= 3 && k.startsWith(word));
  if (prefixed !== undefined) return ` (did you mean "${prefixed}"?)`;
  let best: string | undefined;
  let bestD = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d <= bestD) {
      best = k;
      bestD = d;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/**
 * A strict object whose unknown-key message names the key, suggests the closest allowed one and
 * lists the allowed fields. `misplaced` gives a specific message for keys that belong elsewhere.
 */
export function strict<T extends z.core.$ZodLooseShape>(
  shape: T,
  misplaced: Record<string, string> = {},
  notAMapping?: string,
) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'invalid_type' && iss.input !== undefined && notAMapping !== undefined)
        return notAMapping;
      if (iss.code !== 'unrecognized_keys') return undefined;
      const own = iss.keys.filter((k) => misplaced[k] === undefined);
      const parts = iss.keys.filter((k) => misplaced[k] !== undefined).map((k) => misplaced[k]!);
      if (own.length > 0)
        parts.push(
          `${own.map((k) => `unknown field "${k}"${didYouMean(k, allowed)}`).join(', ')}; allowed here: ${allowed.join(', ')}`,
        );
      return parts.join('; ');
    },
  });
}

/** Refinements that run even when other fields failed (see the top of the file). */
export const ALWAYS = { when: () => true };

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
