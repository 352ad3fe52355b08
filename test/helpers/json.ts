// The "valid prefix" relation between a partial JSON value and the final one (the contract of
// src/json/partial.ts), shared by the parser's tests and the reference server's relay tests.

/**
 * `p` is a valid prefix of `f`:
 * - strings: p is a prefix of f;
 * - numbers, booleans, null: equal (never partial);
 * - arrays: p.length <= f.length, every element but the last equal to f's, the last a valid prefix;
 * - objects: p's keys are the first keys of f in order, every value but the last equal to f's,
 *   the last a valid prefix.
 */
export function validPrefix(p: unknown, f: unknown): boolean {
  if (typeof f === 'string') return typeof p === 'string' && f.startsWith(p);
  if (f === null || typeof f !== 'object') return Object.is(p, f);
  if (Array.isArray(f)) {
    if (!Array.isArray(p) || p.length > f.length) return false;
    return p.every((v, i) => (i < p.length - 1 ? jsonEqual(v, f[i]) : validPrefix(v, f[i])));
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return false;
  const fk = Object.keys(f);
  const pk = Object.keys(p);
  if (pk.length > fk.length || pk.some((k, i) => k !== fk[i])) return false;
  const po = p as Record<string, unknown>;
  const fo = f as Record<string, unknown>;
  return pk.every((k, i) => (i < pk.length - 1 ? jsonEqual(po[k], fo[k]) : validPrefix(po[k], fo[k])));
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
