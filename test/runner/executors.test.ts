// Executors and arrival processes as pure code: integer shares, stage interpolation, the mean and
// spread of seeded arrival gaps, and the open/closed executors driven by fake time through their
// injectable host (no sockets, no real clock).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/random.js';
import { arrivalGaps } from '../../src/runner/arrivals.js';
import {
  concurrencyAt,
  createExecutor,
  type ExecutorHost,
  loadEndMs,
  type Share,
  splitInt,
} from '../../src/runner/executors.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { ClosedLoad, OpenLoad } from '../../src/scenario/schema.js';
import { within } from '../helpers/server.js';

function loadOf(load: Record<string, unknown>): ClosedLoad | OpenLoad {
  return parseScenario({ name: 't', target: { url: 'http://127.0.0.1:1/v1' }, load }, 'test').load as
    | ClosedLoad
    | OpenLoad;
}
const closed = (load: Record<string, unknown>) => loadOf({ type: 'closed', ...load }) as ClosedLoad;
const open = (load: Record<string, unknown>) => loadOf({ type: 'open', ...load }) as OpenLoad;

describe('splitInt', () => {
  it.each([
    [0, 1],
    [1, 4],
    [7, 3],
    [10, 10],
    [1000, 7],
    [3, 64],
  ])('%i over %i shares sums to the total, each share within one of the others', (total, count) => {
    const parts = Array.from({ length: count }, (_, index) => splitInt(total, { index, count }));
    expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
    expect(parts.every((p) => Number.isInteger(p) && p >= 0)).toBe(true);
  });
});

describe('concurrencyAt', () => {
  const one: Share = { index: 0, count: 1 };

  it('without stages is the concurrency throughout', () => {
    const load = closed({ concurrency: 12, duration: '10s' });
    for (const t of [0, 5000, 9999, 20_000]) expect(concurrencyAt(load, t, one)).toBe(12);
  });

  it('interpolates linearly from concurrency through each stage, then holds the last target', () => {
    const load = closed({
      concurrency: 10,
      stages: [
        { duration: '1s', target: 110 },
        { duration: '2s', target: 110 },
        { duration: '1s', target: 0 },
      ],
    });
    expect(concurrencyAt(load, 0, one)).toBe(10);
    expect(concurrencyAt(load, 250, one)).toBe(35);
    expect(concurrencyAt(load, 500, one)).toBe(60);
    expect(concurrencyAt(load, 1000, one)).toBe(110);
    expect(concurrencyAt(load, 2500, one)).toBe(110);
    expect(concurrencyAt(load, 3500, one)).toBe(55);
    expect(concurrencyAt(load, 4000, one)).toBe(0);
    expect(concurrencyAt(load, 60_000, one)).toBe(0);
    expect(loadEndMs(load)).toBe(4000);
  });

  it('ramps from 0 when only stages are given, and the shares add up to the whole at every time', () => {
    const load = closed({ stages: [{ duration: '2s', target: 101 }] });
    expect(concurrencyAt(load, 0, one)).toBe(0);
    expect(concurrencyAt(load, 1000, one)).toBe(51); // round(50.5)
    for (const t of [0, 333, 1000, 1999, 2000, 5000]) {
      const whole = concurrencyAt(load, t, one);
      const parts = [0, 1, 2].map((index) => concurrencyAt(load, t, { index, count: 3 }));
      expect(parts.reduce((a, b) => a + b, 0)).toBe(whole);
    }
  });
});

describe('arrival gaps', () => {
  const N = 200_000;
  function stats(gap: () => number): { mean: number; cv: number } {
    let sum = 0;
    let sq = 0;
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < N; i++) {
      const g = gap();
      if (g < min) min = g;
      sum += g;
      sq += g * g;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    const mean = sum / N;
    return { mean, cv: Math.sqrt(sq / N - mean * mean) / mean };
  }

  it('constant: exactly 1000/rate every time', () => {
    const gap = arrivalGaps('constant', 40, 1, new Rng('c'));
    for (let i = 0; i < 100; i++) expect(gap()).toBe(25);
  });

  it.each([
    ['poisson', 1],
    ['gamma', 1],
    ['gamma', 0.25],
    ['gamma', 0.5],
    ['gamma', 4],
  ] as const)('%s (burstiness %d) has mean 1000/rate over many seeded draws', (process, burstiness) => {
    const { mean } = stats(arrivalGaps(process, 50, burstiness, new Rng(`mean:${process}:${burstiness}`)));
    // 200,000 draws: the standard error of the mean is 20 ms × cv / 447, under 0.1 ms for cv ≤ 2.
    expect(Math.abs(mean - 20)).toBeLessThan(0.3);
  });

  it('poisson has cv 1; gamma has cv 1/sqrt(burstiness): burstier below 1, more regular above', () => {
    const cv = (p: 'poisson' | 'gamma', b: number) =>
      stats(arrivalGaps(p, 100, b, new Rng(`cv:${p}:${b}`))).cv;
    const poisson = cv('poisson', 1);
    expect(poisson).toBeCloseTo(1, 1);
    const bursty = cv('gamma', 0.25);
    expect(bursty).toBeGreaterThan(poisson * 1.5);
    expect(bursty).toBeCloseTo(2, 1);
    expect(cv('gamma', 0.5)).toBeGreaterThan(poisson);
    expect(cv('gamma', 4)).toBeCloseTo(0.5, 1);
  });

  it('is deterministic for a seed', () => {
    const a = arrivalGaps('gamma', 10, 0.5, new Rng('same'));
    const b = arrivalGaps('gamma', 10, 0.5, new Rng('same'));
    const c = arrivalGaps('gamma', 10, 0.5, new Rng('other'));
    const xs = Array.from({ length: 50 }, () => a());
    expect(Array.from({ length: 50 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 50 }, () => c())).not.toEqual(xs);
  });
});

// ---- executors on fake time ---------------------------------------------------------------------

interface FakeRun {
  host: ExecutorHost;
  /** Intended start of every stream started, ms since t0, in order. */
  started: number[];
  /** Intended time of every dropped arrival, ms since t0. */
  dropped: number[];
  /** When each stream ended, ms since t0. */
  ended: number[];
  arrivals: number;
  maxActive: number;
  /** Ends the oldest running stream. */
  endOne(): void;
  active(): number;
}

/** A host whose streams run until ended by the test, or for `streamMs` of fake time. */
function fakeHost(streamMs = Number.POSITIVE_INFINITY, seed = 's'): FakeRun {
  const t0 = Date.now();
  const running: (() => void)[] = [];
  const run: FakeRun = {
    started: [],
    dropped: [],
    ended: [],
    arrivals: 0,
    maxActive: 0,
    endOne: () => running.shift()?.(),
    active: () => running.length,
    host: {
      t0,
      warmupMs: 0,
      now: () => Date.now(),
      active: () => running.length,
      arrival: (at, dropped) => {
        run.arrivals++;
        if (dropped) run.dropped.push(at - t0);
      },
      rng: (purpose) => new Rng(`${seed}:${purpose}`),
      startStream: (intendedAt, onEnd) => {
        run.started.push(intendedAt - t0);
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          run.ended.push(Date.now() - t0);
          const i = running.indexOf(end);
          if (i >= 0) running.splice(i, 1);
          onEnd();
        };
        running.push(end);
        run.maxActive = Math.max(run.maxActive, running.length);
        if (Number.isFinite(streamMs)) setTimeout(end, streamMs);
      },
    },
  };
  return run;
}

describe('open executor (fake time)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('constant arrivals on the absolute schedule; beyond max_concurrency they are dropped, never delayed', async () => {
    vi.useFakeTimers();
    const f = fakeHost();
    const ex = createExecutor(
      open({ rate: 100, arrival: 'constant', max_concurrency: 5, duration: '1s' }),
      f.host,
      { index: 0, count: 1 },
    );
    const done = ex.run();
    await vi.advanceTimersByTimeAsync(1500);
    await done;
    expect(f.arrivals).toBe(100);
    expect(f.started).toEqual([0, 10, 20, 30, 40]);
    expect(f.dropped).toHaveLength(95);
    expect(f.dropped[0]).toBe(50);
    expect(f.dropped.at(-1)).toBe(990);
    expect(f.maxActive).toBe(5);
  });

  it('a late timer starts every overdue arrival at once with its own intended time (lag, not a shifted schedule)', async () => {
    vi.useFakeTimers();
    const f = fakeHost(1);
    const ex = createExecutor(open({ rate: 100, arrival: 'constant', duration: '200ms' }), f.host, {
      index: 0,
      count: 1,
    });
    const done = ex.run();
    // The clock jumps 95 ms without the timer having run (an event loop blocked that long).
    vi.setSystemTime(Date.now() + 95);
    await vi.advanceTimersByTimeAsync(500);
    await done;
    expect(f.started).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    expect(f.arrivals).toBe(20);
  });

  it('two workers each run rate/2, phase-shifted so that together they interleave exactly', async () => {
    vi.useFakeTimers();
    const a = fakeHost(1, 'same-seed');
    const b = fakeHost(1, 'same-seed');
    const load = open({ rate: 100, arrival: 'constant', duration: '300ms' });
    const runs = [
      createExecutor(load, a.host, { index: 0, count: 2 }).run(),
      createExecutor(load, b.host, { index: 1, count: 2 }).run(),
    ];
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(runs);
    const all = [...a.started, ...b.started].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
    expect(a.started).toHaveLength(15);
  });

  it('streams: N ends the load after exactly N arrivals; stop() ends it at once', async () => {
    vi.useFakeTimers();
    const f = fakeHost(1);
    const done = createExecutor(open({ rate: 50, arrival: 'poisson', streams: 7 }), f.host, {
      index: 0,
      count: 1,
    }).run();
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    expect(f.arrivals).toBe(7);
    expect(f.started).toHaveLength(7);

    const g = fakeHost(1);
    const ex = createExecutor(open({ rate: 100, arrival: 'constant', duration: '10s' }), g.host, {
      index: 0,
      count: 1,
    });
    const stopped = ex.run();
    await vi.advanceTimersByTimeAsync(105);
    ex.stop();
    await stopped;
    await vi.advanceTimersByTimeAsync(1000);
    expect(g.arrivals).toBe(11); // 0, 10, …, 100
  });
});

describe('stop() before run()', () => {
  it.each([
    ['open', { type: 'open', rate: 10, duration: '10s' }],
    ['closed', { type: 'closed', concurrency: 2, duration: '10s' }],
  ] as const)('%s: run() resolves at once and starts nothing', async (_name, load) => {
    const f = fakeHost(1);
    const ex = createExecutor(loadOf(load), f.host, { index: 0, count: 1 });
    ex.stop();
    await within('run() after stop()', ex.run(), 1000);
    expect(f.started).toEqual([]);
  });
});

describe('closed executor (fake time)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('N users, each starting its next stream when the last ended; streams: M starts exactly M', async () => {
    vi.useFakeTimers();
    const f = fakeHost(30);
    const done = createExecutor(closed({ concurrency: 3, streams: 10, duration: '1m' }), f.host, {
      index: 0,
      count: 1,
    }).run();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(f.started).toHaveLength(10);
    expect(f.maxActive).toBe(3);
    // Intended start = the user's ready time: 3 at 0, then each when one of its streams ended.
    expect(f.started.slice(0, 3)).toEqual([0, 0, 0]);
    expect(f.ended).toHaveLength(10);
    for (const at of f.started.slice(3)) expect(f.ended).toContain(at);
    expect(f.started[3]).toBe(30);
  });

  it('think time delays the next intended start', async () => {
    vi.useFakeTimers();
    const f = fakeHost(10);
    const done = createExecutor(
      closed({ concurrency: 1, streams: 3, duration: '1m', think_time_ms: 40 }),
      f.host,
      { index: 0, count: 1 },
    ).run();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(f.started).toEqual([0, 50, 100]);
  });

  it('a think-time timer that fires early never starts a stream before its intended time', async () => {
    vi.useFakeTimers();
    // performance.now() runs ahead of the timers' whole-millisecond clock: when a stream ends the
    // host clock reads 0.9 ms more than the timer clock, so the think timer fires "early".
    let skew = 0;
    const f = fakeHost();
    const starts: { intendedAt: number; now: number }[] = [];
    const host: ExecutorHost = {
      ...f.host,
      now: () => Date.now() + skew,
      startStream: (intendedAt, onEnd) => {
        starts.push({ intendedAt, now: host.now() });
        setTimeout(() => {
          skew = 0.9;
          onEnd();
          skew = 0;
        }, 10);
      },
    };
    const done = createExecutor(
      closed({ concurrency: 2, streams: 6, duration: '1m', think_time_ms: 25 }),
      host,
      { index: 0, count: 1 },
    ).run();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(starts).toHaveLength(6);
    for (const s of starts) expect(s.intendedAt).toBeLessThanOrEqual(s.now);
  });

  it('leaves no timer behind when the load ends while users are thinking', async () => {
    vi.useFakeTimers();
    const f = fakeHost(5);
    const ex = createExecutor(closed({ concurrency: 3, duration: '1s', think_time_ms: 60_000 }), f.host, {
      index: 0,
      count: 1,
    });
    const done = ex.run();
    await vi.advanceTimersByTimeAsync(1100);
    await done;
    expect(f.started).toHaveLength(3);
    // The three users are in a 60 s think time; the load is over, so nothing may keep the process alive.
    expect(vi.getTimerCount()).toBe(0);

    // Streams still running when the load ends: their users retire instead of thinking.
    const g = fakeHost(1500);
    const running = createExecutor(
      closed({ concurrency: 3, duration: '1s', think_time_ms: 60_000 }),
      g.host,
      {
        index: 0,
        count: 1,
      },
    ).run();
    await vi.advanceTimersByTimeAsync(1100);
    await running;
    expect(g.active()).toBe(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(g.active()).toBe(0);
    expect(g.started).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stages ramp users up at the control ticks and retire them as the target falls', async () => {
    vi.useFakeTimers();
    const f = fakeHost(20);
    const done = createExecutor(
      closed({
        stages: [
          { duration: '1s', target: 20 },
          { duration: '1s', target: 0 },
        ],
      }),
      f.host,
      { index: 0, count: 1 },
    ).run();
    const activeAt: number[] = [];
    for (let t = 0; t < 2000; t += 250) {
      await vi.advanceTimersByTimeAsync(250);
      activeAt.push(f.active());
    }
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(f.maxActive).toBeLessThanOrEqual(20);
    expect(f.maxActive).toBeGreaterThanOrEqual(19);
    // Up to about 5, 10, 15, 20 at 250 ms steps, then down again; nothing left at the end.
    expect(activeAt[0]).toBeGreaterThanOrEqual(4);
    expect(activeAt[0]).toBeLessThanOrEqual(6);
    expect(activeAt[1]).toBeGreaterThanOrEqual(9);
    expect(activeAt[1]).toBeLessThanOrEqual(11);
    expect(activeAt[5]).toBeLessThanOrEqual(11);
    expect(f.active()).toBe(0);
  });
});
