// The mock's configuration boundary: the compact fault syntax (shared by --fault and the
// x-tokenstorm-fault header) and profile validation that lists every problem with its path.
import { describe, expect, it } from 'vitest';
import { TokenstormError } from '../../src/errors.js';
import { parseFaultSpec, parseMockConfig } from '../../src/mock/config.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenstormError);
    expect((err as TokenstormError).code).toBe('E_CONFIG_INVALID');
    return (err as TokenstormError).problems;
  }
  throw new Error('expected a validation error');
}

describe('parseFaultSpec', () => {
  it('parses numbers, ranges and strings, fills defaults, and treats `none` as no fault', () => {
    expect(parseFaultSpec('reset;after_tokens=2-7;probability=0.5', 'h')).toEqual({
      kind: 'reset',
      probability: 0.5,
      after_tokens: [2, 7],
    });
    expect(parseFaultSpec(' inband_error ; error_type=api_error ; message=Boom now ', 'h')).toEqual({
      kind: 'inband_error',
      probability: 1,
      after_tokens: 0,
      error_type: 'api_error',
      message: 'Boom now',
    });
    expect(parseFaultSpec('http_error', 'h')).toEqual({ kind: 'http_error', probability: 1, status: 529 });
    expect(parseFaultSpec('ping_stall;duration_ms=100', 'h')).toMatchObject({ ping_interval_ms: 1000 });
    expect(parseFaultSpec('none', 'h')).toBeNull();
    expect(parseFaultSpec(' none ', 'h')).toBeNull();
  });

  it.each([
    ['stall', 'duration_ms: duration_ms must be a number'],
    ['stall;duration_ms=-1', 'duration_ms: Too small'],
    ['reset;after_tokens=5-2', 'after_tokens: a range [min, max] needs min <= max'],
    ['http_error;status=200', 'status: Too small'],
    ['truncate;probability=2', 'probability: Too big'],
    ['explode', 'kind must be one of http_error, inband_error, stall'],
    ['reset;bogus=1', 'bogus'],
  ])('%s is refused with the problem named: %s', (spec, problem) => {
    const problems = problemsOf(() => parseFaultSpec(spec, 'x-tokenstorm-fault'));
    expect(problems.join('\n')).toContain(problem);
  });

  it('a part that is not key=value, or an empty spec, is refused with a hint', () => {
    expect(() => parseFaultSpec('reset;after_tokens', 'h')).toThrow(/"after_tokens" is not key=value/);
    expect(() => parseFaultSpec(' ; ', 'h')).toThrow(/empty fault; write kind;key=value/);
  });
});

describe('parseMockConfig', () => {
  it('lists every problem at once, each with its path', () => {
    const problems = problemsOf(() =>
      parseMockConfig({
        latency: { ttft_base_ms: -5, itl_ms: { type: 'uniform', min: 1 } },
        capacity: { slots: 0 },
        faults: [
          { kind: 'truncate', probability: 0.8 },
          { kind: 'reset', probability: 0.5 },
          { kind: 'boom' },
        ],
        colour: 'blue',
      }),
    );
    const text = problems.join('\n');
    expect(text).toMatch(/^latency\.ttft_base_ms: /m);
    expect(text).toMatch(/^latency\.itl_ms: a uniform distribution needs min and max/m);
    expect(text).toMatch(/^capacity\.slots: /m);
    expect(text).toMatch(/^faults\[2\]\.kind: kind must be one of/m);
    expect(text).toContain('colour');
    expect(problems.length).toBeGreaterThanOrEqual(5);
  });

  it('a negative number is reported as out of range, not as "must be a number"', () => {
    const [problem] = problemsOf(() => parseMockConfig({ latency: { ttft_base_ms: -5 } }));
    expect(problem).toBe('latency.ttft_base_ms: Too small: expected number to be >=0');
    const [mistyped] = problemsOf(() => parseMockConfig({ latency: { ttft_base_ms: 'fast' } }));
    expect(mistyped).toBe('latency.ttft_base_ms: ttft_base_ms must be a number');
  });

  it('fault probabilities must add up to 1 or less', () => {
    const problems = problemsOf(() =>
      parseMockConfig({
        faults: [
          { kind: 'truncate', probability: 0.7 },
          { kind: 'reset', probability: 0.4 },
        ],
      }),
    );
    expect(problems).toEqual([expect.stringMatching(/^faults: fault probabilities add up to 1\.100/)]);
    expect(
      parseMockConfig({
        faults: [
          { kind: 'truncate', probability: 0.7 },
          { kind: 'reset', probability: 0.3 },
        ],
      }).faults,
    ).toHaveLength(2);
  });

  it('fills the defaults and freezes the result', () => {
    const cfg = parseMockConfig(undefined);
    expect(cfg.latency).toEqual({
      ttft_base_ms: 200,
      prefill_ms_per_input_token: 0,
      itl_ms: { type: 'fixed', mean: 20 },
      ping_interval_ms: 0,
    });
    expect(cfg.capacity).toEqual({ slots: 256, max_queue: 100_000, degradation: 0 });
    expect(cfg.seed).toBe(1);
    expect(Object.isFrozen(cfg.latency.itl_ms)).toBe(true);
  });
});
