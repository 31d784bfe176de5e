import { strict as assert } from 'node:assert';
import type { GeneratedStep, GeneratedToken } from '../../language-server/src/decoding/rowDecoder';
import { ConfidenceCalibration, scoreStep } from '../../language-server/src/decoding/stepConfidence';
import { segmentSteps } from '../../language-server/src/decoding/steps';
import { makeNode } from '../../language-server/src/decoding/treeNodes';
import { firstStepIndex, stepsFromNode } from '../../language-server/src/handlers/treeSteps';
import type { LoadedModel } from '../../language-server/src/host/modelHost';
import { SolveSearch } from '../../language-server/src/host/solveSearch';
import { ReasoningTree, stepsOf, type TreeSettings } from '../../language-server/src/trace/tree';
import { treeFromJSON, treeToRoundedJSON } from '../../language-server/src/trace/treeJson';

const calibration = new ConfidenceCalibration(259, 5);
const SETTINGS: TreeSettings = {
  strategy: 'cat',
  promptIds: [1],
  maxNewTokens: 32,
  stepDelimiter: '\n',
  stopAtAnswerLine: true,
  metric: 'minProb',
  scoring: 'confidence',
  sampling: { kind: 'greedy' },
};
const CONTEXT = { metric: 'minProb' as const, calibrated: false, tokenText: (id: number) => `<${id}>` };

/** A row of tokens with these texts and probabilities (ids 10, 11, ...), and the steps the segmenter closes in it. */
function row(texts: string[], probs: number[]): { tokens: GeneratedToken[]; steps: GeneratedStep[] } {
  const tokens = texts.map((text, i) => ({
    id: 10 + i,
    text,
    prob: probs[i],
    logProb: Math.log(probs[i]),
    entropy: 0.1,
    maxProb: probs[i],
    topK: [{ id: 10 + i, prob: probs[i], logProb: Math.log(probs[i]) }],
  }));
  const steps = segmentSteps(texts).map((step, index) => ({ index, ...step, ...scoreStep(step.tokenIndices.map((i) => tokens[i]), calibration, 'minProb') }));
  return { tokens, steps };
}

const confidence = (prob: number) => calibration.toConfidence('minProb', prob);

describe('a tree node that closes several steps', () => {
  // Token 1 closes "x = 1" and begins "Answer: 1"; token 3 closes that and "ok" (its one token).
  const { tokens, steps } = row(['x', ' = 1\nAn', 'swer', ': 1\nok\n'], [0.9, 0.5, 0.6, 0.8]);
  const tree = ReasoningTree.withRoot(SETTINGS);
  const first = tree.add(makeNode({ id: '0', parent: tree.root, draws: [0], tokens: tokens.slice(0, 2), closedSteps: steps.slice(0, 1), stopReason: null, origin: 'search' }, SETTINGS, calibration));
  const second = tree.add(makeNode({ id: '0.0', parent: first, draws: [0], tokens: tokens.slice(2), closedSteps: steps.slice(1), stopReason: null, origin: 'search' }, SETTINGS, calibration));

  it('keeps each step with the node tokens it spans and their confidence, the text joining them', () => {
    assert.equal(first.steps, undefined, 'a node of one step is its own step');
    assert.deepEqual(stepsOf(first), [{ text: 'x = 1', tokenIndices: [0, 1], confidence: confidence(0.5), rawScore: 0.5 }]);
    assert.equal(second.text, 'Answer: 1\nok');
    // "Answer: 1" began in the node before; its token there counts for that node, as for the node's own confidence.
    assert.deepEqual(second.steps, [
      { text: 'Answer: 1', tokenIndices: [0, 1], confidence: confidence(0.6), rawScore: 0.6 },
      { text: 'ok', tokenIndices: [1], confidence: confidence(0.8), rawScore: 0.8 },
    ]);
    assert.deepEqual(treeFromJSON(JSON.parse(JSON.stringify(tree.toJSON()))).toJSON(), tree.toJSON());
    assert.deepEqual(treeFromJSON(treeToRoundedJSON(tree)).get('0.0').steps?.map((s) => s.text), ['Answer: 1', 'ok']);
  });

  it('becomes one document step per step it closed, numbered on from the steps above it', () => {
    const search = new SolveSearch({} as LoadedModel, CONTEXT);
    search.adopt(tree);
    assert.equal(firstStepIndex(search, '0.0'), 1);
    assert.deepEqual(
      stepsFromNode(second, 1, CONTEXT).map((s) => [s.index, s.text, s.confidence, s.tokenCount, s.weakestToken?.text]),
      [
        [1, 'Answer: 1', confidence(0.6), 2, '<12>'],
        [2, 'ok', confidence(0.8), 1, '<13>'],
      ],
    );
  });

  it('reads back only steps that index its tokens', () => {
    const json = tree.toJSON();
    const withSteps = (steps: unknown) => ({ ...json, nodes: json.nodes.map((n) => (n.id === '0.0' ? { ...n, steps } : n)) });
    assert.throws(() => treeFromJSON(withSteps([{ text: 'a', tokenIndices: [2], confidence: 1, rawScore: 1 }, second.steps![1]])), /"steps"\[0\]\.tokenIndices must index the node's 2 tokens/);
    assert.throws(() => treeFromJSON(withSteps([second.steps![0]])), /"steps" must be an array of two or more steps/);
  });
});
