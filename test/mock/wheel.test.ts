// The shared timer wheel: driven deterministically by a fake clock and direct advance()
// calls, and through its own Node timer under vitest's fake timers.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Clock, monotonicClock, TimerWheel, type WheelEntry } from '../../src/mock/wheel.js';

interface Entry extends WheelEntry {
  id: number;
}

class FakeClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
}

interface Fired {
  id: number;
  due: number;
  now: number;
}

/** Every wheel a test makes, closed after it even when the test fails. */
const wheels: TimerWheel<Entry>[] = [];
function track(wheel: TimerWheel<Entry>): TimerWheel<Entry> {
  wheels.push(wheel);
  return wheel;
}

/** A wheel on a fake clock that records every firing. */
function harness(start = 0, size?: number) {
  const clock = new FakeClock(start);
  const fired: Fired[] = [];
  let onFire: (e: Entry, now: number) => void = () => {};
  const wheel = track(
    new TimerWheel<Entry>(
      (e, now) => {
        fired.push({ id: e.id, due: e.due, now });
        onFire(e, now);
      },
      clock,
      size,
    ),
  );
  let nextId = 0;
  const add = (due: number): Entry => {
    const e = { id: nextId++, due };
    wheel.schedule(e);
    return e;
  };
  const advanceTo = (t: number): number[] => {
    const before = fired.length;
    clock.t = t;
    wheel.advance(t);
    return fired.slice(before).map((f) => f.id);
  };
  return {
    clock,
    wheel,
    fired,
    add,
    advanceTo,
    set onFire(f: (e: Entry, now: number) => void) {
      onFire = f;
    },
  };
}

// schedule() arms a real Node timer; fake timers keep it from firing behind the test's back.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const w of wheels.splice(0)) w.close();
  vi.useRealTimers();
});

describe('TimerWheel on a fake clock (advance() called directly)', () => {
  it('fires an entry at or after its due time, never early', () => {
    const h = harness(100);
    h.add(105);
    h.add(105.5);
    h.add(110.2);
    expect(h.advanceTo(104.999)).toEqual([]);
    expect(h.advanceTo(105)).toEqual([0]);
    // 105.5 belongs to tick 106: not at 105.9 (floor 105), only once the clock reaches 106.
    expect(h.advanceTo(105.9)).toEqual([]);
    expect(h.advanceTo(106)).toEqual([1]);
    expect(h.advanceTo(110.1)).toEqual([]);
    expect(h.advanceTo(111)).toEqual([2]);
    for (const f of h.fired) expect(f.now).toBeGreaterThanOrEqual(f.due);
    expect(h.wheel.size).toBe(0);
    h.wheel.close();
  });

  it('fires in due order, and in scheduling order within one tick', () => {
    const h = harness(0);
    h.add(30);
    h.add(10);
    h.add(20.5);
    h.add(10);
    h.add(20.1);
    h.add(1);
    expect(h.advanceTo(50)).toEqual([5, 1, 3, 2, 4, 0]);
    h.wheel.close();
  });

  it('an entry due in the past fires on the next tick, with the current time', () => {
    const h = harness(0);
    h.advanceTo(500);
    h.add(12);
    h.add(500);
    expect(h.wheel.size).toBe(2);
    expect(h.advanceTo(500.9)).toEqual([]);
    expect(h.advanceTo(501)).toEqual([0, 1]);
    expect(h.fired.map((f) => f.now)).toEqual([501, 501]);
    h.wheel.close();
  });

  it('entries beyond the 4096 ms span fire on their own round, not when their bucket first comes up', () => {
    const h = harness(0);
    h.add(4096 + 7); // same bucket as tick 7
    h.add(3 * 4096 + 7); // and again two rounds later
    h.add(7);
    expect(h.advanceTo(10)).toEqual([2]);
    expect(h.advanceTo(4096 + 6)).toEqual([]);
    expect(h.advanceTo(4096 + 7)).toEqual([0]);
    for (let t = 4096 + 500; t < 3 * 4096 + 7; t += 500) expect(h.advanceTo(t)).toEqual([]);
    expect(h.advanceTo(3 * 4096 + 7)).toEqual([1]);
    expect(h.wheel.size).toBe(0);
    h.wheel.close();
  });

  it('a jump of more than a whole turn fires everything due and keeps the rest', () => {
    const h = harness(0);
    const dues = [1, 2000, 4095, 4096, 4097, 9000, 12_000, 12_001, 20_000];
    for (const d of dues) h.add(d);
    expect(h.advanceTo(12_000).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h.wheel.size).toBe(2);
    expect(h.advanceTo(12_001)).toEqual([7]);
    expect(h.advanceTo(19_999)).toEqual([]);
    expect(h.advanceTo(20_000)).toEqual([8]);
    for (const f of h.fired) expect(f.now).toBeGreaterThanOrEqual(f.due);
    h.wheel.close();
  });

  it('entries scheduled from inside a callback fire later in the same advance when due, never re-entrantly', () => {
    const h = harness(0);
    let depth = 0;
    const order: string[] = [];
    h.onFire = (e, now) => {
      depth++;
      expect(depth).toBe(1);
      order.push(`${e.id}@${now}`);
      // id 0 schedules one entry in the past, one for its own tick and one 3 ms ahead;
      // that one (id 3) schedules another 3 ms after it.
      if (e.id === 0) {
        h.add(e.due - 100);
        h.add(e.due);
        h.add(e.due + 3);
      }
      if (e.id === 3) h.add(e.due + 3);
      depth--;
    };
    h.add(10);
    expect(h.advanceTo(9)).toEqual([]);
    // 0 fires at tick 10; the past and same-tick entries (ids 1, 2) land on tick 11.
    expect(h.advanceTo(100)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual(['0@100', '1@100', '2@100', '3@100', '4@100']);
    expect(h.fired.find((f) => f.id === 4)?.due).toBe(16);
    expect(h.wheel.size).toBe(0);
    h.wheel.close();
  });

  it('a callback scheduling beyond the current time waits for a later advance', () => {
    const h = harness(0);
    h.onFire = (e) => {
      if (e.id === 0) h.add(5000);
    };
    h.add(1);
    expect(h.advanceTo(4999)).toEqual([0]);
    expect(h.wheel.size).toBe(1);
    expect(h.advanceTo(5000)).toEqual([1]);
    h.wheel.close();
  });

  it('close() drops every entry, ignores later schedules and advances, and disarms its timer', () => {
    const h = harness(0);
    h.add(10);
    h.add(5000);
    expect(vi.getTimerCount()).toBe(1);
    h.wheel.close();
    expect(h.wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    h.add(20);
    expect(h.wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.advanceTo(10_000)).toEqual([]);
    expect(h.fired).toEqual([]);
  });

  it('close() from inside a callback stops the entries after it, in the same tick and later ones', () => {
    const h = harness(0);
    h.onFire = (e) => {
      if (e.id === 1) h.wheel.close();
    };
    h.add(5);
    h.add(5);
    h.add(5);
    h.add(6);
    expect(h.advanceTo(100)).toEqual([0, 1]);
    expect(h.advanceTo(200)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a size that is not a power of two', () => {
    expect(() => new TimerWheel<Entry>(() => {}, new FakeClock(), 1000)).toThrow(RangeError);
  });

  it('property: every entry fires exactly once, at the first advance at or after its tick, in order', () => {
    const SPAN = 64; // a small wheel makes multi-round entries and whole-turn jumps common
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.array(
          fc.record({
            // New entries before this step, relative to the current time (some in the past).
            dues: fc.array(fc.double({ min: -50, max: 300, noNaN: true }), { maxLength: 6 }),
            step: fc.oneof(
              fc.double({ min: 0, max: 5, noNaN: true }),
              fc.double({ min: 0, max: 200, noNaN: true }),
            ),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (start, steps) => {
          const h = harness(start, SPAN);
          let cursor = Math.floor(start);
          let seq = 0;
          const model: { id: number; tick: number }[] = [];
          for (const s of steps) {
            for (const d of s.dues) {
              const due = h.clock.t + d;
              const tick = Math.max(Math.ceil(due), cursor + 1);
              h.add(due);
              model.push({ id: seq++, tick });
            }
            const now = h.clock.t + s.step;
            const target = Math.floor(now);
            const expected = model
              .filter((m) => m.tick > cursor && m.tick <= target)
              .sort((a, b) => a.tick - b.tick || a.id - b.id)
              .map((m) => m.id);
            const got = h.advanceTo(now);
            if (target - cursor > SPAN)
              expect([...got].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
            else expect(got).toEqual(expected);
            cursor = Math.max(cursor, target);
            expect(h.wheel.size).toBe(model.filter((m) => m.tick > cursor).length);
          }
          for (const f of h.fired) expect(f.now).toBeGreaterThanOrEqual(f.due);
          h.wheel.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('TimerWheel on its own Node timer', () => {
  function timed(clock: Clock) {
    const fired: Fired[] = [];
    const wheel = track(new TimerWheel<Entry>((e, now) => fired.push({ id: e.id, due: e.due, now }), clock));
    return { wheel, fired };
  }

  it('arms one timer for the earliest entry, re-arms for an earlier one, and disarms when empty', () => {
    const clock: Clock = { now: () => Date.now() };
    const t0 = Date.now();
    const { wheel, fired } = timed(clock);
    wheel.schedule({ id: 0, due: t0 + 100 });
    wheel.schedule({ id: 1, due: t0 + 10 });
    wheel.schedule({ id: 2, due: t0 + 40.5 });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired.map((f) => f.id)).toEqual([1]);
    vi.advanceTimersByTime(30);
    expect(fired.map((f) => f.id)).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(fired.map((f) => f.id)).toEqual([1, 2]);
    vi.advanceTimersByTime(100);
    expect(fired.map((f) => f.id)).toEqual([1, 2, 0]);
    for (const f of fired) expect(f.now).toBeGreaterThanOrEqual(f.due);
    expect(vi.getTimerCount()).toBe(0);
    wheel.close();
  });

  it('an entry three turns ahead fires on time through intermediate wake-ups', () => {
    const clock: Clock = { now: () => Date.now() };
    const t0 = Date.now();
    const { wheel, fired } = timed(clock);
    wheel.schedule({ id: 0, due: t0 + 3 * 4096 + 123 });
    vi.advanceTimersByTime(3 * 4096 + 122);
    expect(fired).toEqual([]);
    expect(wheel.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(fired.map((f) => f.id)).toEqual([0]);
    expect(vi.getTimerCount()).toBe(0);
    wheel.close();
  });

  it('entries scheduled from a callback are armed after it returns', () => {
    const clock: Clock = { now: () => Date.now() };
    const t0 = Date.now();
    const fired: number[] = [];
    const wheel: TimerWheel<Entry> = track(
      new TimerWheel<Entry>((e, now) => {
        fired.push(now - t0);
        if (e.id < 3) wheel.schedule({ id: e.id + 1, due: now + 25 });
      }, clock),
    );
    wheel.schedule({ id: 0, due: t0 + 25 });
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([25, 50, 75, 100]);
    expect(vi.getTimerCount()).toBe(0);
    wheel.close();
  });

  it('close() cancels the pending timer: nothing fires afterwards', () => {
    const clock: Clock = { now: () => Date.now() };
    const { wheel, fired } = timed(clock);
    wheel.schedule({ id: 0, due: Date.now() + 10 });
    wheel.close();
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('in real time on the monotonic clock: the callback runs no earlier than due', async () => {
    vi.useRealTimers();
    let resolve!: (v: { now: number; at: number }) => void;
    const done = new Promise<{ now: number; at: number }>((r) => (resolve = r));
    const wheel = track(
      new TimerWheel<Entry>((_e, now) => resolve({ now, at: performance.now() }), monotonicClock),
    );
    try {
      const due = performance.now() + 15.5;
      wheel.schedule({ id: 0, due });
      const { now, at } = await done;
      expect(now).toBeGreaterThanOrEqual(due);
      expect(at).toBeGreaterThanOrEqual(due);
      expect(wheel.size).toBe(0);
    } finally {
      wheel.close();
    }
  });
});
