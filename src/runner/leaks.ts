// The reference server seen through its own Prometheus metrics (docs/server.md): what it holds
// (active streams, upstream requests in flight) and what it counted (unread upstream tokens,
// resumes, cancels, upstream aborts). After a chaos run the leak check polls until what it holds
// is zero; anything left after the timeout is a leak and fails the run (docs/chaos.md).
import { request } from 'undici';
import type { LeakCheck, ServerView } from '../stats/chaos.js';

export interface ServerReading {
  activeStreams: number;
  upstreamActive: number;
  unreadTokens: number;
  resumes: number;
  cancels: number;
  upstreamAborts: number;
}

/** Prometheus names as the OpenTelemetry exporter renders tokenstorm.server.* (counters get _total). */
const NAMES: Record<keyof ServerReading, string> = {
  activeStreams: 'tokenstorm_server_active_streams',
  upstreamActive: 'tokenstorm_server_upstream_active',
  unreadTokens: 'tokenstorm_server_upstream_unread_tokens_total',
  resumes: 'tokenstorm_server_resumes_total',
  cancels: 'tokenstorm_server_cancels_total',
  upstreamAborts: 'tokenstorm_server_upstream_aborts_total',
};

/** Sums each metric over its series in a text exposition. Missing metrics read as 0. */
export function parseServerMetrics(text: string): ServerReading {
  const byName = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const name = line.slice(0, brace >= 0 && brace < space ? brace : line.indexOf(' '));
    const v = Number(line.slice(space + 1));
    if (Number.isFinite(v)) byName.set(name, (byName.get(name) ?? 0) + v);
  }
  const out = {} as ServerReading;
  for (const [k, name] of Object.entries(NAMES)) out[k as keyof ServerReading] = byName.get(name) ?? 0;
  return out;
}

export async function readServerMetrics(url: string): Promise<ServerReading> {
  const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`);
  return parseServerMetrics(text);
}

const POLL_MS = 100;

/**
 * Polls until the server holds no stream and no upstream request, or the timeout passes. Never
 * throws: an unreachable endpoint is reported in `error` (and counts as a leak: nothing was proven).
 */
export async function waitForNoLeaks(url: string, timeoutMs: number): Promise<LeakCheck> {
  const start = performance.now();
  let last: ServerReading | undefined;
  let error: string | null = null;
  for (;;) {
    try {
      last = await readServerMetrics(url);
      error = null;
      if (last.activeStreams === 0 && last.upstreamActive === 0) break;
    } catch (err) {
      error = `the server's metrics could not be read: ${(err as Error).message}`;
    }
    if (performance.now() - start >= timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const active = last?.activeStreams ?? 0;
  const upstream = last?.upstreamActive ?? 0;
  return {
    metrics_url: url,
    ok: error === null && active === 0 && upstream === 0,
    waited_ms: Math.round(performance.now() - start),
    timeout_ms: timeoutMs,
    active_streams: active,
    upstream_active: upstream,
    error,
  };
}

/** What the server counted between two readings, plus the leak check. */
export function serverView(before: ServerReading, after: ServerReading, leak: LeakCheck | null): ServerView {
  return {
    unread_tokens: after.unreadTokens - before.unreadTokens,
    resumes: after.resumes - before.resumes,
    cancels: after.cancels - before.cancels,
    upstream_aborts: after.upstreamAborts - before.upstreamAborts,
    leak_check: leak,
  };
}
