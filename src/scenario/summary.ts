// One-line human summaries of a validated scenario (for `tokenstorm validate` and run banners).
import type { LoadSpec, Scenario } from './schema.js';

/** 90000 → "1m30s", 500 → "500ms", 0 → "0s": the duration syntax scenario files use. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 0) out += `${Math.round(rest * 1000) / 1000}ms`;
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** E.g. "closed, 0→300→0 users over 30s, warmup 3s" or "open poisson 50/s for 1m, max 500 in flight". */
export function describeLoad(load: LoadSpec): string {
  const parts: string[] = [];
  if (load.type === 'closed') {
    if (load.stages !== undefined) {
      const levels = [load.concurrency ?? 0, ...load.stages.map((s) => s.target)];
      const total = load.stages.reduce((sum, s) => sum + s.duration, 0);
      parts.push(`closed, ${levels.join('→')} users over ${formatDuration(total)}`);
    } else {
      const users = plural(load.concurrency ?? 0, 'user');
      parts.push(
        `closed, ${load.duration !== undefined ? `${users} for ${formatDuration(load.duration)}` : users}`,
      );
    }
  } else if (load.type === 'trace') {
    parts.push(
      `trace ${load.file}${load.speed !== 1 ? ` at ${load.speed}× speed` : ''}, max ${load.max_concurrency} in flight`,
    );
  } else {
    const shape = load.arrival === 'gamma' ? `gamma (burstiness ${load.burstiness})` : load.arrival;
    const lasting = load.duration !== undefined ? ` for ${formatDuration(load.duration)}` : '';
    parts.push(`open ${shape} ${load.rate}/s${lasting}, max ${load.max_concurrency} in flight`);
  }
  if (load.streams !== undefined) parts.push(`at most ${plural(load.streams, 'stream')}`);
  if (load.warmup > 0) parts.push(`warmup ${formatDuration(load.warmup)}`);
  return parts.join(', ');
}

/** E.g. "embedded reference server" or "openai http://127.0.0.1:8000/v1/chat/completions". */
export function describeTarget(target: Scenario['target']): string {
  if (target.embedded)
    return target.direct ? `embedded mock (${target.protocol})` : 'embedded reference server';
  return `${target.protocol} ${target.url ?? ''}`;
}

/** E.g. "; faults: 7 client, 5 upstream (46% of streams)", or '' without faults. */
export function describeFaults(faults: Scenario['faults']): string {
  const all = [...faults.client, ...faults.upstream];
  if (all.length === 0) return '';
  const share = all.reduce((p, f) => p + f.probability, 0);
  const parts = [];
  if (faults.client.length > 0) parts.push(`${faults.client.length} client`);
  if (faults.upstream.length > 0) parts.push(`${faults.upstream.length} upstream`);
  return `; faults: ${parts.join(', ')} (${Math.round(share * 1000) / 10}% of streams)`;
}
