/**
 * The arithmetic of `npm run bench:headroom` (bench/headroom.ts): which answer each selection rule
 * picks from a problem's sampled solutions, and where a right sampled solution first parts from the
 * greedy one. Pure functions over plain records, so the unit tests can check them on hand-made
 * solutions.
 */
import { STEP_METRICS, type StepMetric } from '../../language-server/src/decoding/stepConfidence';
import { MIN_STEP_CONFIDENCE } from '../../language-server/src/decoding/treeNodes';

/** One decoded solution, reduced to what the rules read. */
export interface Solution {
  answer: string | null;
  /** The answer equals the expected one. */
  correct: boolean;
  /** Σ token log-probabilities (what best-of-K ranks by). */
  logLikelihood: number;
  /** Each step's text and its calibrated confidence under every metric (the model's Platt maps). */
  steps: { text: string; confidence: Record<StepMetric, number> }[];
}

/** A selection rule over the K sampled solutions of one problem. */
export interface Rule {
  id: string;
  describe: string;
  /** The answer the rule gives (null: none of the solutions has one). */
  pick(solutions: readonly Solution[]): string | null;
}

/** CaT's path score under `metric`: Σ log(step confidence), a confidence under 1e-12 counted as 1e-12. */
export function pathScore(solution: Solution, metric: StepMetric): number {
  let sum = 0;
  for (const step of solution.steps) sum += Math.log(Math.max(step.confidence[metric], MIN_STEP_CONFIDENCE));
  return sum;
}

/** The answer of the solution of highest `score` among those with an answer (ties: the first). */
function bestAnswer(solutions: readonly Solution[], score: (s: Solution) => number): string | null {
  let best: Solution | null = null;
  let bestScore = -Infinity;
  for (const s of solutions) {
    if (s.answer === null) continue;
    const value = score(s);
    if (best === null || value > bestScore) {
      best = s;
      bestScore = value;
    }
  }
  return best?.answer ?? null;
}

/** The answer of most total weight (ties: the answer seen first). */
function weightedVote(solutions: readonly Solution[], weight: (s: Solution) => number): string | null {
  const tally = new Map<string, number>();
  for (const s of solutions) if (s.answer !== null) tally.set(s.answer, (tally.get(s.answer) ?? 0) + weight(s));
  let best: string | null = null;
  for (const [answer, total] of tally) if (best === null || total > (tally.get(best) as number)) best = answer;
  return best;
}

/**
 * The rules the benchmark compares, the same rows for every model: majority vote (sc@K), highest
 * likelihood (bok@K), the path CaT ranks first (highest path score under the model's default
 * metric) and CaT's confidence-weighted vote, then the best path under each metric in turn.
 */
export function selectionRules(defaultMetric: StepMetric): Rule[] {
  return [
    { id: 'majority', describe: 'majority vote (self-consistency)', pick: (s) => weightedVote(s, () => 1) },
    { id: 'likelihood', describe: 'highest Σ token log-prob (best-of-K)', pick: (s) => bestAnswer(s, (x) => x.logLikelihood) },
    { id: 'cat', describe: "highest path score under the model's default metric (CaT's ranking)", pick: (s) => bestAnswer(s, (x) => pathScore(x, defaultMetric)) },
    {
      id: 'cat-vote',
      describe: "confidence-weighted vote, weight = path confidence under the default metric (CaT's vote)",
      pick: (s) => weightedVote(s, (x) => Math.exp(pathScore(x, defaultMetric))),
    },
    ...STEP_METRICS.map((metric) => ({
      id: `path:${metric}`,
      describe: `highest path score, ${metric} step confidence`,
      pick: (s: readonly Solution[]) => bestAnswer(s, (x) => pathScore(x, metric)),
    })),
  ];
}

/** Where a right solution first parts from the (wrong) greedy one. */
export interface Fork {
  /** 0-based index of the first step whose text differs. */
  step: number;
  rightText: string;
  greedyText: string;
  /** That step's confidence (the metric's) in the right solution and in the greedy one. */
  rightConfidence: number;
  greedyConfidence: number;
  /** Whole-path scores (Σ log confidence): the right solution's and the greedy one's. */
  rightPathScore: number;
  greedyPathScore: number;
}

/**
 * The fork of the right solution of best path score against `greedy` (null when none of the
 * solutions is right, or when the best one repeats greedy's steps to its end: then they cannot differ
 * in answer and something else differs, e.g. a token limit).
 */
export function forkFromGreedy(greedy: Solution, solutions: readonly Solution[], metric: StepMetric): Fork | null {
  const right = solutions.filter((s) => s.correct);
  if (right.length === 0) return null;
  const best = right.reduce((a, b) => (pathScore(b, metric) > pathScore(a, metric) ? b : a));
  const n = Math.min(best.steps.length, greedy.steps.length);
  let k = 0;
  while (k < n && best.steps[k].text === greedy.steps[k].text) k++;
  if (k >= n) return null;
  return {
    step: k,
    rightText: best.steps[k].text,
    greedyText: greedy.steps[k].text,
    rightConfidence: best.steps[k].confidence[metric],
    greedyConfidence: greedy.steps[k].confidence[metric],
    rightPathScore: pathScore(best, metric),
    greedyPathScore: pathScore(greedy, metric),
  };
}
