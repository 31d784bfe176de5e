import { strict as assert } from 'node:assert';
import { applyPlatt, fitPlatt } from '../../language-server/src/eval/calibration';
import { auroc, brierScore, expectedCalibrationError, reliabilityBins } from '../../language-server/src/eval/metrics';

const close = (actual: number | null, expected: number, tol = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

// A small deterministic PRNG (mulberry32) for the synthetic calibration data.
function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleFromSigmoid(a: number, b: number, lo: number, hi: number, n: number, seed: number) {
  const random = rng(seed);
  const scores: number[] = [];
  const correct: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const s = lo + (hi - lo) * random();
    scores.push(s);
    correct.push(random() < 1 / (1 + Math.exp(-(a * s + b))));
  }
  return { scores, correct };
}

describe('metrics: AUROC', () => {
  it('is 1 for perfectly separated scores, 0 reversed, 0.5 all tied', () => {
    const correct = [true, true, false, false];
    assert.equal(auroc([0.9, 0.8, 0.3, 0.1], correct), 1);
    assert.equal(auroc([0.1, 0.3, 0.8, 0.9], correct), 0);
    assert.equal(auroc([0.4, 0.4, 0.4, 0.4], correct), 0.5);
  });

  it('counts pairs, ties as half', () => {
    // The classic example: 3 of the 4 (correct, incorrect) pairs ordered right.
    assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
    // Correct {0.5, 0.9} vs incorrect {0.5, 0.2}: 0.5 + 1 + 1 + 1 of 4 pairs.
    assert.equal(auroc([0.5, 0.5, 0.2, 0.9], [true, false, false, true]), 0.875);
    // Any finite scores, e.g. negative entropies; order of items does not matter.
    assert.equal(auroc([-3, -1, -2, -0.5, -4], [false, true, false, true, true]), 4 / 6);
  });

  it('is null when one class is absent', () => {
    assert.equal(auroc([0.2, 0.9], [true, true]), null);
    assert.equal(auroc([0.2, 0.9], [false, false]), null);
  });
});

describe('metrics: ECE, reliability bins, Brier', () => {
  const conf = [0.05, 0.15, 0.15, 0.95, 1.0];
  const correct = [false, true, false, true, true];

  it('computes ECE on a hand-worked example (10 bins)', () => {
    // bin 0: acc 0, conf 0.05 (1/5); bin 1: acc 0.5, conf 0.15 (2/5); bin 9: acc 1, conf 0.975 (2/5)
    // ECE = 0.2*0.05 + 0.4*0.35 + 0.4*0.025 = 0.16
    close(expectedCalibrationError(conf, correct), 0.16);
  });

  it('computes ECE with another bin count', () => {
    // bin 0 of 5: {0.05, 0.15, 0.15}, acc 1/3, conf 0.35/3; bin 4: {0.95, 1.0}, acc 1, conf 0.975
    close(expectedCalibrationError(conf, correct, 5), 0.6 * (1 / 3 - 0.35 / 3) + 0.4 * 0.025);
  });

  it('is 0 for calibrated bins and 1 for confidently wrong predictions', () => {
    assert.equal(expectedCalibrationError([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0);
    assert.equal(expectedCalibrationError([1, 1, 0], [false, false, true]), 1);
  });

  it('puts confidence 1 in the last bin and each edge k/10 in bin k', () => {
    const bins = reliabilityBins(conf, correct);
    assert.equal(bins.length, 10);
    assert.deepEqual(bins.map((b) => b.count), [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.deepEqual(bins[2], { lower: 0.2, upper: 0.3, count: 0, meanConfidence: null, accuracy: null });
    close(bins[9].meanConfidence, 0.975);
    assert.equal(bins[9].accuracy, 1);
    assert.equal(bins[1].accuracy, 0.5);
    const edges = Array.from({ length: 11 }, (_, k) => k / 10);
    const counts = reliabilityBins(edges, edges.map(() => true)).map((b) => b.count);
    assert.deepEqual(counts, [1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  it('computes the Brier score', () => {
    close(brierScore([0.9, 0.2, 0.6], [true, false, false]), (0.01 + 0.04 + 0.36) / 3);
    assert.equal(brierScore([1, 0], [true, false]), 0);
    assert.equal(brierScore([0, 1], [true, false]), 1);
  });

  it('rejects inputs that have no meaningful score', () => {
    assert.throws(() => expectedCalibrationError([0.5], [true, false]), /1 values but 2/);
    assert.throws(() => brierScore([], []), /no predictions/);
    assert.throws(() => expectedCalibrationError([1.2], [true]), /outside \[0, 1\]/);
    assert.throws(() => brierScore([Number.NaN], [true]), /finite/);
    assert.throws(() => reliabilityBins([0.5], [true], 0), /positive integer/);
    assert.throws(() => auroc([1, Infinity], [true, false]), /finite/);
  });
});

describe('calibration: Platt scaling', () => {
  it('recovers a and b from data drawn from a known sigmoid', () => {
    const data = sampleFromSigmoid(2, -0.5, -3, 3, 20000, 1);
    const fit = fitPlatt(data.scores, data.correct);
    assert.ok(Math.abs(fit.a - 2) < 0.12, `a = ${fit.a}`);
    assert.ok(Math.abs(fit.b + 0.5) < 0.08, `b = ${fit.b}`);
  });

  it('recovers a decreasing map (an entropy-like score)', () => {
    const data = sampleFromSigmoid(-4, 3, 0, 1.5, 20000, 2);
    const fit = fitPlatt(data.scores, data.correct);
    assert.ok(Math.abs(fit.a + 4) < 0.3, `a = ${fit.a}`);
    assert.ok(Math.abs(fit.b - 3) < 0.2, `b = ${fit.b}`);
  });

  it('stops at the optimum of the penalised log-loss (zero gradient)', () => {
    const data = sampleFromSigmoid(1.5, 0.3, -2, 2, 500, 3);
    const l2 = 0.5;
    const fit = fitPlatt(data.scores, data.correct, { l2 });
    let ga = l2 * fit.a;
    let gb = l2 * fit.b;
    data.scores.forEach((s, i) => {
      const residual = applyPlatt(fit, s) - (data.correct[i] ? 1 : 0);
      ga += residual * s;
      gb += residual;
    });
    assert.ok(Math.abs(ga) < 1e-8 && Math.abs(gb) < 1e-8, `gradient (${ga}, ${gb})`);
    assert.ok(fit.iterations > 1 && fit.iterations < 30);
    assert.ok(fit.logLoss > 0 && fit.logLoss < Math.log(2));
  });

  it('stays finite on perfectly separated data, and is deterministic', () => {
    const scores = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
    const correct = [false, false, false, true, true, true];
    const fit = fitPlatt(scores, correct);
    assert.ok(Number.isFinite(fit.a) && Number.isFinite(fit.b) && fit.a > 10, JSON.stringify(fit));
    assert.ok(applyPlatt(fit, 0.9) > 0.99 && applyPlatt(fit, 0.1) < 0.01);
    assert.ok(Math.abs(applyPlatt(fit, 0.5) - 0.5) < 0.05);
    assert.deepEqual(fitPlatt(scores, correct), fit);
  });

  it('stays finite when only one class is present', () => {
    const fit = fitPlatt([0.2, 0.5, 0.9], [true, true, true]);
    assert.ok(Number.isFinite(fit.a) && Number.isFinite(fit.b));
    assert.ok(applyPlatt(fit, 0.5) > 0.99);
  });

  it('applies sigmoid(a*s + b) without overflow', () => {
    assert.equal(applyPlatt({ a: 2, b: -1 }, 0.5), 0.5);
    close(applyPlatt({ a: 1, b: 0 }, Math.log(3)), 0.75);
    assert.equal(applyPlatt({ a: 1, b: 0 }, -1000), 0);
    assert.equal(applyPlatt({ a: 1, b: 0 }, 1000), 1);
  });

  it('rejects unusable input', () => {
    assert.throws(() => fitPlatt([], []), /no \(score, correct\) pairs/);
    assert.throws(() => fitPlatt([1, 2], [true]), /2 scores but 1/);
    assert.throws(() => fitPlatt([1, Number.NaN], [true, false]), /finite/);
    assert.throws(() => fitPlatt([1, 2], [true, false], { l2: 0 }), /l2 must be > 0/);
  });
});
