// Gaps between open-model arrivals, in ms. constant: 1/rate exactly; poisson: exponential gaps
// (memoryless arrivals, the usual model of independent users); gamma: shape = burstiness,
// scale = 1 / (rate × burstiness), so the mean rate is unchanged and burstiness < 1 clusters
// arrivals (as vLLM's benchmark_serving --burstiness).
import type { Rng } from '../random.js';

export type ArrivalProcess = 'constant' | 'poisson' | 'gamma';

export function arrivalGaps(
  process: ArrivalProcess,
  ratePerS: number,
  burstiness: number,
  rng: Rng,
): () => number {
  const meanMs = 1000 / ratePerS;
  switch (process) {
    case 'constant':
      return () => meanMs;
    case 'poisson':
      return () => rng.exponential(meanMs);
    case 'gamma': {
      const scale = meanMs / burstiness;
      return () => rng.gamma(burstiness, scale);
    }
  }
}
