/**
 * The engine on a real ONNX model through the real onnxruntime-node: logits parity with PyTorch
 * (parity.json written by training/caspo_train/export.py), batched branches vs sequential runs,
 * and KV trim + re-feed, on every model listed in testModels().
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from '../../language-server/src/decoding/generate';
import { argmax } from '../../language-server/src/decoding/sampling';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { AUTO_WEBGPU_MIN_GRAPH_BYTES } from '../../language-server/src/model/executionProvider';
import type { KvCache } from '../../language-server/src/model/kvCache';

const TOLERANCE = 1e-4;
const root = resolve(__dirname, '..', '..');

interface Parity {
  prompt_ids: number[];
  generated_ids: number[];
  logit_indices: number[] | null;
  logits: number[][];
}

function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'onnx', 'model.onnx')) && existsSync(join(dir, 'parity.json'));
}

/**
 * Every model the engine must run: the embedded model, the 2-step SFT smoke-test export (training
 * → export → engine), and the random-weight GQA model with the real Qwen3 tokenizer (V = 151,936).
 * The generated ones come from scripts/make-fixtures.mjs, which `npm test` runs first; a missing
 * one fails its suite rather than being skipped. CASPO_TEST_MODEL adds another folder.
 */
function testModels(): { name: string; dir: string }[] {
  const generated = join(root, 'test', 'fixtures', 'generated');
  const models = [
    { name: 'embedded default caspo-arith (CASPO-aligned)', dir: join(root, 'models', 'caspo-arith') },
    { name: 'SFT baseline caspo-arith-sft', dir: join(root, 'models', 'caspo-arith-sft') },
    { name: 'SFT smoke-test export (tiny-arith)', dir: join(generated, 'tiny-arith') },
    { name: 'CASPO pipeline smoke-test export (caspo-toy)', dir: join(generated, 'caspo-toy') },
    { name: 'random GQA model with the Qwen3 tokenizer (qwen3-gqa)', dir: join(generated, 'qwen3-gqa') },
  ];
  if (process.env.CASPO_TEST_MODEL) models.push({ name: 'CASPO_TEST_MODEL', dir: resolve(process.env.CASPO_TEST_MODEL) });
  return models;
}

function maxAbsDiff(actual: Float32Array, expected: readonly number[], indices: readonly number[] | null): number {
  let max = 0;
  for (let j = 0; j < expected.length; j++) {
    const diff = Math.abs(actual[indices ? indices[j] : j] - expected[j]);
    if (!(diff <= max)) max = diff; // NaN propagates as a failure
  }
  return max;
}

function maxAbsDiffArrays(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

for (const { name, dir } of testModels()) describe(`engine on a real ONNX model: ${name}`, function () {
  this.timeout(120000);
  let model: CausalLM;
  let parity: Parity;

  before(async () => {
    if (!isModelFolder(dir)) {
      throw new Error(`${dir} is not a model folder with parity.json: run \`node scripts/make-fixtures.mjs\` (npm test does).`);
    }
    parity = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as Parity;
    model = await CausalLM.load(dir, { executionProvider: 'cpu' });
  });
  after(async () => {
    await model?.dispose();
  });

  /** Feeds `ids` one token at a time (after `cache`), returning last-position logits copies. */
  async function feedOneByOne(ids: number[], cache: KvCache): Promise<{ logits: Float32Array[]; cache: KvCache }> {
    const logits: Float32Array[] = [];
    for (const id of ids) {
      const result = await model.forward([[id]], cache);
      cache.dispose();
      cache = result.cache;
      logits.push(result.lastLogits[0].slice());
    }
    return { logits, cache };
  }

  it('loads with a report of the execution provider', () => {
    assert.equal(model.executionProvider.active, 'cpu');
    assert.deepEqual(model.executionProvider.rejected, []);
    assert.equal(model.config.numHiddenLayers, model.graph.pastKeyNames.length);
  });

  it(`matches the PyTorch logits over the prompt and 40 cached greedy steps (≤ ${TOLERANCE})`, async () => {
    const prefill = await model.forward([parity.prompt_ids], model.emptyCache(1));
    let cache = prefill.cache;
    let logits = prefill.lastLogits[0];
    let worst = 0;
    const greedy: number[] = [];
    for (let step = 0; step < parity.logits.length; step++) {
      const diff = maxAbsDiff(logits, parity.logits[step], parity.logit_indices);
      worst = Math.max(worst, diff);
      assert.ok(diff <= TOLERANCE, `step ${step}: max |Δlogit| = ${diff}`);
      if (step === parity.generated_ids.length) break;
      greedy.push(argmax(logits));
      const next = await model.forward([[parity.generated_ids[step]]], cache);
      cache.dispose();
      cache = next.cache;
      logits = next.lastLogits[0];
    }
    cache.dispose();
    assert.deepEqual(greedy, parity.generated_ids, 'greedy ids');
    assert.equal(parity.logits.length, parity.generated_ids.length + 1);
    console.log(`      parity: ${parity.generated_ids.length} steps, max |Δlogit| = ${worst.toExponential(2)} (${dir})`);
  });

  it('generate() greedy reproduces the parity ids until it stops', async () => {
    const result = await generate(model, { promptIds: parity.prompt_ids, maxNewTokens: parity.generated_ids.length, stopAtAnswerLine: false });
    const ids = result.rows[0].tokens.map((t) => t.id);
    assert.deepEqual(ids, parity.generated_ids.slice(0, ids.length));
    assert.ok(ids.length === parity.generated_ids.length || result.rows[0].stopReason === 'eos');
  });

  it('feeding the prompt at once equals feeding it token by token (all positions)', async () => {
    const all = await model.forward([parity.prompt_ids], model.emptyCache(1), { allPositions: true });
    const vocab = model.config.vocabSize;
    const first = await model.forward([parity.prompt_ids.slice(0, 1)], model.emptyCache(1));
    const rest = await feedOneByOne(parity.prompt_ids.slice(1), first.cache);
    const stepwise = [first.lastLogits[0].slice(), ...rest.logits];
    stepwise.forEach((row, position) => {
      const diff = maxAbsDiffArrays(all.allLogits!.subarray(position * vocab, (position + 1) * vocab), row);
      assert.ok(diff <= TOLERANCE, `position ${position}: ${diff}`);
    });
    all.cache.dispose();
    rest.cache.dispose();
  });

  it('four batched branches forked from one prefill equal four sequential single-row runs', async () => {
    const prefill = await model.forward([parity.prompt_ids], model.emptyCache(1));
    const continuations = [0, 1, 2, 3].map((branch) =>
      Array.from({ length: 12 }, (_, i) => parity.generated_ids[(i * (branch + 1) + branch) % parity.generated_ids.length]),
    );
    // Batched: one forward per position for all four rows.
    let batched = await prefill.cache.forkRows([0, 0, 0, 0]);
    const batchedLogits: Float32Array[][] = [[], [], [], []];
    for (let i = 0; i < 12; i++) {
      const result = await model.forward(continuations.map((c) => [c[i]]), batched);
      batched.dispose();
      batched = result.cache;
      result.lastLogits.forEach((row, b) => batchedLogits[b].push(row.slice()));
    }
    // Sequential: each branch alone from its own fork of the prefill.
    for (let b = 0; b < 4; b++) {
      const single = await feedOneByOne(continuations[b], await prefill.cache.forkRows([0]));
      single.logits.forEach((row, i) => {
        const diff = maxAbsDiffArrays(batchedLogits[b][i], row);
        assert.ok(diff <= TOLERANCE, `branch ${b}, token ${i}: ${diff}`);
      });
      // The batched cache's row b equals the sequential cache.
      const row = await batched.forkRows([b]);
      for (let layer = 0; layer < row.numLayers; layer++) {
        const diff = maxAbsDiffArrays(row.layers[layer].key.data as Float32Array, single.cache.layers[layer].key.data as Float32Array);
        assert.ok(diff <= TOLERANCE, `branch ${b} layer ${layer} keys: ${diff}`);
      }
      row.dispose();
      single.cache.dispose();
    }
    batched.dispose();
    prefill.cache.dispose();
  });

  it('trimming the KV cache and re-feeding the same tokens gives the original logits and cache', async () => {
    const prefill = await model.forward([parity.prompt_ids], model.emptyCache(1));
    const tail = parity.generated_ids.slice(0, 8);
    const original = await feedOneByOne(tail, await prefill.cache.forkRows([0]));
    const promptLength = parity.prompt_ids.length;
    const trimmed = original.cache.trim(promptLength);
    assert.equal(trimmed.pastLength, promptLength);
    const refed = await feedOneByOne(tail, trimmed);
    refed.logits.forEach((row, i) => assert.ok(maxAbsDiffArrays(row, original.logits[i]) <= TOLERANCE, `token ${i}`));
    for (let layer = 0; layer < original.cache.numLayers; layer++) {
      for (const kind of ['key', 'value'] as const) {
        const diff = maxAbsDiffArrays(refed.cache.layers[layer][kind].data as Float32Array, original.cache.layers[layer][kind].data as Float32Array);
        assert.ok(diff <= TOLERANCE, `layer ${layer} ${kind}: ${diff}`);
      }
    }
    // Trimming into the generated part and re-feeding only the dropped tokens also matches.
    const partial = await feedOneByOne(tail.slice(5), original.cache.trim(promptLength + 5));
    partial.logits.forEach((row, i) => assert.ok(maxAbsDiffArrays(row, original.logits[5 + i]) <= TOLERANCE));
    for (const cache of [prefill.cache, original.cache, refed.cache, partial.cache]) cache.dispose();
  });

  it('sampled branches are reproducible with a seed and record confidence per token', async () => {
    const options = {
      promptIds: parity.prompt_ids, maxNewTokens: 24, numRows: 4,
      sampling: { kind: 'sample' as const, temperature: 1, topP: 0.95, seed: 2024 },
    };
    const first = await generate(model, options);
    const second = await generate(model, options);
    assert.deepEqual(second.rows.map((r) => r.tokens.map((t) => t.id)), first.rows.map((r) => r.tokens.map((t) => t.id)));
    for (const row of first.rows) {
      for (const token of row.tokens) {
        assert.ok(token.prob > 0 && token.prob <= 1 && token.entropy >= 0 && token.topK.length === 5);
        assert.ok(Math.abs(Math.log(token.prob) - token.logProb) < 1e-9);
      }
    }
    assert.equal(first.stats.generatedTokens, first.rows.reduce((n, r) => n + r.tokens.length, 0));
  });

  it('auto tries webgpu (large graphs only), then cuda, then cpu and says why each skipped one did not run', async () => {
    const auto = await CausalLM.load(dir, { executionProvider: 'auto' });
    try {
      const report = auto.executionProvider;
      const order = ['webgpu', 'cuda', 'cpu'];
      assert.deepEqual(report.rejected.map((r) => r.name), order.slice(0, order.indexOf(report.active)));
      assert.ok(report.rejected.every((r) => r.reason.length > 0));
      const megabytes = statSync(join(dir, 'onnx', 'model.onnx')).size / 1e6;
      if (megabytes < AUTO_WEBGPU_MIN_GRAPH_BYTES / 1e6) {
        // A small graph never reaches WebGPU under auto, GPU or not: the reason names its size.
        assert.notEqual(report.active, 'webgpu');
        assert.match(report.rejected[0].reason, /^skipped for a [\d.]+ MB model: below 200 MB the CPU decodes faster/);
      }
      const result = await auto.forward([parity.prompt_ids], auto.emptyCache(1));
      assert.ok(maxAbsDiff(result.lastLogits[0], parity.logits[0], parity.logit_indices) <= TOLERANCE, `parity on ${report.active}`);
      result.cache.dispose();
      console.log(`      auto → ${report.active}; ${report.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`);
    } finally {
      await auto.dispose();
    }
  });

  it('forward after dispose throws', async () => {
    const other = await CausalLM.load(dir, { executionProvider: 'cpu' });
    await other.dispose();
    await assert.rejects(other.forward([[1]], other.emptyCache(1)), /after dispose/);
  });
});
