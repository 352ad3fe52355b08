// A strict little XML parser and the common JUnit shape (testsuites > testsuite > testcase >
// failure|skipped, with matching counts), for tests of JUnit output.
import { expect } from 'vitest';

export interface Node {
  name: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

/** A strict little XML parser: throws on anything not well-formed (enough for JUnit files). */
export function parseXml(xml: string): Node {
  let i = 0;
  const skip = () => {
    while (/\s/.test(xml[i] ?? '')) i++;
  };
  const decode = (s: string) => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) throw new Error(`bad entity in ${s}`);
    if (/[<]/.test(s)) throw new Error(`raw < in ${s}`);
    return s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  const element = (): Node => {
    skip();
    const m = /^<([A-Za-z_][\w.-]*)/.exec(xml.slice(i));
    if (!m) throw new Error(`expected an element at ${i}`);
    i += m[0].length;
    const node: Node = { name: m[1]!, attrs: {}, children: [], text: '' };
    for (;;) {
      skip();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return node;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      const a = /^([A-Za-z_][\w.-]*)="([^"]*)"/.exec(xml.slice(i));
      if (!a) throw new Error(`bad attribute at ${i}: ${xml.slice(i, i + 30)}`);
      if (a[1]! in node.attrs) throw new Error(`duplicate attribute ${a[1]}`);
      node.attrs[a[1]!] = decode(a[2]!);
      i += a[0].length;
    }
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) throw new Error(`unclosed <${node.name}>`);
      node.text += decode(xml.slice(i, lt));
      i = lt;
      if (xml.startsWith(`</${node.name}>`, i)) {
        i += node.name.length + 3;
        return node;
      }
      if (xml.startsWith('</', i)) throw new Error(`mismatched close at ${i}`);
      node.children.push(element());
    }
  };
  const root = element();
  skip();
  if (i !== xml.length) throw new Error('content after the root element');
  return root;
}

/** The common JUnit shape; returns the test cases as {name, failed, skipped}. */
export function junitCases(
  xml: string,
): { name: string; failed: boolean; skipped: boolean; message?: string }[] {
  const root = parseXml(xml);
  expect(root.name).toBe('testsuites');
  const out: { name: string; failed: boolean; skipped: boolean; message?: string }[] = [];
  let failures = 0;
  for (const suite of root.children) {
    expect(suite.name).toBe('testsuite');
    expect(suite.attrs['name']).toMatch(/^(thresholds|regression|capacity|sweep)\b.*\S/);
    const cases = suite.children;
    expect(Number(suite.attrs['tests'])).toBe(cases.length);
    let f = 0;
    let s = 0;
    for (const c of cases) {
      expect(c.name).toBe('testcase');
      expect(c.attrs['name']).toMatch(/\S/);
      expect(c.attrs['classname']).toMatch(/^tokenstorm\.(run|compare|sweep)\.\S+$/);
      expect(c.children.length).toBeLessThanOrEqual(1);
      const child = c.children[0];
      if (child !== undefined) expect(['failure', 'skipped']).toContain(child.name);
      if (child?.name === 'failure') {
        f++;
        expect(child.attrs['message']).toMatch(/\S/);
      }
      if (child?.name === 'skipped') s++;
      out.push({
        name: c.attrs['name']!,
        failed: child?.name === 'failure',
        skipped: child?.name === 'skipped',
        ...(child?.name === 'failure' ? { message: child.attrs['message']! } : {}),
      });
    }
    expect(Number(suite.attrs['failures'])).toBe(f);
    expect(Number(suite.attrs['skipped'])).toBe(s);
    failures += f;
  }
  expect(Number(root.attrs['tests'])).toBe(out.length);
  expect(Number(root.attrs['failures'])).toBe(failures);
  return out;
}
