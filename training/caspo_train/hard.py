"""A harder evaluation set, outside the SFT model's training distribution (it writes data/hard.jsonl).

    python3 -m caspo_train.hard            # from training/: 200 problems, seed 20261127

Three kinds, each row with its exact answer:
- ``edge`` (100): inside the training domain but at its hard corner: 3-4 operations, and every product
  of two numbers has a two-digit factor of 80-99 and a three-digit one of 800-999. Only expressions
  in the held-out hash space (``is_heldout``), so the model never trained on them. The SFT model is
  unsure here and sometimes wrong: the set where decoding strategies can differ;
- ``ops5`` (50): five operations (training has 2-4), otherwise the training rules (operands up to
  three digits, a factor of at most two digits in every product, non-negative intermediates). The
  model writes four steps and a confident wrong answer;
- ``bigmul`` (50): 2-3 operations where one product has BOTH factors of three digits (training keeps
  one factor at two digits or fewer). The model is wrong and mostly knows it (low step confidence).

Only ``arith.py`` is used (the expression trees, the renderer and the evaluator), so no torch is
needed. Every row is checked by parsing its problem text back: the expression evaluates to the stored
answer and the canonical solution is verified correct by ``verify_solution``.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import List, Optional

from .arith import (
    MAX_OPERAND, TEMPLATES, BinOp, Node, Num, _random_tree, _render, _shrink_factors, _valid, count_ops, evaluate,
    extract_expression, is_heldout, parse_expression, problem_features, solution_text, verify_solution,
)

HARD_SEED = 20261127
DATA = Path(__file__).resolve().parent.parent / "data"


def _products(node: Node) -> List[BinOp]:
    if isinstance(node, Num):
        return []
    own = [node] if node.op == "*" else []
    return own + _products(node.left) + _products(node.right)


def _non_negative(node: Node) -> bool:
    if isinstance(node, Num):
        return True
    if not (_non_negative(node.left) and _non_negative(node.right)):
        return False
    return node.op != "-" or evaluate(node.left) >= evaluate(node.right)


def ops5_expression(rng: random.Random) -> str:
    """Five operations under the training rules."""
    while True:
        tree = _shrink_factors(_random_tree(rng, 5), rng)
        if _valid(tree):
            return _render(tree, rng)


def edge_expression(rng: random.Random, heldout: bool = True) -> str:
    """3-4 operations, products of 80-99 by 800-999, under the training rules; by default only in the
    held-out hash space (``heldout=False``: only outside it, for training problems)."""
    while True:
        tree = _random_tree(rng, rng.choice([3, 4]))
        products = [p for p in _products(tree) if isinstance(p.left, Num) and isinstance(p.right, Num)]
        if not products:
            continue
        for product in products:
            small, big = Num(rng.randint(80, 99)), Num(rng.randint(800, 999))
            product.left, product.right = (small, big) if rng.random() < 0.5 else (big, small)
        if not _valid(tree):
            continue
        expression = _render(tree, rng)
        if is_heldout(extract_expression(expression)) == heldout:
            return expression


def _with_big_product(rng: random.Random, n_ops: int) -> Optional[Node]:
    tree = _random_tree(rng, n_ops)
    # Only a product of two numbers: replacing a subtree would lose operations.
    products = [p for p in _products(tree) if isinstance(p.left, Num) and isinstance(p.right, Num)]
    if not products:
        return None
    target = rng.choice(products)
    target.left, target.right = Num(rng.randint(100, MAX_OPERAND)), Num(rng.randint(100, MAX_OPERAND))
    return tree


def bigmul_expression(rng: random.Random) -> str:
    """2-3 operations, one product of two three-digit numbers, non-negative intermediates."""
    while True:
        tree = _with_big_product(rng, rng.choice([2, 3]))
        if tree is not None and _non_negative(tree):
            return _render(tree, rng)


KINDS = (("edge", edge_expression, 100), ("ops5", ops5_expression, 50), ("bigmul", bigmul_expression, 50))


def hard_problems(scale: float = 1.0, seed: int = HARD_SEED) -> List[dict]:
    """``scale`` multiplies every kind's count (1.0: 100 edge, 50 ops5, 50 bigmul)."""
    rng = random.Random(seed)
    rows: List[dict] = []
    seen = set()
    for kind, make, base_count in KINDS:
        count = 0
        while count < round(base_count * scale):
            expression = make(rng)
            problem = rng.choice(TEMPLATES).format(e=expression)
            if problem in seen:
                continue
            seen.add(problem)
            node = parse_expression(extract_expression(problem))
            answer = evaluate(node)
            verdict = verify_solution(problem, solution_text(extract_expression(problem)))
            if not verdict.answer_correct or verdict.first_error is not None:
                raise AssertionError(f"canonical solution of {problem!r} does not verify")
            row = {"problem": problem, "answer": str(answer), "kind": kind}
            row.update(problem_features(problem))
            assert row["ops"] == count_ops(node)
            rows.append(row)
            count += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every kind's count")
    parser.add_argument("--seed", type=int, default=HARD_SEED)
    parser.add_argument("--out", type=Path, default=DATA / "hard.jsonl")
    args = parser.parse_args()
    rows = hard_problems(args.scale, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} problems to {args.out}")


if __name__ == "__main__":
    main()
