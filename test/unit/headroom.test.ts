/** The headroom benchmark's selection rules and fork finding (bench/headroom/analysis.ts) on hand-made solutions. */
import { strict as assert } from 'node:assert';
import { forkFromGreedy, pathScore, selectionRules, type Solution } from '../../bench/headroom/analysis';
import type { StepMetric } from '../../language-server/src/decoding/stepConfidence';

/** A solution whose steps have confidence `c` under minProb and `1 - c` under meanEntropy (so the metrics disagree). */
function solution(answer: string | null, correct: boolean, logLikelihood: number, steps: [string, number][]): Solution {
  return {
    answer,
    correct,
    logLikelihood,
    steps: steps.map(([text, c]) => ({ text, confidence: { minProb: c, geoMeanProb: c, meanEntropy: 1 - c, deepConf: 0.5 } as Record<StepMetric, number> })),
  };
}

const pick = (id: string, solutions: Solution[], metric: StepMetric = 'minProb') => {
  const rule = selectionRules(metric).find((r) => r.id === id);
  assert.ok(rule, `no rule ${id}`);
  return rule.pick(solutions);
};

describe('headroom analysis (bench/headroom)', () => {
  // Three solutions: two say 12 with modest confidence, one says 13 with high confidence and the best likelihood.
  const twelveA = solution('12', true, -3, [['3*4 = 12', 0.6], ['Answer: 12', 0.9]]);
  const twelveB = solution('12', true, -2.5, [['3*4 = 12', 0.6], ['Answer: 12', 0.8]]);
  const thirteen = solution('13', false, -1, [['3*4 = 13', 0.95], ['Answer: 13', 0.99]]);
  const none = solution(null, false, 0, [['3*4 =', 1]]);

  it('path score is the sum of log step confidences, floored at 1e-12', () => {
    assert.equal(pathScore(twelveA, 'minProb'), Math.log(0.6) + Math.log(0.9));
    assert.equal(pathScore(solution('1', true, 0, [['x', 0]]), 'minProb'), Math.log(1e-12));
  });

  it('each rule picks its own answer; solutions without an answer never win', () => {
    const all = [none, twelveA, thirteen, twelveB];
    assert.equal(pick('majority', all), '12');
    assert.equal(pick('likelihood', all), '13', 'the most likely solution with an answer (the answerless one has log-lik 0)');
    assert.equal(pick('cat', all, 'minProb'), '13');
    assert.equal(pick('cat', all, 'meanEntropy'), '12', "CaT's ranking follows the model's default metric");
    assert.equal(pick('path:meanEntropy', all, 'minProb'), '12');
    // Vote weights: 12 gets 0.54 + 0.48 = 1.02, 13 gets 0.9405.
    assert.equal(pick('cat-vote', all, 'minProb'), '12');
    assert.equal(pick('cat-vote', [twelveA, thirteen], 'minProb'), '13');
    assert.equal(pick('majority', [none]), null);
  });

  it('the fork is where the best right solution first parts from greedy', () => {
    const greedy = solution('13', false, -1, [['4+5 = 9', 0.99], ['9*3 = 28', 0.7], ['Answer: 28', 1]]);
    const rightLow = solution('27', true, -4, [['4+5 = 9', 0.99], ['9*3 = 27', 0.2], ['Answer: 27', 1]]);
    const rightHigh = solution('27', true, -3, [['4+5 = 9', 0.99], ['9*3 = 27', 0.3], ['Answer: 27', 1]]);
    const fork = forkFromGreedy(greedy, [thirteen, rightLow, rightHigh], 'minProb');
    assert.ok(fork);
    assert.equal(fork.step, 1);
    assert.equal(fork.rightText, '9*3 = 27');
    assert.equal(fork.greedyText, '9*3 = 28');
    assert.equal(fork.rightConfidence, 0.3, 'the right solution of best path score');
    assert.equal(fork.greedyConfidence, 0.7);
    assert.ok(fork.rightPathScore < fork.greedyPathScore);
    assert.equal(forkFromGreedy(greedy, [thirteen], 'minProb'), null, 'no right solution: no fork');
    assert.equal(forkFromGreedy(greedy, [solution('28', true, 0, [['4+5 = 9', 0.5]])], 'minProb'), null, 'a prefix of greedy: no differing step');
  });
});
