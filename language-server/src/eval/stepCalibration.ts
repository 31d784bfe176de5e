// How well step confidence predicts step correctness over a set of labelled steps (design.md §4):
// AUROC, ECE over 10 equal-width bins, Brier, and the bins themselves for a reliability diagram.
// Shared by `caspo eval` and the language server's `caspo/calibration`, so both report the same numbers.
import { auroc, brierScore, expectedCalibrationError, reliabilityBins, type ReliabilityBin } from './metrics';

/** ECE bins (design §4: 10 equal-width bins). */
export const ECE_BINS = 10;

/** A step's calibrated confidence and its verifier label. */
export interface ScoredStep {
  confidence: number;
  correct: boolean;
}

export interface StepCalibration {
  steps: number;
  correctSteps: number;
  /** Null when every step is correct or every step is wrong (AUROC is undefined then). */
  stepAUROC: number | null;
  /** Null when there are no steps. */
  ece: number | null;
  brier: number | null;
  /** ECE_BINS equal-width bins over [0, 1]; all empty when there are no steps. */
  bins: ReliabilityBin[];
}

/** The calibration metrics of `steps` (unrounded). */
export function stepCalibration(steps: readonly ScoredStep[], bins = ECE_BINS): StepCalibration {
  const confidences = steps.map((s) => s.confidence);
  const labels = steps.map((s) => s.correct);
  const correctSteps = labels.filter(Boolean).length;
  if (steps.length === 0) {
    const empty = Array.from({ length: bins }, (_, bin) => ({ lower: bin / bins, upper: (bin + 1) / bins, count: 0, meanConfidence: null, accuracy: null }));
    return { steps: 0, correctSteps: 0, stepAUROC: null, ece: null, brier: null, bins: empty };
  }
  return {
    steps: steps.length,
    correctSteps,
    stepAUROC: auroc(confidences, labels),
    ece: expectedCalibrationError(confidences, labels, bins),
    brier: brierScore(confidences, labels),
    bins: reliabilityBins(confidences, labels, bins),
  };
}
