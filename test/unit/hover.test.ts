import { strict as assert } from 'node:assert';
import { stepHoverMarkdown } from '../../language-server/src/handlers/hover';
import type { ReasoningDocument } from '../../language-server/src/trace/reasoningDocument';
import { documentWith, step } from './helpers/reasoningFixtures';

const BANDS = { high: 0.8, medium: 0.5 };

describe('step hover', () => {
  it('gives confidence, band, metric with raw score, weakest token with alternatives, and path confidence', () => {
    const document = documentWith([
      step(0, '47 * 38 = 1786', 0.9),
      step(1, '1786 + 12 = 1798', 0.62, {
        metric: 'minProb',
        score: 0.4213,
        calibrated: true,
        weakestToken: {
          text: '9',
          prob: 0.4213,
          alternatives: [
            { text: '9', prob: 0.4213 },
            { text: '8', prob: 0.31 },
            { text: ' ', prob: 0.1 },
            { text: '\n', prob: 0.05 },
            { text: '1', prob: 0.04 },
            { text: '2', prob: 0.03 },
          ],
        },
      }),
    ]);
    const markdown = stepHoverMarkdown(document, document.steps[1], BANDS);
    assert.equal(
      markdown,
      [
        '**Step 2: 62.0% confidence (medium)**',
        '',
        '- Metric: `minProb` (lowest chosen-token probability): raw score 0.4213, calibrated by the model’s caspo.json',
        '- Weakest token: `"9"` at 42.1%',
        '- Top alternatives there: `"9"` 42.1%, `"8"` 31.0%, `" "` 10.0%, `"\\n"` 5.0%, `"1"` 4.0%',
        '- Path confidence: 55.8% (product of the step confidences of steps 1–2)',
      ].join('\n'),
    );
  });

  it('names the band from the thresholds and says when the mapping is the default one', () => {
    const document = documentWith([step(0, 'a = 1', 0.3, { score: -1.2 })]);
    const markdown = stepHoverMarkdown(document, document.steps[0], BANDS);
    assert.match(markdown, /^\*\*Step 1: 30\.0% confidence \(low\)\*\*/);
    assert.match(markdown, /`meanEntropy` \(minus the mean token entropy, in nats\): raw score -1\.2000, default mapping \(no calibration in caspo\.json\)/);
    assert.match(markdown, /Path confidence: 30\.0% \(product of the step confidences of step 1\)$/);
    assert.match(stepHoverMarkdown(document, document.steps[0], { high: 0.3, medium: 0.1 }), /\(high\)\*\*/);
  });

  it('says when decoding stopped inside the step', () => {
    const document = documentWith([step(0, '47 * 38 = 1786', 0.99), step(1, 'Answer: 1', 0.99, { cutOff: true, tokenCount: 9 })]);
    const cut = 'Cut off: decoding stopped inside this step (the token limit or a cancel); its text and confidence cover only the 9 token(s) decoded';
    assert.ok(stepHoverMarkdown(document, document.steps[1], BANDS).split('\n').includes(`- ${cut}`));
    assert.doesNotMatch(stepHoverMarkdown(document, document.steps[0], BANDS), /Cut off/);
  });

  it('says where the weakest token is one piece of a character split across tokens', () => {
    const alternatives = [
      { text: 'é', prob: 0.5 },
      { text: 'è', prob: 0.3 },
    ];
    const document = documentWith([
      step(0, 'café', 0.5, { weakestToken: { text: 'é', prob: 0.5, completesAfter: 1, alternatives } }),
      step(1, '日本', 0.4, { weakestToken: { text: '\uFFFD', prob: 0.4, partOf: '日', alternatives: [{ text: '\uFFFD', prob: 0.4 }] } }),
    ]);
    const lines = (index: number) => stepHoverMarkdown(document, document.steps[index], BANDS).split('\n');
    assert.ok(lines(0).includes('- Weakest token: `"é"` at 50.0% (it completes a character begun by the token before it)'), lines(0).join('\n'));
    assert.ok(lines(0).includes('- Top alternatives there: `"é"` 50.0%, `"è"` 30.0%'));
    assert.ok(lines(1).includes('- Weakest token: `"\uFFFD"` at 40.0% (part of `"日"`, which a later token completes)'), lines(1).join('\n'));
  });

  it('quotes a token holding a backtick so the markdown stays intact', () => {
    const document = documentWith([step(0, 'x', 0.9, { weakestToken: { text: 'a`b', prob: 0.5, alternatives: [] } })]);
    const markdown = stepHoverMarkdown(document, document.steps[0], BANDS);
    assert.match(markdown, /- Weakest token: `` "a`b" `` at 50\.0%/);
    assert.doesNotMatch(markdown, /Top alternatives/);
  });

  it('says how many candidates CaT drew at a step and how many were that step, on the chosen path only', () => {
    const document: ReasoningDocument = documentWith([]);
    const pruned = [{ nodeId: '0.0.1', text: '1786 + 21 = 1807', confidence: 0.2 }];
    document.addStep(step(0, '47 * 38 = 1786', 0.99), { nodeId: '0', prunedSiblings: [], drawn: { candidates: 3, thisStep: 3 } });
    document.addStep(step(1, '1786 + 12 = 1798', 0.7), { nodeId: '0.0.0', prunedSiblings: pruned, drawn: { candidates: 3, thisStep: 2 } });
    document.addStep(step(2, 'Answer: 1798', 0.999), { nodeId: '0.0.0.0', prunedSiblings: [], drawn: { candidates: 1, thisStep: 1 } });
    document.finish({ stopReason: 'answer', answer: '1798', generatedTokens: 30, wallMs: 100, search: { candidates: 7, pruned: 1 } });
    const lines = (index: number) => stepHoverMarkdown(document, document.steps[index], BANDS).split('\n');
    assert.ok(lines(0).includes('- CaT drew 3 candidates here: all 3 were this step'), lines(0).join('\n'));
    // the draws line comes before the list of pruned siblings
    assert.deepEqual(lines(1).slice(-2), [
      '- CaT drew 3 candidates here: 2 this step, 1 other',
      '- CaT pruned 1 sibling candidate here: `"1786 + 21 = 1807"` 20.0% (re-expand from the code lens)',
    ]);
    assert.ok(lines(2).includes('- CaT drew 1 candidate here: this step alone (no alternative was decoded)'), lines(2).join('\n'));

    // A re-expanded branch continues one candidate a step: its hovers say nothing about draws.
    document.addAlternative({
      nodeId: '0.0.1',
      fromStep: 1,
      prunedConfidence: 0.2,
      steps: [
        { step: step(1, '1786 + 21 = 1807', 0.2), branching: { nodeId: '0.0.1', prunedSiblings: [], drawn: { candidates: 3, thisStep: 1 } } },
        { step: step(2, 'Answer: 1807', 0.9), branching: { nodeId: '0.0.1.0', prunedSiblings: [], drawn: { candidates: 1, thisStep: 1 } } },
      ],
      answer: '1807',
      stopReason: 'answer',
    });
    const branch = document.shownSteps().filter((shown) => shown.alternative);
    assert.equal(branch.length, 2);
    for (const shown of branch) assert.doesNotMatch(stepHoverMarkdown(document, shown.step, BANDS), /CaT drew/);
    // Without draw counts (a step not decoded by CaT's search) there is no such line.
    const plain = documentWith([step(0, 'a = 1', 0.9)]);
    assert.doesNotMatch(stepHoverMarkdown(plain, plain.steps[0], BANDS), /CaT drew/);
  });
});
