// Exact step verifier for the arithmetic domain: a line-for-line port of
// training/caspo_train/arith.py (parser, extract_expression, evaluate, ready_ops, verify_solution,
// problem_features, solution_text). Both are checked against test/fixtures/verifier-cases.json,
// which the Python verifier generates (training/tests/make_verifier_cases.py).
//
// Faithfulness notes:
// - Values are BigInt inside, so every comparison is exact like Python's ints even when a model
//   writes a 30-digit number; `Verdict.answer`/`expected` are converted to numbers at the end.
// - Python's `\d` and `\s` (str patterns) are Unicode-aware and differ from JavaScript's: `\d` is
//   any Unicode decimal digit (int() reads them all), `\s` is str.isspace() (includes \x1c-\x1f and
//   \x85, excludes \uFEFF). The classes below reproduce Python 3.11's (Unicode 14), and `pyStrip`
//   its str.strip(); the digit table is pinned rather than `\p{Nd}`, whose set grows with Node's ICU.

export interface Num {
  kind: 'num';
  value: bigint;
}

export interface BinOp {
  kind: 'binop';
  op: Operator;
  left: ExprNode;
  right: ExprNode;
}

export type ExprNode = Num | BinOp;
export type Operator = '+' | '-' | '*';

export interface StepLabel {
  index: number;
  text: string;
  correct: boolean;
  arithmeticOk: boolean;
  operandsOk: boolean;
  reason: string;
}

export interface Verdict {
  steps: StepLabel[];
  /** The number on the first `Answer: N` line, or null when there is none. */
  answer: number | null;
  /** The value of the problem's expression. */
  expected: number;
  /** The answer equals the expression's value (independent of the steps' labels). */
  answerCorrect: boolean;
  /** Index of the first step labelled incorrect, or null when every labelled step is correct. */
  firstError: number | null;
}

export interface ProblemFeatures {
  ops: number;
  mul: boolean;
  parens: boolean;
}

// Python's str.isspace() set (what `\s` and str.strip() use).
const WS = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const S = `[${WS}]`;
// Python's `\d`: the code points of every Unicode 14 digit zero; each starts a run of ten, 0 to 9.
const DIGIT_ZEROS = [
  0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6,
  0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
  0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0,
  0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0,
  0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce,
  0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];
const codePointEscape = (cp: number): string => `\\u{${cp.toString(16)}}`;
const D = DIGIT_ZEROS.map((zero) => `${codePointEscape(zero)}-${codePointEscape(zero + 9)}`).join('');

const TOKEN_RE = new RegExp(`${S}*([${D}]+|[-+*×x()])`, 'uy');
const STEP_RE = new RegExp(`^${S}*(-?[${D}]+)${S}*([-+*×x])${S}*(-?[${D}]+)${S}*=${S}*(-?[${D}]+)${S}*\\.?${S}*$`, 'u');
const ANSWER_RE = new RegExp(`^${S}*Answer${S}*:${S}*(-?[${D}]+)${S}*\\.?${S}*$`, 'u');
const EXPR_RE = new RegExp(`[${D}(][${D}${WS}()+\\-*×x]*[${D})]`, 'gu');
/**
 * What the verifier cannot check, anywhere in a problem: division, powers, percent, a decimal.
 * Without this, "10/2 + 3" would be read as "2 + 3" and every right step of it labelled wrong.
 */
const UNSUPPORTED_RE = new RegExp(`[/^%÷]|[${D}]\\.[${D}]`, 'u');
const DIGITS_RE = new RegExp(`^[${D}]+$`, 'u');
const STRIP_RE = new RegExp(`^${S}+|${S}+$`, 'gu');
const LEADING_WS_RE = new RegExp(`^${S}*`, 'u');

/** Python's str.strip() with no argument. */
export function pyStrip(text: string): string {
  return text.replace(STRIP_RE, '');
}

/** int() of a `-?\d+` match: every Unicode decimal digit counts as its value, as in Python. */
function parseInteger(text: string): bigint {
  if (/^-?[0-9]+$/.test(text)) return BigInt(text);
  let ascii = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const zero = DIGIT_ZEROS.find((z) => cp >= z && cp <= z + 9);
    ascii += zero === undefined ? ch : String(cp - zero);
  }
  return BigInt(ascii);
}

function normalizeOperator(op: string): Operator {
  return op === '×' || op === 'x' ? '*' : (op as Operator);
}

export function applyOp(op: Operator, a: bigint, b: bigint): bigint {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*') return a * b;
  throw new Error(`unknown operator ${JSON.stringify(op)}`);
}

export function tokenizeExpression(text: string): string[] {
  const tokens: string[] = [];
  const stripped = pyStrip(text);
  let pos = 0;
  while (pos < stripped.length) {
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(stripped);
    if (!m) {
      // Name the offending character, not the whitespace before it (Python's message names the latter).
      const at = pos + LEADING_WS_RE.exec(stripped.slice(pos))![0].length;
      const ch = String.fromCodePoint(stripped.codePointAt(at)!);
      throw new Error(`unexpected character ${JSON.stringify(ch)} in expression ${JSON.stringify(stripped)}`);
    }
    tokens.push(m[1] === '×' || m[1] === 'x' ? '*' : m[1]);
    pos = TOKEN_RE.lastIndex;
  }
  return tokens;
}

/**
 * The most tokens an expression may have: the tree code recurses once per operation, and no problem a
 * model reads comes near (the training problems have at most 5 operations, about 25 tokens).
 */
export const MAX_EXPRESSION_TOKENS = 1000;

/** Parse with standard precedence and left associativity; throws on anything else. */
export function parseExpression(text: string): ExprNode {
  const tokens = tokenizeExpression(text);
  if (tokens.length > MAX_EXPRESSION_TOKENS) {
    throw new Error(`the expression has ${tokens.length} terms and operators; the verifier reads at most ${MAX_EXPRESSION_TOKENS}`);
  }
  let pos = 0;
  const where = JSON.stringify(text);
  const peek = (): string | undefined => tokens[pos];
  const take = (): string => tokens[pos++];

  const primary = (): ExprNode => {
    const tok = peek();
    if (tok === undefined) throw new Error(`expression ends early: ${where}`);
    if (tok === '(') {
      take();
      const node = additive();
      if (peek() !== ')') throw new Error(`missing ')' in ${where}`);
      take();
      return node;
    }
    if (DIGITS_RE.test(tok)) return { kind: 'num', value: parseInteger(take()) };
    throw new Error(`unexpected ${JSON.stringify(tok)} in ${where}`);
  };
  const multiplicative = (): ExprNode => {
    let node = primary();
    while (peek() === '*') {
      take();
      node = { kind: 'binop', op: '*', left: node, right: primary() };
    }
    return node;
  };
  const additive = (): ExprNode => {
    let node = multiplicative();
    while (peek() === '+' || peek() === '-') {
      const op = take() as Operator;
      node = { kind: 'binop', op, left: node, right: multiplicative() };
    }
    return node;
  };

  const node = additive();
  if (pos !== tokens.length) throw new Error(`unexpected ${JSON.stringify(tokens[pos])} in ${where}`);
  return node;
}

export function evaluate(node: ExprNode): bigint {
  if (node.kind === 'num') return node.value;
  return applyOp(node.op, evaluate(node.left), evaluate(node.right));
}

/** Operations whose operands are both numbers, i.e. that may be evaluated next (left to right). */
export function readyOps(node: ExprNode): BinOp[] {
  if (node.kind === 'num') return [];
  if (node.left.kind === 'num' && node.right.kind === 'num') return [node];
  return [...readyOps(node.left), ...readyOps(node.right)];
}

/** A new tree with `target` (matched by identity) replaced by the number `value`. */
export function replaceOp(node: ExprNode, target: BinOp, value: bigint): ExprNode {
  if (node === target) return { kind: 'num', value };
  if (node.kind === 'num') return node;
  return { kind: 'binop', op: node.op, left: replaceOp(node.left, target, value), right: replaceOp(node.right, target, value) };
}

export function countOps(node: ExprNode): number {
  return node.kind === 'num' ? 0 : 1 + countOps(node.left) + countOps(node.right);
}

/** The canonical solution: the leftmost ready operation each time, then `Answer: N`. */
export function solutionText(problemExpression: string): string {
  let node = parseExpression(problemExpression);
  const answer = evaluate(node);
  const steps: string[] = [];
  while (node.kind === 'binop') {
    const target = readyOps(node)[0];
    const a = (target.left as Num).value;
    const b = (target.right as Num).value;
    const c = applyOp(target.op, a, b);
    steps.push(`${a} ${target.op} ${b} = ${c}`);
    node = replaceOp(node, target, c);
  }
  return [...steps, `Answer: ${answer}`].join('\n');
}

/** Each run of the problem that could be its expression (digits, spaces, parentheses, operators, with an operator) and where it starts. */
export function expressionCandidates(problem: string): Array<{ text: string; index: number }> {
  return [...problem.matchAll(EXPR_RE)].filter((m) => /[-+*×x]/.test(m[0])).map((m) => ({ text: m[0], index: m.index ?? 0 }));
}

/** The arithmetic expression inside a problem that may carry words around it (the longest one). */
export function extractExpression(problem: string): string {
  const candidates = expressionCandidates(problem).map((c) => c.text);
  if (candidates.length === 0) {
    throw new Error(`no arithmetic expression found in ${JSON.stringify(problem)}: ` +
      'a problem needs an expression such as "12 + 3*4" (operators + - * × x, optional parentheses)');
  }
  const unsupported = UNSUPPORTED_RE.exec(problem);
  if (unsupported !== null) {
    throw new Error(`${JSON.stringify(problem)} has ${JSON.stringify(unsupported[0])}: the verifier checks + - * on whole numbers only`);
  }
  // Python's max() keeps the first of equally long candidates.
  const longest = candidates.reduce((best, c) => ([...c].length > [...best].length ? c : best));
  return pyStrip(longest);
}

function matches(target: BinOp, op: Operator, a: bigint, b: bigint): boolean {
  if (target.op !== op) return false;
  const left = (target.left as Num).value;
  const right = (target.right as Num).value;
  if (left === a && right === b) return true;
  return (op === '+' || op === '*') && left === b && right === a;
}

/**
 * Label every step of a solution against the problem. Steps are the solution's non-blank lines up
 * to and including the first `Answer: N` line; later lines are ignored. Each `a op b = c` step must
 * be right arithmetic on an operation that is ready in the state left by the steps before it
 * (+ and * may be written commuted); the state carries the model's own c, right or wrong.
 * Throws when the problem has no arithmetic expression or the expression does not parse.
 */
export function verifySolution(problem: string, solution: string): Verdict {
  let state = parseExpression(extractExpression(problem));
  const expected = evaluate(state);
  const labels: StepLabel[] = [];
  let answer: bigint | null = null;
  const lines = solution.split('\n').filter((line) => pyStrip(line) !== '');
  for (const line of lines) {
    const index = labels.length;
    const text = pyStrip(line);
    const mAnswer = ANSWER_RE.exec(line);
    if (mAnswer) {
      answer = parseInteger(mAnswer[1]);
      // Judged like every other step, on the state the model's own steps left: right when it reports
      // the fully reduced value. Whether that value is the true one is `answerCorrect`.
      const ok = state.kind === 'num' && state.value === answer;
      const reason = ok ? 'ok'
        : state.kind === 'num' ? `answer ${answer} but the last result is ${state.value}`
          : 'answer given before the expression is reduced';
      labels.push({ index, text, correct: ok, arithmeticOk: ok, operandsOk: ok, reason });
      break;
    }
    const m = STEP_RE.exec(line);
    if (!m) {
      labels.push({ index, text, correct: false, arithmeticOk: false, operandsOk: false, reason: "not an 'a op b = c' step" });
      continue;
    }
    const a = parseInteger(m[1]);
    const op = normalizeOperator(m[2]);
    const b = parseInteger(m[3]);
    const c = parseInteger(m[4]);
    const value = applyOp(op, a, b);
    const arithmeticOk = value === c;
    const target = readyOps(state).find((t) => matches(t, op, a, b));
    const operandsOk = target !== undefined;
    if (target !== undefined) state = replaceOp(state, target, c); // carry the model's own value
    const reason = arithmeticOk && operandsOk ? 'ok'
      : !arithmeticOk ? `${a} ${op} ${b} is ${value}, not ${c}`
      : `${a} ${op} ${b} is not an operation that is ready to evaluate here`;
    labels.push({ index, text, correct: arithmeticOk && operandsOk, arithmeticOk, operandsOk, reason });
  }
  const firstError = labels.find((s) => !s.correct)?.index ?? null;
  return {
    steps: labels,
    answer: answer === null ? null : Number(answer),
    expected: Number(expected),
    answerCorrect: answer === expected,
    firstError,
  };
}

/** Size and shape of a problem's expression (as arith.problem_features: `mul` looks for * and × only). */
export function problemFeatures(problem: string): ProblemFeatures {
  const expr = extractExpression(problem);
  const node = parseExpression(expr);
  return { ops: countOps(node), mul: expr.includes('*') || expr.includes('×'), parens: expr.includes('(') };
}
