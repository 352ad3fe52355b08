// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, and total
// (inclusive) time of the functions that matter, so a benchmark's profile reads in a terminal.
// Usage: npx tsx bench/lib/cpuprofile-top.ts FILE.cpuprofile [TOP=25] [FILTER]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, filter] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const p = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++)
  selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));

const short = (url: string) =>
  url
    .replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')
    .replace(/^node:/, '')
    .replace(/^file:\/\/.*\/work\/main\//, '');
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const self = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const l = label(n);
  self.set(l, (self.get(l) ?? 0) + us);
  const f = short(n.callFrame.url) || `(${n.callFrame.functionName})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  // Inclusive: charge every distinct frame on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const ll = label(byId.get(cur)!);
    if (seen.has(ll)) continue;
    seen.add(ll);
    inclusive.set(ll, (inclusive.get(ll) ?? 0) + us);
  }
}
const pct = (us: number) =>
  `${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
const print = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    if (filter === undefined || k.includes(filter)) console.log(`${pct(v)}  ${k}`);
};
console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms sampled`);
print('self time by file', byFile, 15);
print('self time by function', self, top);
print('inclusive time by function', inclusive, top);
