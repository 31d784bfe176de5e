/** Step labelling and the eval summary, on hand-made solutions (no model). */
import { strict as assert } from 'node:assert';
import { summarize } from '../../language-server/src/cli/eval';
import { answersMatch, labelSolution, type LabelledSolution } from '../../language-server/src/cli/stepLabels';
import type { GeneratedRow } from '../../language-server/src/decoding/generate';
import { STEP_METRICS, type StepScores } from '../../language-server/src/decoding/stepConfidence';

/** A generated row whose steps are the lines of `text`, with the given confidences. */
function rowOf(text: string, confidences: number[]): GeneratedRow {
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  return {
    row: 0,
    tokens: [],
    text,
    stopReason: 'answer',
    steps: lines.map((line, index) => {
      const scores = Object.fromEntries(STEP_METRICS.map((m) => [m, confidences[index]])) as StepScores;
      return { index, text: line.trim(), tokenIndices: [], metric: 'minProb', confidence: confidences[index], score: confidences[index], scores, confidences: scores };
    }),
  };
}

const CONTEXT = { metric: 'minProb', calibrated: false, strategy: 'greedy', samples: 1, generatedTokens: 10, wallMs: 5, model: 'm', executionProvider: 'cpu' } as const;

describe('cli step labels', () => {
  it('compares answers by value', () => {
    assert.ok(answersMatch('1798', '1798'));
    assert.ok(answersMatch('1798.', ' 1798 '));
    assert.ok(answersMatch('01798', '1798'));
    assert.ok(!answersMatch('1799', '1798'));
    assert.ok(!answersMatch(null, '1798'));
    assert.ok(answersMatch('Paris', 'Paris'));
  });

  it('labels each step with the verifier and marks the answer line', () => {
    // A slip in step 0, carried faithfully: only step 0 is wrong, though the answer is wrong too.
    const solution = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1787\n1787 + 12 = 1799\nAnswer: 1799', [0.4, 0.9, 0.99]));
    assert.equal(solution.status, 'labelled');
    assert.equal(solution.answer, '1799');
    assert.equal(solution.answerCorrect, false);
    assert.deepEqual(solution.steps.map((s) => s.correct), [false, true, true]);
    // An answer line that misreports the last result is itself wrong.
    const misreported = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1786\n1786 + 12 = 1798\nAnswer: 1799', [0.9, 0.9, 0.5]));
    assert.deepEqual(misreported.steps.map((s) => s.correct), [true, true, false]);
    assert.deepEqual(solution.steps.map((s) => s.isAnswer), [false, false, true]);
    assert.deepEqual(solution.steps.map((s) => s.confidence), [0.4, 0.9, 0.99]);
  });

  it('scores only the answer of a problem the verifier cannot read', () => {
    const solution = labelSolution('What is the capital of France?', 'Paris', rowOf('Answer: Paris', [0.9]));
    assert.equal(solution.status, 'outOfDomain');
    assert.equal(solution.answerCorrect, true);
    assert.deepEqual(solution.steps, []);
  });

  it('summarizes accuracy, AUROC, ECE and Brier over the labelled steps', () => {
    const right = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1786\n1786 + 12 = 1798\nAnswer: 1798', [0.9, 0.8, 0.95]));
    const wrong = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1787\n1787 + 12 = 1799\nAnswer: 1800', [0.3, 0.85, 0.99]));
    const words = labelSolution('Capital of France?', 'Paris', rowOf('Answer: Rome', [0.5]));
    const report = summarize([[right], [wrong], [words]], CONTEXT);
    assert.equal(report.n, 3);
    assert.equal(report.accuracy, 0.3333);
    assert.equal(report.steps, 6);
    assert.equal(report.correctSteps, 4);
    // Positives 0.9, 0.8, 0.95, 0.85 vs negatives 0.3, 0.99: 4 of 8 pairs ranked right.
    assert.equal(report.stepAUROC, 0.5);
    // Without answer lines: positives 0.9, 0.8, 0.85 vs negative 0.3, all ranked right.
    assert.equal(report.operationStepAUROC, 1);
    assert.equal(report.wrongAnswerLines, 1);
    const conf = [0.9, 0.8, 0.95, 0.3, 0.85, 0.99];
    const label = [1, 1, 1, 0, 1, 0];
    const brier = conf.reduce((sum, c, i) => sum + (c - label[i]) ** 2, 0) / conf.length;
    assert.equal(report.brier, Math.round(brier * 1e4) / 1e4);
    assert.ok(report.ece !== null && report.ece > 0 && report.ece <= 1);
    assert.equal(report.outOfDomain, 1);
    assert.match(report.note ?? '', /outside the arithmetic verifier's domain/);
  });

  it('reports every metric\'s ECE under one kind of confidence, the scored metric\'s equal to ece', () => {
    const right = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1786\n1786 + 12 = 1798\nAnswer: 1798', [0.9, 0.8, 0.95]));
    const wrong = labelSolution('47*38 + 12', '1798', rowOf('47 * 38 = 1787\n1787 + 12 = 1799\nAnswer: 1800', [0.3, 0.85, 0.99]));
    // a mapping per metric: minProb as is (the scored one), meanEntropy squared, the others constant 1
    const metricConfidence = (metric: string, step: { scores: StepScores }) =>
      metric === 'minProb' ? step.scores.minProb : metric === 'meanEntropy' ? step.scores.meanEntropy ** 2 : 1;
    const report = summarize([[right], [wrong]], { ...CONTEXT, metricConfidence });
    assert.ok(report.eceByMetric);
    assert.equal(report.eceByMetric.minProb, report.ece);
    // every step at confidence 1 with 4 of 6 correct: ECE = 1 - 4/6
    assert.equal(report.eceByMetric.geoMeanProb, 0.3333);
    assert.notEqual(report.eceByMetric.meanEntropy, report.ece);
    assert.equal(summarize([[right], [wrong]], CONTEXT).eceByMetric, undefined);
  });

  it('with several samples per problem, adds the majority-vote accuracy', () => {
    const solution = (text: string, expected: string): LabelledSolution =>
      labelSolution('47*38 + 12', expected, rowOf(text, [0.9, 0.9, 0.9]));
    const good = '47 * 38 = 1786\n1786 + 12 = 1798\nAnswer: 1798';
    const bad = '47 * 38 = 1787\n1787 + 12 = 1799\nAnswer: 1799';
    const report = summarize(
      [
        [solution(good, '1798'), solution(good, '1798'), solution(bad, '1798')],
        [solution(bad, '1798'), solution(bad, '1798'), solution(good, '1798')],
      ],
      { ...CONTEXT, strategy: 'sample', samples: 3 },
    );
    assert.equal(report.solutions, 6);
    assert.equal(report.accuracy, 0.5);
    assert.equal(report.voteAccuracy, 0.5);
  });
});
