// The chaos checks can fail: against deliberately broken test doubles of the reference server, the
// integrity check catches a resume that drops events and one that repeats them, and the leak check
// catches a server that never aborts the upstream of a client that left. Each double speaks the
// reference wire format (docs/server.md) over a real HTTP server on loopback.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/runner/run.js';
import { scenario, useHttpServers } from '../helpers/runner.js';

const TOKENS = 12;
const WORDS = Array.from({ length: TOKENS }, (_, i) => `w${i} `);
const TEXT = WORDS.join('');

/** The events of one stream: meta, the deltas, done (ids `<id>:<seq>`, seq from 1). */
function events(id: string): string[] {
  const ev = (seq: number, type: string, data: unknown) =>
    `id: ${id}:${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  return [
    ev(1, 'meta', { stream_id: id, model: 'm' }),
    ...WORDS.map((w, i) => ev(i + 2, 'delta', { text: w })),
    ev(TOKENS + 2, 'done', {
      stop_reason: 'end_turn',
      output_chars: TEXT.length,
      output_tokens: TOKENS,
      sha256: createHash('sha256').update(TEXT).digest('hex'),
    }),
  ];
}

interface Double {
  /** Which event index a resume after `seq` starts from (correct: seq, as events[seq] has seq + 1). */
  resumeFrom(seq: number): number;
  /** Streams whose client left before the end: a correct server aborts them; a broken one keeps them. */
  keepAbandoned: boolean;
}

/** A reference-protocol server that writes one event every 5 ms; `d` says how it is broken. */
function referenceDouble(d: Double) {
  let next = 0;
  let active = 0;
  const send = (res: ServerResponse, list: string[], from: number, id: string): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-stream-id': id });
    let i = from;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      active--;
    };
    const timer = setInterval(() => {
      if (i >= list.length) {
        clearInterval(timer);
        finish();
        res.end();
        return;
      }
      res.write(list[i++]);
    }, 5);
    res.on('close', () => {
      clearInterval(timer);
      if (i < list.length && d.keepAbandoned) return; // "never aborts upstream": still counted active
      finish();
    });
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/metrics') {
      res.end(
        `# TYPE tokenstorm_server_active_streams gauge\ntokenstorm_server_active_streams{otel_scope_name="double"} ${active}\n` +
          `# TYPE tokenstorm_server_upstream_active gauge\ntokenstorm_server_upstream_active ${active}\n`,
      );
      return;
    }
    req.resume();
    const m = /^\/v1\/chat\/stream\/(s\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      const last = String(req.headers['last-event-id'] ?? '');
      const seq = Number(last.slice(last.lastIndexOf(':') + 1));
      active++;
      send(res, events(m[1]!), d.resumeFrom(seq), m[1]!);
      return;
    }
    const id = `s${next++}`;
    active++;
    req.on('end', () => send(res, events(id), 0, id));
  };
}

describe('the chaos checks fail against broken servers', () => {
  const start = useHttpServers();

  const resumeRun = (url: string) =>
    runScenario({
      scenario: scenario({
        target: { url: `${url}/v1/chat/stream`, protocol: 'reference' },
        load: { type: 'closed', concurrency: 4, streams: 8 },
        faults: { client: [{ kind: 'disconnect', probability: 1, after_tokens: 4, reconnect: 'resume' }] },
      }),
    });

  it('a correct double passes: the check is not failing by construction', async () => {
    const srv = await start(referenceDouble({ resumeFrom: (seq) => seq, keepAbandoned: false }));
    const r = await resumeRun(srv.url);
    expect(r.streams.by_outcome.completed).toBe(8);
    expect(r.chaos.integrity).toEqual({ verified: 8, failed: 0 });
    expect(r.chaos.recovery.resume).toMatchObject({ streams: 8, succeeded: 8 });
    expect(r.thresholds_ok).toBe(true);
  });

  it('a resume that drops an event fails integrity', async () => {
    const srv = await start(referenceDouble({ resumeFrom: (seq) => seq + 1, keepAbandoned: false }));
    const r = await resumeRun(srv.url);
    expect(r.streams.by_outcome.protocol_error).toBe(8);
    expect(r.chaos.integrity.failed).toBe(8);
    expect(r.errors[0]).toMatchObject({ type: 'E_PROTOCOL_INTEGRITY', count: 8 });
    expect(r.errors[0]!.message).toMatch(/1 event\(s\) missing/);
    expect(r.thresholds).toContainEqual(
      expect.objectContaining({ metric: 'integrity_failures', ok: false, actual: 8 }),
    );
    expect(r.thresholds_ok).toBe(false);
  });

  it('a resume that repeats an event fails integrity', async () => {
    const srv = await start(referenceDouble({ resumeFrom: (seq) => seq - 1, keepAbandoned: false }));
    const r = await resumeRun(srv.url);
    expect(r.chaos.integrity.failed).toBe(8);
    expect(r.errors[0]!.message).toMatch(/duplicated/);
    expect(r.thresholds_ok).toBe(false);
  });

  it('a server that never aborts the upstream of an abandoned stream fails the leak check', async () => {
    const srv = await start(referenceDouble({ resumeFrom: (seq) => seq, keepAbandoned: true }));
    const r = await runScenario({
      scenario: scenario({
        target: {
          url: `${srv.url}/v1/chat/stream`,
          protocol: 'reference',
          metrics_url: `${srv.url}/metrics`,
        },
        load: { type: 'closed', concurrency: 3, streams: 6 },
        faults: { client: [{ kind: 'disconnect', probability: 0.5, after_tokens: 2, reconnect: 'none' }] },
        leak_check: { timeout_ms: 300 },
      }),
    });
    const abandoned = r.chaos.faults['client.disconnect.none']!.injected;
    expect(abandoned).toBeGreaterThan(0);
    expect(r.chaos.server!.leak_check).toMatchObject({
      ok: false,
      active_streams: abandoned,
      upstream_active: abandoned,
      timeout_ms: 300,
    });
    expect(r.thresholds).toContainEqual(
      expect.objectContaining({ metric: 'leaks', ok: false, actual: 2 * abandoned }),
    );
    expect(r.thresholds_ok).toBe(false);
  });
});
