import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseModelConfig } from '../../language-server/src/model/config';
import { ModelError } from '../../language-server/src/model/modelError';
import { domainMismatch, outsideDomain, outsideTrainingRange, screenProblem, suggestedRewrite, trainingRangeCaution, type ProblemScope } from '../../language-server/src/verify/domain';

const ROOT = path.join(__dirname, '..', '..');
const ARITH: ProblemScope = { problemDomain: 'arithmetic', maxOperations: null };
const ANY: ProblemScope = { problemDomain: null, maxOperations: null };
const CONFIG = { vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, eos_token_id: 1 };

describe('problem domain of a model (config.json caspo_problem_domain)', () => {
  it('reads the field, and a model without it takes any problem', () => {
    assert.equal(parseModelConfig({ ...CONFIG, caspo_problem_domain: 'arithmetic' }).problemDomain, 'arithmetic');
    assert.equal(parseModelConfig(CONFIG).problemDomain, null);
    assert.equal(domainMismatch('What is the capital of France?', null, 'qwen'), null);
  });

  it('an unknown domain is a config error naming the field and the values it takes', () => {
    assert.throws(
      () => parseModelConfig({ ...CONFIG, caspo_problem_domain: 'chess' }, '/m/config.json'),
      (e: unknown) =>
        e instanceof ModelError &&
        /\/m\/config\.json: field "caspo_problem_domain" must be one of "arithmetic", got "chess"\. .*remove the field/.test(e.message),
    );
  });

  it('says what is outside the arithmetic domain and why', () => {
    const cases: Array<[string, RegExp]> = [
      ['What is the capital of France?', /^this problem has no such expression$/],
      ['What is 12 plus 3?', /^this problem has no such expression$/],
      ['x = 5', /^this problem has no such expression$/],
      ['2024', /^this problem has no such expression$/],
      ['144 / 12', /^this problem divides \("144 \/ 12"\)/],
      ['144÷12 + 1', /^this problem divides \("144÷12"\)/],
      ['3.25 * 2', /^this problem has a number that is not whole \("3\.25"\)/],
      ['2^10 + 3', /^this problem raises to a power \("2\^1"\)/],
      ['What is 3**2 + 1?', /^this problem raises to a power \("3\*\*2"\)/],
      ['50% of 20 + 3', /^this problem takes a percentage \("50%"\)/],
      ['sqrt(16) + 3', /^this problem applies a function \("sqrt\("\), which is not one of its operations$/],
      ['What is max (3, 4) + 1?', /^this problem applies a function \("max\("\)/],
      ['1,250 + 3', /^this problem writes a number with a thousands separator \("1,250"\)/],
      ['Solve 2x + 3 = 7', /^the expression in this problem, "2x \+ 3", is not one it can read \(unexpected "\+"/],
      // What its training problems never write, and the model misreads at high confidence:
      ['What is 7 × 8 + 6?', /^this problem writes multiplication as "×" \("7 × 8"\); write it as "\*", as its training problems do$/],
      ['9x9 - 1', /^this problem writes multiplication as "x" \("9x9"\)/],
      ['(2+3)x4', /^this problem writes multiplication as "x" \("\)x4"\)/],
      ['5 − 3 + 1', /^this problem writes minus as "−" \("5 − 3"\); write it as "-"/],
      ['-5 + 3', /^this problem has a negative number \("-5"\), and its numbers are 0 or more$/],
      ['Compute - (5 + 3) * 2', /^this problem has a negative number \("-5"\)/],
      ['007 + 8', /^this problem writes a number with a leading zero \("007"\); write it without$/],
      ['Compute 3+4 and 5+6', /^this problem has more than one expression \("3\+4", "5\+6"\); give it one$/],
      ['٤٧*38 + 12', /^this problem has a character its training problems never have \("٤", U\+0664\)$/],
      ['４７*38 + 12', /^this problem has a character its training problems never have \("４", U\+FF14\)$/],
      ['2^3+4*5', /^this problem raises to a power \("2\^3"\)/],
      ['47*38\n+ 12', /^this problem spans several lines; put it on one line$/],
      ['Simplify 47*38 + 12', /^its training problems never start with "Simplify", and after such words it misreads the expression; start with the expression, or with "What is", "Compute"/],
      ['Q: 47*38 + 12', /^its training problems never start with "Q:"/],
      ['Problem 1: 3+4*2', /^its training problems never start with "Problem 1:"/],
      ['12+3*4 (mod 7)', /^its training problems never end with "\(mod 7\)", and such endings make it misread some expressions; end with the expression, or with "\?", "\.", "= \?" or "equal\?"$/],
      ['(12)+3*4', /^this problem puts a number in parentheses \("\(12\)"\), which its training problems never do; remove them$/],
      ['((1+2))*3+4', /^the expression "\(\(1\+2\)\)\*3\+4" has parentheses that change nothing/],
      ['2+(3*4)', /^the expression "2\+\(3\*4\)" has parentheses that change nothing/],
      ['(1+2)+(3+4)', /^the expression "\(1\+2\)\+\(3\+4\)" has parentheses that change nothing/],
      ['WHAT IS 47*38+12?', /^its training problems never start with "WHAT IS"/],
      ['What Is 47*38+12?', /^its training problems never start with "What Is"/],
      ['Compute47*38+12.', /^this problem has no space between "Compute" and its expression; put one$/],
      ['47   *   38 + 12', /^the expression spaces its terms out \("7   \*"\), which its training problems never do; put at most one space around an operator$/],
    ];
    for (const [problem, reason] of cases) assert.match(outsideDomain(problem, 'arithmetic') ?? 'inside', reason, problem);
  });

  it('refuses an expression too long to check in a short message, where the tree code once overflowed the stack', () => {
    const reason = outsideDomain(Array.from({ length: 6000 }, () => '1').join('+'), 'arithmetic') ?? 'inside';
    assert.match(reason, /^the expression in this problem, "1\+1\+.*….*\+1", is not one it can read \(the expression has 11999 terms and operators; the verifier reads at most 1000\)$/);
    assert.ok(reason.length < 300, reason);
  });

  it('accepts an expression alone or with the words of a training problem around it, in any case, with or without the closing words', () => {
    const forms = ['47*38 + 12', 'Compute 12*(40-3).', 'what is 7*8+6', '  ( 2 + 3 ) * 4  ', '(2 + 3*4)', '0*0+0', '10 - 0 * 5', 'What does 3+4*5 equal?', '3+4*5 = ?',
      // not the templates' words, but measured as good as them
      'Solve 47*38 + 12.', 'Evaluate: 47*38 + 12', 'What is the value of 47*38 + 12?', 'Calculate 47*38 + 12 please.', '47  *  38 + 12'];
    for (const problem of forms) {
      assert.equal(outsideDomain(problem, 'arithmetic'), null, problem);
    }
  });

  it('accepts every problem of the repository: the samples, the held-out, hard and calibration splits', () => {
    const samples = readFileSync(path.join(ROOT, 'samples', 'arithmetic', 'problems.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const splits = ['heldout', 'hard', 'calibration'].flatMap((name) =>
      readFileSync(path.join(ROOT, 'training', 'data', `${name}.jsonl`), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { problem: string }).problem),
    );
    assert.ok(samples.length >= 4 && splits.length >= 700, `${samples.length} samples, ${splits.length} split problems`);
    const refused = [...samples, ...splits].filter((problem) => outsideDomain(problem, 'arithmetic') !== null);
    assert.deepEqual(refused, []);
  });

  it('the message names the model, what it solves and what is wrong', () => {
    assert.equal(
      domainMismatch('144 / 12', 'arithmetic', 'caspo-arith'),
      'caspo-arith is an arithmetic model: it solves expressions of whole numbers with + - * and parentheses, ' +
        'such as "47*38 + 12", alone or in a question such as "What is 47*38 + 12?"; this problem divides ("144 / 12"), which is not one of its operations.',
    );
    assert.equal(domainMismatch('47*38 + 12', 'arithmetic', 'caspo-arith'), null);
  });

  it('says why a readable problem is outside the training range: a number above 999, a product too large, a step below 0', () => {
    const cases: Array<[string, string | null]> = [
      ['1234 + 5678', '1234 is above 999, the largest number in its training problems'],
      ['100*100', '"100 * 100" has both factors above 99 (its training products: one factor up to 99, the other up to 999)'],
      ['45*67*89', '"3015 * 89" has a factor above 999 (its training products: one factor up to 99, the other up to 999)'],
      ['5 - 9 + 10', '"5 - 9" goes below 0, which no step of its training problems does'],
      ['20 - (3 + 4)*5', '"20 - 35" goes below 0, which no step of its training problems does'],
      ['99*999 + 1', null],
      ['850*93 - 88 * 834', null],
      ['98901 - 98901 + 5', '98901 is above 999, the largest number in its training problems'],
    ];
    for (const [problem, reason] of cases) assert.equal(outsideTrainingRange(problem, 'arithmetic'), reason, problem);
    assert.equal(
      trainingRangeCaution('100*100', ARITH, 'caspo-arith'),
      'outside caspo-arith\'s training range: "100 * 100" has both factors above 99 (its training products: one factor up to 99, the other up to 999). Expect confident mistakes.',
    );
    assert.equal(trainingRangeCaution('100*100', ANY, 'qwen'), null);
  });

  it('says when a problem has more operations than its training problems: config.json caspo_max_operations, else 4', () => {
    const six = '3+4+5+6+7+8+9'; // the embedded model drops "+ 8" here, at 100 %
    assert.equal(outsideTrainingRange(six, 'arithmetic'), 'it has 6 operations, and its training problems at most 4');
    assert.equal(outsideTrainingRange('12+23*4-5+6*7', 'arithmetic'), 'it has 5 operations, and its training problems at most 4');
    assert.equal(outsideTrainingRange('12+23*4-5+6*7', 'arithmetic', 5), null);
    assert.equal(outsideTrainingRange('1+2+3+4', 'arithmetic', 4), null);
    // and fewer: with one operation the embedded model invents a second (2*3 = ?: "6 * 6 = 36")
    assert.equal(outsideTrainingRange('2*3 = ?', 'arithmetic', 5), 'it has 1 operation, and its training problems at least 2');
    assert.equal(outsideTrainingRange('2*3+1', 'arithmetic', 5), null);
    // and five operations with parentheses nested 3 deep or more (16 of 24 wrong; 4 deep: 36 of 38)
    assert.equal(
      outsideTrainingRange('600+(418-(443 - (471 - (382-129))))', 'arithmetic', 5),
      'it has 5 operations with parentheses nested 4 deep, as few of its training problems have',
    );
    assert.equal(outsideTrainingRange('Work out 44*(38+(68 + (5 + 94))).', 'arithmetic', 5), null, 'four operations nested 3 deep: 33 of 38 right');
    // The count comes first: it is what the model gets wrong whatever the numbers.
    assert.equal(outsideTrainingRange('100*100+1+2+3+4', 'arithmetic', 4), 'it has 5 operations, and its training problems at most 4');
    assert.equal(
      trainingRangeCaution(six, { problemDomain: 'arithmetic', maxOperations: 5 }, 'caspo-arith'),
      "outside caspo-arith's training range: it has 6 operations, and its training problems at most 5. Expect confident mistakes.",
    );
    assert.equal(parseModelConfig({ ...CONFIG, caspo_problem_domain: 'arithmetic', caspo_max_operations: 5 }).maxOperations, 5);
    assert.equal(parseModelConfig(CONFIG).maxOperations, null);
    assert.throws(
      () => parseModelConfig({ ...CONFIG, caspo_max_operations: 0 }, '/m/config.json'),
      (e: unknown) => e instanceof ModelError && /\/m\/config\.json: field "caspo_max_operations" must be a positive integer, got 0/.test(e.message),
    );
  });

  it('the shipped models declare the operation counts they were trained on: the SFT model 4, the CASPO model 5 (its alignment pool has five-operation problems)', () => {
    const declared = (folder: string) => JSON.parse(readFileSync(path.join(ROOT, 'models', folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(declared('caspo-arith-sft').caspo_max_operations, 4);
    assert.equal(declared('caspo-arith').caspo_max_operations, 5);
  });

  it('of the evaluation splits, exactly the two-3-digit-factor products (hard bigmul) and two deeply nested five-operation problems are outside the range of five operations, and with it the five-operation ones of four', () => {
    const deep = new Set(['Calculate 35 * (15+(94 + 185+(26+9))).', 'What is 116-2 + (871 + (521-(75 + 3)))?']);
    for (const name of ['heldout', 'hard', 'calibration']) {
      const rows = readFileSync(path.join(ROOT, 'training', 'data', `${name}.jsonl`), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { problem: string; kind?: string });
      for (const row of rows) {
        const where = `${name}: ${row.problem} (${row.kind ?? 'in-domain'})`;
        assert.equal(outsideTrainingRange(row.problem, 'arithmetic', 5) !== null, row.kind === 'bigmul' || deep.has(row.problem), where);
        assert.equal(outsideTrainingRange(row.problem, 'arithmetic', 4) !== null, row.kind === 'bigmul' || row.kind === 'ops5', where);
      }
    }
  });

  it('suggests the problem as the model reads it when only its form was wrong, and nothing that would change what is asked', () => {
    const rewrites: Array<[string, string | null]> = [
      ['Simplify 47*38 + 12', '47 * 38 + 12'],
      ['What is 7 × 8 + 6?', '7 * 8 + 6'],
      ['9x9 - 1+2', '9 * 9 - 1 + 2'],
      ['5 − 3 + 1', '5 - 3 + 1'],
      ['(12)+3*4', '12 + 3 * 4'],
      ['((1+2))*3+4', '(1 + 2) * 3 + 4'],
      ['2+(3*4)', '2 + 3 * 4'],
      ['007 + 8*2', '7 + 8 * 2'],
      ['47*38\n+ 12', '47 * 38 + 12'],
      ['12+3*4 (mod 7)', null], // two runs of digits: (mod 7) may matter
      ['144 / 12 + 1', null],
      ['3.25 * 2 + 1', null],
      ['1,250 + 3', null],
      ['-5 + 3', null],
      ['Compute 3+4 and 5+6', null],
      ['What is the capital of France?', null],
      ['٤٧*38 + 12', null],
      ['2 ** 3', null],
    ];
    for (const [problem, rewrite] of rewrites) {
      assert.equal(suggestedRewrite(problem, 'arithmetic'), rewrite, problem);
      if (rewrite !== null) assert.equal(outsideDomain(rewrite, 'arithmetic'), null, `${rewrite} is read`);
    }
  });

  it('screens a problem as the hosts do: refused, cautioned, or neither', () => {
    assert.deepEqual(screenProblem('47*38 + 12', ARITH, 'm'), { refusal: null, suggestion: null, caution: null });
    assert.deepEqual(screenProblem('100*100', ARITH, 'm'), { refusal: null, suggestion: null, caution: trainingRangeCaution('100*100', ARITH, 'm') });
    assert.equal(screenProblem('Compute 47 × 38 + 12.', ARITH, 'm').suggestion, '47 * 38 + 12');
    const refused = screenProblem('1000 / 10', ARITH, 'm');
    assert.equal(refused.refusal, domainMismatch('1000 / 10', 'arithmetic', 'm'));
    assert.equal(refused.caution, null, 'a refused problem gets no caution (its range is never looked at)');
    assert.deepEqual(screenProblem('What is the capital of France?', ANY, 'qwen'), { refusal: null, suggestion: null, caution: null });
  });
});
