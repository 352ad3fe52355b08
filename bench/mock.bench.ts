// `npm run bench -- mock`: how much load the mock upstream carries, measured against a
// minimal hand-written SSE server in the same run. The server under test and the load
// client run as separate processes (one core each); CPU comes from /proc.
import type { MockStatsSnapshot } from '../src/mock/stats.js';
import { startLoadClient } from './lib/client.js';
import { type Child, cpuSeconds, delay, fmt, rssBytes, spawnNode, table } from './lib/proc.js';

const TSX = ['--import', 'tsx'];

async function startMockProcess(itlMs: number): Promise<{ child: Child; url: string }> {
  const { child, match } = await spawnNode(
    [
      'bin/tokenstorm.js',
      'mock',
      '--port',
      '0',
      '--ttft-ms',
      '0',
      '--itl-ms',
      String(itlMs),
      '--slots',
      '100000',
    ],
    /listening on (http:\/\/[^\s]+)/,
  );
  return { child, url: match[1]! };
}

async function startReference(itlMs: number, tokens: number): Promise<{ child: Child; url: string }> {
  const { child, match } = await spawnNode(
    [...TSX, 'bench/lib/minimal-sse-server.ts', String(itlMs), String(tokens)],
    /listening on (http:\/\/[^\s]+)/,
  );
  return { child, url: match[1]! };
}

async function mockStats(url: string, reset = false): Promise<MockStatsSnapshot> {
  if (reset) await fetch(`${url}/mock/stats/reset`, { method: 'POST' });
  return (await (await fetch(`${url}/mock/stats`)).json()) as MockStatsSnapshot;
}

interface Step {
  eventsPerSec: number;
  cpuShare: number;
  eventsPerCpuSec: number;
  rssMb: number;
  open: number;
  mock?: MockStatsSnapshot;
}

/** Ramps the client to `concurrency` open streams, settles, then measures for `windowMs`. */
async function measure(
  server: { child: Child; url: string },
  isMock: boolean,
  concurrency: number,
  maxTokens: number,
  windowMs: number,
  eventBytes = 0,
): Promise<Step> {
  const client = await startLoadClient({
    url: server.url,
    path: '/v1/messages',
    concurrency,
    body: {
      model: 'bench',
      max_tokens: maxTokens,
      stream: true,
      messages: [{ role: 'user', content: 'benchmark' }],
    },
  });
  try {
    const deadline = performance.now() + 30_000;
    while ((await client.stats()).started < concurrency && performance.now() < deadline) await delay(200);
    await delay(2000);
    const c0 = await client.stats();
    const cpu0 = cpuSeconds(server.child.pid);
    const t0 = performance.now();
    if (isMock) await mockStats(server.url, true);
    await delay(windowMs);
    const snap = isMock ? await mockStats(server.url) : undefined;
    const cpu1 = cpuSeconds(server.child.pid);
    const elapsed = (performance.now() - t0) / 1000;
    const c1 = await client.stats();
    const events = snap ? snap.events : (c1.bytes - c0.bytes) / eventBytes;
    return {
      eventsPerSec: events / elapsed,
      cpuShare: (cpu1 - cpu0) / elapsed,
      eventsPerCpuSec: events / Math.max(cpu1 - cpu0, 1e-9),
      rssMb: rssBytes(server.child.pid) / 2 ** 20,
      open: c1.open,
      ...(snap ? { mock: snap } : {}),
    };
  } finally {
    await client.child.kill();
  }
}

const REF_EVENT_BYTES =
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token "}}\n\n'
    .length + 8; // + chunked framing

export default async function mockBench(): Promise<void> {
  const window = 5000;
  const children: Child[] = [];
  const cleanup = async () => Promise.all(children.map((c) => c.kill()));
  try {
    // 1. Same load on the reference and on the mock: 1,000 streams × 20 ms ITL (50,000 events/s).
    const ref = await startReference(20, 1_000_000);
    children.push(ref.child);
    const r = await measure(ref, false, 1000, 1_000_000, window, REF_EVENT_BYTES);
    await ref.child.kill();
    const m20 = await startMockProcess(20);
    children.push(m20.child);
    const m = await measure(m20, true, 1000, 1_000_000, window);
    await m20.child.kill();
    console.log('\n1,000 streams × 20 ms ITL: the mock against a minimal hand-written SSE server (same run)');
    console.log(
      table(
        ['server', 'events/s', 'CPU (share of a core)', 'ratio', 'event-loop p99 ms', 'lateness p50/p99 ms'],
        [
          ['minimal SSE fixture', fmt(r.eventsPerSec, 0), fmt(r.cpuShare, 2), '1.00', '-', '-'],
          [
            'tokenstorm mock',
            fmt(m.eventsPerSec, 0),
            fmt(m.cpuShare, 2),
            fmt(m.cpuShare / r.cpuShare, 2),
            fmt(m.mock!.event_loop_delay_ms.p99, 1),
            `${fmt(m.mock!.lateness_ms.p50, 2)} / ${fmt(m.mock!.lateness_ms.p99, 2)}`,
          ],
        ],
      ),
    );

    // 2. Concurrent streams at 250 ms ITL.
    const rows: (string | number)[][] = [];
    let held = 0;
    for (const n of [1000, 2500, 5000, 10_000]) {
      const mk = await startMockProcess(250);
      children.push(mk.child);
      const s = await measure(mk, true, n, 1_000_000, window);
      await mk.child.kill();
      const eld = s.mock!.event_loop_delay_ms.p99;
      if (eld < 20 && s.open >= n * 0.99) held = n;
      rows.push([
        n,
        s.open,
        fmt(s.eventsPerSec, 0),
        fmt(s.cpuShare, 2),
        fmt(eld, 1),
        `${fmt(s.mock!.lateness_ms.p50, 2)} / ${fmt(s.mock!.lateness_ms.p99, 2)}`,
        fmt(s.rssMb, 0),
      ]);
    }
    console.log(
      '\nConcurrent streams at 250 ms ITL (target: 10,000 streams, 40,000 events/s, event-loop p99 < 20 ms)',
    );
    console.log(
      table(
        ['streams', 'open', 'events/s', 'CPU', 'event-loop p99 ms', 'lateness p50/p99 ms', 'RSS MB'],
        rows,
      ),
    );
    console.log(
      `=> the mock holds ${held.toLocaleString('en-US')} concurrent streams at 250 ms ITL with event-loop p99 < 20 ms`,
    );

    // 3. Zero delay: how many events one core emits.
    const z = await startMockProcess(0);
    children.push(z.child);
    const s0 = await measure(z, true, 50, 5000, window);
    await z.child.kill();
    console.log(
      '\nZero delay (TTFT 0, ITL 0, 50 connections × 5,000-token streams; target >= 200,000 events/s on one core)',
    );
    console.log(
      table(
        ['events/s', 'CPU', 'events per CPU-second', 'vs minimal fixture per CPU-second'],
        [
          [
            fmt(s0.eventsPerSec, 0),
            fmt(s0.cpuShare, 2),
            fmt(s0.eventsPerCpuSec, 0),
            fmt(s0.eventsPerCpuSec / r.eventsPerCpuSec, 1),
          ],
        ],
      ),
    );
  } finally {
    await cleanup();
  }
}
