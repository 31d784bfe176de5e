import { strict as assert } from 'node:assert';
import { cat, type CatSettings } from '../../language-server/src/decoding/cat';
import { ConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import type { StrategyResult } from '../../language-server/src/decoding/strategyResult';
import { allotCandidates } from '../../language-server/src/decoding/treeSearch';
import type { StepContext } from '../../language-server/src/handlers/treeSteps';
import type { LoadedModel } from '../../language-server/src/host/modelHost';
import { SolveSearch } from '../../language-server/src/host/solveSearch';
import type { ReasoningTree } from '../../language-server/src/trace/tree';
import { ScriptedStepModel, tableScript } from './helpers/scriptedStepModel';

/**
 * The scripted model writes one of these steps after the steps so far. With the minProb metric and
 * the fixed (uncalibrated) mapping, a step's confidence is its probability here: its first token
 * carries the choice, every other token has probability 1.
 */
const SCRIPT = tableScript({
  '': [
    { text: 'A1', prob: 0.6 },
    { text: 'B1', prob: 0.3 },
    { text: 'C1', prob: 0.1 },
  ],
  A1: [{ text: 'Answer: 1', prob: 1 }],
  B1: [
    { text: 'B2', prob: 0.8 },
    { text: 'X2', prob: 0.2 },
  ],
  'B1 / B2': [{ text: 'Answer: 2', prob: 1 }],
  'B1 / X2': [{ text: 'Answer: 9', prob: 1 }],
  C1: [{ text: 'Answer: 3', prob: 1 }],
});

const calibration = new ConfidenceCalibration(259, 5);
/** A seed whose first root candidate draws A1 and second B1 (the script of the streaming test). */
const SEED_A1_FIRST = 5;

/** CaT with every candidate drawn (greedyFirst off) unless `settings` says otherwise: the trees below follow the draws. */
async function runCat(settings: Partial<CatSettings>, model = new ScriptedStepModel(SCRIPT)): Promise<StrategyResult & { model: ScriptedStepModel }> {
  const result = await cat(model, { promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb' }, { greedyFirst: false, ...settings });
  return { ...result, model };
}

/** One line per node: id, text, status (/why pruned), flagged, draws. */
function shape(tree: ReasoningTree): string[] {
  return tree.nodes.map(
    (n) => `${n.id} ${JSON.stringify(n.text)} ${n.status}${n.prunedBy ? `/${n.prunedBy}` : ''}${n.flagged ? ' flagged' : ''} [${n.draws}]`,
  );
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} is not ${expected}`);
}

describe('CaT on a scripted model', () => {
  it('marks a step cut off only where the token limit stopped it before its delimiter, whatever the delimiter', async () => {
    const model = new ScriptedStepModel(SCRIPT);
    const run = (maxNewTokens: number, stepDelimiter: string) =>
      cat(model, { promptIds: model.promptIds, maxNewTokens, calibration, metric: 'minProb', stepDelimiter }, { greedyFirst: true, branches: 1 });
    const cutOff = (r: StrategyResult) => r.tree.nodes.filter((n) => n.depth > 0).map((n) => [n.text, n.cutOff === true]);
    // One byte a token: "A", "1", "\n", ...
    assert.deepEqual(cutOff(await run(2, '\n')), [['A1', true]], 'the limit came before the line break');
    assert.deepEqual(cutOff(await run(3, '\n')), [['A1', false]], 'the line break closed it, then the limit');
    // With "1" as the delimiter the second token closes step "A": the limit right after it cuts nothing.
    assert.deepEqual(cutOff(await run(2, '1')), [['A', false]]);
  });

  it('branches b candidates per boundary, merges duplicates, keeps up to w by path score, and answers with the best completed path', async () => {
    // Seed 5 draws A1, B1, C1 at the root; every later candidate of a node draws the same step.
    const r = await runCat({ branches: 3, width: 3, threshold: { kind: 'fixed', value: 0.2 }, seed: 5 });
    assert.deepEqual(shape(r.tree), [
      'root "" kept []',
      '0 "A1" kept [0]',
      '1 "B1" kept [1]',
      '2 "C1" pruned/threshold [2]',
      '0.0 "Answer: 1" completed [0,1,2]',
      '1.0 "B2" kept [0,1,2]',
      '1.0.0 "Answer: 2" completed [0,1,2]',
    ]);
    const node = (id: string) => r.tree.get(id);
    near(node('1').confidence, 0.3, 'B1 confidence');
    near(node('1.0').confidence, 0.8, 'B2 confidence');
    near(node('1.0.0').pathScore, Math.log(0.3) + Math.log(0.8) + Math.log(1), 'path score = Σ log confidence');
    assert.equal(node('2').tokenIds.length, 3, 'a pruned candidate keeps its tokens ("C1\\n")');
    assert.equal(node('1.0').prefixTokenCount, 3);
    assert.deepEqual(r.tree.tokenPath('1.0'), [...r.model.promptIds, ...'B1\nB2\n'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0))));

    assert.equal(r.answer, '1');
    assert.deepEqual(r.pathNodeIds, ['0', '0.0']);
    assert.equal(r.path.text, 'A1\nAnswer: 1\n');
    assert.deepEqual(r.path.steps.map((s) => s.text), ['A1', 'Answer: 1']);
    assert.equal(r.stopReason, 'answer');
    assert.equal(r.vote?.answer, '1');
    assert.deepEqual(r.vote?.tally.map((t) => [t.answer, Number(t.weight.toFixed(6)), t.paths]), [
      ['1', 0.6, 1],
      ['2', 0.24, 1],
    ]);

    // Work: 3 + 2·3 + 3 draws; tokens of every draw; one forward per position, all rows together.
    assert.equal(r.stats.expandedSteps, 12);
    assert.equal(r.stats.generatedTokens, 3 * 3 + 3 * 10 + 3 * 3 + 3 * 10);
    assert.equal(r.stats.forwardPasses, 3 + 10 + 10);
    assert.equal(r.model.forwardPasses, r.stats.forwardPasses);
    assert.deepEqual(
      r.model.batchSizes.slice(0, 5),
      [1, 3, 3, 2, 6],
      'prefill once, the root\'s 3 candidates together; then each kept node\'s last id is fed once and its candidates fork from it',
    );
    // Nothing is re-fed: the prompt once, each draw's ids but its last, and the last id of each node
    // that branches (A1, B1, B2) once for all its candidates.
    assert.equal(r.model.fedTokens, r.model.promptIds.length + (r.stats.generatedTokens - r.stats.expandedSteps) + 3);
  });

  it('prunes below τ and beyond the width; pruned candidates stay in the tree', async () => {
    const r = await runCat({ branches: 3, width: 1, threshold: { kind: 'fixed', value: 0.2 }, seed: 5 });
    assert.deepEqual(shape(r.tree), [
      'root "" kept []',
      '0 "A1" kept [0]',
      '1 "B1" pruned/width [1]',
      '2 "C1" pruned/threshold [2]',
      '0.0 "Answer: 1" completed [0,1,2]',
    ]);
    assert.deepEqual(r.tree.prunedSiblings('0').map((n) => n.id), ['1', '2']);
    assert.equal(r.answer, '1');
    assert.equal(r.stats.expandedSteps, 6);
  });

  it('continues the best candidate, flagged, when every candidate is below τ', async () => {
    const r = await runCat({ branches: 3, width: 2, threshold: { kind: 'fixed', value: 0.7 }, seed: 5 });
    assert.deepEqual(shape(r.tree), [
      'root "" kept []',
      '0 "A1" flagged flagged [0]',
      '1 "B1" pruned/threshold [1]',
      '2 "C1" pruned/threshold [2]',
      '0.0 "Answer: 1" completed [0,1,2]',
    ]);
    assert.equal(r.answer, '1');

    // A final step can be rescued too: it is then 'completed' and flagged (seed 0 draws both answers, a tie at 0.5).
    const unsure = new ScriptedStepModel(tableScript({ '': [{ text: 'S', prob: 1 }], S: [{ text: 'Answer: 4', prob: 0.5 }, { text: 'Answer: 5', prob: 0.5 }] }));
    const u = await runCat({ branches: 2, width: 2, threshold: { kind: 'fixed', value: 0.9 }, seed: 0 }, unsure);
    assert.deepEqual(shape(u.tree), [
      'root "" kept []',
      '0 "S" kept [0,1]',
      '0.0 "Answer: 5" completed flagged [0]',
      '0.1 "Answer: 4" pruned/threshold [1]',
    ]);
    assert.equal(u.answer, '5');
  });

  it('adaptive τ: no threshold pruning during the warm-up, then the percentile of the warm-up confidences', async () => {
    // Seed 0 draws B1, A1, A1 at the root (warm-up: 0.3, 0.6, 0.6 → median 0.6), and B2, X2, X2 after B1.
    const r = await runCat({ branches: 3, width: 3, threshold: { kind: 'percentile', percentile: 50, warmupSteps: 3 }, seed: 0 });
    near(r.threshold as number, 0.6, 'τ');
    assert.deepEqual(shape(r.tree), [
      'root "" kept []',
      '0 "B1" kept [0]', // 0.3 < τ, but the warm-up round is not judged by τ
      '1 "A1" kept [1,2]',
      '1.0 "Answer: 1" completed [0,1,2]',
      '0.0 "B2" kept [0]',
      '0.1 "X2" pruned/threshold [1,2]',
      '0.0.0 "Answer: 2" completed [0,1,2]',
    ]);

    // A warm-up longer than the first round spans two rounds: τ comes from all 6 draws.
    const longer = await runCat({ branches: 3, width: 3, threshold: { kind: 'percentile', percentile: 0, warmupSteps: 4 }, seed: 0 });
    near(longer.threshold as number, 0.2, 'τ = the lowest of 0.3, 0.6, 0.6, 1, 1, 1, 0.8, 0.2, 0.2');
    assert.equal(longer.tree.get('0.1').status, 'kept', 'X2 was drawn during the warm-up');
  });

  it('stops expanding when the budget is spent: the best nodes get their candidates first, the rest are pruned', async () => {
    const r = await runCat({ branches: 3, width: 3, threshold: { kind: 'fixed', value: 0 }, seed: 0, budget: 5 });
    assert.deepEqual(shape(r.tree), [
      'root "" kept []',
      '0 "B1" pruned/budget [0]',
      '1 "A1" kept [1,2]',
      '1.0 "Answer: 1" completed [0,1]',
    ]);
    assert.equal(r.stats.expandedSteps, 5);
    assert.equal(r.answer, '1');

    // Too small to finish any path: no answer, the best unfinished path is returned, stop reason 'budget'.
    const cut = await runCat({ branches: 3, width: 3, threshold: { kind: 'fixed', value: 0 }, seed: 0, budget: 3 });
    assert.deepEqual(shape(cut.tree), ['root "" kept []', '0 "B1" pruned/budget [0]', '1 "A1" pruned/budget [1,2]']);
    assert.equal(cut.answer, null);
    assert.equal(cut.stopReason, 'budget');
    assert.deepEqual(cut.pathNodeIds, ['1']);
    assert.equal(cut.path.text, 'A1\n');
    assert.equal(cut.vote?.answer, null);
  });

  it('is reproducible from its seed, and the seed matters', async () => {
    const settings = { branches: 3, width: 3, threshold: { kind: 'fixed', value: 0 } as const };
    const a = await runCat({ ...settings, seed: 5 });
    const b = await runCat({ ...settings, seed: 5 });
    assert.deepEqual(b.tree.toJSON(), a.tree.toJSON());
    const c = await runCat({ ...settings, seed: 0 });
    assert.notDeepEqual(shape(c.tree), shape(a.tree));
  });

  it('validates its settings and stops when cancelled', async () => {
    await assert.rejects(runCat({ threshold: { kind: 'fixed', value: 1.5 } }), /threshold must be in \[0, 1\]/);
    await assert.rejects(runCat({ threshold: { kind: 'percentile', percentile: 120, warmupSteps: 4 } }), /percentile must be in \[0, 100\]/);
    await assert.rejects(runCat({ branches: 0 }), /branches must be a positive integer/);
    await assert.rejects(runCat({ temperature: 0 }), /temperature must be a number of at least 0.0001, got 0/);

    const model = new ScriptedStepModel(SCRIPT);
    const controller = new AbortController();
    const r = await cat(
      model,
      { promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb', signal: controller.signal, onNode: (n) => n.depth === 1 && controller.abort() },
      { seed: 5, width: 3, threshold: { kind: 'fixed', value: 0 } },
    );
    assert.equal(r.stopReason, 'cancelled');
    assert.equal(r.answer, null);
    assert.ok(r.tree.nodes.every((n) => n.depth <= 1), 'nothing expanded after the abort');
  });

  it('reports each round once all its candidates are in: what the server streams then is a prefix of the chosen path', async () => {
    // The first candidate at the root (A1, the likelier step) loses: its path needs a step of probability 0.5
    // later, while B1 completes at full confidence. The server shows a step as soon as every open path goes
    // through it; judged after each node instead of each round, A1 alone looked settled before B1 came in.
    const script = tableScript({
      '': [
        { text: 'A1', prob: 0.6 },
        { text: 'B1', prob: 0.4 },
      ],
      A1: [
        { text: 'A2', prob: 0.5 },
        { text: 'A3', prob: 0.5 },
      ],
      'A1 / A2': [{ text: 'Answer: 1', prob: 1 }],
      'A1 / A3': [{ text: 'Answer: 1', prob: 1 }],
      B1: [{ text: 'Answer: 2', prob: 1 }],
    });
    const model = new ScriptedStepModel(script);
    const search = new SolveSearch({} as LoadedModel, { metric: 'minProb', calibrated: false, tokenText: String } satisfies StepContext);
    const afterNode: string[][] = [];
    const afterRound: string[][] = [];
    const r = await cat(
      model,
      {
        promptIds: model.promptIds,
        maxNewTokens: 60,
        calibration,
        metric: 'minProb',
        onNode: (n) => {
          search.saw(n);
          afterNode.push(search.settledPath());
        },
        onRound: () => afterRound.push(search.settledPath()),
      },
      { seed: SEED_A1_FIRST, branches: 2, width: 2, threshold: { kind: 'fixed', value: 0.1 } },
    );
    assert.equal(r.tree.get('0').text, 'A1', 'the first candidate drawn is A1');
    assert.deepEqual(r.pathNodeIds.map((id) => r.tree.get(id).text), ['B1', 'Answer: 2']);
    assert.equal(afterRound.length, 3);
    for (const settled of afterRound) assert.deepEqual(settled, r.pathNodeIds.slice(0, settled.length), `settled ${settled} at a round's end`);
    assert.deepEqual(afterNode[0], ['0'], 'mid-round, the first candidate alone looks settled');
  });

  it('greedyFirst: candidate 0 of every expansion is the greedy step, the others are the draws they are without it', async () => {
    /**
     * "parent id # candidate index" -> the parent's step texts and the candidate's text, for every draw in the
     * tree. A candidate's stream is derived from its parent's id, so draws compare between trees where the
     * same id holds the same steps.
     */
    const draws = (tree: ReasoningTree): Map<string, { parentPath: string; text: string }> => {
      const out = new Map<string, { parentPath: string; text: string }>();
      for (const node of tree.nodes.filter((n) => n.parentId !== null)) {
        const parentPath = tree.path(node.parentId as string).map((n) => n.text).join(' / ');
        for (const k of node.draws) out.set(`${node.parentId}#${k}`, { parentPath, text: node.text });
      }
      return out;
    };
    // The script's likeliest step (its first token carries the choice, the others have probability 1).
    const greedyAfter = (parentPath: string) =>
      SCRIPT(parentPath === '' ? [] : parentPath.split(' / ')).reduce((a, b) => (b.prob > a.prob ? b : a)).text;
    let changed = 0;
    let compared = 0;
    for (const seed of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const settings = { branches: 3, width: 1000, budget: 1000, seed, threshold: { kind: 'fixed', value: 0 } } as const;
      const sampled = draws((await runCat(settings)).tree);
      const greedyFirst = draws((await runCat({ ...settings, greedyFirst: true })).tree);
      for (const [key, { parentPath, text }] of greedyFirst) {
        const k = key.split('#')[1];
        const without = sampled.get(key);
        const comparable = without !== undefined && without.parentPath === parentPath;
        if (k === '0') {
          assert.equal(text, greedyAfter(parentPath), `seed ${seed}: candidate 0 after "${parentPath}"`);
          if (comparable && without.text !== text) changed += 1;
        } else if (comparable) {
          assert.equal(text, without.text, `seed ${seed}: candidate ${k} after "${parentPath}" is the same draw`);
          compared += 1;
        }
      }
    }
    assert.ok(changed > 0, 'some seed draws a step other than the greedy one as candidate 0 without the flag');
    assert.ok(compared >= 16, `only ${compared} other candidates compared`);
  });

  it('branchBelow: draws the other candidates only where candidate 0 is unsure', async () => {
    const settings = { branches: 3, width: 2, seed: 5, greedyFirst: true, threshold: { kind: 'fixed', value: 0.2 } } as const;
    // A1 (0.6) is confident enough: the search is the greedy chain, one draw per step.
    const sure = await runCat({ ...settings, branchBelow: 0.5 });
    assert.deepEqual(shape(sure.tree), ['root "" kept []', '0 "A1" kept [0]', '0.0 "Answer: 1" completed [0]']);
    assert.equal(sure.stats.expandedSteps, 2);
    assert.equal(sure.stats.generatedTokens, 3 + 10);
    assert.equal(sure.answer, '1');

    // Below 0.7, A1 is unsure: the root draws B1 and C1 too (the draws seed 5 gives candidates 1 and 2);
    // under B1 the greedy B2 (0.8) is sure, so B1 gets one draw, and so does each answer line.
    const mid = await runCat({ ...settings, branchBelow: 0.7 });
    assert.deepEqual(shape(mid.tree), [
      'root "" kept []',
      '0 "A1" kept [0]',
      '1 "B1" kept [1]',
      '2 "C1" pruned/threshold [2]',
      '0.0 "Answer: 1" completed [0]',
      '1.0 "B2" kept [0]',
      '1.0.0 "Answer: 2" completed [0]',
    ]);
    assert.equal(mid.stats.expandedSteps, 3 + 1 + 1 + 1);
    // Below 0.9, B2 is unsure too: B1 draws 3 (all B2 here, merged).
    const wide = await runCat({ ...settings, branchBelow: 0.9 });
    assert.equal(wide.tree.get('1.0').draws.join(), '0,1,2');
    assert.equal(wide.stats.expandedSteps, 3 + 1 + 3 + 1);
    // Every node holds the tokens the search without branchBelow draws for the same candidate of the same node.
    const all = await runCat({ ...settings, width: 1000, budget: 1000 });
    for (const node of [...mid.tree.nodes, ...wide.tree.nodes]) assert.deepEqual(node.tokenIds, all.tree.get(node.id).tokenIds, `node ${node.id}`);
    await assert.rejects(runCat({ branchBelow: 1.5 }), /branchBelow must be in \[0, 1\] or null, got 1\.5/);

    // Cancelled while candidate 0 decodes: the round's other candidates are not drawn.
    const model = new ScriptedStepModel(SCRIPT);
    const controller = new AbortController();
    const forward = model.forward.bind(model);
    model.forward = (...args: Parameters<typeof forward>) => {
      if (model.forwardPasses === 1) controller.abort(); // after the prefill, while candidate 0's step decodes
      return forward(...args);
    };
    const cancelled = await cat(
      model,
      { promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb', signal: controller.signal },
      { ...settings, branchBelow: 0.9 },
    );
    assert.equal(cancelled.stopReason, 'cancelled');
    assert.equal(cancelled.stats.expandedSteps, 1, 'only candidate 0 of the root was drawn');
  });

  it('allots the budget to the best frontier nodes first', () => {
    assert.deepEqual(allotCandidates(3, 4, 20), [4, 4, 4]);
    assert.deepEqual(allotCandidates(3, 4, 6), [4, 2, 0]);
    assert.deepEqual(allotCandidates(2, 4, 0), [0, 0]);
  });
});
