import { extractExpression, parseExpression } from './arithmetic';

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
      return 'an arithmetic model: it solves expressions of whole numbers with + - * (× or x) and parentheses, such as "47*38 + 12", with or without words around them';
  }
}

/** Why `problem` is outside `domain`, as a clause ("this problem divides (/)..."), or null when it is inside. */
export function outsideDomain(problem: string, domain: ProblemDomain): string | null {
  switch (domain) {
    case 'arithmetic':
      return outsideArithmetic(problem);
  }
}

const DIVISION_RE = /\d+\s*[/÷]\s*\d+/u;
const DECIMAL_RE = /\d+\.\d+/u;
const SEPARATOR_RE = /\d{1,3}(?:,\d{3})+(?!\d)/u;

function outsideArithmetic(problem: string): string | null {
  const division = DIVISION_RE.exec(problem);
  if (division) return `this problem divides ("${division[0]}"), which is not one of its operations`;
  const decimal = DECIMAL_RE.exec(problem);
  if (decimal) return `this problem has a number that is not whole ("${decimal[0]}")`;
  const separator = SEPARATOR_RE.exec(problem);
  if (separator) return `this problem writes a number with a thousands separator ("${separator[0]}")`;
  let expression: string;
  try {
    expression = extractExpression(problem);
  } catch {
    return 'this problem has no such expression';
  }
  try {
    parseExpression(expression);
  } catch (error) {
    return `the expression in this problem, "${expression}", is not one it can read (${(error as Error).message})`;
  }
  return null;
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
