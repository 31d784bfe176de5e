/**
 * How much a number measured on a set of problems could move on another draw of problems of the
 * same kind: a bootstrap over problems. Each resample draws the problems with replacement (paired
 * comparisons use the same draw for both sides) and recomputes the number (accuracy, ECE, AUROC, a
 * difference or a reduction) from per-problem scores; the 95 % interval is the 2.5th–97.5th
 * percentile of the resampled numbers. Used by `npm run caspo:table` and `npm run bench:strategies`
 * (is a goal met beyond the noise?) and by the calibration view (how sure is this ECE?).
 */
import { SeededRandom } from '../decoding/sampling';
import { auroc, brierScore, expectedCalibrationError } from './metrics';
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

/** A number computed from one resample: `draw[k]` is the index of the k-th problem drawn. */
export type Statistic = (draw: Int32Array) => number | null;

/**
 * The percentile interval of `statistic` over `resamples` draws of `n` problems with replacement.
 * Null when the number is undefined in more than half of the draws (too little data to say).
 */
export function bootstrapInterval(n: number, statistic: Statistic, resamples = BOOTSTRAP_RESAMPLES, seed = BOOTSTRAP_SEED): Interval | null {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bootstrapInterval: need at least one problem, got ${n}`);
  const random = new SeededRandom(seed);
  const draw = new Int32Array(n);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < n; k++) draw[k] = Math.floor(random.next() * n);
    const value = statistic(draw);
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
  return bootstrapInterval(a.length, (draw) => {
    let sum = 0;
    for (const k of draw) sum += a[k] - b[k];
    return sum / draw.length;
  });
}

/** Share of right answers among the drawn problems' solutions. */
export function drawnAccuracy(records: readonly ProblemScore[], draw: Int32Array): number | null {
  let right = 0;
  let total = 0;
  for (const k of draw) {
    for (const a of records[k].answers) right += a;
    total += records[k].answers.length;
  }
  return total > 0 ? right / total : null;
}

function drawnSteps(records: readonly ProblemScore[], draw: Int32Array): { conf: number[]; correct: boolean[] } {
  const conf: number[] = [];
  const correct: boolean[] = [];
  for (const k of draw) {
    for (const [c, label] of records[k].steps) {
      conf.push(c);
      correct.push(label === 1);
    }
  }
  return { conf, correct };
}

/** ECE (10 equal-width bins) of the drawn problems' steps; null without steps. */
export function drawnEce(records: readonly ProblemScore[], draw: Int32Array): number | null {
  const { conf, correct } = drawnSteps(records, draw);
  return conf.length > 0 ? expectedCalibrationError(conf, correct, ECE_BINS) : null;
}

/** Brier score of the drawn problems' steps; null without steps. */
export function drawnBrier(records: readonly ProblemScore[], draw: Int32Array): number | null {
  const { conf, correct } = drawnSteps(records, draw);
  return conf.length > 0 ? brierScore(conf, correct) : null;
}

/** AUROC of the drawn problems' step confidence vs step correctness; null when it is undefined. */
export function drawnAuroc(records: readonly ProblemScore[], draw: Int32Array): number | null {
  const { conf, correct } = drawnSteps(records, draw);
  return conf.length > 0 ? auroc(conf, correct) : null;
}

/** Where the interval lies with respect to the goal's threshold. */
export type Certainty = 'clears the goal' | 'straddles the goal' | 'misses the goal';

/**
 * `atLeast`: the goal is met when the number is ≥ threshold (> threshold when `strict`, e.g. "above").
 * The interval clears the goal when all of it meets it, misses when none of it does.
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
  const interval = (of: (records: readonly ProblemScore[], draw: Int32Array) => number | null) =>
    scores.length > 0 ? bootstrapInterval(scores.length, (draw) => of(scores, draw)) : null;
  return { accuracy: interval(drawnAccuracy), stepAUROC: interval(drawnAuroc), ece: interval(drawnEce), brier: interval(drawnBrier) };
}
