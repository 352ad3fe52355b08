// One shared hashed timer wheel for every stream the mock holds: 10,000 streams emitting
// a token each every 250 ms must not mean 10,000 live timers. Entries sit in 1 ms buckets;
// a single Node timer is armed for the earliest non-empty bucket. An entry fires in the
// first tick at or after its due time (ceil), never early. Entries due further ahead than
// the wheel's span stay in their bucket and are passed over until their round comes.

export interface WheelEntry {
  /** Absolute due time in ms on the wheel's clock. */
  due: number;
}

export interface Clock {
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

export class TimerWheel<T extends WheelEntry> {
  private readonly mask: number;
  private buckets: T[][];
  private spare: T[] = [];
  /** Every tick <= cursor has been processed. */
  private cursor: number;
  private timer: NodeJS.Timeout | undefined;
  private armedTick = Number.POSITIVE_INFINITY;
  private count = 0;
  private closed = false;
  private advancing = false;

  constructor(
    private readonly onDue: (entry: T, now: number) => void,
    private readonly clock: Clock = monotonicClock,
    size = 4096,
  ) {
    if ((size & (size - 1)) !== 0) throw new RangeError('timer wheel size must be a power of two');
    this.mask = size - 1;
    this.buckets = Array.from({ length: size }, () => []);
    this.cursor = Math.floor(clock.now());
  }

  /** Entries waiting (including ones whose owner has since lost interest). */
  get size(): number {
    return this.count;
  }

  schedule(entry: T): void {
    if (this.closed) return;
    let tick = Math.ceil(entry.due);
    if (tick <= this.cursor) tick = this.cursor + 1;
    this.buckets[tick & this.mask]!.push(entry);
    this.count++;
    if (!this.advancing && tick < this.armedTick) this.arm(tick);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.buckets = [];
    this.count = 0;
  }

  private arm(tick: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedTick = tick;
    const delay = Math.max(0, tick - this.clock.now());
    this.timer = setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedTick = Number.POSITIVE_INFINITY;
    this.advancing = true;
    try {
      this.advance(this.clock.now());
    } finally {
      this.advancing = false;
    }
    if (!this.closed && this.count > 0) this.armNext();
  };

  /** Processes every tick up to `now` (exposed for fake-clock tests through fire()). */
  advance(now: number): void {
    if (this.closed) return; // close() dropped the buckets
    const target = Math.floor(now);
    const span = this.mask + 1;
    // When we fell behind by more than a whole turn, every bucket is visited once.
    const from = target - this.cursor > span ? target - span + 1 : this.cursor + 1;
    for (let t = from; t <= target; t++) {
      this.cursor = t;
      const i = t & this.mask;
      const list = this.buckets[i]!;
      if (list.length === 0) continue;
      // Swap in an empty array so entries scheduled from callbacks land safely.
      this.buckets[i] = this.spare;
      for (let k = 0; k < list.length; k++) {
        const e = list[k]!;
        if (Math.ceil(e.due) <= target) {
          this.count--;
          this.onDue(e, now);
          if (this.closed) return;
        } else {
          this.buckets[i]!.push(e); // a later round of this bucket
        }
      }
      list.length = 0;
      this.spare = list;
    }
    this.cursor = target;
  }

  private armNext(): void {
    const span = this.mask + 1;
    for (let k = 1; k <= span; k++) {
      const t = this.cursor + k;
      if (this.buckets[t & this.mask]!.length > 0) {
        this.arm(t);
        return;
      }
    }
  }
}
