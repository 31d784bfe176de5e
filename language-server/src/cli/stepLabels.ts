import type { GeneratedRow } from '../decoding/generate';
import type { StepScores } from '../decoding/stepConfidence';
import type { ProblemScore } from '../eval/bootstrap';
import { ANSWER_LINE } from '../decoding/stopping';
import { answerOf } from '../trace/types';
import { verifySolution } from '../verify/arithmetic';

/** A generated step with its verifier label. */
export interface LabelledStep {
  correct: boolean;
  /**
   * The "Answer: N" line. The verifier marks it wrong whenever the final answer is wrong, even
   * when it faithfully copies an earlier wrong result, so it is reported apart as well.
   */
  isAnswer: boolean;
  /** Calibrated confidence under the selected metric. */
  confidence: number;
  /** Raw scores under every metric (for per-metric AUROC and fitting). */
  scores: StepScores;
}

export interface LabelledSolution {
  answer: string | null;
  answerCorrect: boolean;
  /**
   * 'labelled': steps carry verifier labels; 'outOfDomain': the verifier cannot read the problem
   * (not arithmetic), so only the answer is scored; 'unaligned': the verifier's lines and the
   * engine's steps differ (should not happen: both split on non-blank lines), steps left out.
   */
  status: 'labelled' | 'outOfDomain' | 'unaligned';
  steps: LabelledStep[];
}

/** Whether a model's answer equals the expected one (integers compared by value, "12." = "12"). */
export function answersMatch(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const normalize = (text: string) => text.trim().replace(/\.$/, '').trim();
  const a = normalize(given);
  const b = normalize(expected);
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) return BigInt(a) === BigInt(b);
  return a === b;
}

/** Scores one generated solution: answer against `expected`, each step with the exact verifier. */
export function labelSolution(problem: string, expected: string, row: Pick<GeneratedRow, 'text' | 'steps'> & Parameters<typeof answerOf>[0]): LabelledSolution {
  const answer = answerOf(row);
  const answerCorrect = answersMatch(answer, expected);
  let labels;
  try {
    labels = verifySolution(problem, row.text).steps;
  } catch {
    return { answer, answerCorrect, status: 'outOfDomain', steps: [] };
  }
  // The verifier labels the non-blank lines up to the answer line; the engine's steps are the same lines.
  const aligned = labels.length <= row.steps.length && labels.every((label, i) => label.text.trim() === row.steps[i].text.trim());
  if (!aligned) return { answer, answerCorrect, status: 'unaligned', steps: [] };
  return {
    answer,
    answerCorrect,
    status: 'labelled',
    steps: labels.map((label, i) => ({
      correct: label.correct,
      isAnswer: ANSWER_LINE.test(label.text),
      confidence: row.steps[i].confidence,
      scores: row.steps[i].scores,
    })),
  };
}

/** Per problem: which answers are right, and each labelled step's confidence (as `scored` gives it) and label (caspo eval --per-problem, the calibration view's intervals). */
export function problemScores(
  perProblem: readonly (readonly LabelledSolution[])[],
  scored: (step: LabelledStep) => number,
): ProblemScore[] {
  return perProblem.map((solutions) => ({
    answers: solutions.map((s) => (s.answerCorrect ? 1 : 0)),
    // Unrounded: confidences near 1 differ in the 7th digit and beyond, and rounding would tie them (and change AUROC).
    steps: solutions.flatMap((s) => s.steps.map((step): [number, 0 | 1] => [scored(step), step.correct ? 1 : 0])),
  }));
}
