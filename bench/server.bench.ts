// `npm run bench -- server`: what the reference server adds on top of its upstream, against
// the tutorial proxy (one messages.stream() per request, each text delta re-emitted) on the
// same SDK, measured in the same run. Mock, proxy and load client are separate processes.
import { availableParallelism } from 'node:os';
import { type LoadClient, startLoadClient } from './lib/client.js';
import { type Child, cpuSeconds, delay, fmt, rssBytes, spawnNode, table } from './lib/proc.js';

const TOKENS = 50;
const ITL_MS = 20;
const WINDOW_MS = 6000;
const RSS_SAMPLES = 12;

interface Target {
  name: string;
  start(upstream: string): Promise<{ child: Child; url: string }>;
  path: string;
  body: unknown;
  marker: string;
}

const READY = /listening on (http:\/\/[^\s]+)/;

const targets: Target[] = [
  {
    name: 'mock direct',
    start: async () => {
      throw new Error('the mock is started once');
    },
    path: '/v1/messages',
    body: {
      model: 'bench',
      max_tokens: TOKENS,
      stream: true,
      messages: [{ role: 'user', content: 'benchmark' }],
    },
    marker: 'content_block_delta',
  },
  {
    name: 'tokenstorm serve',
    start: async (upstream) => {
      const { child, match } = await spawnNode(
        [
          'bin/tokenstorm.js',
          'serve',
          '--port',
          '0',
          '--metrics-port',
          '-1',
          '--upstream',
          upstream,
          '--log-level',
          'warn',
        ],
        READY,
      );
      return { child, url: match[1]! };
    },
    path: '/v1/chat/stream',
    body: { prompt: 'benchmark', max_tokens: TOKENS },
    marker: 'event: delta',
  },
  {
    name: 'tutorial proxy',
    start: async (upstream) => {
      const { child, match } = await spawnNode(
        ['--import', 'tsx', 'bench/lib/tutorial-proxy.ts', upstream],
        READY,
      );
      return { child, url: match[1]! };
    },
    path: '/v1/chat/stream',
    body: { prompt: 'benchmark', max_tokens: TOKENS },
    marker: 'event: delta',
  },
];

interface Result {
  streamsPerSec: number;
  cpuMsPerStream: number;
  /** CPU cores the target process used, and the mock and load client together. */
  cores: number;
  otherCores: number;
  ttftP50: number;
  ttftP99: number;
  rssPerStreamKb: number;
  errors: number;
}

async function run(
  pid: number,
  others: number[],
  client: LoadClient,
  n: number,
  idleRss: number,
): Promise<Result> {
  const deadline = performance.now() + 30_000;
  while ((await client.stats()).started < n && performance.now() < deadline) await delay(100);
  await delay(2000);
  await client.resetTtft();
  const s0 = await client.stats();
  const cpu0 = cpuSeconds(pid);
  const others0 = others.map(cpuSeconds);
  const t0 = performance.now();
  // RSS moves with the garbage collector's cycle: one sample can land anywhere in it, so
  // take the median of samples across the window.
  const rss: number[] = [];
  for (let i = 0; i < RSS_SAMPLES; i++) {
    await delay(WINDOW_MS / RSS_SAMPLES);
    rss.push(rssBytes(pid));
  }
  const cpu1 = cpuSeconds(pid);
  const others1 = others.map(cpuSeconds);
  const s1 = await client.stats();
  const elapsed = (performance.now() - t0) / 1000;
  const streams = Math.max(1, s1.streams - s0.streams);
  rss.sort((a, b) => a - b);
  return {
    streamsPerSec: streams / elapsed,
    cpuMsPerStream: ((cpu1 - cpu0) * 1000) / streams,
    cores: (cpu1 - cpu0) / elapsed,
    otherCores: others1.reduce((sum, c, i) => sum + c - others0[i]!, 0) / elapsed,
    ttftP50: s1.ttft.p50,
    ttftP99: s1.ttft.p99,
    rssPerStreamKb: Math.max(0, rss[rss.length >> 1]! - idleRss) / n / 1024,
    errors: s1.errors - s0.errors,
  };
}

export default async function serverBench(): Promise<void> {
  const children: Child[] = [];
  try {
    const { child: mockChild, match } = await spawnNode(
      [
        'bin/tokenstorm.js',
        'mock',
        '--port',
        '0',
        '--ttft-ms',
        '50',
        '--itl-ms',
        String(ITL_MS),
        '--slots',
        '100000',
      ],
      READY,
    );
    children.push(mockChild);
    const mockUrl = match[1]!;
    const results = new Map<string, Result>();
    for (const n of [100, 1000]) {
      for (const t of targets) {
        const direct = t.name === 'mock direct';
        const proc = direct ? { child: mockChild, url: mockUrl } : await t.start(mockUrl);
        if (!direct) children.push(proc.child);
        await delay(500);
        const idleRss = rssBytes(proc.child.pid);
        const client = await startLoadClient({
          url: proc.url,
          path: t.path,
          concurrency: n,
          body: t.body,
          marker: t.marker,
        });
        try {
          const cpuPid = proc.child.pid;
          const others = direct ? [client.child.pid] : [mockChild.pid, client.child.pid];
          results.set(`${t.name}@${n}`, await run(cpuPid, others, client, n, idleRss));
        } finally {
          await client.child.kill();
          if (!direct) await proc.child.kill();
        }
      }
    }
    const rows: (string | number)[][] = [];
    for (const n of [100, 1000]) {
      const base = results.get(`mock direct@${n}`)!;
      const tutorial = results.get(`tutorial proxy@${n}`)!;
      for (const t of targets) {
        const r = results.get(`${t.name}@${n}`)!;
        const direct = t.name === 'mock direct';
        rows.push([
          `${t.name} @ ${n}`,
          fmt(r.streamsPerSec, 0),
          fmt(r.ttftP50, 1),
          fmt(r.ttftP99, 1),
          direct ? '-' : fmt(r.ttftP50 - base.ttftP50, 1),
          direct ? '-' : fmt(r.ttftP99 - base.ttftP99, 1),
          fmt(r.cpuMsPerStream, 3),
          direct ? '-' : fmt(r.cpuMsPerStream / tutorial.cpuMsPerStream, 2),
          fmt(r.cores, 2),
          fmt(r.otherCores, 2),
          direct ? '-' : fmt(r.rssPerStreamKb, 1),
          r.errors,
        ]);
      }
    }
    console.log(
      `\n${TOKENS} tokens per stream, ${ITL_MS} ms ITL, closed loop; TTFT as the load client sees it (ms)`,
    );
    console.log(
      table(
        [
          'target @ concurrent streams',
          'streams/s',
          'TTFT p50',
          'TTFT p99',
          'overhead p50',
          'overhead p99',
          'CPU ms/stream',
          'CPU vs tutorial',
          'cores',
          'others cores',
          'RSS KB/open stream',
          'errors',
        ],
        rows,
      ),
    );
    console.log(
      'Targets: at 1,000 streams TTFT overhead p99 <= 5 ms, CPU <= 0.25 x tutorial proxy, RSS <= 64 KB per open stream.',
    );
    console.log(
      `cores: the target's CPU use; others: the mock and the load client's (this host has ${availableParallelism()} cores;` +
        ' a target near 1.0 core is saturated: one event loop).',
    );
  } finally {
    await Promise.all(children.map((c) => c.kill()));
  }
}
