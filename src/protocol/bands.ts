import type { BandThresholds } from './types';

export const CONFIDENCE_BANDS = ['high', 'medium', 'low'] as const;
export type ConfidenceBand = (typeof CONFIDENCE_BANDS)[number];

/** The band of a confidence in [0, 1]; thresholds are inclusive lower bounds. */
export function confidenceBand(confidence: number, thresholds: BandThresholds): ConfidenceBand {
  if (confidence >= thresholds.high) return 'high';
  if (confidence >= thresholds.medium) return 'medium';
  return 'low';
}

/** Why a pair of thresholds is unusable, or null when it is fine. */
export function bandThresholdProblem(thresholds: BandThresholds): string | null {
  for (const [name, value] of Object.entries(thresholds)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      return `the ${name} band threshold must be a number from 0 to 1, got ${JSON.stringify(value)}`;
    }
  }
  if (thresholds.medium > thresholds.high) {
    return `the medium band threshold (${thresholds.medium}) must not exceed the high one (${thresholds.high})`;
  }
  return null;
}
