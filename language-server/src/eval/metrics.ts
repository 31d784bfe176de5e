// Calibration and discrimination metrics of step confidence against step correctness (design.md §4):
// ECE over equal-width bins, Brier score, AUROC. Pure functions over parallel arrays; they throw on
// inputs that would make the number meaningless (different lengths, no predictions, confidence
// outside [0, 1]) rather than return something that looks like a result.

export interface ReliabilityBin {
  /** The bin covers [lower, upper); the last bin also holds confidence exactly 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence of the bin's predictions; null when the bin is empty. */
  meanConfidence: number | null;
  /** Fraction of the bin's predictions that are correct; null when the bin is empty. */
  accuracy: number | null;
}

function checkPairs(name: string, values: readonly number[], correct: readonly boolean[]): void {
  if (values.length !== correct.length) {
    throw new RangeError(`${name}: ${values.length} values but ${correct.length} correctness labels; pass one label per value`);
  }
  if (values.length === 0) throw new RangeError(`${name}: no predictions to score`);
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`${name}: value ${i} is ${v}; every value must be a finite number`);
  });
}

function checkConfidences(name: string, conf: readonly number[], correct: readonly boolean[]): void {
  checkPairs(name, conf, correct);
  conf.forEach((c, i) => {
    if (c < 0 || c > 1) throw new RangeError(`${name}: confidence ${i} is ${c}, outside [0, 1]; calibrate scores first`);
  });
}

/** Equal-width bins over [0, 1]: count, mean confidence and accuracy of each. */
export function reliabilityBins(conf: readonly number[], correct: readonly boolean[], bins = 10): ReliabilityBin[] {
  checkConfidences('reliabilityBins', conf, correct);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`reliabilityBins: bins must be a positive integer, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const correctSum = new Array<number>(bins).fill(0);
  conf.forEach((c, i) => {
    const bin = Math.min(Math.floor(c * bins), bins - 1); // c = 1 joins the last bin
    count[bin] += 1;
    confSum[bin] += c;
    if (correct[i]) correctSum[bin] += 1;
  });
  return count.map((n, bin) => ({
    lower: bin / bins,
    upper: (bin + 1) / bins,
    count: n,
    meanConfidence: n ? confSum[bin] / n : null,
    accuracy: n ? correctSum[bin] / n : null,
  }));
}

/** ECE: the bins' |accuracy - mean confidence|, weighted by the share of predictions in each bin. */
export function expectedCalibrationError(conf: readonly number[], correct: readonly boolean[], bins = 10): number {
  let ece = 0;
  for (const bin of reliabilityBins(conf, correct, bins)) {
    if (bin.count) ece += (bin.count / conf.length) * Math.abs(bin.accuracy! - bin.meanConfidence!);
  }
  return ece;
}

/** Mean squared difference between confidence and the 0/1 outcome. */
export function brierScore(conf: readonly number[], correct: readonly boolean[]): number {
  checkConfidences('brierScore', conf, correct);
  let sum = 0;
  conf.forEach((c, i) => {
    sum += (c - (correct[i] ? 1 : 0)) ** 2;
  });
  return sum / conf.length;
}

/**
 * Area under the ROC curve of `scores` (higher = more likely correct) for the correct class: the
 * probability that a random correct item outscores a random incorrect one, ties counting half
 * (Mann-Whitney U with average ranks). Scores may be any finite numbers.
 * Returns null when every item is correct or every item is incorrect: the AUROC is undefined then,
 * and null (unlike NaN) makes callers handle it and serialises to JSON as itself.
 */
export function auroc(scores: readonly number[], correct: readonly boolean[]): number | null {
  checkPairs('auroc', scores, correct);
  const positives = correct.filter(Boolean).length;
  const negatives = correct.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = scores.map((_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && scores[order[end]] === scores[order[start]]) end += 1;
    const averageRank = (start + 1 + end) / 2; // ranks start..end-1 are 1-based start+1..end
    for (let k = start; k < end; k++) if (correct[order[k]]) positiveRankSum += averageRank;
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
