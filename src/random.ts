// Seeded pseudo-random numbers and the distributions the latency model and the runner draw
// from. Everything that must be reproducible from a `--seed` goes through here, never
// through Math.random().

/** sfc32 (Chris Doty-Humphrey's Small Fast Counter): 128-bit state, fast, passes PractRand. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    const h = typeof seed === 'number' ? hashString(`n:${seed}`) : hashString(seed);
    this.a = h[0]!;
    this.b = h[1]!;
    this.c = h[2]!;
    this.d = h[3]!;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; one of the pair is discarded for simplicity). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) * mean;
  }

  /** Gamma(shape k, scale θ) by Marsaglia–Tsang; mean kθ. */
  gamma(shape: number, scale: number): number {
    if (shape < 1) {
      const u = this.next();
      return this.gamma(shape + 1, scale) * u ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }
}

/** cyrb128: a fast 128-bit string hash, used to seed Rng and to derive per-request seeds. */
export function hashString(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * A distribution of positive numbers, as written in configuration files:
 * `fixed` (always `mean`), `normal` (mean, stddev), `lognormal` (mean, stddev of the
 * resulting values, not of the underlying normal), `uniform` (min, max), `exponential` (mean).
 * Draws are clamped to [min, max] when those are given.
 */
export interface Distribution {
  readonly type: 'fixed' | 'normal' | 'lognormal' | 'uniform' | 'exponential';
  readonly mean?: number | undefined;
  readonly stddev?: number | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

/** Compiles a distribution into a sampler over an Rng (setup cost once, cheap per draw). */
export function sampler(dist: Distribution): (rng: Rng) => number {
  const lo = dist.min ?? Number.NEGATIVE_INFINITY;
  const hi = dist.max ?? Number.POSITIVE_INFINITY;
  const clamp = (v: number): number => (v < lo ? lo : Math.min(v, hi));
  const mean = dist.mean ?? 0;
  const sd = dist.stddev ?? 0;
  switch (dist.type) {
    case 'fixed':
      return () => clamp(mean);
    case 'normal':
      return (rng) => clamp(mean + sd * rng.normal());
    case 'lognormal': {
      // Parameters of the underlying normal from the desired mean m and stddev s.
      const sigma2 = Math.log(1 + (sd * sd) / (mean * mean));
      const mu = Math.log(mean) - sigma2 / 2;
      const sigma = Math.sqrt(sigma2);
      return (rng) => clamp(Math.exp(mu + sigma * rng.normal()));
    }
    case 'uniform': {
      const a = dist.min ?? 0;
      const b = dist.max ?? a;
      return (rng) => a + (b - a) * rng.next();
    }
    case 'exponential':
      return (rng) => clamp(rng.exponential(mean));
  }
}

/** The mean of a distribution after clamping is ignored (good enough for capacity estimates). */
export function distributionMean(dist: Distribution): number {
  if (dist.type === 'uniform') return ((dist.min ?? 0) + (dist.max ?? dist.min ?? 0)) / 2;
  return dist.mean ?? 0;
}
