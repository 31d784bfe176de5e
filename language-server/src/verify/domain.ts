import { applyOp, expressionCandidates, extractExpression, parseExpression, type ExprNode } from './arithmetic';

/**
 * The problems a model was trained on, as its config.json declares them (`caspo_problem_domain`).
 * A model that declares none (any standard ONNX export) is given every problem; one that declares
 * `arithmetic` (this repository's models) is given only problems it can read, since on anything else
 * it still writes confident arithmetic, and a confident answer to the wrong question is what the
 * extension must not show.
 */
export const PROBLEM_DOMAINS = ['arithmetic'] as const;
export type ProblemDomain = (typeof PROBLEM_DOMAINS)[number];

/** What the model of `domain` accepts, for messages: "an arithmetic model: it solves ...". */
export function describeDomain(domain: ProblemDomain): string {
  switch (domain) {
    case 'arithmetic':
      return 'an arithmetic model: it solves expressions of whole numbers with + - * and parentheses, such as "47*38 + 12", alone or in a question such as "What is 47*38 + 12?"';
  }
}

/** Why `problem` is outside `domain`, as a clause ("this problem divides (/)..."), or null when it is inside. */
/** `text` for a message: at most `max` characters, cut in the middle. */
export function brief(text: string, max = 80): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${chars.slice(0, half).join('')}…${chars.slice(chars.length - half).join('')}`;
}

export function outsideDomain(problem: string, domain: ProblemDomain): string | null {
  switch (domain) {
    case 'arithmetic':
      return outsideArithmetic(problem);
  }
}

const DIVISION_RE = /\d+\s*[/÷]\s*\d+/u;
const DECIMAL_RE = /\d+\.\d+/u;
const POWER_RE = /[\d)]\s*(?:\^|\*\*)\s*[\d(]/u;
const PERCENT_RE = /\d+\s*%/u;
const FUNCTION_RE = /\b(?:sqrt|root|log|ln|exp|sin|cos|tan|abs|max|min|mod|gcd|lcm)\s*\(/iu;
const SEPARATOR_RE = /\d{1,3}(?:,\d{3})+(?!\d)/u;
// Its training problems write only "*" and "-": the model misreads the others (7 × 8 + 6: it starts with "8 + 6").
const TIMES_RE = /[\d)]\s*[×x]\s*[\d(]/u;
const DASH_RE = /[\d)]\s*[−–—]\s*[\d(]/u;
const LEADING_ZERO_RE = /(?<!\d)0\d+/u;
/** Printable ASCII: the model reads bytes, and its training problems have no others (no other digits, no tabs or line breaks). */
const FOREIGN_CHAR_RE = /[^\x20-\x7e]/u;
const NUMBER_IN_PARENS_RE = /\(\s*\d+\s*\)/u;
/** Before an expression (which starts at a digit or "("): a "-" there makes its first number negative. */
const NEGATIVE_BEFORE_RE = /-\s*$/u;

/**
 * The words of its training problems around the expression (training/caspo_train/arith.py TEMPLATES).
 * Other openings break the model ("Simplify 47*38 + 12": 9 of 60 such problems right, "Q: ...": 6; with a
 * template's, 58 of 60), so they are refused. Other endings break some problems ("Compute 47*38 + 12. Thanks",
 * "12+3*4 (mod 7)", "12+3*4 boxes": all wrong at full confidence) though not all ("... please": 59 of 60 right),
 * so they are refused too, unless measured; the closing words may be left out.
 */
const TEMPLATE_OPENINGS = ['', 'What is', 'Compute', 'Calculate', 'Evaluate', 'Find the value of', 'How much is', 'Work out', 'What does'];
const TEMPLATE_CLOSINGS = ['', '?', '.', '= ?', '=?', '=', 'equal?', 'equal', 'equal.'];
// Not the templates', but measured as good (87-90 of 90 problems each, an adversarial probe; the templates: 90/90).
const OTHER_OPENINGS = ['Solve', 'Please compute', 'Evaluate:', 'Compute:', 'What is the value of', 'Find', 'Calculate the value of'];
const OTHER_CLOSINGS = ['please.', 'equal to?', '?.', '??', '= ?.'];
/** As written, or all in lower case (59 of 60 right); other capitals break it ("WHAT IS …": 31 of 38 wrong). */
const withLowerCase = (forms: string[]) => new Set(forms.flatMap((form) => [form, form.toLowerCase()]));
const OPENINGS = withLowerCase([...TEMPLATE_OPENINGS, ...OTHER_OPENINGS]);
const CLOSINGS = withLowerCase([...TEMPLATE_CLOSINGS, ...OTHER_CLOSINGS]);
const OPENING_WORDS = '"What is", "Compute", "Calculate", "Evaluate", "Find the value of", "How much is", "Work out" or "What does"';
const CLOSING_WORDS = '"?", ".", "= ?" or "equal?"';

function outsideArithmetic(problem: string): string | null {
  const division = DIVISION_RE.exec(problem);
  if (division) return `this problem divides ("${division[0]}"), which is not one of its operations`;
  const power = POWER_RE.exec(problem);
  if (power) return `this problem raises to a power ("${power[0]}"), which is not one of its operations`;
  const fn = FUNCTION_RE.exec(problem);
  if (fn) return `this problem applies a function ("${fn[0].replace(/\s+/gu, '')}"), which is not one of its operations`;
  const percent = PERCENT_RE.exec(problem);
  if (percent) return `this problem takes a percentage ("${percent[0]}"), which is not one of its operations`;
  const decimal = DECIMAL_RE.exec(problem);
  if (decimal) return `this problem has a number that is not whole ("${decimal[0]}")`;
  const separator = SEPARATOR_RE.exec(problem);
  if (separator) return `this problem writes a number with a thousands separator ("${separator[0]}")`;
  const times = TIMES_RE.exec(problem);
  if (times) return `this problem writes multiplication as "${times[0].replace(/[\d()\s]/gu, '')}" ("${times[0]}"); write it as "*", as its training problems do`;
  const dash = DASH_RE.exec(problem);
  if (dash) return `this problem writes minus as "${dash[0].replace(/[\d()\s]/gu, '')}" ("${dash[0]}"); write it as "-", as its training problems do`;
  const trimmed = problem.trim();
  if (/[\n\r]/u.test(trimmed)) return 'this problem spans several lines; put it on one line';
  const foreign = FOREIGN_CHAR_RE.exec(trimmed);
  if (foreign) return `this problem has a character its training problems never have ("${foreign[0]}", U+${foreign[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  const candidates = expressionCandidates(problem);
  if (candidates.length === 0) return 'this problem has no such expression';
  if (candidates.length > 1) {
    return `this problem has more than one expression (${candidates.map((c) => `"${brief(c.text.trim())}"`).join(', ')}); give it one`;
  }
  const [{ text, index }] = candidates;
  const expression = text.trim();
  const before = problem.slice(0, index);
  if (NEGATIVE_BEFORE_RE.test(before)) return `this problem has a negative number ("-${/\d+/u.exec(expression)?.[0]}"), and its numbers are 0 or more`;
  const leadingZero = LEADING_ZERO_RE.exec(expression);
  if (leadingZero) return `this problem writes a number with a leading zero ("${leadingZero[0]}"); write it without`;
  let tree: ExprNode;
  try {
    tree = parseExpression(expression);
  } catch (error) {
    return `the expression in this problem, "${brief(expression)}", is not one it can read (${brief((error as Error).message, 160)})`;
  }
  const words = (text: string) => text.trim().replace(/\s+/gu, ' ');
  const opening = words(before);
  const closing = words(problem.slice(index + text.length));
  if (!OPENINGS.has(opening)) {
    return `its training problems never start with "${opening}", and after such words it misreads the expression; start with the expression, or with ${OPENING_WORDS}`;
  }
  if (!CLOSINGS.has(closing)) {
    return `its training problems never end with "${closing}", and such endings make it misread some expressions; end with the expression, or with ${CLOSING_WORDS}`;
  }
  // "Compute47*38+12.": 19 of 30 such problems wrong.
  if (opening !== '' && !/\s$/u.test(before)) return `this problem has no space between "${opening}" and its expression; put one`;
  // Its training problems have 0 or 1 space around an operator; with 3 or more the model misreads (10 of 20 wrong).
  const spaced = /\S\s{3,}\S/u.exec(expression);
  if (spaced) return `the expression spaces its terms out ("${spaced[0]}"), which its training problems never do; put at most one space around an operator`;
  const inParens = NUMBER_IN_PARENS_RE.exec(expression);
  if (inParens) return `this problem puts a number in parentheses ("${inParens[0]}"), which its training problems never do; remove them`;
  if (parenthesesBeyondNeed(expression, tree)) {
    return `the expression "${brief(expression)}" has parentheses that change nothing, which its training problems never have; remove them`;
  }
  return null;
}

/**
 * Whether `expression` has more parentheses than its tree needs (a lower-precedence operation under a higher
 * one, or an equal one on the right: arith.py's _needs_parens), allowing one pair around all of it.
 */
function parenthesesBeyondNeed(expression: string, tree: ExprNode): boolean {
  const needed = (node: ExprNode, parentOp: keyof typeof PRECEDENCE | null, isRight: boolean): number => {
    if (node.kind === 'num') return 0;
    return (needsParentheses(node.op, parentOp, isRight) ? 1 : 0) + needed(node.left, node.op, false) + needed(node.right, node.op, true);
  };
  const pairs = [...expression].filter((c) => c === '(').length;
  const wrapped = /^\(.*\)$/u.test(expression) && balancedInside(expression.slice(1, -1));
  return pairs - (wrapped ? 1 : 0) > needed(tree, null, false);
}

/** Whether the parentheses of `text` balance without ever closing more than are open. */
function balancedInside(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The message when `model`, trained on `domain`, is given a problem outside it, or null (no domain, or
 * inside it): what the model accepts and what is wrong with this problem. The caller adds what to do.
 */
export function domainMismatch(problem: string, domain: ProblemDomain | null, model: string): string | null {
  if (domain === null) return null;
  const reason = outsideDomain(problem, domain);
  return reason === null ? null : `${model} is ${describeDomain(domain)}; ${reason}.`;
}

/**
 * The problem rewritten as the model reads it, when a refusal is only about its form: words around the
 * expression, "×" or "x" for "*", "−" for "-", a leading zero, parentheses that change nothing, a line break.
 * Null when the rewrite would change what is asked (a division, a decimal, a negative number, two
 * expressions) or the model would refuse it too.
 */
export function suggestedRewrite(problem: string, domain: ProblemDomain): string | null {
  switch (domain) {
    case 'arithmetic':
      return arithmeticRewrite(problem);
  }
}

function arithmeticRewrite(problem: string): string | null {
  if (DIVISION_RE.test(problem) || DECIMAL_RE.test(problem) || SEPARATOR_RE.test(problem)) return null;
  const normalized = problem
    .replace(/\s+/gu, ' ')
    .replace(/(?<=[\d)]\s*)[×x](?=\s*[\d(])/gu, '*')
    .replace(/(?<=[\d)]\s*)[−–—](?=\s*[\d(])/gu, '-');
  if (FOREIGN_CHAR_RE.test(normalized)) return null;
  const candidates = expressionCandidates(normalized);
  if (candidates.length !== 1) return null;
  const [{ text, index }] = candidates;
  const before = normalized.slice(0, index);
  const after = normalized.slice(index + text.length);
  // A "-" before it (a negative number), or a number outside it ("(mod 7)"), may be part of what is asked.
  if (NEGATIVE_BEFORE_RE.test(before) || /\d/u.test(before + after)) return null;
  let rewrite: string;
  try {
    rewrite = renderExpression(parseExpression(text.trim()));
  } catch {
    return null;
  }
  return outsideArithmetic(rewrite) === null ? rewrite : null;
}

/** An expression as its training problems write it: "a op b" with spaces, parentheses only where needed. */
function renderExpression(node: ExprNode, parentOp: keyof typeof PRECEDENCE | null = null, isRight = false): string {
  if (node.kind === 'num') return node.value.toString();
  const text = `${renderExpression(node.left, node.op, false)} ${node.op} ${renderExpression(node.right, node.op, true)}`;
  return needsParentheses(node.op, parentOp, isRight) ? `(${text})` : text;
}

const PRECEDENCE = { '+': 1, '-': 1, '*': 2 } as const;

/** arith.py's _needs_parens: a lower-precedence operation under a higher one, or an equal one on the right. */
function needsParentheses(op: keyof typeof PRECEDENCE, parentOp: keyof typeof PRECEDENCE | null, isRight: boolean): boolean {
  return parentOp !== null && (PRECEDENCE[op] < PRECEDENCE[parentOp] || (isRight && PRECEDENCE[op] === PRECEDENCE[parentOp]));
}

/** The training range of the arithmetic models (training/caspo_train/arith.py: MAX_OPERAND, MAX_SMALL_FACTOR, _valid). */
const MAX_NUMBER = 999n;
const MAX_SMALL_FACTOR = 99n;
/** The fewest operations of every model's training problems (arith.py's OP_COUNTS: 2 to 4; the alignment pools: 2 to 5). */
const MIN_OPERATIONS = 2;
/** The most operations of the SFT training problems (arith.py: 2 to 4), for a model whose config.json does not say. */
export const DEFAULT_MAX_OPERATIONS = 4;

/**
 * Why a problem the model can read is still unlike every problem it was trained on, as a clause, or
 * null. Outside that range the embedded model is confidently wrong (1234 + 5678: it reads 123 + 567, at
 * 100 %; with six operations it drops one, at 100 %), so the editor and the CLI solve it but say so
 * first. `maxOperations`: the most operations of its training problems (config.json `caspo_max_operations`).
 */
export function outsideTrainingRange(problem: string, domain: ProblemDomain, maxOperations = DEFAULT_MAX_OPERATIONS): string | null {
  switch (domain) {
    case 'arithmetic':
      return outsideArithmeticRange(parseExpression(extractExpression(problem)), maxOperations);
  }
}

function outsideArithmeticRange(expression: ExprNode, maxOperations: number): string | null {
  let operations = 0;
  // One post-order walk: each node's value once, the first (innermost, leftmost) step out of range.
  const walk = (node: ExprNode): { value: bigint; reason: string | null } => {
    if (node.kind === 'num') {
      return { value: node.value, reason: node.value > MAX_NUMBER ? `${node.value} is above ${MAX_NUMBER}, the largest number in its training problems` : null };
    }
    operations++;
    const left = walk(node.left);
    const right = walk(node.right);
    if (left.reason !== null) return left;
    if (right.reason !== null) return right;
    const [a, b] = [left.value, right.value];
    const value = applyOp(node.op, a, b);
    const step = `"${a} ${node.op} ${b}"`;
    if (node.op === '-' && a < b) return { value, reason: `${step} goes below 0, which no step of its training problems does` };
    if (node.op === '*') {
      const [small, big] = a < b ? [a, b] : [b, a];
      const range = `(its training products: one factor up to ${MAX_SMALL_FACTOR}, the other up to ${MAX_NUMBER})`;
      if (big > MAX_NUMBER) return { value, reason: `${step} has a factor above ${MAX_NUMBER} ${range}` };
      if (small > MAX_SMALL_FACTOR) return { value, reason: `${step} has both factors above ${MAX_SMALL_FACTOR} ${range}` };
    }
    return { value, reason: null };
  };
  const { reason } = walk(expression);
  // Too many operations first: past them the model skips or merges steps whatever the numbers.
  if (operations > maxOperations) return `it has ${operations} operations, and its training problems at most ${maxOperations}`;
  if (reason !== null) return reason;
  // Five operations nested 3 deep: 2.5 % of the alignment pool's five-operation problems (SFT's have at most four),
  // and the embedded model got 16 of 24 such problems wrong, 36 of 38 nested 4 deep (5 operations at random: 9 of 42).
  const depth = parenthesisDepth(expression);
  if (operations >= DEEP_NESTING_OPERATIONS && depth >= DEEP_NESTING) {
    return `it has ${operations} operations with parentheses nested ${depth} deep, as few of its training problems have`;
  }
  // With one it invents a second (2*3 = ?: "2 * 3 = 6", then "6 * 6 = 36").
  return operations < MIN_OPERATIONS ? `it has ${operations} operation, and its training problems at least ${MIN_OPERATIONS}` : null;
}

const DEEP_NESTING = 3;
const DEEP_NESTING_OPERATIONS = 5;

/** How deep the parentheses the tree needs nest (arith.py's rendering: "44*(38+(68 + (5 + 94)))" is 3). */
function parenthesisDepth(node: ExprNode, parentOp: keyof typeof PRECEDENCE | null = null, isRight = false): number {
  if (node.kind === 'num') return 0;
  const own = needsParentheses(node.op, parentOp, isRight) ? 1 : 0;
  return own + Math.max(parenthesisDepth(node.left, node.op, false), parenthesisDepth(node.right, node.op, true));
}

/** What of a model's config.json says which problems it was trained on. */
export interface ProblemScope {
  /** `caspo_problem_domain`; null: any problem (no refusal, no caution). */
  problemDomain: ProblemDomain | null;
  /** `caspo_max_operations`; null: the domain's default. */
  maxOperations: number | null;
}

/**
 * The caution shown above the steps of a problem `model` can read but was not trained on, or null
 * (no domain, or inside its range). Only for a problem `domainMismatch` accepted (screenProblem).
 */
export function trainingRangeCaution(problem: string, scope: ProblemScope, model: string): string | null {
  if (scope.problemDomain === null) return null;
  const reason = outsideTrainingRange(problem, scope.problemDomain, scope.maxOperations ?? DEFAULT_MAX_OPERATIONS);
  return reason === null ? null : `outside ${model}'s training range: ${reason}. Expect confident mistakes.`;
}

/** What a host does with a problem before decoding it: refuse it (the message), or solve it, under a caution or not. */
export interface ProblemScreen {
  refusal: string | null;
  /** With a refusal about the problem's form only: the problem as the model reads it (suggestedRewrite). */
  suggestion: string | null;
  caution: string | null;
}

/** `domainMismatch`, then, for an accepted problem, `trainingRangeCaution`: the one check the server and the CLI share. */
export function screenProblem(problem: string, scope: ProblemScope, model: string): ProblemScreen {
  const refusal = domainMismatch(problem, scope.problemDomain, model);
  if (refusal !== null) return { refusal, suggestion: scope.problemDomain && suggestedRewrite(problem, scope.problemDomain), caution: null };
  return { refusal, suggestion: null, caution: trainingRangeCaution(problem, scope, model) };
}
