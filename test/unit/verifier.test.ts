import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  evaluate,
  extractExpression,
  parseExpression,
  problemFeatures,
  readyOps,
  solutionText,
  tokenizeExpression,
  verifySolution,
} from '../../language-server/src/verify/arithmetic';

interface SharedCase {
  name: string;
  problem: string;
  solution: string;
  expected: {
    answer: number | null;
    answerCorrect: boolean;
    firstError: number | null;
    correct: boolean[];
    arithmeticOk: boolean[];
    operandsOk: boolean[];
    texts: string[];
    reasons: string[];
    value: number;
    features: { ops: number; mul: boolean; parens: boolean };
  };
}

// Written by training/tests/make_verifier_cases.py from the Python verifier (the truth both share).
const fixture = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/verifier-cases.json'), 'utf8'),
) as { cases: SharedCase[]; invalidProblems: { problem: string; pythonError: string }[] };

describe('arithmetic verifier: shared cases from the Python verifier', () => {
  it('has the cases', () => {
    assert.ok(fixture.cases.length >= 25, `only ${fixture.cases.length} cases`);
    assert.ok(fixture.invalidProblems.length > 0);
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const v = verifySolution(c.problem, c.solution);
      const e = c.expected;
      assert.deepEqual(
        {
          answer: v.answer,
          answerCorrect: v.answerCorrect,
          firstError: v.firstError,
          expected: v.expected,
          correct: v.steps.map((s) => s.correct),
          arithmeticOk: v.steps.map((s) => s.arithmeticOk),
          operandsOk: v.steps.map((s) => s.operandsOk),
          texts: v.steps.map((s) => s.text),
          reasons: v.steps.map((s) => s.reason),
        },
        {
          answer: e.answer,
          answerCorrect: e.answerCorrect,
          firstError: e.firstError,
          expected: e.value,
          correct: e.correct,
          arithmeticOk: e.arithmeticOk,
          operandsOk: e.operandsOk,
          texts: e.texts,
          reasons: e.reasons,
        },
      );
      assert.deepEqual(v.steps.map((s) => s.index), e.correct.map((_, i) => i));
      assert.deepEqual(problemFeatures(c.problem), e.features);
    });
  }

  for (const { problem, pythonError } of fixture.invalidProblems) {
    it(`rejects ${JSON.stringify(problem)} (Python: ${pythonError})`, () => {
      assert.throws(() => verifySolution(problem, 'Answer: 0'), Error);
      assert.throws(() => problemFeatures(problem), Error);
    });
  }
});

describe('arithmetic verifier: direct', () => {
  it('parses with precedence and left associativity', () => {
    assert.equal(evaluate(parseExpression('2 + 3 * 4')), 14n);
    assert.equal(evaluate(parseExpression('20 - 5 - 3')), 12n);
    assert.equal(evaluate(parseExpression('20 - (5 - 3)')), 18n);
    assert.equal(evaluate(parseExpression('2 * 3 * 4 - 1')), 23n);
    assert.equal(evaluate(parseExpression('(1+2)x(3×4)')), 36n);
    assert.deepEqual(tokenizeExpression(' 12x(3 ×4) '), ['12', '*', '(', '3', '*', '4', ')']);
  });

  it('lists ready operations left to right', () => {
    const ready = readyOps(parseExpression('6*7 + 8*9 - (1 + 2)'));
    assert.deepEqual(ready.map((op) => [op.op, (op.left as { value: bigint }).value, (op.right as { value: bigint }).value]),
      [['*', 6n, 7n], ['*', 8n, 9n], ['+', 1n, 2n]]);
    assert.deepEqual(readyOps(parseExpression('5')), []);
  });

  it('extracts the longest expression from words around it', () => {
    assert.equal(extractExpression('Find the value of (4 + 5) * 6.'), '(4 + 5) * 6');
    assert.equal(extractExpression('Step 1: what is 3 + 4 * 5 = ?'), '3 + 4 * 5');
  });

  it('throws a clear error for a problem with no expression', () => {
    assert.throws(() => verifySolution('What is the meaning of life?', 'Answer: 42'), /no arithmetic expression found/);
    assert.throws(() => parseExpression('2 + (3'), /missing '\)'/);
    assert.throws(() => parseExpression('2 $ 3'), /unexpected character "\$"/);
  });

  it('verifies its own canonical solutions', () => {
    for (const problem of ['What is 12 + 7*3?', 'Evaluate ((1 + 2) * 3 - 4) * 5.', '100 - (40 - 15) + 2*3']) {
      const v = verifySolution(problem, solutionText(extractExpression(problem)));
      assert.equal(v.firstError, null);
      assert.equal(v.answerCorrect, true);
      assert.ok(v.steps.every((s) => s.correct));
    }
  });

  it('labels a slip, carries the wrong value, and explains why', () => {
    const v = verifySolution('12 + 7*3', '7 * 3 = 22\n12 + 22 = 34\nAnswer: 34');
    assert.deepEqual(v.steps.map((s) => [s.correct, s.arithmeticOk, s.operandsOk]),
      [[false, false, true], [true, true, true], [true, true, true]]);
    assert.equal(v.steps[0].reason, '7 * 3 is 21, not 22');
    // The answer line faithfully reports the carried value; the problem's answer is still wrong.
    assert.equal(v.answerCorrect, false);
    const copyError = verifySolution('12 + 7*3', '7 * 3 = 21\n12 + 21 = 33\nAnswer: 34');
    assert.equal(copyError.steps[2].correct, false);
    assert.equal(copyError.steps[2].reason, 'answer 34 but the last result is 33');
    assert.equal(v.firstError, 0);
    assert.equal(v.answer, 34);
    assert.equal(v.expected, 33);
  });

  it('compares numbers past 2^53 exactly', () => {
    // As doubles, 2^53 + 1 == 2^53; the verifier must still call this step wrong.
    const v = verifySolution('9007199254740992 + 1', '9007199254740992 + 1 = 9007199254740992');
    assert.equal(v.steps[0].arithmeticOk, false);
  });
});
