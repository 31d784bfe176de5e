/**
 * Per-token confidence from one logits row, in ONE pass over the vocabulary: an online max with a
 * rescaled sum of exp (log-sum-exp), a rescaled sum of exp·(x − max) (entropy), and the top-k kept
 * in a small sorted array. This runs once per generated token over ~150k logits for real models,
 * so the loop is a plain for over the typed array with no allocations or calls besides Math.exp.
 */

export const DEFAULT_TOP_K = 5;

export interface TopToken {
  id: number;
  prob: number;
  logProb: number;
}

/** What a token record carries about the distribution it was drawn from (natural log units). */
export interface TokenConfidence {
  id: number;
  prob: number;
  logProb: number;
  /** Entropy of the full distribution, in nats. */
  entropy: number;
  maxProb: number;
  topK: TopToken[];
  logSumExp: number;
}

/**
 * Reusable result of the one-pass scan. Allocate once per row with `createLogitStats` and pass it to
 * `scanLogits` every step.
 */
export interface LogitStats {
  readonly k: number;
  /** How many entries of topIds/topLogits are filled (min(k, V)). */
  count: number;
  /** Highest first; ties keep the lower id first. */
  readonly topIds: Int32Array;
  readonly topLogits: Float64Array;
  maxLogit: number;
  logSumExp: number;
  entropy: number;
}

export function createLogitStats(k = DEFAULT_TOP_K): LogitStats {
  if (!Number.isInteger(k) || k < 1) throw new Error(`top-k must be a positive integer, got ${k}`);
  return {
    k,
    count: 0,
    topIds: new Int32Array(k),
    topLogits: new Float64Array(k),
    maxLogit: -Infinity,
    logSumExp: -Infinity,
    entropy: 0,
  };
}

/** Scans `logits[offset, offset+length)` once and fills `stats`. */
export function scanLogits(
  logits: Float32Array,
  stats: LogitStats,
  offset = 0,
  length = logits.length - offset,
): LogitStats {
  if (length <= 0) throw new Error('scanLogits: empty logits row');
  const k = stats.k;
  const topIds = stats.topIds;
  const topLogits = stats.topLogits;
  let count = 0;
  let max = -Infinity;
  let sumExp = 0; // Σ exp(x − max)
  let sumExpShifted = 0; // Σ exp(x − max)·(x − max); entropy = ln(sumExp) − sumExpShifted/sumExp
  const end = offset + length;

  for (let i = offset; i < end; i++) {
    const x = logits[i];
    if (x <= max) {
      if (x !== -Infinity) {
        const d = x - max;
        const e = Math.exp(d);
        sumExp += e;
        sumExpShifted += e * d;
      }
    } else if (x > max) {
      // New maximum: rescale the running sums to the new reference point.
      if (sumExp > 0) {
        const shift = max - x;
        const scale = Math.exp(shift);
        sumExpShifted = scale * (sumExpShifted + shift * sumExp);
        sumExp *= scale;
      }
      sumExp += 1;
      max = x;
    } else {
      throw new Error(`scanLogits: logit ${i - offset} is NaN; the model produced invalid output`);
    }

    // Top-k: a strict > keeps the lower id first on ties, since ids arrive in increasing order.
    if (count < k || x > topLogits[count - 1]) {
      let j = count < k ? count++ : count - 1;
      while (j > 0 && topLogits[j - 1] < x) {
        topLogits[j] = topLogits[j - 1];
        topIds[j] = topIds[j - 1];
        j--;
      }
      topLogits[j] = x;
      topIds[j] = i - offset;
    }
  }

  if (max === -Infinity) throw new Error('scanLogits: every logit is -Infinity');
  const logSum = Math.log(sumExp);
  stats.count = count;
  stats.maxLogit = max;
  stats.logSumExp = max + logSum;
  // Clamp tiny negative rounding for one-hot rows.
  stats.entropy = Math.max(0, logSum - sumExpShifted / sumExp);
  return stats;
}

/** The confidence record of `tokenId` given the stats of its row (e.g. after sampling). */
export function confidenceOfChosen(
  logits: Float32Array,
  stats: LogitStats,
  tokenId: number,
  offset = 0,
): TokenConfidence {
  const logProb = logits[offset + tokenId] - stats.logSumExp;
  const topK: TopToken[] = [];
  for (let j = 0; j < stats.count; j++) {
    const topLogProb = stats.topLogits[j] - stats.logSumExp;
    topK.push({ id: stats.topIds[j], prob: Math.exp(topLogProb), logProb: topLogProb });
  }
  return {
    id: tokenId,
    prob: Math.exp(logProb),
    logProb,
    entropy: stats.entropy,
    maxProb: Math.exp(stats.maxLogit - stats.logSumExp),
    topK,
    logSumExp: stats.logSumExp,
  };
}

/** One-shot convenience: scan a row and report the confidence of `tokenId`. */
export function tokenConfidence(logits: Float32Array, tokenId: number, k = DEFAULT_TOP_K): TokenConfidence {
  if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= logits.length) {
    throw new Error(`tokenConfidence: token id ${tokenId} is outside the vocabulary of ${logits.length}`);
  }
  const stats = scanLogits(logits, createLogitStats(k));
  return confidenceOfChosen(logits, stats, tokenId);
}
