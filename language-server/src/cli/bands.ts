/** Confidence bands shown in the terminal: the one place their thresholds are defined. */
export type ConfidenceBand = 'high' | 'medium' | 'low';

/** A step at or above this confidence is "high". */
export const HIGH_CONFIDENCE = 0.8;
/** A step at or above this (and below HIGH_CONFIDENCE) is "medium"; below it, "low". */
export const MEDIUM_CONFIDENCE = 0.5;

export function confidenceBand(confidence: number): ConfidenceBand {
  if (confidence >= HIGH_CONFIDENCE) return 'high';
  if (confidence >= MEDIUM_CONFIDENCE) return 'medium';
  return 'low';
}
