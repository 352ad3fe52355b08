import { describe, expect, it } from 'vitest';
import { formatProgress, type ProgressSnapshot, TTY_WIDTH } from '../../src/report/progress.js';

const snap = (p: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  elapsedS: 62.4,
  active: 120,
  done: 4512,
  errors: 3,
  dropped: 0,
  streamsPerS: 350.25,
  ttftP50Ms: 120.4,
  ttftP95Ms: 340.06,
  phase: 'measuring',
  ...p,
});

describe('formatProgress (TTY)', () => {
  it('shows elapsed, phase, active, done, rate, TTFT p50/p95 and errors on one line', () => {
    expect(formatProgress(snap(), true)).toBe(
      '1:02 measuring  active 120  done 4,512  350.3/s  TTFT p50 120ms p95 340ms  err 3',
    );
  });

  it('adds dropped arrivals only when there are some', () => {
    expect(formatProgress(snap({ dropped: 7 }), true)).toMatch(/ {2}err 3 {2}drop 7$/);
    expect(formatProgress(snap({ dropped: 0 }), true)).not.toContain('drop');
  });

  it('shows a dash before the first token, and the phase', () => {
    const line = formatProgress(
      snap({ ttftP50Ms: null, ttftP95Ms: null, phase: 'warmup', elapsedS: 3 }),
      true,
    );
    expect(line).toBe('0:03 warmup  active 120  done 4,512  350.3/s  TTFT p50 – p95 –  err 3');
  });

  it('keeps a big run in the long form within 100 columns', () => {
    const line = formatProgress(
      snap({
        elapsedS: 3723,
        active: 2000,
        done: 123_456,
        errors: 12,
        dropped: 345,
        streamsPerS: 850.24,
        ttftP50Ms: 1234.5,
        ttftP95Ms: 45.67,
        phase: 'stopping',
      }),
      true,
    );
    expect(line).toBe(
      '1:02:03 stopping  active 2,000  done 123.5k  850.2/s  TTFT p50 1.23s p95 45.7ms  err 12  drop 345',
    );
    expect(line.length).toBeLessThanOrEqual(TTY_WIDTH);
  });

  it('switches to short labels when the long form would not fit', () => {
    const line = formatProgress(
      snap({
        elapsedS: 3723,
        active: 99_999,
        done: 12_345_678,
        errors: 45_678,
        dropped: 250_000,
        streamsPerS: 12_345.6,
        ttftP50Ms: 8_765.4,
        ttftP95Ms: 45.67,
        phase: 'stopping',
      }),
      true,
    );
    expect(line).toBe(
      '1:02:03 stop  act 99,999  done 12.35M  12,346/s  p50 8.77s p95 45.7ms  err 45,678  drop 250.0k',
    );
  });

  it('fits in 100 columns even with absurd values, and never contains a newline or \\r', () => {
    const huge = snap({
      elapsedS: 40_000_000,
      active: 999_999,
      done: 123_456_789_012,
      errors: 98_765_432,
      dropped: 5_000_000_000,
      streamsPerS: 1_234_567.89,
      ttftP50Ms: 3_599_999.9,
      ttftP95Ms: 3_600_000,
      phase: 'stopping',
    });
    const line = formatProgress(huge, true);
    expect([...line].length).toBeLessThanOrEqual(TTY_WIDTH);
    expect(line).toMatch(
      /^11111:06:40 stop {2}act 1\.00M {2}done 123\.46G {2}1\.23M\/s {2}p50 3600s p95 3600s {2}err/,
    );
    expect(line).not.toMatch(/[\r\n]/);
  });
});

describe('formatProgress (log line)', () => {
  it('is a plain key=value line with a [progress] prefix and no timestamp', () => {
    expect(formatProgress(snap(), false)).toBe(
      '[progress] measuring elapsed=62.4s active=120 done=4512 streams_per_s=350.3 ttft_p50_ms=120.40 ttft_p95_ms=340.06 errors=3',
    );
  });

  it('adds dropped when > 0 and writes null TTFT before the first token', () => {
    const line = formatProgress(
      snap({ dropped: 2, ttftP50Ms: null, ttftP95Ms: null, elapsedS: 1234.5 }),
      false,
    );
    expect(line).toBe(
      '[progress] measuring elapsed=1234.5s active=120 done=4512 streams_per_s=350.3 ttft_p50_ms=null ttft_p95_ms=null errors=3 dropped=2',
    );
  });

  it('has no ANSI codes in either variant', () => {
    for (const tty of [true, false])
      expect(formatProgress(snap({ dropped: 1 }), tty)).not.toContain('\u001b');
  });
});
