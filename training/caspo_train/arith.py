"""Integer-arithmetic problems, their step-by-step solutions, and an exact step verifier.

Domain: +, -, * with standard precedence and optional parentheses, 2-4 operations, operands up to
three digits, every multiplication has a factor of at most two digits (the other at most three),
and every intermediate result is non-negative.

A solution is one line per operation, ``a op b = c``, in evaluation order, then ``Answer: N``.
The verifier checks each step against the expression state left by the steps before it: the
arithmetic must be right, and the two operands must form an operation that is ready to evaluate
(both sides already numbers, precedence and left-to-right order respected), i.e. they come from the
problem or from earlier results.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import List, Optional, Union

OPS = "+-*"
MAX_OPERAND = 999
MAX_SMALL_FACTOR = 99
# Operations per training problem (random_expression).
OP_COUNTS = (2, 3, 4)

# ---------------------------------------------------------------------------------------------
# Expression trees


@dataclass
class Num:
    value: int


@dataclass
class BinOp:
    op: str
    left: "Node"
    right: "Node"


Node = Union[Num, BinOp]


def apply_op(op: str, a: int, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    raise ValueError(f"unknown operator {op!r}")


_TOKEN_RE = re.compile(r"\s*(\d+|[-+*×x()])")


def tokenize_expression(text: str) -> List[str]:
    tokens: List[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError(f"unexpected character {text[pos]!r} in expression {text!r}")
        tok = m.group(1)
        tokens.append("*" if tok in ("×", "x") else tok)
        pos = m.end()
    return tokens


# The most tokens an expression may have: the tree code recurses once per operation, and no problem a
# model reads comes near (the training problems have at most 5 operations, about 25 tokens).
MAX_EXPRESSION_TOKENS = 1000


def parse_expression(text: str) -> Node:
    """Parse with standard precedence and left associativity."""
    tokens = tokenize_expression(text)
    if len(tokens) > MAX_EXPRESSION_TOKENS:
        raise ValueError(f"the expression has {len(tokens)} terms and operators; the verifier reads at most {MAX_EXPRESSION_TOKENS}")
    pos = 0

    def peek() -> Optional[str]:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def primary() -> Node:
        tok = peek()
        if tok is None:
            raise ValueError(f"expression ends early: {text!r}")
        if tok == "(":
            take()
            node = additive()
            if peek() != ")":
                raise ValueError(f"missing ')' in {text!r}")
            take()
            return node
        if tok.isdigit():
            return Num(int(take()))
        raise ValueError(f"unexpected {tok!r} in {text!r}")

    def multiplicative() -> Node:
        node = primary()
        while peek() == "*":
            take()
            node = BinOp("*", node, primary())
        return node

    def additive() -> Node:
        node = multiplicative()
        while peek() in ("+", "-"):
            op = take()
            node = BinOp(op, node, multiplicative())
        return node

    node = additive()
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos]!r} in {text!r}")
    return node


def evaluate(node: Node) -> int:
    if isinstance(node, Num):
        return node.value
    return apply_op(node.op, evaluate(node.left), evaluate(node.right))


def ready_ops(node: Node) -> List[BinOp]:
    """Operations whose operands are both numbers, i.e. that may be evaluated next."""
    if isinstance(node, Num):
        return []
    if isinstance(node.left, Num) and isinstance(node.right, Num):
        return [node]
    return ready_ops(node.left) + ready_ops(node.right)


def replace(node: Node, target: BinOp, value: int) -> Node:
    if node is target:
        return Num(value)
    if isinstance(node, Num):
        return node
    return BinOp(node.op, replace(node.left, target, value), replace(node.right, target, value))


def count_ops(node: Node) -> int:
    return 0 if isinstance(node, Num) else 1 + count_ops(node.left) + count_ops(node.right)


# ---------------------------------------------------------------------------------------------
# Solutions


def format_step(op: str, a: int, b: int, c: int) -> str:
    return f"{a} {op} {b} = {c}"


def solve_steps(node: Node) -> List[str]:
    """The canonical solution: evaluate the leftmost ready operation each time."""
    steps = []
    while isinstance(node, BinOp):
        target = _canonical_next(node)
        a, b = target.left.value, target.right.value  # type: ignore[union-attr]
        c = apply_op(target.op, a, b)
        steps.append(format_step(target.op, a, b, c))
        node = replace(node, target, c)
    return steps


def _canonical_next(node: Node) -> BinOp:
    # Parentheses and precedence are already in the tree; evaluate the deepest-leftmost ready op,
    # which is what a person does for "a*b + c*d": a*b first, then c*d, then the sum.
    return ready_ops(node)[0]


def solution_text(problem_expr: str) -> str:
    node = parse_expression(problem_expr)
    steps = solve_steps(node)
    return "\n".join(steps + [f"Answer: {evaluate(node)}"])


# ---------------------------------------------------------------------------------------------
# Verifier

STEP_RE = re.compile(r"^\s*(-?\d+)\s*([-+*×x])\s*(-?\d+)\s*=\s*(-?\d+)\s*\.?\s*$")
ANSWER_RE = re.compile(r"^\s*Answer\s*:\s*(-?\d+)\s*\.?\s*$")
EXPR_RE = re.compile(r"[\d(][\d\s()+\-*×x]*[\d)]")
# What the verifier cannot check, anywhere in a problem: division, powers, percent, a decimal. Without
# this, "10/2 + 3" would be read as "2 + 3" and every right step of it labelled wrong.
UNSUPPORTED_RE = re.compile(r"[/^%÷]|\d\.\d")


@dataclass
class StepLabel:
    index: int
    text: str
    correct: bool
    arithmetic_ok: bool
    operands_ok: bool
    reason: str


@dataclass
class Verdict:
    steps: List[StepLabel]
    answer: Optional[int]
    expected: int
    answer_correct: bool
    first_error: Optional[int]


def extract_expression(problem: str) -> str:
    """The arithmetic expression inside a problem that may carry words around it."""
    candidates = [m.group(0) for m in EXPR_RE.finditer(problem)]
    candidates = [c for c in candidates if any(op in c for op in "+-*×x")]
    if not candidates:
        raise ValueError(f"no arithmetic expression found in {problem!r}")
    unsupported = UNSUPPORTED_RE.search(problem)
    if unsupported:
        raise ValueError(f"{problem!r} has {unsupported.group(0)!r}: the verifier checks + - * on whole numbers only")
    return max(candidates, key=len).strip()


def _matches(target: BinOp, op: str, a: int, b: int) -> bool:
    if target.op != op:
        return False
    left, right = target.left.value, target.right.value  # type: ignore[union-attr]
    if (left, right) == (a, b):
        return True
    return op in "+*" and (left, right) == (b, a)


def verify_solution(problem: str, solution: str) -> Verdict:
    """Label every step of a solution. Steps are its non-empty lines before the answer line."""
    state: Node = parse_expression(extract_expression(problem))
    expected = evaluate(state)
    labels: List[StepLabel] = []
    answer: Optional[int] = None
    lines = [ln for ln in solution.split("\n") if ln.strip()]
    for line in lines:
        index = len(labels)
        m_answer = ANSWER_RE.match(line)
        if m_answer:
            answer = int(m_answer.group(1))
            # Judged like every other step, on the state the model's own steps left: the answer line
            # is right when it reports the fully reduced value. Whether that value is the true one is
            # the problem-level answer_correct, not this step's label.
            reduced = isinstance(state, Num)
            ok = reduced and state.value == answer
            if ok:
                reason = "ok"
            elif reduced:
                reason = f"answer {answer} but the last result is {state.value}"
            else:
                reason = "answer given before the expression is reduced"
            labels.append(StepLabel(index, line.strip(), ok, ok, ok, reason))
            break
        m = STEP_RE.match(line)
        if not m:
            labels.append(StepLabel(index, line.strip(), False, False, False, "not an 'a op b = c' step"))
            continue
        a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        op = "*" if op in "×x" else op
        arithmetic_ok = apply_op(op, a, b) == c
        target = next((t for t in ready_ops(state) if _matches(t, op, a, b)), None)
        operands_ok = target is not None
        if target is not None:
            state = replace(state, target, c)  # carry the model's own value, right or wrong
        if arithmetic_ok and operands_ok:
            reason = "ok"
        elif not arithmetic_ok:
            reason = f"{a} {op} {b} is {apply_op(op, a, b)}, not {c}"
        else:
            reason = f"{a} {op} {b} is not an operation that is ready to evaluate here"
        labels.append(StepLabel(index, line.strip(), arithmetic_ok and operands_ok, arithmetic_ok,
                                operands_ok, reason))
    first_error = next((s.index for s in labels if not s.correct), None)
    return Verdict(labels, answer, expected, answer == expected, first_error)


# ---------------------------------------------------------------------------------------------
# Generator

TEMPLATES = [
    "{e}",
    "{e}",
    "What is {e}?",
    "Compute {e}.",
    "Calculate {e}.",
    "Evaluate {e}.",
    "Find the value of {e}.",
    "{e} = ?",
    "How much is {e}?",
    "Work out {e}.",
    "What does {e} equal?",
]


def _render(node: Node, rng: random.Random, parent_op: Optional[str] = None, is_right: bool = False) -> str:
    if isinstance(node, Num):
        return str(node.value)
    left = _render(node.left, rng, node.op, False)
    right = _render(node.right, rng, node.op, True)
    sp = " " if rng.random() < 0.5 else ""
    text = f"{left}{sp}{node.op}{sp}{right}"
    if _needs_parens(node.op, parent_op, is_right):
        text = f"({text})"
    return text


def _needs_parens(op: str, parent_op: Optional[str], is_right: bool) -> bool:
    if parent_op is None:
        return False
    prec = {"+": 1, "-": 1, "*": 2}
    # Right operands of equal precedence keep their parentheses so the parse gives back this tree.
    return prec[op] < prec[parent_op] or (is_right and prec[op] == prec[parent_op])


def _valid(node: Node) -> bool:
    """Non-negative intermediates and 3x2-digit multiplications everywhere."""
    if isinstance(node, Num):
        return True
    if not (_valid(node.left) and _valid(node.right)):
        return False
    a, b = evaluate(node.left), evaluate(node.right)
    if node.op == "-" and a - b < 0:
        return False
    if node.op == "*":
        small, big = min(a, b), max(a, b)
        if small > MAX_SMALL_FACTOR or big > MAX_OPERAND:
            return False
    return True


def _random_operand(rng: random.Random) -> int:
    digits = rng.choices([1, 2, 3], weights=[2, 3, 4])[0]
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits - 1)


def _random_tree(rng: random.Random, n_ops: int) -> Node:
    if n_ops == 0:
        return Num(_random_operand(rng))
    left_ops = rng.randint(0, n_ops - 1)
    op = rng.choices(OPS, weights=[4, 3, 3])[0]
    return BinOp(op, _random_tree(rng, left_ops), _random_tree(rng, n_ops - 1 - left_ops))


def _shrink_factors(node: Node, rng: random.Random) -> Node:
    """Bias multiplication operands towards small factors so valid trees are common."""
    if isinstance(node, Num):
        return node
    left, right = _shrink_factors(node.left, rng), _shrink_factors(node.right, rng)
    if node.op == "*":
        side = rng.random() < 0.5
        small = right if side else left
        if isinstance(small, Num) and small.value > MAX_SMALL_FACTOR:
            small = Num(rng.randint(2, MAX_SMALL_FACTOR))
            left, right = (left, small) if side else (small, right)
    return BinOp(node.op, left, right)


def random_expression(rng: random.Random, n_ops: Optional[int] = None) -> str:
    """A random valid expression string of 2-4 operations (OP_COUNTS)."""
    while True:
        ops = n_ops if n_ops is not None else rng.choice(OP_COUNTS)
        tree = _shrink_factors(_random_tree(rng, ops), rng)
        if _valid(tree):
            return _render(tree, rng)


def random_problem(rng: random.Random, n_ops: Optional[int] = None) -> str:
    return rng.choice(TEMPLATES).format(e=random_expression(rng, n_ops))


def is_heldout(expression: str) -> bool:
    """A fixed 1-in-50 split by a stable hash of the expression without spaces."""
    key = expression.replace(" ", "")
    h = 2166136261
    for ch in key.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h % 50 == 0


def problem_features(problem: str) -> dict:
    expr = extract_expression(problem)
    node = parse_expression(expr)
    return {"ops": count_ops(node), "mul": "*" in expr or "×" in expr, "parens": "(" in expr}
