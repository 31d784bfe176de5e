import { strict as assert } from 'node:assert';
import {
  AnswerLineCriterion,
  firstStopReason,
  MaxTokensCriterion,
  standardStoppingCriteria,
  type RowProgress,
} from '../../language-server/src/decoding/stopping';

const EOS = 258;

/** Feeds token texts one by one and returns the first stop reason and at which token. */
function run(texts: string[], ids: number[] = [], options: { maxNewTokens?: number; signal?: AbortSignal } = {}) {
  const criteria = standardStoppingCriteria({ eosTokenIds: [EOS], maxNewTokens: options.maxNewTokens ?? 100, signal: options.signal });
  let text = '';
  for (let i = 0; i < texts.length; i++) {
    text += texts[i];
    const progress: RowProgress = { lastTokenId: ids[i] ?? 65, lastTokenText: texts[i], text, generatedCount: i + 1 };
    const reason = firstStopReason(criteria, progress);
    if (reason) return { reason, at: i };
  }
  return null;
}

describe('stopping criteria', () => {
  it('stops on EOS', () => {
    assert.deepEqual(run(['Step 1', '\n', ''], [1, 2, EOS]), { reason: 'eos', at: 2 });
  });

  it('stops when the answer line is completed by a newline', () => {
    assert.deepEqual(run(['Step: 2+2=4\n', 'Ans', 'wer:', ' 4', '\n', 'more']), { reason: 'answer', at: 4 });
  });

  it('stops when EOS completes the answer line', () => {
    assert.deepEqual(run(['Answer: 4', ''], [65, EOS]), { reason: 'answer', at: 1 });
  });

  it('does not stop on an unfinished answer line or on "Answer:" inside a line', () => {
    assert.equal(run(['Answer: 1', '2']), null);
    assert.equal(run(['The Answer: no', '\n']), null);
  });

  it('finds an answer line completed inside one multi-line token', () => {
    assert.deepEqual(run(['x=1', '\nAnswer: 1\nfoo']), { reason: 'answer', at: 1 });
  });

  it('stops after max new tokens', () => {
    assert.deepEqual(run(['a', 'b', 'c', 'd'], [], { maxNewTokens: 3 }), { reason: 'maxTokens', at: 2 });
    assert.throws(() => new MaxTokensCriterion(0), /positive integer/);
  });

  it('reports cancellation first once the signal is aborted', () => {
    const controller = new AbortController();
    controller.abort();
    assert.deepEqual(run(['Answer: 1', '\n'], [EOS, EOS], { signal: controller.signal }), { reason: 'cancelled', at: 0 });
  });

  it('the answer criterion alone ignores other lines', () => {
    const criterion = new AnswerLineCriterion([EOS]);
    assert.equal(criterion.check({ lastTokenId: 1, lastTokenText: '\n', text: 'Step 1: 3\n', generatedCount: 2 }), null);
  });
});
