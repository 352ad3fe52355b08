// The reference for the mock benchmark: the least an SSE token server can do. node:http,
// a 1 ms shared tick over 1 ms buckets (a minimal timer wheel), one pre-encoded Anthropic
// delta event written per token, end events after the last. No parsing, no model, no faults.
// Usage: node --import tsx bench/lib/minimal-sse-server.ts ITL_MS TOKENS
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const itl = Number(process.argv[2]);
const tokens = Number(process.argv[3]);
const DELTA =
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token "}}\n\n';
const END = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

interface Stream {
  res: ServerResponse;
  left: number;
  due: number;
}
const SIZE = 4096;
const buckets: Stream[][] = Array.from({ length: SIZE }, () => []);
let cursor = Math.floor(performance.now());

function add(s: Stream): void {
  const tick = Math.max(Math.ceil(s.due), cursor + 1);
  buckets[tick % SIZE]!.push(s);
}

setInterval(() => {
  const now = Math.floor(performance.now());
  for (let t = cursor + 1; t <= now; t++) {
    const list = buckets[t % SIZE]!;
    buckets[t % SIZE] = [];
    for (const s of list) {
      if (s.res.destroyed) continue;
      if (--s.left <= 0) {
        s.res.end(DELTA + END);
        continue;
      }
      s.res.write(DELTA);
      s.due += itl;
      add(s);
    }
  }
  cursor = now;
}, 1);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('event: message_start\ndata: {"type":"message_start"}\n\n');
    add({ res, left: tokens, due: performance.now() + itl });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
