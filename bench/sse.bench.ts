// SSE decoder throughput against eventsource-parser@3 in the same run (`npx tsx bench/run.ts sse`).
//
// The input is a realistic Anthropic Messages stream held in memory: message_start, ~20k
// content_block_delta events carrying a few words each, a ping every 50 deltas, then
// content_block_stop, message_delta and message_stop. It is fed as Buffers (what a Node socket
// delivers) in (a) 64 KiB chunks and (b) 100-1500 byte chunks like a real TCP stream.
//
// eventsource-parser takes strings, so its figures include the streaming TextDecoder its own
// EventSourceParserStream uses: that is the cost an application pays to use it on bytes. A second
// row without the TextDecoder shows the parser alone. Each case is warmed up, then timed several
// times with the parsers interleaved; the median is reported.
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import { SseDecoder } from '../src/sse/index.js';

const DELTAS = 20_000;
const WARMUP = 5;
const RUNS = 25;

const ASCII_WORDS =
  'the quick brown fox jumps over a lazy dog while streaming tokens arrive one by one and latency matters for every user who waits'.split(
    ' ',
  );
/** About a third of the deltas then carry a non-ASCII character, so nearly every chunk does. */
const MIXED_WORDS = [...ASCII_WORDS, 'caf\u00e9', '\u6f22\u5b57', '\u{1F600}', '\u00fcber', 'na\u00efve'];

/** Deterministic PRNG (mulberry32) so every run measures the same bytes and chunk boundaries. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildStream(words: readonly string[]): { bytes: Buffer; events: number } {
  const rand = prng(42);
  const parts: string[] = [];
  const add = (type: string, data: unknown) =>
    parts.push(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  add('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'claude-sonnet-4-20250514',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 472, output_tokens: 1 },
    },
  });
  add('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  });
  add('ping', { type: 'ping' });
  for (let i = 0; i < DELTAS; i++) {
    const n = 1 + Math.floor(rand() * 4);
    let text = '';
    for (let w = 0; w < n; w++) text += ` ${words[Math.floor(rand() * words.length)]}`;
    add('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    });
    if (i % 50 === 49) add('ping', { type: 'ping' });
  }
  add('content_block_stop', { type: 'content_block_stop', index: 0 });
  add('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: DELTAS },
  });
  add('message_stop', { type: 'message_stop' });
  return { bytes: Buffer.from(parts.join(''), 'utf8'), events: parts.length };
}

function chunk(bytes: Buffer, size: (i: number) => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const end = Math.min(bytes.length, at + size(i));
    chunks.push(bytes.subarray(at, end));
    at = end;
  }
  return chunks;
}

type Run = (chunks: readonly Buffer[]) => number;

const ours: Run = (chunks) => {
  let events = 0;
  let dataChars = 0;
  const d = new SseDecoder({
    onEvent: (e) => {
      events++;
      dataChars += e.data.length;
    },
  });
  for (const c of chunks) d.decode(c);
  d.flush();
  return dataChars > 0 ? events : -1;
};

/** eventsource-parser counting events; result() is -1 when no data arrived (keeps the work observable). */
function countingParser() {
  let events = 0;
  let dataChars = 0;
  const parser = createParser({
    onEvent: (e) => {
      events++;
      dataChars += e.data.length;
    },
  });
  return { feed: (s: string) => parser.feed(s), result: () => (dataChars > 0 ? events : -1) };
}

const theirs: Run = (chunks) => {
  const p = countingParser();
  const text = new TextDecoder();
  for (const c of chunks) p.feed(text.decode(c, { stream: true }));
  p.feed(text.decode());
  return p.result();
};

/** eventsource-parser alone, on strings decoded beforehand (not timed). */
function theirsOnStrings(strings: readonly string[]): number {
  const p = countingParser();
  for (const str of strings) p.feed(str);
  return p.result();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const OURS = 'tokenstorm SseDecoder';

interface Row {
  text: string;
  chunking: string;
  parser: string;
  ms: number;
}

function measure(text: string, chunking: string, chunks: Buffer[], expectedEvents: number): Row[] {
  const decoder = new TextDecoder();
  const strings = chunks.map((c) => decoder.decode(c, { stream: true }));
  const cases: [string, () => number][] = [
    [OURS, () => ours(chunks)],
    ['eventsource-parser + TextDecoder', () => theirs(chunks)],
    ['eventsource-parser (strings given)', () => theirsOnStrings(strings)],
  ];
  for (const [name, fn] of cases) {
    for (let i = 0; i < WARMUP; i++) {
      const got = fn();
      if (got !== expectedEvents)
        throw new Error(`${name} dispatched ${got} events, expected ${expectedEvents}`);
    }
  }
  const times = cases.map((): number[] => []);
  for (let r = 0; r < RUNS; r++) {
    cases.forEach(([, fn], i) => {
      const t0 = performance.now();
      fn();
      times[i]!.push(performance.now() - t0);
    });
  }
  return cases.map(([parser], i) => ({ text, chunking, parser, ms: median(times[i]!) }));
}

export default async function (): Promise<void> {
  const rows: Row[] = [];
  const sizes: string[] = [];
  const totals = new Map<string, { events: number; mb: number }>();
  for (const [label, words] of [
    ['ASCII', ASCII_WORDS],
    ['mixed', MIXED_WORDS],
  ] as const) {
    const { bytes, events } = buildStream(words);
    const rand = prng(7);
    const big = chunk(bytes, () => 64 * 1024);
    const small = chunk(bytes, () => 100 + Math.floor(rand() * 1401));
    sizes.push(`${label}: ${events} events, ${(bytes.length / 1e6).toFixed(2)} MB`);
    totals.set(label, { events, mb: bytes.length / 1e6 });
    rows.push(...measure(label, '64 KiB', big, events), ...measure(label, '100-1500 B', small, events));
  }
  process.stdout.write(
    `streams: ${sizes.join('; ')}. Chunks of 64 KiB, and of 100-1500 B like a socket.\n` +
      `Median of ${RUNS} runs after ${WARMUP} warm-up runs.\n\n`,
  );

  const header = ['text', 'chunks', 'parser', 'ms', 'events/s', 'MB/s', 'ours / this'];
  const table = rows.map((row) => {
    const ours = rows.find((x) => x.text === row.text && x.chunking === row.chunking && x.parser === OURS)!;
    const { events, mb } = totals.get(row.text)!;
    return [
      row.text,
      row.chunking,
      row.parser,
      row.ms.toFixed(2),
      Math.round(events / (row.ms / 1000)).toLocaleString('en-US'),
      (mb / (row.ms / 1000)).toFixed(0),
      row.parser === OURS ? '1.00' : `${(row.ms / ours.ms).toFixed(2)}x`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of table) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(
    '\n"ours / this": throughput of SseDecoder divided by that row\'s (above 1: SseDecoder is faster).\n',
  );
}
