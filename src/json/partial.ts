// A tolerant parser for JSON that is still arriving: parsePartial(text) returns the value the text
// so far describes, with the unfinished tail cut back to what is certain, so a browser can render
// tool arguments or structured output field by field (docs/server.md).
//
// What a partial value holds (the "valid prefix" contract the tests check at every byte):
// - every complete member equals the final one; only the last member of each object or array may be
//   unfinished, and it is itself a valid prefix;
// - an unfinished string is a prefix of the final string (an escape cut in half is left out);
// - an unfinished number, true, false or null is left out (its object key too): "12" of "123"
//   would not be a prefix of anything;
// - an object key that is not yet complete (or has no value yet) is left out.
// undefined when nothing is certain yet (empty text, or a lone number/literal at the top).
//
// Libraries considered: partial-json (npm, 0.1.x) does the same by re-parsing the whole text per
// call, as this does; it keeps partial numbers ("12" for "123", Allow.NUM) unless told otherwise.
// A self-contained parser keeps the prefix contract exact and adds no dependency; it is linear in
// the text, and the server calls it once per tool-input or answer delta.

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Cut extends Error {}
const CUT = new Cut();

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  get end(): boolean {
    return this.i >= this.s.length;
  }

  /** A value; throws CUT when the text ends before anything certain of it. Sets `partial` when cut short. */
  value(out: { partial: boolean }): unknown {
    this.ws();
    if (this.end) throw CUT;
    const c = this.s[this.i]!;
    if (c === '{') return this.object(out);
    if (c === '[') return this.array(out);
    if (c === '"') return this.string(out);
    return this.scalar();
  }

  private object(out: { partial: boolean }): Record<string, unknown> {
    this.i++;
    const obj: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.end) {
        out.partial = true;
        return obj;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return obj;
      }
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      const keyOut = { partial: false };
      let key: string;
      try {
        key = this.string(keyOut);
      } catch {
        out.partial = true;
        return obj;
      }
      if (keyOut.partial) {
        out.partial = true;
        return obj;
      }
      this.ws();
      if (this.end || this.s[this.i] !== ':') {
        out.partial = true;
        return obj;
      }
      this.i++;
      const vOut = { partial: false };
      try {
        obj[key] = this.value(vOut);
      } catch (err) {
        if (err !== CUT) throw err;
        out.partial = true;
        return obj;
      }
      if (vOut.partial) {
        out.partial = true;
        return obj;
      }
    }
  }

  private array(out: { partial: boolean }): unknown[] {
    this.i++;
    const arr: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.end) {
        out.partial = true;
        return arr;
      }
      if (this.s[this.i] === ']') {
        this.i++;
        return arr;
      }
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      const vOut = { partial: false };
      try {
        arr.push(this.value(vOut));
      } catch (err) {
        if (err !== CUT) throw err;
        out.partial = true;
        return arr;
      }
      if (vOut.partial) {
        out.partial = true;
        return arr;
      }
    }
  }

  private string(out: { partial: boolean }): string {
    if (this.s[this.i] !== '"') throw new SyntaxError(`expected a string at ${this.i}`);
    this.i++;
    let v = '';
    let start = this.i;
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        v += s.slice(start, this.i);
        this.i++;
        return v;
      }
      if (c === 0x5c) {
        v += s.slice(start, this.i);
        start = this.i; // a cut escape adds nothing after the loop
        const e = s[this.i + 1];
        if (e === undefined) break;
        if (e === 'u') {
          const hex = s.slice(this.i + 2, this.i + 6);
          if (hex.length < 4) break;
          const code = Number.parseInt(hex, 16);
          // A high surrogate whose low half (\uDC00…) has not fully arrived is left out, never emitted alone.
          if (code >= 0xd800 && code <= 0xdbff && this.i + 12 > s.length) break;
          v += String.fromCharCode(code);
          this.i += 6;
        } else {
          v += ESCAPES[e] ?? e;
          this.i += 2;
        }
        start = this.i;
        continue;
      }
      this.i++;
    }
    // Cut short: what is certain so far. A raw high surrogate at the very end waits for its pair.
    let tail = s.slice(start, this.i);
    const last = tail.charCodeAt(tail.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) tail = tail.slice(0, -1);
    const vv = v + tail;
    const lastV = vv.charCodeAt(vv.length - 1);
    out.partial = true;
    this.i = s.length;
    return lastV >= 0xd800 && lastV <= 0xdbff ? vv.slice(0, -1) : vv;
  }

  /** number, true, false, null: only when something follows it (it may still be growing otherwise). */
  private scalar(): unknown {
    const s = this.s;
    let j = this.i;
    while (j < s.length && !WS.has(s.charCodeAt(j)) && !',]}'.includes(s[j]!)) j++;
    if (j >= s.length) throw CUT;
    const tok = s.slice(this.i, j);
    this.i = j;
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (tok === 'null') return null;
    const n = Number(tok);
    if (tok === '' || Number.isNaN(n)) throw new SyntaxError(`unexpected "${tok}"`);
    return n;
  }
}

/** The value the JSON text so far describes (see the contract above); undefined when nothing yet. */
export function parsePartial(text: string): unknown {
  const p = new Parser(text);
  try {
    const v = p.value({ partial: false });
    return v;
  } catch {
    // CUT: nothing certain yet (a lone top-level number may still grow); SyntaxError: not JSON.
    return undefined;
  }
}
