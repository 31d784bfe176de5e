/**
 * The blocked one-pass scan (block max first, top-k only for blocks that can enter it, inline exp,
 * terms below e^−64 skipped) against a two-pass float64 reference with Math.exp, on rows long
 * enough to cross many blocks: the things the small-row tests in confidence.test.ts cannot reach.
 */
import { strict as assert } from 'node:assert';
import { confidenceOfChosen, createLogitStats, expNonPositive, scanLogits, tokenConfidence } from '../../language-server/src/decoding/confidence';
import { ModelError } from '../../language-server/src/model/modelError';

/** Two passes in float64 with Math.exp; top-k by sorting (ties → lower id). */
function reference(row: Float32Array, k = 5) {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const logSumExp = max + Math.log(sum);
  let entropy = 0;
  for (const x of row) {
    const logP = x - logSumExp;
    const p = Math.exp(logP);
    if (p > 0) entropy -= p * logP;
  }
  // Top-k by repeated selection: the highest not yet taken, lowest id on ties.
  const ids: number[] = [];
  for (let j = 0; j < Math.min(k, row.length); j++) {
    let best = -1;
    for (let i = 0; i < row.length; i++) {
      if (ids.includes(i)) continue;
      if (best < 0 || row[i] > row[best]) best = i;
    }
    ids.push(best);
  }
  return { logSumExp, entropy, maxProb: Math.exp(max - logSumExp), ids };
}

function close(actual: number, expected: number, what: string, tolerance = 1e-9) {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function checkRow(row: Float32Array, what: string, chosen = row.length >> 1) {
  const exact = reference(row);
  const got = tokenConfidence(row, chosen);
  close(got.logSumExp, exact.logSumExp, `${what} logSumExp`);
  close(got.entropy, exact.entropy, `${what} entropy`);
  close(got.maxProb, exact.maxProb, `${what} maxProb`);
  close(got.logProb, row[chosen] - exact.logSumExp, `${what} logProb`);
  close(got.prob, Math.exp(row[chosen] - exact.logSumExp), `${what} prob`);
  assert.deepEqual(got.topK.map((t) => t.id), exact.ids, `${what} top-k ids`);
}

function rng(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
}

function gaussianRow(length: number, sigma: number, seed: number): Float32Array {
  const random = rng(seed);
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) row[i] = sigma * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  return row;
}

describe('confidence: blocked scan with inline exp', () => {
  it('expNonPositive is within 2 ulp of Math.exp on (−64, 0]', () => {
    const random = rng(7);
    let worst = 0;
    const samples: number[] = [0, -0, -1e-300, -1e-12, -Math.LN2 / 512, -Math.LN2 / 256, -Math.LN2, -1, -63.999, -Math.fround(63.99)];
    for (let i = 0; i < 200000; i++) samples.push(-64 * random(), Math.fround(-64 * random()), -random() * 1e-3);
    for (let n = 0; n < 256 * 93; n += 37) samples.push(-(n * Math.LN2) / 256); // table knots
    for (const d of samples) {
      if (!(d > -64)) continue;
      const exact = Math.exp(d);
      const rel = Math.abs(expNonPositive(d) - exact) / exact;
      if (rel > worst) worst = rel;
    }
    assert.ok(worst <= 2 * Number.EPSILON, `worst relative error ${worst} (${worst / Number.EPSILON} ε)`);
    assert.equal(expNonPositive(0), 1);
  });

  it('matches the float64 reference on Qwen3-sized rows (V = 151,936) and 32k rows', () => {
    checkRow(gaussianRow(151936, 2.5, 1), 'gaussian 152k σ=2.5');
    checkRow(gaussianRow(151936, 0.05, 2), 'near-uniform 152k');
    checkRow(gaussianRow(32768, 8, 3), 'gaussian 32k σ=8');
    const peaked = gaussianRow(151936, 1, 4);
    peaked[151935] = 40; // the max in the very last element of the last (partial) block
    checkRow(peaked, 'peaked at the end', 151935);
  });

  it('skips only terms below e^−64 of the max, without moving the result', () => {
    // σ = 40: most terms are far below the max and are skipped; a few thousand are kept.
    checkRow(gaussianRow(151936, 40, 5), 'wide σ=40');
    // The running max rises block after block, so terms skipped early are relative to a lower max.
    const rising = new Float32Array(10000);
    for (let i = 0; i < rising.length; i++) rising[i] = (i / rising.length) * 300 - 150 + (i % 7) * 0.01;
    checkRow(rising, 'rising across blocks');
    // Just inside and just outside the cutoff.
    const edge = new Float32Array(3000).fill(0);
    for (let i = 0; i < edge.length; i += 3) edge[i] = -63.99;
    for (let i = 1; i < edge.length; i += 3) edge[i] = -64.01;
    checkRow(edge, 'cutoff edge');
  });

  it('rescales once per block when the max rises inside and across blocks', () => {
    const increasing = Float32Array.from({ length: 5000 }, (_, i) => i * 0.013);
    checkRow(increasing, 'increasing');
    const decreasing = Float32Array.from({ length: 5000 }, (_, i) => 40 - i * 0.013);
    checkRow(decreasing, 'decreasing', 4999);
  });

  it('keeps the lowest ids first on ties spread over several blocks', () => {
    const row = gaussianRow(8192, 1, 6);
    for (const id of [7000, 100, 3000, 5000, 1023, 1024]) row[id] = 9;
    const got = tokenConfidence(row, 0);
    assert.deepEqual(got.topK.map((t) => t.id), [100, 1023, 1024, 3000, 5000]);
    checkRow(row, 'ties');
  });

  it('handles odd lengths, single elements and rows inside a larger buffer', () => {
    for (const length of [1, 2, 3, 1023, 1025, 2049]) checkRow(gaussianRow(length, 3, length), `length ${length}`, 0);
    const stats = createLogitStats(5);
    const batch = gaussianRow(3 * 3001, 3, 9);
    for (let b = 0; b < 3; b++) {
      const offset = b * 3001;
      const row = batch.slice(offset, offset + 3001);
      scanLogits(batch, stats, offset, 3001);
      const got = confidenceOfChosen(batch, stats, 17, offset);
      const exact = reference(row);
      close(got.logSumExp, exact.logSumExp, `row ${b} logSumExp`);
      close(got.entropy, exact.entropy, `row ${b} entropy`);
      assert.deepEqual(got.topK.map((t) => t.id), exact.ids, `row ${b} top-k`);
    }
  });

  it('treats blocks of −Infinity (also before any finite logit) as zero probability', () => {
    const row = gaussianRow(5000, 2, 10);
    for (let i = 0; i < 2500; i++) row[i] = -Infinity;
    row[4000] = -Infinity;
    const got = tokenConfidence(row, 3000);
    const finite = row.map((x) => (x === -Infinity ? -1e30 : x));
    const exact = reference(finite);
    close(got.entropy, exact.entropy, 'entropy');
    close(got.logSumExp, exact.logSumExp, 'logSumExp');
    assert.equal(tokenConfidence(row, 10).prob, 0);
    assert.throws(() => tokenConfidence(new Float32Array(3000).fill(-Infinity), 0), /every logit is -Infinity/);
  });

  it('reports NaN anywhere: in a later block, among skipped terms, after −Infinity', () => {
    const cases: [string, (row: Float32Array) => void, number][] = [
      ['later block', (row) => (row[4097] = NaN), 4097],
      ['first element', (row) => (row[0] = NaN), 0],
      ['last element', (row) => (row[row.length - 1] = NaN), 4999],
      ['after −Infinity', (row) => { row.fill(-Infinity, 0, 2048); row[1500] = NaN; }, 1500],
    ];
    for (const [what, spoil, index] of cases) {
      const row = gaussianRow(5000, 2, 11);
      spoil(row);
      assert.throws(
        () => tokenConfidence(row, 1),
        // A model error (the CLI and the server show it as is, not as an internal error) that says what to do.
        (e: unknown) => e instanceof ModelError && e.code === 'invalidOutput' && new RegExp(`logit ${index} is NaN\\..*re-export the model`).test(e.message),
        what,
      );
    }
  });
});
