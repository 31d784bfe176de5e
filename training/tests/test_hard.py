"""The hard evaluation set (caspo_train.hard): its kinds hold what they claim, and data/hard.jsonl is its output."""
from __future__ import annotations

import json
from pathlib import Path

from caspo_train.arith import Num, count_ops, evaluate, extract_expression, is_heldout, parse_expression
from caspo_train.hard import HARD_SEED, KINDS, hard_problems

DATA = Path(__file__).resolve().parents[1] / "data" / "hard.jsonl"


def _products(node):
    if isinstance(node, Num):
        return []
    own = [node] if node.op == "*" else []
    return own + _products(node.left) + _products(node.right)


def _intermediates(node):
    if isinstance(node, Num):
        return []
    return _intermediates(node.left) + _intermediates(node.right) + [evaluate(node)]


def test_kinds_counts_and_answers():
    rows = hard_problems(scale=0.2)
    assert [r["kind"] for r in rows] == [k for k, _, n in KINDS for _ in range(round(n * 0.2))]
    assert len({r["problem"] for r in rows}) == len(rows)
    for row in rows:
        expression = extract_expression(row["problem"])
        node = parse_expression(expression)
        # Python's own evaluator is the oracle for the answer.
        assert int(row["answer"]) == eval(expression.replace("×", "*").replace("x", "*")) == evaluate(node)
        assert row["ops"] == count_ops(node)
        assert all(value >= 0 for value in _intermediates(node))
        leaf_products = [p for p in _products(node) if isinstance(p.left, Num) and isinstance(p.right, Num)]
        if row["kind"] == "edge":
            assert row["ops"] in (3, 4) and is_heldout(expression)
            assert leaf_products and all(
                sorted([p.left.value, p.right.value])[0] in range(80, 100) and sorted([p.left.value, p.right.value])[1] in range(800, 1000)
                for p in leaf_products
            )
        elif row["kind"] == "ops5":
            assert row["ops"] == 5
            assert all(min(evaluate(p.left), evaluate(p.right)) <= 99 for p in _products(node))
        else:
            assert row["kind"] == "bigmul" and row["ops"] in (2, 3)
            assert any(p.left.value >= 100 and p.right.value >= 100 for p in leaf_products)


def test_committed_file_is_the_generator_output():
    committed = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    assert committed == hard_problems(1.0, HARD_SEED)
