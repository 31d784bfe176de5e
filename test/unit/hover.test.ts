import { strict as assert } from 'node:assert';
import { stepHoverMarkdown } from '../../language-server/src/handlers/hover';
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

  it('quotes a token holding a backtick so the markdown stays intact', () => {
    const document = documentWith([step(0, 'x', 0.9, { weakestToken: { text: 'a`b', prob: 0.5, alternatives: [] } })]);
    const markdown = stepHoverMarkdown(document, document.steps[0], BANDS);
    assert.match(markdown, /- Weakest token: `` "a`b" `` at 50\.0%/);
    assert.doesNotMatch(markdown, /Top alternatives/);
  });
});
