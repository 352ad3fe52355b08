// A minimal SSE load client for server benchmarks, run as its own process so its CPU does
// not compete with the server's: raw node:net sockets, a pre-built request, no parsing.
// Each connection sends one request with `connection: close` and reconnects when the
// server closes, so `concurrency` streams stay open (a closed model). With a MARKER, the
// time from writing the request to the first chunk containing MARKER is recorded per
// stream (TTFT as the client sees it) in an HDR histogram, in microseconds.
// Usage: node --import tsx bench/lib/load-client.ts PORT PATH CONCURRENCY RAMP_PER_SEC BODY [MARKER]
import { connect, type Socket } from 'node:net';
import hdr from 'hdr-histogram-js';

const [port, path, concurrencyArg, rampArg, body, marker] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const rampPerSec = Number(rampArg);
const request = Buffer.from(
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body!)}\r\n\r\n${body}`,
);

let open = 0;
let bytes = 0;
let streams = 0;
let errors = 0;
let stopping = false;
const sockets = new Set<Socket>();
const ttft = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 600_000_000,
  numberOfSignificantValueDigits: 3,
});

function start(): void {
  if (stopping) return;
  const s = connect({ port: Number(port), host: '127.0.0.1', noDelay: true });
  sockets.add(s);
  open++;
  let sentAt = 0;
  let seen = marker === undefined;
  s.on('connect', () => {
    sentAt = performance.now();
    s.write(request);
  });
  s.on('data', (d: Buffer) => {
    bytes += d.length;
    if (!seen && d.includes(marker!)) {
      seen = true;
      ttft.recordValue(Math.round((performance.now() - sentAt) * 1000));
    }
  });
  s.on('error', () => {
    errors++;
  });
  s.on('close', () => {
    sockets.delete(s);
    open--;
    streams++;
    if (!stopping) setImmediate(start);
  });
}

let started = 0;
const batch = Math.max(1, Math.round(rampPerSec / 20));
const ramp = setInterval(() => {
  for (let i = 0; i < batch && started < concurrency; i++, started++) start();
  if (started >= concurrency) clearInterval(ramp);
}, 50);

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'stats') {
    process.send!({
      open,
      bytes,
      streams,
      errors,
      started,
      ttft: {
        count: ttft.totalCount,
        p50: ttft.getValueAtPercentile(50) / 1000,
        p99: ttft.getValueAtPercentile(99) / 1000,
      },
    });
  }
  if (msg.cmd === 'reset') {
    ttft.reset();
    process.send!({ reset: true });
  }
  if (msg.cmd === 'stop') {
    stopping = true;
    clearInterval(ramp);
    for (const s of sockets) s.destroy();
    process.send!({ stopped: true }, () => process.exit(0));
  }
});
process.stdout.write('client ready\n');
