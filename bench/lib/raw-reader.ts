// The physical-limit reference for bench/runner.bench.ts: the least a client can do to pull the
// same streams. Raw node:net sockets, one pre-built HTTP/1.1 request, no parsing: bytes are
// counted, the first chunk holding MARKER gives TTFT (byte search, only until found), and the end
// of a chunked response is found by its terminator (`\r\n0\r\n\r\n`) at the end of a chunk.
// A closed loop like the runner's: `concurrency` connections open at once, each sends its next
// request on the same keep-alive connection as soon as a response ends (`reconnect: true` sends
// `connection: close` and opens a new connection per stream instead), until `durationMs`; then
// the last streams finish. Prints one JSON line: streams, bytes, TTFT (µs HDR, streams started
// after `warmupMs`), process CPU and event-loop delay over the run.
// Usage: node --import tsx bench/lib/raw-reader.ts '{"port":…,"path":…,"headers":{…},"body":"…",…}'
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import hdr from 'hdr-histogram-js';

interface Options {
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  marker: string;
  reconnect?: boolean;
}

const o = JSON.parse(process.argv[2]!) as Options;
const headerLines = Object.entries({
  host: `127.0.0.1:${o.port}`,
  ...o.headers,
  ...(o.reconnect ? { connection: 'close' } : {}),
  'content-length': String(Buffer.byteLength(o.body)),
})
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('');
const REQUEST = Buffer.from(`POST ${o.path} HTTP/1.1\r\n${headerLines}\r\n${o.body}`);
const MARKER = Buffer.from(o.marker);
const TERMINATOR = Buffer.from('\r\n0\r\n\r\n');
const T = TERMINATOR.length;

const ttft = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 600_000_000,
  numberOfSignificantValueDigits: 3,
});
let bytes = 0;
let streams = 0;
let errors = 0;
let open = 0;
let connections = 0;

// Event-loop delay over the whole run, as the runner reports its own.
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const endAt = t0 + o.durationMs;
const measureFrom = t0 + o.warmupMs;
let resolveDone: () => void;
const done = new Promise<void>((r) => {
  resolveDone = r;
});

/** Did the response end with this chunk? `prev` covers a terminator split over two reads. */
function ends(d: Buffer, prev: Buffer | undefined): boolean {
  if (d.length >= T) return d.indexOf(TERMINATOR, d.length - T) !== -1;
  if (prev === undefined) return false;
  const joined = Buffer.concat([prev.subarray(Math.max(0, prev.length - T)), d]);
  return joined.indexOf(TERMINATOR, joined.length - T) !== -1;
}

function connection(): void {
  const s: Socket = connect({ port: o.port, host: '127.0.0.1', noDelay: true });
  open++;
  connections++;
  let sentAt = 0;
  let seen = false;
  let first = true;
  let prev: Buffer | undefined;
  const send = (): void => {
    sentAt = performance.now();
    seen = false;
    first = true;
    prev = undefined;
    s.write(REQUEST);
  };
  s.on('connect', send);
  s.on('data', (d: Buffer) => {
    bytes += d.length;
    if (first) {
      first = false;
      // "HTTP/1.1 200": anything else is counted as an error (the stream still runs to its end).
      if (d[9] !== 0x32 || d[10] !== 0x30 || d[11] !== 0x30) errors++;
    }
    if (!seen && d.indexOf(MARKER) !== -1) {
      seen = true;
      if (sentAt >= measureFrom) ttft.recordValue(Math.round((performance.now() - sentAt) * 1000));
    }
    if (!ends(d, prev)) {
      prev = d;
      return;
    }
    streams++;
    if (o.reconnect) return; // the server closes; 'close' opens the next connection
    if (performance.now() < endAt) send();
    else s.end();
  });
  s.on('error', () => {
    errors++;
  });
  s.on('close', () => {
    open--;
    if (o.reconnect && performance.now() < endAt) connection();
    else if (open === 0) resolveDone();
  });
}

for (let i = 0; i < o.concurrency; i++) connection();
await done;
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
loop.disable();
const excess = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
process.stdout.write(
  `${JSON.stringify({
    streams,
    connections,
    bytes,
    errors,
    wallMs,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    lifetimeCpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    eldMs: { p50: excess(loop.percentile(50)), p99: excess(loop.percentile(99)) },
    ttftMs: {
      count: ttft.totalCount,
      p50: ttft.getValueAtPercentile(50) / 1000,
      p99: ttft.getValueAtPercentile(99) / 1000,
    },
  })}\n`,
);
