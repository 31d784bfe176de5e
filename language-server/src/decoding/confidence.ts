/**
 * Per-token confidence from one logits row, in ONE pass over the vocabulary: log-sum-exp, the
 * entropy (through Σ exp(x − max)·(x − max)) and the top-k. This runs once per generated token over
 * ~150k logits for real models, so it is written for speed without giving up float64 exactness:
 *
 * - The row is read in blocks of 1024 logits. A cheap first loop finds the block's max, so the
 *   running sums are rescaled at most once per block (not at every new max) and the exp loop never
 *   sees a positive exponent.
 * - The top-k insertion loop runs only over blocks whose max beats the current k-th value.
 * - exp(d) for d = x − max ∈ (−64, 0] is computed inline (tables of 2^(−j/256) and 2^(−q), a
 *   Cody–Waite reduction and a degree-4 polynomial): within 2 ulp of Math.exp (see the unit tests)
 *   and 2–3× cheaper, since Math.exp is a call into C for every element. Two elements go through
 *   the loop at a time into separate accumulators.
 * - Terms with x − max ≤ −64 are skipped: each exp is below e^−64 ≈ 1.6e−28 (the max's term is 1,
 *   so Σ exp ≥ 1), and even a million of them change Σ exp and Σ exp·(x − max) by less than 1e−20,
 *   the entropy and log-sum-exp by less than 2e−20: far under float64's rounding of the sums.
 * - Sums are float64. The logits are float32, so x − max is exact for every term that is kept.
 */

import { ModelError } from '../model/modelError';

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

// ---- exp(d) for d ∈ (EXP_CUTOFF, 0], inline ------------------------------------------------------
const BLOCK = 1024;
/** Terms with x − max ≤ EXP_CUTOFF are dropped (see the header for the bound). */
const EXP_CUTOFF = -64;
const STEPS_PER_OCTAVE = 256;
/** 2^(−j/256) for j < 256. */
const EXP_FRACTIONS = Float64Array.from({ length: STEPS_PER_OCTAVE }, (_, j) => Math.pow(2, -j / STEPS_PER_OCTAVE));
/** 2^(−q), exact, for every octave q that d > EXP_CUTOFF can reach. */
const EXP_OCTAVES = Float64Array.from({ length: Math.ceil(-EXP_CUTOFF / Math.LN2) + 2 }, (_, q) => Math.pow(2, -q));
/** Adding and subtracting 1.5·2^52 rounds a double of magnitude < 2^51 to the nearest integer. */
const ROUND_SHIFT = 6755399441055744;
const STEPS_PER_NAT = STEPS_PER_OCTAVE / Math.LN2;
// ln 2 / 256 split as in fdlibm (ln2_hi has 21 trailing zero bits, so n·LN2_HI_STEP is exact).
const LN2_HI_STEP = 6.93147180369123816490e-1 / STEPS_PER_OCTAVE;
const LN2_LO_STEP = 1.90821492927058770002e-10 / STEPS_PER_OCTAVE;
const C2 = 1 / 2;
const C3 = 1 / 6;
const C4 = 1 / 24;

/**
 * e^d for EXP_CUTOFF < d ≤ 0 (not checked). d = −n·ln2/256 + r with |r| ≤ ln2/512, so
 * e^d = 2^(−(n mod 256)/256) · 2^(−⌊n/256⌋) · e^r, the second factor exact, and e^r by its Taylor
 * polynomial to r^4 (truncation error below 4e−17 relative). Within 2 ulp of Math.exp.
 */
export function expNonPositive(d: number): number {
  const n = ROUND_SHIFT - d * STEPS_PER_NAT - ROUND_SHIFT; // round(−d·256/ln2) ≥ 0
  const r = d + n * LN2_HI_STEP + n * LN2_LO_STEP;
  const j = n | 0;
  return EXP_FRACTIONS[j & (STEPS_PER_OCTAVE - 1)] * EXP_OCTAVES[j >> 8] * (1 + r * (1 + r * (C2 + r * (C3 + r * C4))));
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
  // A block whose max is not above `kth` cannot change the top-k (ties keep the lower, earlier id).
  let kth = -Infinity;
  let max = -Infinity;
  let sumExp = 0; // Σ exp(x − max)
  let sumExpShifted = 0; // Σ exp(x − max)·(x − max); entropy = ln(sumExp) − sumExpShifted/sumExp
  const end = offset + length;

  for (let blockStart = offset; blockStart < end; blockStart += BLOCK) {
    const blockEnd = Math.min(blockStart + BLOCK, end);

    // 1. The block's max (NaN compares false here; step 4 reports it).
    let blockMax = -Infinity;
    for (let i = blockStart; i < blockEnd; i++) {
      const x = logits[i];
      if (x > blockMax) blockMax = x;
    }

    // 2. Top-k, only when the block can enter it. A strict > keeps the lower id first on ties,
    //    since ids arrive in increasing order.
    if (count < k || blockMax > kth) {
      for (let i = blockStart; i < blockEnd; i++) {
        const x = logits[i];
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
      if (count === k) kth = topLogits[k - 1];
    }

    // 3. Move the reference point to the new max once for the whole block.
    if (blockMax > max) {
      if (sumExp > 0) {
        const shift = max - blockMax;
        const scale = Math.exp(shift);
        sumExpShifted = scale * (sumExpShifted + shift * sumExp);
        sumExp *= scale;
      }
      max = blockMax;
    }

    // 4. Σ exp(d) and Σ exp(d)·d with d = x − max ≤ 0, two elements at a time into two pairs of
    //    accumulators (shorter dependency chains). Terms at or below the cutoff (including
    //    −Infinity, and everything while max is still −Infinity) are skipped; a NaN fails every
    //    comparison and is caught by the check after the loop.
    let sumA = 0;
    let shiftedA = 0;
    let sumB = 0;
    let shiftedB = 0;
    let skipped = 0;
    let i = blockStart;
    for (; i + 1 < blockEnd; i += 2) {
      const d0 = logits[i] - max;
      const d1 = logits[i + 1] - max;
      if (d0 > EXP_CUTOFF) {
        const e = expNonPositive(d0);
        sumA += e;
        shiftedA += e * d0;
      } else skipped++;
      if (d1 > EXP_CUTOFF) {
        const e = expNonPositive(d1);
        sumB += e;
        shiftedB += e * d1;
      } else skipped++;
    }
    if (i < blockEnd) {
      const d = logits[i] - max;
      if (d > EXP_CUTOFF) {
        const e = expNonPositive(d);
        sumA += e;
        shiftedA += e * d;
      } else skipped++;
    }
    sumExp += sumA + sumB;
    sumExpShifted += shiftedA + shiftedB;
    if (skipped > 0) checkSkippedForNaN(logits, blockStart, blockEnd, offset);
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

/** A skipped term is either far below the max, −Infinity, or NaN (which must not pass silently). */
function checkSkippedForNaN(logits: Float32Array, start: number, end: number, offset: number): void {
  for (let i = start; i < end; i++) {
    const x = logits[i];
    if (x !== x) {
      throw new ModelError(
        'invalidOutput',
        `the model produced invalid output: logit ${i - offset} is NaN. Its weights or its ONNX export are broken (a corrupt onnx/model.onnx?); re-export the model.`,
      );
    }
  }
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
