/**
 * CaT and the re-expansion of its pruned branches on the embedded model through the real
 * onnxruntime-node: right answers on held-out problems, a well-formed tree, one batched forward per
 * token position of each round (counted), and a re-expanded branch equal to an unpruned run.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cat } from '../../language-server/src/decoding/cat';
import { expandBranch } from '../../language-server/src/decoding/expandBranch';
import type { DecoderModel } from '../../language-server/src/decoding/generate';
import { loadConfidenceCalibration, scoreStep, type ConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { ROOT_ID, type ReasoningTree } from '../../language-server/src/trace/tree';
import { treeFromJSON } from '../../language-server/src/trace/treeJson';
import { answersMatch } from '../../language-server/src/cli/stepLabels';

const root = resolve(__dirname, '..', '..');
const MODEL_DIR = join(root, 'models', 'caspo-arith-sft');
const HELDOUT = join(root, 'training', 'data', 'heldout.jsonl');
/** The model hesitates over 869 * 81 (70489 vs 70389): candidates differ at the first step. */
const UNSURE = 'Evaluate 763+(869 * 81 + (74+76)).';

/** The model, with every forward counted. */
function counting(model: CausalLM): { model: DecoderModel; forwards: () => number } {
  let forwards = 0;
  return {
    forwards: () => forwards,
    model: {
      config: model.config,
      eosTokenIds: model.eosTokenIds,
      tokenizer: model.tokenizer,
      emptyCache: (b) => model.emptyCache(b),
      forward: (ids, cache) => {
        forwards += 1;
        return model.forward(ids, cache);
      },
    },
  };
}

/**
 * The forwards a search needs if every round runs all rows of equal length together: a candidate
 * of parent p occupies the past lengths from p's fed length (all of p's ids but its last) for as
 * many forwards as it has tokens; per round (tree depth), count the distinct lengths.
 */
function expectedForwards(tree: ReasoningTree): number {
  const promptLength = tree.settings.promptIds.length;
  const occupied = new Map<number, Set<number>>();
  for (const node of tree.nodes) {
    if (node.parentId === null || node.origin !== 'search') continue;
    const parent = tree.get(node.parentId);
    const start = promptLength + parent.prefixTokenCount + parent.tokenIds.length - 1;
    const lengths = occupied.get(node.depth) ?? new Set<number>();
    for (let i = 0; i < node.tokenIds.length; i++) lengths.add(start + i);
    occupied.set(node.depth, lengths);
  }
  return [...occupied.values()].reduce((sum, lengths) => sum + lengths.size, 0);
}

function assertWellFormed(tree: ReasoningTree, calibration: ConfidenceCalibration): void {
  assert.equal(tree.nodes[0].id, ROOT_ID);
  for (const node of tree.nodes.slice(1)) {
    const parent = tree.get(node.parentId as string);
    assert.equal(node.depth, parent.depth + 1);
    assert.equal(node.prefixTokenCount, parent.prefixTokenCount + parent.tokenIds.length);
    assert.ok(node.tokenIds.length > 0 && node.tokens.every((t, i) => t.id === node.tokenIds[i]));
    assert.ok(node.confidence >= 0 && node.confidence <= 1);
    assert.ok(Math.abs(node.confidence - scoreStep(node.tokens, calibration, tree.settings.metric).confidence) < 1e-12);
    assert.ok(node.pathScore <= parent.pathScore + 1e-12, 'path scores only fall');
    assert.equal(node.status === 'pruned', node.prunedBy !== undefined);
    // A finished search continued every kept node (the budget turns the ones it cannot into 'pruned').
    if (node.status === 'kept' || node.status === 'flagged') assert.ok(tree.children(node.id).length > 0, `kept node ${node.id} has no children`);
    if (node.status === 'completed') assert.notEqual(node.stopReason, null);
  }
  assert.deepEqual(treeFromJSON(JSON.parse(JSON.stringify(tree.toJSON()))).toJSON(), tree.toJSON());
}

describe('CaT on the embedded model (real onnxruntime-node)', function () {
  this.timeout(120_000);
  let model: CausalLM;
  let calibration: ConfidenceCalibration;

  before(async () => {
    model = await CausalLM.load(MODEL_DIR, { executionProvider: 'cpu', intraOpNumThreads: 1 });
    calibration = loadConfidenceCalibration(MODEL_DIR, model.config.vocabSize, 5);
  });
  after(async () => {
    await model?.dispose();
  });

  it('answers held-out problems right, with a well-formed tree and one forward per position of each round', async () => {
    const problems = readFileSync(HELDOUT, 'utf8').trim().split('\n').slice(0, 4).map((line) => JSON.parse(line) as { problem: string; answer: string });
    for (const { problem, answer } of [...problems, { problem: UNSURE, answer: '71302' }]) {
      const counted = counting(model);
      const promptIds = model.tokenizer.encodePrompt(problem);
      const r = await cat(counted.model, { promptIds, maxNewTokens: 200, calibration }, { branches: 3, width: 2, threshold: { kind: 'fixed', value: 0.5 } });
      if (problem !== UNSURE) assert.ok(answersMatch(r.answer, answer), `${problem}: ${r.answer} (expected ${answer})`);
      assertWellFormed(r.tree, calibration);
      const leaf = r.tree.get(r.pathNodeIds[r.pathNodeIds.length - 1]);
      assert.equal(leaf.status, 'completed');
      assert.equal(leaf.stopReason, 'answer');
      assert.deepEqual(r.tree.generatedIds(leaf.id), r.path.tokens.map((t) => t.id));
      assert.deepEqual(r.pathNodeIds.map((id) => r.tree.get(id).text), r.path.steps.map((s) => s.text));
      assert.equal(counted.forwards(), r.stats.forwardPasses);
      assert.equal(r.stats.forwardPasses, expectedForwards(r.tree), `${problem}: forwards`);
      assert.ok(r.stats.forwardPasses < r.stats.generatedTokens / 2, 'candidates share forwards');
    }
  });

  it('re-expanding a pruned branch gives the tokens an unpruned run gives it', async () => {
    const promptIds = model.tokenizer.encodePrompt(UNSURE);
    const zero = { kind: 'fixed', value: 0 } as const;
    const pruned = await cat(model, { promptIds, maxNewTokens: 200, calibration }, { branches: 3, width: 1, threshold: zero, seed: 0 });
    const full = await cat(model, { promptIds, maxNewTokens: 200, calibration }, { branches: 3, width: 100, budget: 1000, threshold: zero, seed: 0 });
    const alternatives = pruned.tree.nodes.filter((n) => n.status === 'pruned' && n.stopReason === null);
    assert.ok(alternatives.some((n) => n.text === '869 * 81 = 70389'), 'seed 0 draws both products and width 1 prunes one');
    for (const node of alternatives) {
      const expansion = await expandBranch(model, pruned.tree, node.id, { calibration });
      assert.ok(expansion.added.length > 0);
      for (const added of expansion.added) assert.deepEqual(added.tokenIds, full.tree.get(added.id).tokenIds, `node ${added.id}`);
      assert.equal(pruned.tree.get(expansion.leafId).stopReason, 'answer');
      if (node.text === '869 * 81 = 70389') assert.equal(expansion.answer, '71302');
    }
    assertWellFormed(pruned.tree, calibration);
  });
});
