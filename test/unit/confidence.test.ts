import { strict as assert } from 'node:assert';
import { confidenceOfChosen, createLogitStats, scanLogits, tokenConfidence } from '../../language-server/src/decoding/confidence';

/** Reference: two passes in float64, sorting for the top-k (ties → lower id). */
function naive(logits: number[], tokenId: number, k = 5) {
  const max = Math.max(...logits);
  const sum = logits.reduce((acc, x) => acc + Math.exp(x - max), 0);
  const logSumExp = max + Math.log(sum);
  const probs = logits.map((x) => Math.exp(x - logSumExp));
  let entropy = 0;
  for (const p of probs) if (p > 0) entropy -= p * Math.log(p);
  const order = logits.map((x, id) => ({ x, id })).sort((a, b) => b.x - a.x || a.id - b.id).slice(0, k);
  return {
    prob: probs[tokenId],
    logProb: logits[tokenId] - logSumExp,
    entropy,
    maxProb: Math.exp(max - logSumExp),
    logSumExp,
    topK: order.map(({ x, id }) => ({ id, logProb: x - logSumExp, prob: Math.exp(x - logSumExp) })),
  };
}

function assertClose(actual: number, expected: number, what: string, tolerance = 1e-9) {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function check(values: number[], tokenId: number, k = 5) {
  const row = Float32Array.from(values);
  const exact = naive(Array.from(row), tokenId, k); // compare on the float32-rounded values
  const got = tokenConfidence(row, tokenId, k);
  assertClose(got.prob, exact.prob, 'prob');
  assertClose(got.logProb, exact.logProb, 'logProb');
  assertClose(got.entropy, exact.entropy, 'entropy');
  assertClose(got.maxProb, exact.maxProb, 'maxProb');
  assertClose(got.logSumExp, exact.logSumExp, 'logSumExp');
  assert.deepEqual(got.topK.map((t) => t.id), exact.topK.map((t) => t.id), 'top-k ids');
  got.topK.forEach((t, j) => {
    assertClose(t.logProb, exact.topK[j].logProb, `top-${j} logProb`);
    assertClose(t.prob, exact.topK[j].prob, `top-${j} prob`);
  });
  assert.equal(got.id, tokenId);
}

describe('confidence: one-pass logits statistics', () => {
  it('matches a two-pass float64 reference on a small row', () => {
    check([1, 2, 3, 0.5, -1, 2.5, 0, 4, -3], 2);
  });

  it('handles increasing rows (a new max at every element forces rescaling)', () => {
    check(Array.from({ length: 50 }, (_, i) => i * 0.37), 10);
  });

  it('handles decreasing rows and large magnitudes', () => {
    check(Array.from({ length: 40 }, (_, i) => 80 - i * 3.1), 39);
  });

  it('treats -1e9 entries as zero probability without NaN', () => {
    check([-1e9, 3, -1e9, 1, -1e9, 2, -1e9], 1);
    const got = tokenConfidence(Float32Array.from([-1e9, 3, -1e9, 1]), 0);
    assert.equal(got.prob, 0);
    assert.ok(Number.isFinite(got.entropy));
  });

  it('treats -Infinity entries as zero probability, also first in the row', () => {
    const got = tokenConfidence(Float32Array.from([-Infinity, 2, -Infinity, 1]), 1);
    const exact = naive([-Infinity, 2, -Infinity, 1].map((x) => (x === -Infinity ? -1e30 : x)), 1);
    assertClose(got.entropy, exact.entropy, 'entropy');
    assertClose(got.prob, exact.prob, 'prob');
  });

  it('breaks ties toward the lowest id in the top-k', () => {
    const got = tokenConfidence(Float32Array.from([1, 5, 3, 5, 3, 5, 0, 3]), 0);
    assert.deepEqual(got.topK.map((t) => t.id), [1, 3, 5, 2, 4]);
    check([1, 5, 3, 5, 3, 5, 0, 3], 0);
  });

  it('returns all tokens as top-k when V < k', () => {
    const got = tokenConfidence(Float32Array.from([0.1, 0.7, 0.2]), 2);
    assert.equal(got.topK.length, 3);
    assert.deepEqual(got.topK.map((t) => t.id), [1, 2, 0]);
    check([0.1, 0.7, 0.2], 2);
  });

  it('gives ln V entropy and 1/V probabilities for an all-equal row', () => {
    const row = new Float32Array(1000).fill(-7.25);
    const got = tokenConfidence(row, 999);
    assertClose(got.entropy, Math.log(1000), 'entropy');
    assertClose(got.prob, 1e-3, 'prob');
    assertClose(got.maxProb, 1e-3, 'maxProb');
    assert.deepEqual(got.topK.map((t) => t.id), [0, 1, 2, 3, 4]);
  });

  it('gives zero entropy for a one-hot row', () => {
    const got = tokenConfidence(Float32Array.from([-1e9, 0, -1e9]), 1);
    assert.equal(got.prob, 1);
    assert.equal(got.entropy, 0);
  });

  it('matches the reference on random rows with a reused stats object and row offsets', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const stats = createLogitStats(5);
    const batch = new Float32Array(3 * 257);
    for (let i = 0; i < batch.length; i++) batch[i] = (random() - 0.5) * 20;
    for (let b = 0; b < 3; b++) {
      const offset = b * 257;
      scanLogits(batch, stats, offset, 257);
      const chosen = Math.floor(random() * 257);
      const got = confidenceOfChosen(batch, stats, chosen, offset);
      const exact = naive(Array.from(batch.subarray(offset, offset + 257)), chosen);
      assertClose(got.entropy, exact.entropy, `row ${b} entropy`);
      assertClose(got.logProb, exact.logProb, `row ${b} logProb`);
      assert.deepEqual(got.topK.map((t) => t.id), exact.topK.map((t) => t.id));
    }
  });

  it('rejects NaN logits and out-of-range token ids', () => {
    assert.throws(() => tokenConfidence(Float32Array.from([1, NaN, 2]), 0), /NaN/);
    assert.throws(() => tokenConfidence(Float32Array.from([1, 2]), 2), /outside the vocabulary/);
  });
});
