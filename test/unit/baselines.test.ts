import { strict as assert } from 'node:assert';
import { ConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import { runStrategy, validateStrategySettings, type StrategySettings } from '../../language-server/src/decoding/strategies';
import type { StrategyName } from '../../language-server/src/decoding/strategyResult';
import { ScriptedStepModel, tableScript, type StepScript } from './helpers/scriptedStepModel';

const calibration = new ConfidenceCalibration(259, 5);

/** Greedy takes A (0.4) → answer 1, but answer 2 has more mass (B 0.35 + C 0.25). Every row is 12 tokens. */
const SPLIT_VOTE = tableScript({
  '': [
    { text: 'A', prob: 0.4 },
    { text: 'B', prob: 0.35 },
    { text: 'C', prob: 0.25 },
  ],
  A: [{ text: 'Answer: 1', prob: 1 }],
  B: [{ text: 'Answer: 2', prob: 1 }],
  C: [{ text: 'Answer: 2', prob: 1 }],
});

/**
 * P1 is the likelier step (0.45) but its only token is unsure; Q1 (0.3) is "Q" (0.55) then "1" (0.55):
 * by log-probability P1 wins, by min token probability (the confidence here) Q1 does.
 */
const SURE_VS_LIKELY = tableScript({
  '': [
    { text: 'P1', prob: 0.45 },
    { text: 'Q1', prob: 0.3 },
    { text: 'Q2', prob: 0.25 },
  ],
  P1: [{ text: 'Answer: 1', prob: 1 }],
  Q1: [{ text: 'Answer: 2', prob: 1 }],
  Q2: [{ text: 'Answer: 3', prob: 1 }],
});

async function run(strategy: StrategyName, script: StepScript, settings: StrategySettings = {}) {
  const model = new ScriptedStepModel(script);
  const result = await runStrategy(model, strategy, { promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb' }, settings);
  return { result, model };
}

describe('baselines on a scripted model', () => {
  it('greedy: one row, the likeliest token each time', async () => {
    const { result, model } = await run('greedy', SPLIT_VOTE);
    assert.equal(result.answer, '1');
    assert.equal(result.path.text, 'A\nAnswer: 1\n');
    assert.equal(result.stats.generatedTokens, 12);
    assert.equal(result.stats.forwardPasses, 12);
    assert.equal(model.forwardPasses, 12);
    assert.equal(result.stats.expandedSteps, 2);
    assert.deepEqual(result.tree.nodes.map((n) => `${n.id} ${n.text} ${n.status}`), ['root  kept', '0 A kept', '0.0 Answer: 1 completed']);
    assert.deepEqual(result.pathNodeIds, ['0', '0.0']);
    assert.equal(result.vote, null);
  });

  it('sc@K: K rows from one prefill, the majority answer (ties: the answer seen first)', async () => {
    // Seed 4 draws rows C, C, B, A, A, B.
    const { result, model } = await run('sc', SPLIT_VOTE, { samples: 6, seed: 4 });
    assert.equal(result.answer, '2');
    assert.deepEqual(result.vote?.tally.map((t) => [t.answer, t.weight]), [['2', 4], ['1', 2]]);
    assert.deepEqual(result.tree.children('root').map((n) => `${n.text} [${n.draws}]`), ['C [0,1]', 'B [2,5]', 'A [3,4]']);
    assert.deepEqual(result.pathNodeIds, ['0', '0.0'], 'the first row that gave the majority answer');
    assert.equal(result.stats.generatedTokens, 6 * 12);
    assert.equal(result.stats.forwardPasses, 12, 'the K rows share every forward');
    assert.deepEqual(model.batchSizes.slice(0, 2), [1, 6]);

    // Seed 0 draws A, B, C, A, C, A: a 3-3 tie goes to "1", seen first.
    const tie = await run('sc', SPLIT_VOTE, { samples: 6, seed: 0 });
    assert.deepEqual(tie.result.vote?.tally.map((t) => [t.answer, t.weight]), [['1', 3], ['2', 3]]);
    assert.equal(tie.result.answer, '1');
  });

  it('bok: the row of highest total log-likelihood (ties: the lowest row)', async () => {
    const { result } = await run('bok', SPLIT_VOTE, { samples: 6, seed: 4 });
    assert.equal(result.answer, '1', 'an A row (log 0.4) beats the B and C rows the vote prefers');
    assert.deepEqual(result.pathNodeIds, ['3', '3.3']);
    assert.equal(result.path.row, 3);
    assert.equal(result.stats.generatedTokens, 72);
  });

  it('beam ranks by cumulative log-probability, CaT by confidence: they choose different paths', async () => {
    // Seed 0 draws P1 (candidate 0) and Q1 (1, 2) at the root for both searches (CaT draws its candidate 0 too here).
    const beam = await run('beam', SURE_VS_LIKELY, { branches: 3, width: 3, seed: 0 });
    const cat = await run('cat', SURE_VS_LIKELY, { branches: 3, width: 3, seed: 0, greedyFirst: false, threshold: { kind: 'fixed', value: 0 } });
    const roots = (r: typeof beam) => r.result.tree.children('root').map((n) => `${n.text} [${n.draws}] ${n.pathScore.toFixed(4)}`);
    assert.deepEqual(roots(beam), [`P1 [0] ${Math.log(0.45).toFixed(4)}`, `Q1 [1,2] ${Math.log(0.3).toFixed(4)}`]);
    assert.deepEqual(roots(cat), [`P1 [0] ${Math.log(0.45).toFixed(4)}`, `Q1 [1,2] ${Math.log(0.3 / 0.55).toFixed(4)}`]);
    assert.equal(beam.result.answer, '1');
    assert.equal(cat.result.answer, '2');
    assert.equal(beam.result.vote, null);
    // Same draws, same work: 3 + 2·3 candidate steps, one forward per position of each round.
    for (const r of [beam, cat]) {
      assert.equal(r.result.stats.expandedSteps, 9);
      assert.equal(r.result.stats.generatedTokens, 3 * 3 + 6 * 10);
      assert.equal(r.result.stats.forwardPasses, 3 + 10);
    }
  });

  it('rejects settings a strategy does not take', () => {
    assert.throws(() => validateStrategySettings('greedy', { seed: 1 }), /seed do\(es\) not apply to strategy greedy/);
    assert.throws(() => validateStrategySettings('sc', { branches: 2 }), /branches do\(es\) not apply to strategy sc \(it takes temperature, topP, seed, samples\)/);
    assert.throws(() => validateStrategySettings('beam', { threshold: { kind: 'fixed', value: 0.5 } }), /threshold do\(es\) not apply/);
    assert.throws(() => validateStrategySettings('cat', { budget: 0 }), /budget must be a positive integer/);
    validateStrategySettings('cat', { branches: 2, width: 1, budget: 9, threshold: { kind: 'fixed', value: 0.5 }, seed: 3 });
  });
});
