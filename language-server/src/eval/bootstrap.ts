/**
 * How much a number measured on a set of problems could move on another draw of problems of the
 * same kind: a bootstrap over problems. Each resample draws the problems with replacement (paired
 * comparisons use the same draw for both sides) and recomputes the number (accuracy, ECE, AUROC, a
 * difference or a reduction) from per-problem scores; the 95 % interval is the 2.5th–97.5th
 * percentile of the resampled numbers. Used by `npm run caspo:table` and `npm run bench:strategies`
 * (is a goal met beyond the noise?) and by the calibration view (how sure is this ECE?).
 */
import { SeededRandom } from '../decoding/sampling';
import { ECE_BINS } from './stepCalibration';

/**
 * One problem's outcome: `answers[i]` is 1 when solution i's answer is right; `steps` holds
 * [confidence, 1 correct | 0 wrong] for every labelled step of its solutions.
 */
export interface ProblemScore {
  answers: (0 | 1)[];
  steps: [number, 0 | 1][];
}

export const BOOTSTRAP_RESAMPLES = 2000;
export const BOOTSTRAP_LEVEL = 0.95;
const BOOTSTRAP_SEED = 20260514;

export interface Interval {
  low: number;
  high: number;
  /** Resamples in which the number was defined (e.g. AUROC needs a wrong and a right step). */
  resamples: number;
}

/**
 * A number computed from one resample: `counts[k]` is how many times problem k was drawn (the draw
 * as weights: no copies of the data per resample). Null when the number is undefined for the draw.
 */
export type Statistic = (counts: Int32Array) => number | null;

/**
 * The percentile interval of `statistic` over `resamples` draws of `n` problems with replacement.
 * Null when the number is undefined in more than half of the draws (too little data to say).
 */
export function bootstrapInterval(n: number, statistic: Statistic, resamples = BOOTSTRAP_RESAMPLES, seed = BOOTSTRAP_SEED): Interval | null {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bootstrapInterval: need at least one problem, got ${n}`);
  const random = new SeededRandom(seed);
  const counts = new Int32Array(n);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[Math.floor(random.next() * n)]++;
    const value = statistic(counts);
    if (value !== null && Number.isFinite(value)) values.push(value);
  }
  if (values.length * 2 < resamples) return null;
  values.sort((a, b) => a - b);
  const tail = (1 - BOOTSTRAP_LEVEL) / 2;
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];
  return { low: at(tail), high: at(1 - tail), resamples: values.length };
}

/** The interval of the mean of a[k] − b[k] over paired per-problem values (e.g. 1/0 right answers of two strategies). */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval | null {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} values against ${b.length}; pass one per problem for both`);
  return bootstrapInterval(a.length, (counts) => {
    let sum = 0;
    for (let k = 0; k < counts.length; k++) sum += counts[k] * (a[k] - b[k]);
    return sum / a.length;
  });
}

/**
 * One model's problem scores, arranged once so that each resample's accuracy, ECE, Brier and AUROC
 * take one pass over the steps with the draw's counts as weights (steps sorted by confidence for
 * AUROC). With every count 1 they equal metrics.ts's numbers on all the steps.
 */
export class ScoredProblems {
  readonly problems: number;
  private readonly confidence: Float64Array;
  private readonly correct: Uint8Array;
  private readonly problemOf: Int32Array;
  private readonly right: Int32Array;
  private readonly solutions: Int32Array;

  constructor(scores: readonly ProblemScore[]) {
    this.problems = scores.length;
    const steps = scores.flatMap((p, k) => p.steps.map(([c, label]) => ({ c, label, k })));
    for (const { c } of steps) {
      if (!(c >= 0 && c <= 1)) throw new RangeError(`ScoredProblems: confidence ${c} is outside [0, 1]`);
    }
    steps.sort((x, y) => x.c - y.c);
    this.confidence = Float64Array.from(steps, (s) => s.c);
    this.correct = Uint8Array.from(steps, (s) => s.label);
    this.problemOf = Int32Array.from(steps, (s) => s.k);
    this.right = Int32Array.from(scores, (p) => p.answers.reduce<number>((sum, a) => sum + a, 0));
    this.solutions = Int32Array.from(scores, (p) => p.answers.length);
  }

  /** Share of right answers among the drawn problems' solutions. */
  accuracy(counts: Int32Array): number | null {
    let right = 0;
    let total = 0;
    for (let k = 0; k < this.problems; k++) {
      right += counts[k] * this.right[k];
      total += counts[k] * this.solutions[k];
    }
    return total > 0 ? right / total : null;
  }

  /** ECE over ECE_BINS equal-width bins (the last one holds 1) of the drawn steps. */
  ece(counts: Int32Array): number | null {
    const weight = new Float64Array(ECE_BINS);
    const confSum = new Float64Array(ECE_BINS);
    const correctSum = new Float64Array(ECE_BINS);
    let total = 0;
    for (let i = 0; i < this.confidence.length; i++) {
      const w = counts[this.problemOf[i]];
      if (w === 0) continue;
      const bin = Math.min(Math.floor(this.confidence[i] * ECE_BINS), ECE_BINS - 1);
      weight[bin] += w;
      confSum[bin] += w * this.confidence[i];
      correctSum[bin] += w * this.correct[i];
      total += w;
    }
    if (total === 0) return null;
    let ece = 0;
    for (let bin = 0; bin < ECE_BINS; bin++) if (weight[bin] > 0) ece += Math.abs(correctSum[bin] - confSum[bin]) / total;
    return ece;
  }

  /** Brier score of the drawn steps. */
  brier(counts: Int32Array): number | null {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < this.confidence.length; i++) {
      const w = counts[this.problemOf[i]];
      sum += w * (this.confidence[i] - this.correct[i]) ** 2;
      total += w;
    }
    return total > 0 ? sum / total : null;
  }

  /** AUROC of the drawn steps' confidence for their correctness (ties count half); null with one class. */
  auroc(counts: Int32Array): number | null {
    let positives = 0;
    let negatives = 0;
    let pairs = 0; // Σ over correct steps of the wrong steps below them (ties: half)
    for (let start = 0; start < this.confidence.length;) {
      let end = start;
      let groupPositives = 0;
      let groupNegatives = 0;
      while (end < this.confidence.length && this.confidence[end] === this.confidence[start]) {
        const w = counts[this.problemOf[end]];
        if (this.correct[end]) groupPositives += w;
        else groupNegatives += w;
        end++;
      }
      pairs += groupPositives * (negatives + groupNegatives / 2);
      positives += groupPositives;
      negatives += groupNegatives;
      start = end;
    }
    return positives > 0 && negatives > 0 ? pairs / (positives * negatives) : null;
  }
}

/** Where the interval lies with respect to the goal's threshold. */
export type Certainty = 'clears the goal' | 'straddles the goal' | 'misses the goal';

/**
 * The goal is met by a number ≥ threshold (> threshold when `strict`, e.g. "above"). The interval
 * clears the goal when all of it meets it, misses when none of it does, and otherwise straddles it.
 */
export function certainty(interval: Interval, threshold: number, strict = false): Certainty {
  const meets = (x: number) => (strict ? x > threshold : x >= threshold - 1e-12);
  if (meets(interval.low)) return 'clears the goal';
  if (!meets(interval.high)) return 'misses the goal';
  return 'straddles the goal';
}

export interface MetricIntervals {
  accuracy: Interval | null;
  stepAUROC: Interval | null;
  ece: Interval | null;
  brier: Interval | null;
}

/** The 95 % intervals of one model's accuracy, step AUROC, ECE and Brier over its problems (null: undefined in most draws). */
export function metricIntervals(scores: readonly ProblemScore[]): MetricIntervals {
  if (scores.length === 0) return { accuracy: null, stepAUROC: null, ece: null, brier: null };
  const scored = new ScoredProblems(scores);
  const interval = (statistic: Statistic) => bootstrapInterval(scores.length, statistic);
  return {
    accuracy: interval((c) => scored.accuracy(c)),
    stepAUROC: interval((c) => scored.auroc(c)),
    ece: interval((c) => scored.ece(c)),
    brier: interval((c) => scored.brier(c)),
  };
}
