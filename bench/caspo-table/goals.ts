/**
 * The CASPO goals, checked from the numbers of the comparison table (pure: data in, verdicts out).
 * Every goal compares the final CASPO model with the baseline (SFT) on one split, on the raw step
 * confidence (the model's own, no Platt map):
 *   - ECE (greedy) at least 40 % below the baseline's;
 *   - AUROC of step confidence vs step correctness (greedy) at least 0.85;
 *   - accuracy (greedy) at least the baseline's;
 *   - CaT accuracy above CaT's on the baseline.
 * With per-problem records (`caspo eval --per-problem`) each verdict also gets a 95 % paired
 * bootstrap interval of its number and where that interval lies with respect to the goal.
 */
import { bootstrapInterval, certainty, ScoredProblems, type Certainty, type Interval, type ProblemScore, type Statistic } from '../../language-server/src/eval/bootstrap';
import type { EvalNumbers, TableData, TableRun, TableStrategy } from './types';

export const ECE_REDUCTION_GOAL = 0.4;
export const AUROC_GOAL = 0.85;
/** The numbers are rounded to 4 decimals; a goal hit exactly must not fail on floating-point noise. */
const EPSILON = 1e-9;

export type GoalStatus = 'met' | 'not met' | 'not evaluated';

export interface GoalCheck {
  split: string;
  goal: string;
  status: GoalStatus;
  /** The numbers behind the verdict, or why it could not be evaluated. */
  detail: string;
  /** The goal's number over resampled problems (see bootstrap.ts); absent without per-problem records. */
  interval?: GoalInterval;
}

export interface GoalInterval extends Interval {
  /** What the number is, in words ("ECE reduction", "accuracy difference", ...). */
  of: string;
  /** How low and high are shown: a share in percent, percentage points, or a plain number. */
  unit: 'percent' | 'points' | 'number';
  certainty: Certainty;
}

type GoalInput = Pick<TableData, 'runs' | 'baseline' | 'final' | 'splits'>;

/** Each run's records arranged once, though several goals (and the last model's goals) read them. */
const arranged = new WeakMap<readonly ProblemScore[], ScoredProblems>();
function scoredProblems(records: readonly ProblemScore[]): ScoredProblems {
  let scored = arranged.get(records);
  if (!scored) arranged.set(records, (scored = new ScoredProblems(records)));
  return scored;
}

/** A run's ECE unrounded, from its per-problem records (every problem drawn once); its report's rounded one without them. */
function exactEce(report: EvalNumbers, rounded: number): number {
  if (!report.problems) return rounded;
  return scoredProblems(report.problems).ece(new Int32Array(report.problems.length).fill(1)) ?? rounded;
}

/**
 * The goals of `data.final`, and when the last model is another one (the shipped iteration sits
 * before a later one) the same goals for the last model too, so the report hides no iteration.
 */
export function reportGoals(data: GoalInput & Pick<TableData, 'models'>): { goals: GoalCheck[]; lastGoals?: GoalCheck[] } {
  const goals = evaluateGoals(data);
  const last = data.models[data.models.length - 1]?.label;
  if (last === undefined || last === data.final || last === data.baseline) return { goals };
  return { goals, lastGoals: evaluateGoals({ ...data, final: last }) };
}

/** Every goal on every split, in the order of `data.splits`. */
export function evaluateGoals(data: GoalInput): GoalCheck[] {
  return data.splits.flatMap((split) => splitGoals(data, split.name));
}

function splitGoals(data: GoalInput, split: string): GoalCheck[] {
  const { baseline, final } = data;
  const find = (model: string, strategy: TableStrategy): EvalNumbers | undefined =>
    data.runs.find((run: TableRun) => run.split === split && run.model === model && run.strategy === strategy)?.report;
  const baseGreedy = find(baseline, 'greedy');
  const finalGreedy = find(final, 'greedy');
  const baseCat = find(baseline, 'cat');
  const finalCat = find(final, 'cat');
  const check = (goal: string, verdict: () => Omit<GoalCheck, 'split' | 'goal'>): GoalCheck => ({ split, goal, ...verdict() });
  const notEvaluated = (detail: string) => ({ status: 'not evaluated' as const, detail });
  const sameModel = baseline === final ? `the final model is the baseline (${baseline}): nothing to compare` : null;
  const missing = (model: string, strategy: TableStrategy) => `no ${strategy} run of ${model} on ${split}`;
  /** The interval of `statistic` when every run it reads has records for the same problems. */
  const interval = (
    of: string,
    unit: GoalInterval['unit'],
    threshold: number,
    strict: boolean,
    reports: (EvalNumbers | undefined)[],
    statistic: (scored: ScoredProblems[]) => Statistic,
  ): { interval?: GoalInterval } => {
    const recs = reports.map((report) => report?.problems);
    if (recs.some((r) => r === undefined) || new Set(recs.map((r) => r!.length)).size !== 1) return {};
    const found = bootstrapInterval(recs[0]!.length, statistic(recs.map((r) => scoredProblems(r!))));
    return found ? { interval: { ...found, of, unit, certainty: certainty(found, threshold, strict) } } : {};
  };
  const accuracyGain =
    ([base, fin]: ScoredProblems[]): Statistic =>
    (counts) => {
      const b = base.accuracy(counts);
      const f = fin.accuracy(counts);
      return b === null || f === null ? null : f - b;
    };

  return [
    check(`ECE (raw confidence, greedy) of ${final} at least ${pct(ECE_REDUCTION_GOAL, 0)} below ${baseline}'s`, () => {
      if (sameModel) return notEvaluated(sameModel);
      if (!baseGreedy || !finalGreedy) return notEvaluated(missing(!baseGreedy ? baseline : final, 'greedy'));
      if (baseGreedy.ece === null || finalGreedy.ece === null) return notEvaluated('ECE is undefined (no labelled steps)');
      // The reports' ece is rounded to 4 decimals; at ECE ≈ 0.002 that moves the ratio by points, so
      // it is taken from the unrounded per-problem records when the runs have them.
      const baseEce = exactEce(baseGreedy, baseGreedy.ece);
      const finalEce = exactEce(finalGreedy, finalGreedy.ece);
      if (baseEce === 0) return notEvaluated(`${baseline}'s ECE is 0: a relative reduction is undefined`);
      const reduction = (baseEce - finalEce) / baseEce;
      return {
        status: reduction >= ECE_REDUCTION_GOAL - EPSILON ? 'met' : 'not met',
        detail: `${fmt(baseGreedy.ece)} → ${fmt(finalGreedy.ece)} (${reduction >= 0 ? '−' : '+'}${pct(Math.abs(reduction))})`,
        ...interval('ECE reduction', 'percent', ECE_REDUCTION_GOAL, false, [baseGreedy, finalGreedy], ([base, fin]) => (counts) => {
          const b = base.ece(counts);
          const f = fin.ece(counts);
          return b === null || f === null || b === 0 ? null : (b - f) / b;
        }),
      };
    }),
    check(`AUROC (raw confidence, greedy) of ${final} at least ${AUROC_GOAL}`, () => {
      if (!finalGreedy) return notEvaluated(missing(final, 'greedy'));
      if (finalGreedy.stepAUROC === null) return notEvaluated('AUROC is undefined (every labelled step has the same label, or none)');
      return {
        status: finalGreedy.stepAUROC >= AUROC_GOAL - EPSILON ? 'met' : 'not met',
        detail: `AUROC ${fmt(finalGreedy.stepAUROC)}`,
        ...interval('AUROC', 'number', AUROC_GOAL, false, [finalGreedy], ([fin]) => (counts) => fin.auroc(counts)),
      };
    }),
    check(`accuracy (greedy) of ${final} at least ${baseline}'s`, () => {
      if (sameModel) return notEvaluated(sameModel);
      if (!baseGreedy || !finalGreedy) return notEvaluated(missing(!baseGreedy ? baseline : final, 'greedy'));
      return {
        status: finalGreedy.accuracy >= baseGreedy.accuracy ? 'met' : 'not met',
        detail: `${pct(baseGreedy.accuracy)} → ${pct(finalGreedy.accuracy)}`,
        ...interval('accuracy difference', 'points', 0, false, [baseGreedy, finalGreedy], accuracyGain),
      };
    }),
    check(`CaT accuracy on ${final} above CaT on ${baseline}`, () => {
      if (sameModel) return notEvaluated(sameModel);
      if (!baseCat || !finalCat) return notEvaluated(missing(!baseCat ? baseline : final, 'cat'));
      return {
        status: finalCat.accuracy > baseCat.accuracy ? 'met' : 'not met',
        detail: `${pct(baseCat.accuracy)} → ${pct(finalCat.accuracy)}`,
        ...interval('CaT accuracy difference', 'points', 0, true, [baseCat, finalCat], accuracyGain),
      };
    }),
  ];
}

function fmt(x: number): string {
  return x.toFixed(4);
}

function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)} %`;
}
