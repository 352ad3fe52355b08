// A finished stream is forgotten after the resume grace, and then nothing holds it: a
// long-running server's heap does not grow with the number of streams it has served.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { fastMock, openStream, useServers, waitFor } from '../helpers/server.js';

const start = useServers();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memory', () => {
  it('forgotten streams are released (their replay buffers do not accumulate)', async () => {
    const server = await start({ resume_grace_ms: 1, max_tokens_limit: 10_000 }, fastMock(0));
    const run = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await openStream(server.url, { prompt: `heap ${i}`, max_tokens: 4000 });
        expect(r.events.at(-1)?.type).toBe('done');
        ids.push(r.headers.get('x-stream-id')!);
      }
      for (const id of ids)
        await waitFor('the stream to be forgotten', async () => {
          const res = await fetch(`${server.url}/v1/chat/stream/${id}`);
          await res.body?.cancel();
          return res.status === 404;
        });
    };
    await run(5); // warm-up: JIT, connection pools, metric series
    const before = heapAfterGc();
    await run(40); // ~40 × 300 KB of encoded events
    const grown = heapAfterGc() - before;
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });
});
