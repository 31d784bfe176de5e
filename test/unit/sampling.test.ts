import { strict as assert } from 'node:assert';
import { createLogitStats, scanLogits } from '../../language-server/src/decoding/confidence';
import { argmax, SeededRandom, TokenSampler, type SamplingOptions } from '../../language-server/src/decoding/sampling';

function drawMany(sampler: TokenSampler, logits: Float32Array, n: number): number[] {
  const stats = scanLogits(logits, createLogitStats());
  return Array.from({ length: n }, () => sampler.choose(logits, stats));
}

const row = Float32Array.from([0.5, 2, 1.9, -1, 0, 1, 3, -1e9, 2.9, 0.1]);
const sample = (seed: number, temperature = 1, topP = 1): SamplingOptions => ({ kind: 'sample', temperature, topP, seed });

describe('sampling', () => {
  it('greedy takes the argmax, ties to the lowest id', () => {
    const tied = Float32Array.from([1, 4, 2, 4, 4]);
    assert.equal(argmax(tied), 1);
    assert.deepEqual(drawMany(new TokenSampler({ kind: 'greedy' }), tied, 3), [1, 1, 1]);
    assert.equal(argmax(row), 6);
  });

  it('the PRNG is reproducible and in [0, 1)', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, (() => { const c = new SeededRandom(43); return () => c.next(); })()));
  });

  it('the same seed gives the same tokens; another seed differs', () => {
    const first = drawMany(new TokenSampler(sample(7)), row, 200);
    assert.deepEqual(drawMany(new TokenSampler(sample(7)), row, 200), first);
    assert.notDeepEqual(drawMany(new TokenSampler(sample(8)), row, 200), first);
  });

  it('a clone continues the same stream; rows get independent streams', () => {
    const sampler = new TokenSampler(sample(3));
    drawMany(sampler, row, 5);
    const copy = sampler.clone();
    assert.deepEqual(drawMany(copy, row, 50), drawMany(sampler, row, 50));
    const row0 = drawMany(TokenSampler.forRow(sample(3), 0), row, 50);
    const row1 = drawMany(TokenSampler.forRow(sample(3), 1), row, 50);
    assert.notDeepEqual(row0, row1);
  });

  it('never draws a zero-probability token and follows the distribution', () => {
    const counts = new Array(row.length).fill(0);
    for (const id of drawMany(new TokenSampler(sample(11)), row, 20000)) counts[id]++;
    assert.equal(counts[7], 0);
    const max = Math.max(...row);
    const weights = Array.from(row, (x) => Math.exp(x - max));
    const total = weights.reduce((a, b) => a + b, 0);
    counts.forEach((count, id) => {
      const expected = (weights[id] / total) * 20000;
      assert.ok(Math.abs(count - expected) < 5 * Math.sqrt(expected + 1), `token ${id}: ${count} vs ${expected.toFixed(0)}`);
    });
  });

  it('top-p keeps the smallest set of most likely tokens reaching p', () => {
    // probs = [.5, .25, .125, .0625, .0625]: top-p .45 → {0}; .7 → {0, 1}; .85 → {0, 1, 2}; .9 → {0..3}
    const logits = Float32Array.from([8, 4, 2, 1, 1].map(Math.log));
    const support = (p: number) => new Set(drawMany(new TokenSampler(sample(5, 1, p)), logits, 3000));
    assert.deepEqual([...support(0.45)].sort(), [0]);
    assert.deepEqual([...support(0.7)].sort(), [0, 1]);
    assert.deepEqual([...support(0.85)].sort(), [0, 1, 2]);
    assert.deepEqual([...support(0.9)].sort(), [0, 1, 2, 3]);
    assert.deepEqual([...support(1)].sort(), [0, 1, 2, 3, 4]);
  });

  it('finds the nucleus when it needs a wide logit window', () => {
    const wide = Float32Array.from(Array.from({ length: 300 }, (_, i) => -i * 0.5));
    const got = new Set(drawMany(new TokenSampler(sample(9, 1, 0.999999)), wide, 3000));
    assert.ok(got.has(0) && got.size > 5);
  });

  it('low temperature concentrates on the argmax', () => {
    const draws = drawMany(new TokenSampler(sample(1, 0.01)), row, 200);
    assert.ok(draws.every((id) => id === 6));
  });

  it('rejects invalid settings', () => {
    assert.throws(() => new TokenSampler(sample(1, 0)), /temperature/);
    assert.throws(() => new TokenSampler(sample(1, 1, 0)), /topP/);
    assert.throws(() => new TokenSampler(sample(1.5)), /seed/);
  });
});
