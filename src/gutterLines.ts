/** Which step lines get which gutter icon. Pure, so it is unit-tested without an editor. */
import { CONFIDENCE_BANDS, confidenceBand, type BandThresholds, type ConfidenceBand, type StepSummary } from './protocol';

export type LinesByBand = Record<ConfidenceBand, number[]>;

/** Step lines by band; lines the document does not have yet (its text lags the steps) are left out. */
export function linesByBand(steps: readonly StepSummary[], thresholds: BandThresholds, lineCount: number): LinesByBand {
  const lines = Object.fromEntries(CONFIDENCE_BANDS.map((band) => [band, [] as number[]])) as LinesByBand;
  for (const step of steps) {
    if (step.line < lineCount) lines[confidenceBand(step.confidence, thresholds)].push(step.line);
  }
  return lines;
}
