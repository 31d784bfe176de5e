import { strict as assert } from 'node:assert';
import { segmentSteps, StepSegmenter } from '../../language-server/src/decoding/steps';

describe('step segmentation', () => {
  it('closes a step on the token that holds the delimiter; that token belongs to it', () => {
    const steps = segmentSteps(['Step', ' 1', ':', ' 2+3=5', '\n', 'Answer', ': 5']);
    assert.deepEqual(steps, [
      { text: 'Step 1: 2+3=5', tokenIndices: [0, 1, 2, 3, 4] },
      { text: 'Answer: 5', tokenIndices: [5, 6] },
    ]);
  });

  it('drops blank lines, trims text, and splits text after the delimiter into the next step', () => {
    const steps = segmentSteps(['  a', '=1.\n', '\n', ' \n', 'b', '=2\nc', '=3']);
    assert.deepEqual(steps, [
      { text: 'a=1.', tokenIndices: [0, 1] },
      { text: 'b=2', tokenIndices: [4, 5] },
      { text: 'c=3', tokenIndices: [5, 6] },
    ]);
  });

  it('streams: push returns the step as soon as it closes', () => {
    const segmenter = new StepSegmenter();
    assert.deepEqual(segmenter.push(0, 'x=1'), []);
    assert.deepEqual(segmenter.push(1, '\n'), [{ text: 'x=1', tokenIndices: [0, 1] }]);
    assert.deepEqual(segmenter.push(2, 'y'), []);
    const copy = segmenter.clone();
    assert.deepEqual(segmenter.flush(), { text: 'y', tokenIndices: [2] });
    assert.equal(segmenter.flush(), null);
    copy.push(3, '=2');
    assert.deepEqual(copy.flush(), { text: 'y=2', tokenIndices: [2, 3] });
  });

  it('supports a multi-character delimiter, also split across tokens', () => {
    const steps = segmentSteps(['a', ' |', '| b', ' ||', 'c'], '||');
    assert.deepEqual(steps, [
      { text: 'a', tokenIndices: [0, 1, 2] },
      { text: 'b', tokenIndices: [2, 3] },
      { text: 'c', tokenIndices: [4] },
    ]);
  });

  it('gives text after the delimiter inside the closing token to the next step, with that token', () => {
    const segmenter = new StepSegmenter();
    segmenter.push(0, 'one');
    assert.deepEqual(segmenter.push(1, '\ntwo'), [{ text: 'one', tokenIndices: [0, 1] }]);
    assert.deepEqual(segmenter.appendText(1, '!'), []);
    assert.deepEqual(segmenter.flush(), { text: 'two!', tokenIndices: [1] });
  });

  it('closes a step at every delimiter a token holds, also in late text', () => {
    assert.deepEqual(segmentSteps(['1 + 1 = 2\nAnswer: 2\n']), [
      { text: '1 + 1 = 2', tokenIndices: [0] },
      { text: 'Answer: 2', tokenIndices: [0] },
    ]);
    assert.deepEqual(segmentSteps(['a||b||c'], '||').map((s) => s.text), ['a', 'b', 'c']);
    assert.deepEqual(segmentSteps(['x', ' |', '|y||z'], '||').map((s) => s.text), ['x', 'y', 'z']);
    const segmenter = new StepSegmenter();
    segmenter.push(0, 'one');
    assert.deepEqual(segmenter.appendText(0, ' more\ntwo\nthree').map((s) => s.text), ['one more', 'two']);
    assert.deepEqual(segmenter.flush()?.text, 'three');
  });

  it('rejects an empty delimiter', () => {
    assert.throws(() => new StepSegmenter(''), /delimiter/);
  });
});
