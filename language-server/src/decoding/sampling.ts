import { isSamplingTemperature, MIN_TEMPERATURE } from '../../../src/protocol';
import type { LogitStats } from './confidence';

/** How the next token is chosen. */
export type SamplingOptions =
  | { kind: 'greedy' }
  | {
      kind: 'sample';
      temperature: number;
      topP: number;
      seed: number;
      /**
       * Tree searches only: candidate 0 of every expansion is the greedy step (the argmax at each token)
       * instead of a draw, so the search always holds the chain greedy decoding would write. Default false.
       */
      greedyFirst?: boolean;
    };

export const GREEDY: SamplingOptions = { kind: 'greedy' };

/** A seedable PRNG (mulberry32): same seed, same sequence of floats in [0, 1). Clonable for branches. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  clone(): SeededRandom {
    const copy = new SeededRandom(0);
    copy.state = this.state;
    return copy;
  }
}

/** Argmax of a logits row; ties go to the lowest id. */
export function argmax(logits: Float32Array, offset = 0, length = logits.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const x = logits[offset + i];
    if (x > bestValue) {
      bestValue = x;
      best = i;
    }
  }
  return best;
}


export function validateSampling(options: SamplingOptions): void {
  if (options.kind === 'greedy') return;
  if (!isSamplingTemperature(options.temperature)) {
    throw new Error(`temperature must be a number of at least ${MIN_TEMPERATURE}, got ${options.temperature}; use greedy decoding for 0`);
  }
  if (!(options.topP > 0 && options.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${options.topP}`);
  if (!Number.isInteger(options.seed)) throw new Error(`seed must be an integer, got ${options.seed}`);
  if (options.greedyFirst !== undefined && typeof options.greedyFirst !== 'boolean') {
    throw new Error(`greedyFirst must be true or false, got ${JSON.stringify(options.greedyFirst)}`);
  }
}

/**
 * Chooses tokens for one row. Greedy reads the argmax from the confidence pass's stats (no extra
 * scan); sampling draws from softmax(logits / T) restricted to the top-p nucleus.
 */
export class TokenSampler {
  private random: SeededRandom | null;
  // Scratch buffers for nucleus candidates, grown on demand and reused across steps.
  private candidateIds = new Int32Array(64);
  private candidateWeights = new Float64Array(64);

  constructor(private readonly options: SamplingOptions) {
    validateSampling(options);
    this.random = options.kind === 'sample' ? new SeededRandom(options.seed) : null;
  }

  /** A copy that continues the same random stream (a branch that must replay identically). */
  clone(): TokenSampler {
    const copy = new TokenSampler(this.options);
    copy.random = this.random === null ? null : this.random.clone();
    return copy;
  }

  /** A sampler with the same settings whose random stream is independent (for branch `rowIndex`). */
  static forRow(options: SamplingOptions, rowIndex: number): TokenSampler {
    if (options.kind === 'greedy') return new TokenSampler(options);
    return new TokenSampler({ ...options, seed: (options.seed + Math.imul(rowIndex, 0x9e3779b1)) | 0 });
  }

  choose(logits: Float32Array, stats: LogitStats, offset = 0, length = logits.length - offset): number {
    if (this.options.kind === 'greedy' || this.random === null) return stats.topIds[0];
    return this.sampleNucleus(logits, stats.maxLogit, offset, length, this.options.temperature, this.options.topP);
  }

  /**
   * Exact top-p sampling without sorting the whole vocabulary: gather every token within `window`
   * (in units of logit/T) of the max; if their mass reaches topP the nucleus lies inside them,
   * otherwise widen the window. Candidates are then sorted (few) and cut at topP.
   */
  private sampleNucleus(
    logits: Float32Array,
    maxLogit: number,
    offset: number,
    length: number,
    temperature: number,
    topP: number,
  ): number {
    const invT = 1 / temperature;
    let total = 0; // Σ exp((x − max)/T) over the whole row
    for (let i = 0; i < length; i++) total += Math.exp((logits[offset + i] - maxLogit) * invT);

    let window = 16;
    let count = 0;
    let mass = 0;
    for (;;) {
      count = 0;
      mass = 0;
      const floor = -window;
      for (let i = 0; i < length; i++) {
        const scaled = (logits[offset + i] - maxLogit) * invT;
        if (scaled >= floor) {
          const weight = Math.exp(scaled);
          this.pushCandidate(count++, i, weight);
          mass += weight;
        }
      }
      if (mass >= topP * total || count === length || window > 1e6) break;
      window *= 4;
    }

    // Sort candidates by weight desc, id asc (deterministic), then keep the smallest prefix ≥ topP.
    const order = Array.from({ length: count }, (_, j) => j);
    const ids = this.candidateIds;
    const weights = this.candidateWeights;
    order.sort((a, b) => weights[b] - weights[a] || ids[a] - ids[b]);
    const target = topP * total;
    let kept = 0;
    let keptMass = 0;
    while (kept < count && (kept === 0 || keptMass < target)) keptMass += weights[order[kept++]];

    let draw = (this.random as SeededRandom).next() * keptMass;
    for (let j = 0; j < kept; j++) {
      draw -= weights[order[j]];
      if (draw < 0) return ids[order[j]];
    }
    return ids[order[kept - 1]]; // rounding left a sliver: take the last kept token
  }

  private pushCandidate(index: number, id: number, weight: number): void {
    if (index >= this.candidateIds.length) {
      const ids = new Int32Array(this.candidateIds.length * 2);
      ids.set(this.candidateIds);
      const weights = new Float64Array(this.candidateWeights.length * 2);
      weights.set(this.candidateWeights);
      this.candidateIds = ids;
      this.candidateWeights = weights;
    }
    this.candidateIds[index] = id;
    this.candidateWeights[index] = weight;
  }
}
