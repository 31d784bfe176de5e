/**
 * CaT's pruning threshold τ: fixed, or adaptive as in DeepConf (a percentile of the confidences seen
 * in a warm-up).
 *
 * Adaptive warm-up, per solve: the search runs its first rounds without threshold pruning (width
 * and budget still apply) and records the confidence of every candidate step it draws (a duplicate
 * draw counts again: it is another sample of the model's distribution). At the end of the first
 * round after which at least `warmupSteps` confidences were recorded, τ is fixed at their
 * `percentile`-th percentile (linear interpolation between the closest ranks, as numpy's default)
 * and applies from the next round on; the warm-up's own candidates are not judged again. With
 * percentile 10, about 90 % of the steps that look like the warm-up's pass.
 */
export type ThresholdRule = { kind: 'fixed'; value: number } | { kind: 'percentile'; percentile: number; warmupSteps: number };

export const DEFAULT_WARMUP_STEPS = 8;

export function validateThresholdRule(rule: ThresholdRule): void {
  if (rule.kind === 'fixed') {
    if (!(rule.value >= 0 && rule.value <= 1)) throw new Error(`the threshold must be in [0, 1], got ${rule.value}`);
    return;
  }
  if (!(rule.percentile >= 0 && rule.percentile <= 100)) throw new Error(`the threshold percentile must be in [0, 100], got ${rule.percentile}`);
  if (!Number.isInteger(rule.warmupSteps) || rule.warmupSteps < 1) {
    throw new Error(`the warm-up must be a positive number of steps, got ${rule.warmupSteps}`);
  }
}

/** The p-th percentile (0-100) of `values`, linear between the closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low] + (rank - low) * (sorted[high] - sorted[low]);
}

/** Follows one search: which τ applies to the current round, and the warm-up's record. */
export class ThresholdTracker {
  private readonly seen: number[] = [];
  private value: number | null;

  constructor(private readonly rule: ThresholdRule | null) {
    if (rule) validateThresholdRule(rule);
    this.value = rule?.kind === 'fixed' ? rule.value : null;
  }

  /** τ for the round being judged; null: no threshold (no rule, or still warming up). */
  get current(): number | null {
    return this.value;
  }

  /** Confidences recorded so far in the warm-up (empty for a fixed rule). */
  get warmup(): readonly number[] {
    return this.seen;
  }

  /** Records a finished round's draws; ends the warm-up when it has enough. */
  endRound(drawConfidences: readonly number[]): void {
    if (this.rule?.kind !== 'percentile' || this.value !== null) return;
    this.seen.push(...drawConfidences);
    if (this.seen.length >= this.rule.warmupSteps) this.value = percentile(this.seen, this.rule.percentile);
  }
}
