import { strict as assert } from 'node:assert';
import { cat } from '../../language-server/src/decoding/cat';
import { expandBranch } from '../../language-server/src/decoding/expandBranch';
import { generate } from '../../language-server/src/decoding/generate';
import { ConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import { runStrategy } from '../../language-server/src/decoding/strategies';
import { treeFromJSON, treeToRoundedJSON } from '../../language-server/src/trace/treeJson';
import { BRANCHING_SCRIPT, ScriptedStepModel } from './helpers/scriptedStepModel';

const SCRIPT = BRANCHING_SCRIPT;

const calibration = new ConfidenceCalibration(259, 5);
const request = (model: ScriptedStepModel) => ({ promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb' as const });

describe('expandBranch: continuing a pruned node', () => {
  it('gives the tokens an unpruned run gives the same nodes, for every pruned node and several seeds', async () => {
    let compared = 0;
    const variants = [
      { greedyFirst: false, branchBelow: null },
      { greedyFirst: true, branchBelow: null },
      { greedyFirst: true, branchBelow: 0.7 },
    ];
    for (const [seed, variant] of [0, 1, 2, 3, 4, 5].flatMap((seed) => variants.map((v) => [seed, v] as const))) {
      // Width 1 prunes every sibling of the best candidate; τ = 0 and a wide search prune nothing.
      const settings = { branches: 3, seed, ...variant, threshold: { kind: 'fixed', value: 0 } } as const;
      const pruned = await cat(new ScriptedStepModel(SCRIPT), request(new ScriptedStepModel(SCRIPT)), { ...settings, width: 1 });
      const full = await cat(new ScriptedStepModel(SCRIPT), request(new ScriptedStepModel(SCRIPT)), { ...settings, width: 1000, budget: 1000 });
      for (const node of pruned.tree.nodes.filter((n) => n.status === 'pruned')) {
        const model = new ScriptedStepModel(SCRIPT);
        const expansion = await expandBranch(model, pruned.tree, node.id, { calibration });
        assert.equal(expansion.mode, 'sample');
        assert.ok(expansion.added.length > 0 || node.stopReason !== null);
        for (const id of [node.id, ...expansion.added.map((n) => n.id)]) {
          assert.deepEqual(pruned.tree.get(id).tokenIds, full.tree.get(id).tokenIds, `seed ${seed}: node ${id}`);
          compared += 1;
        }
        const leaf = pruned.tree.get(expansion.leafId);
        assert.equal(leaf.status, 'completed');
        assert.equal(leaf.origin, expansion.added.length > 0 ? 'expansion' : 'search');
        assert.equal(expansion.answer, full.tree.path(expansion.leafId).map((n) => n.text).join('\n').match(/Answer: (\d+)$/)?.[1]);
        assert.equal(expansion.path.text, full.tree.path(expansion.leafId).map((n) => `${n.text}\n`).join(''));
        // The path from the prompt is fed once, then every new id but the last: each step is decoded
        // from the KV row the one before left.
        if (expansion.added.length > 0) assert.equal(model.fedTokens, pruned.tree.tokenPath(node.id).length + expansion.stats.generatedTokens - 1);
      }
    }
    assert.ok(compared >= 50, `only ${compared} nodes compared`);
  });

  it('greedy mode continues with the likeliest tokens, as greedy decoding after the path does', async () => {
    const model = new ScriptedStepModel(SCRIPT);
    const r = await cat(model, request(model), { branches: 3, width: 1, seed: 5, threshold: { kind: 'fixed', value: 0 } });
    const b1 = r.tree.nodes.find((n) => n.text === 'B1' && n.status === 'pruned');
    assert.ok(b1, 'seed 5 draws and prunes B1');
    const expansion = await expandBranch(new ScriptedStepModel(SCRIPT), r.tree, b1.id, { calibration, mode: 'greedy' });
    assert.deepEqual(expansion.added.map((n) => [n.id, n.text, n.status]), [
      [`${b1.id}.g`, 'B2', 'kept'],
      [`${b1.id}.g.g`, 'B3', 'kept'],
      [`${b1.id}.g.g.g`, 'Answer: 2', 'completed'],
    ]);
    const reference = await generate(new ScriptedStepModel(SCRIPT), { promptIds: r.tree.tokenPath(b1.id), maxNewTokens: 60 });
    assert.deepEqual(expansion.added.flatMap((n) => n.tokenIds), reference.rows[0].tokens.map((t) => t.id));
  });

  it('walks what is already there: expanding twice decodes nothing the second time', async () => {
    const model = new ScriptedStepModel(SCRIPT);
    const r = await cat(model, request(model), { branches: 3, width: 1, seed: 5, threshold: { kind: 'fixed', value: 0 } });
    const pruned = r.tree.nodes.find((n) => n.status === 'pruned' && n.stopReason === null);
    assert.ok(pruned);
    const first = await expandBranch(new ScriptedStepModel(SCRIPT), r.tree, pruned.id, { calibration });
    const size = r.tree.nodes.length;
    const again = new ScriptedStepModel(SCRIPT);
    const second = await expandBranch(again, r.tree, pruned.id, { calibration });
    assert.deepEqual(second.added, []);
    assert.equal(second.leafId, first.leafId);
    assert.equal(second.answer, first.answer);
    assert.equal(again.forwardPasses, 0);
    assert.equal(r.tree.nodes.length, size);
  });

  it('continues a node the budget cut, and survives a JSON round trip of the tree', async () => {
    const model = new ScriptedStepModel(SCRIPT);
    const r = await cat(model, request(model), { branches: 3, width: 3, seed: 5, budget: 3, threshold: { kind: 'fixed', value: 0 } });
    assert.equal(r.answer, null);
    const tree = treeFromJSON(JSON.parse(JSON.stringify(r.tree.toJSON())));
    assert.deepEqual(tree.toJSON(), r.tree.toJSON());
    const greedyFirst = await cat(new ScriptedStepModel(SCRIPT), request(model), { branches: 3, width: 3, seed: 5, budget: 3, greedyFirst: true });
    assert.deepEqual(treeFromJSON(JSON.parse(JSON.stringify(greedyFirst.tree.toJSON()))).settings.sampling, { kind: 'sample', temperature: 1, topP: 1, seed: 5, greedyFirst: true });
    assert.equal(greedyFirst.tree.settings.branchBelow, undefined);
    const branching = await cat(new ScriptedStepModel(SCRIPT), request(model), { branches: 3, width: 3, seed: 5, budget: 3, greedyFirst: true, branchBelow: 0.7 });
    assert.equal(treeFromJSON(JSON.parse(JSON.stringify(branching.tree.toJSON()))).settings.branchBelow, 0.7);
    const json = branching.tree.toJSON();
    assert.throws(() => treeFromJSON({ ...json, settings: { ...json.settings, branchBelow: 2 } }), /settings\.branchBelow must be a number from 0 to 1/);
    const expansion = await expandBranch(new ScriptedStepModel(SCRIPT), tree, r.pathNodeIds[0], { calibration });
    assert.equal(expansion.answer, '1');
  });

  it('refuses to sample a tree whose steps were not drawn per node', async () => {
    const sc = await runStrategy(new ScriptedStepModel(SCRIPT), 'sc', request(new ScriptedStepModel(SCRIPT)), { samples: 3 });
    await assert.rejects(expandBranch(new ScriptedStepModel(SCRIPT), sc.tree, '0', { calibration, mode: 'sample' }), /only cat and beam/);
    const greedy = await expandBranch(new ScriptedStepModel(SCRIPT), sc.tree, sc.tree.children('root')[0].id, { calibration });
    assert.equal(greedy.mode, 'greedy');
  });
});

describe('reasoning tree JSON', () => {
  it('round-trips, rounds floats in the printed form, and names what is wrong in bad input', async () => {
    const model = new ScriptedStepModel(SCRIPT);
    const r = await cat(model, request(model), { seed: 5, width: 3, threshold: { kind: 'fixed', value: 0.2 } });
    const json = r.tree.toJSON();
    assert.deepEqual(treeFromJSON(JSON.parse(JSON.stringify(json))).toJSON(), json);
    const rounded = treeToRoundedJSON(r.tree);
    assert.equal(rounded.nodes[1].confidence, Math.round(json.nodes[1].confidence * 1e6) / 1e6);
    assert.deepEqual(treeFromJSON(rounded).nodes.map((n) => n.id), json.nodes.map((n) => n.id));

    const broken = JSON.parse(JSON.stringify(json));
    broken.nodes[2].status = 'maybe';
    assert.throws(() => treeFromJSON(broken), /node 2 \("1"\) field "status" must be one of kept, pruned, flagged, completed/);
    const orphan = JSON.parse(JSON.stringify(json));
    orphan.nodes[1].parentId = 'nowhere';
    assert.throws(() => treeFromJSON(orphan), /no node "nowhere"/);
    const mismatch = JSON.parse(JSON.stringify(json));
    mismatch.nodes[1].tokenIds[0] = 7;
    assert.throws(() => treeFromJSON(mismatch), /field "tokens" must list the same ids as tokenIds/);
  });
});
