/**
 * `caspo/calibration`: how well the current model's step confidence matches step correctness on the
 * held-out problems, computed by the language server (greedy decoding, verifier labels).
 */
import type { WorkDoneProgressParams } from 'vscode-languageserver-protocol';

/** Equal-width bins of the reliability diagram and of ECE (design §4). */
export const CALIBRATION_BINS = 10;

/**
 * Fewer wrong steps than this in a Platt fit, and the map (and the choice of default metric) rests on a
 * handful of errors: `caspo calibrate` warns, and the calibration view says so.
 */
export const FEW_FIT_ERRORS = 50;

/** What the Platt maps of a model's caspo.json were fitted on (its `fit`, written by `caspo calibrate`). */
export interface CalibrationFitSummary {
  problems: number;
  samples: number;
  steps: number;
  wrongSteps: number;
}

export interface CalibrationParams extends WorkDoneProgressParams {
  /**
   * Absolute path of the held-out problems: JSONL, one {"problem", "answer"} object per line. The
   * extension sends its own copy (training/data/heldout.jsonl inside the extension).
   */
  problemsFile: string;
  /** How many of them, from the first (caspo.calibration.problems). */
  problems: number;
  /** Decode again even when a result for this model and problem count is cached. */
  recompute?: boolean;
}

/** One bin of the reliability diagram: steps with confidence in [lower, upper) (the last bin holds 1). */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Null when the bin is empty. */
  meanConfidence: number | null;
  /** Fraction of the bin's steps the verifier found correct; null when the bin is empty. */
  accuracy: number | null;
}

/** The low and high end of a bootstrap interval. */
export interface CalibrationInterval {
  low: number;
  high: number;
}

export interface CalibrationResult {
  /** The model folder's name and its absolute path. */
  model: string;
  modelDir: string;
  /** Where it ran, e.g. "cpu, 2 thread(s)". */
  executionProvider: string;
  /** Problems decoded (the first `problems` of the file). */
  problems: number;
  /** Fraction of problems whose final answer is right. */
  accuracy: number;
  /** Steps the verifier labelled, and how many of them are wrong. */
  steps: number;
  wrongSteps: number;
  /** AUROC of step confidence for step correctness; null when every step is right (or every one wrong). */
  stepAUROC: number | null;
  /** Expected calibration error over CALIBRATION_BINS equal-width bins; null without steps. */
  ece: number | null;
  /** Brier score; null without steps. */
  brier: number | null;
  /** The step-confidence metric (the model's default or caspo.confidenceMetric). */
  metric: string;
  /** Whether the model's caspo.json has a fitted Platt map for that metric. */
  calibrated: boolean;
  /** What that Platt map was fitted on; null without a map, or when caspo.json does not record its fit. */
  fit: CalibrationFitSummary | null;
  bins: CalibrationBin[];
  /**
   * How much accuracy, AUROC, ECE and Brier could move on another draw of held-out problems: 95 %
   * bootstrap intervals over the problems (null when the number is undefined in most draws).
   */
  intervals: {
    level: number;
    resamples: number;
    accuracy: CalibrationInterval | null;
    stepAUROC: CalibrationInterval | null;
    ece: CalibrationInterval | null;
    brier: CalibrationInterval | null;
  };
  generatedTokens: number;
  wallMs: number;
  /** When it was computed (ISO 8601). */
  computedAt: string;
  /** Answered from the server's cache (no decoding this time). */
  cached: boolean;
  /** Problems whose steps could not be labelled, when there are any. */
  note?: string;
}
