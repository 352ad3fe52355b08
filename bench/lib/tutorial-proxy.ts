// The reference for the server benchmark: the streaming proxy every tutorial shows, on the
// same SDK. One client.messages.stream() per request, each text delta re-emitted as an SSE
// event, no resume, no limits, no backpressure handling.
// Usage: node --import tsx bench/lib/tutorial-proxy.ts UPSTREAM_URL
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ baseURL: process.argv[2], apiKey: 'bench' });

const server = createServer(async (req, res) => {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const { prompt, max_tokens } = JSON.parse(raw) as { prompt: string; max_tokens: number };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const stream = client.messages.stream({
    model: 'claude-sonnet-5-5',
    max_tokens,
    messages: [{ role: 'user', content: prompt }],
  });
  stream.on('text', (text) => res.write(`event: delta\ndata: ${JSON.stringify({ text })}\n\n`));
  req.on('close', () => stream.abort());
  try {
    await stream.finalMessage();
    res.end('event: done\ndata: {}\n\n');
  } catch {
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
