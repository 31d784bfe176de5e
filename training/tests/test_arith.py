"""The arithmetic generator, the step verifier, the held-out split and the byte tokenizer.

Generator properties are checked against an independent oracle (Python's own `eval` on the
expression), not against the module's helpers.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from caspo_train import tokenizer as tok
from caspo_train.arith import (
    TEMPLATES, BinOp, Num, count_ops, evaluate, extract_expression, is_heldout, parse_expression,
    problem_features, random_problem, solution_text, verify_solution,
)
from caspo_train.data import HELDOUT_SEED, heldout_problems, read_jsonl, training_example

import make_verifier_cases

TRAINING = Path(__file__).resolve().parents[1]
N_PROBLEMS = 3000


@pytest.fixture(scope="module")
def problems():
    rng = random.Random(1234)
    return [random_problem(rng) for _ in range(N_PROBLEMS)]


def _subtrees(node):
    yield node
    if isinstance(node, BinOp):
        yield from _subtrees(node.left)
        yield from _subtrees(node.right)


def _python_value(expr: str) -> int:
    assert re.fullmatch(r"[\d\s()+\-*]+", expr), expr  # only then is eval safe and meaningful
    return eval(expr, {"__builtins__": {}})  # noqa: S307 — an independent precedence oracle


# --- generator ------------------------------------------------------------------------------


def test_generator_shape(problems):
    seen_ops, templates_seen = set(), set()
    for problem in problems:
        expr = extract_expression(problem)
        n_ops = len(re.findall(r"[-+*]", expr))
        assert 2 <= n_ops <= 4, problem
        assert count_ops(parse_expression(expr)) == n_ops
        seen_ops.add(n_ops)
        assert all(int(n) <= 999 for n in re.findall(r"\d+", expr)), problem
        assert not re.search(r"(?<!\d)0\d", expr), f"leading zero in {problem!r}"
        templates_seen.update(t for t in TEMPLATES if t.format(e=expr) == problem)
    assert seen_ops == {2, 3, 4}
    assert templates_seen == set(TEMPLATES)
    assert any("(" in extract_expression(p) for p in problems)
    assert any("*" in extract_expression(p) for p in problems)


def test_parser_agrees_with_python_eval(problems):
    for problem in problems:
        expr = extract_expression(problem)
        assert evaluate(parse_expression(expr)) == _python_value(expr), expr


def test_multiplication_factors_and_nonnegative_intermediates(problems):
    products = 0
    for problem in problems:
        for node in _subtrees(parse_expression(extract_expression(problem))):
            value = evaluate(node)
            assert value >= 0, f"negative intermediate {value} in {problem!r}"
            if isinstance(node, BinOp) and node.op == "*":
                products += 1
                a, b = evaluate(node.left), evaluate(node.right)
                assert min(a, b) <= 99 and max(a, b) <= 999, f"{a} * {b} in {problem!r}"
    assert products > N_PROBLEMS // 2


def test_canonical_solution_verifies_and_answers_the_value(problems):
    for problem in problems:
        expr = extract_expression(problem)
        solution = solution_text(expr)
        lines = solution.split("\n")
        value = _python_value(expr)
        assert lines[-1] == f"Answer: {value}"
        assert len(lines) == count_ops(parse_expression(expr)) + 1
        verdict = verify_solution(problem, solution)
        assert verdict.first_error is None, (problem, solution, verdict)
        assert all(s.correct and s.arithmetic_ok and s.operands_ok for s in verdict.steps)
        assert verdict.answer == verdict.expected == value
        assert verdict.answer_correct


WORDS = ["{e}", "  {e}  ", "Please compute {e} for me.", "Q: {e}?", "In 2024 someone asked: {e} = ?",
         "{e}\nShow your steps.", "Evaluate:\n{e}"]


def test_words_around_the_expression(problems):
    for problem in problems[:500]:
        expr = extract_expression(problem)
        canonical = verify_solution(expr, solution_text(expr))
        for template in TEMPLATES + WORDS:
            worded = template.format(e=expr)
            assert extract_expression(worded) == expr, worded
            assert verify_solution(worded, solution_text(expr)) == canonical
            assert problem_features(worded) == problem_features(expr)


# --- held-out split -------------------------------------------------------------------------


def _fnv1a_32(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) % 2**32
    return h


def test_heldout_hash_is_stable_and_ignores_spaces(problems):
    exprs = {extract_expression(p) for p in problems}
    for expr in exprs:
        assert is_heldout(expr) == (_fnv1a_32(expr.replace(" ", "")) % 50 == 0)
        assert is_heldout(expr) == is_heldout(expr.replace(" ", "")) == is_heldout(" ".join(expr))
    share = sum(map(is_heldout, exprs)) / len(exprs)
    assert 0.005 < share < 0.04, share


def test_heldout_file_is_reproducible():
    rows = read_jsonl(TRAINING / "data" / "heldout.jsonl")
    assert rows == heldout_problems(len(rows), seed=HELDOUT_SEED)
    assert all(is_heldout(extract_expression(r["problem"])) for r in rows)
    assert all(r["answer"] == str(_python_value(extract_expression(r["problem"]))) for r in rows)


def test_training_examples_never_use_heldout_expressions():
    heldout = {extract_expression(r["problem"]).replace(" ", "") for r in read_jsonl(TRAINING / "data" / "heldout.jsonl")}
    rng = random.Random(99)
    for _ in range(2000):
        ids, prompt_len = training_example(rng)
        prompt = tok.decode(ids[:prompt_len])
        assert prompt.startswith(tok.PROMPT_PREFIX) and prompt.endswith(tok.PROMPT_SUFFIX)
        problem = prompt[len(tok.PROMPT_PREFIX):-len(tok.PROMPT_SUFFIX)]
        expr = extract_expression(problem)
        assert not is_heldout(expr), problem
        assert expr.replace(" ", "") not in heldout
        assert tok.decode(ids[prompt_len:-1]) == solution_text(expr)
        assert ids[0] == tok.BOS_ID and ids[-1] == tok.EOS_ID


# --- verifier on the shared cases (the truth the TypeScript port is tested against) ----------

# Written by hand from the verifier's documented rules, independently of the generated file.
HAND_CHECKED = {
    "right: commuted + and *": (None, True),
    "commuted minus is wrong": (0, False),
    "arithmetic slip, carried value": (0, False),
    "precedence ignored": (0, False),
    "right-to-left order for minus": (0, False),
    "operands not in the problem": (0, False),
    "malformed line in the middle": (0, True),
    "missing answer line": (None, False),
    "answer before the expression is reduced (right value)": (1, True),
    "answer differs from the expression": (2, False),
    "lines after the answer are ignored": (None, True),
    "Unicode digits (Arabic-Indic, fullwidth)": (None, True),
}


def test_shared_cases_file_is_fresh():
    fixture = make_verifier_cases.FIXTURE
    assert fixture.read_text(encoding="utf-8") == make_verifier_cases.render(), (
        f"{fixture} is stale: run /usr/bin/python3 training/tests/make_verifier_cases.py")


def test_shared_cases_agree_with_the_verifier_and_by_hand():
    data = json.loads(make_verifier_cases.FIXTURE.read_text(encoding="utf-8"))
    assert len(data["cases"]) >= 25
    names = {c["name"] for c in data["cases"]}
    assert set(HAND_CHECKED) <= names
    for case in data["cases"]:
        verdict = verify_solution(case["problem"], case["solution"])
        exp = case["expected"]
        assert [s.correct for s in verdict.steps] == exp["correct"], case["name"]
        assert (verdict.answer, verdict.answer_correct, verdict.first_error) == (
            exp["answer"], exp["answerCorrect"], exp["firstError"]), case["name"]
        if case["name"].startswith("right:"):
            assert all(exp["correct"]) and exp["firstError"] is None and exp["answerCorrect"]
        if case["name"] in HAND_CHECKED:
            assert (exp["firstError"], exp["answerCorrect"]) == HAND_CHECKED[case["name"]], case["name"]
    for row in data["invalidProblems"]:
        with pytest.raises(ValueError):
            verify_solution(row["problem"], "Answer: 0")


def test_verifier_carries_the_models_value():
    verdict = verify_solution("12 + 7*3", "7 * 3 = 22\n12 + 22 = 34\nAnswer: 34")
    assert [(s.arithmetic_ok, s.operands_ok) for s in verdict.steps] == [(False, True), (True, True), (True, True)]
    assert verdict.steps[2].correct and not verdict.answer_correct  # copies the carried value; answer still wrong
    assert verdict.steps[0].reason == "7 * 3 is 21, not 22"
    assert verdict.expected == 33 and verdict.answer == 34


# --- tokenizer ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "12 + 7*3 = 33\nAnswer: 33", "6 × 7 — ∑ 🙂 é", "\x00\x7f"])
def test_tokenizer_round_trip(text):
    ids = tok.encode(text)
    assert all(0 <= i < 256 for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode([tok.BOS_ID] + ids + [tok.EOS_ID, tok.PAD_ID]) == text


def test_prompt_ids():
    ids = tok.prompt_ids("  What is 2+3?\n")
    assert ids[0] == tok.BOS_ID and tok.BOS_ID not in ids[1:]
    assert tok.decode(ids) == "Problem: What is 2+3?\nSolution:\n"
    assert ids[1:] == list(b"Problem: What is 2+3?\nSolution:\n")


def test_tokenizer_json_is_a_byte_vocabulary():
    table = tok.bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    spec = tok.tokenizer_json()
    assert sorted(spec["model"]["vocab"].values()) == list(range(256))
    assert {t["content"]: t["id"] for t in spec["added_tokens"]} == {tok.PAD: 256, tok.BOS: 257, tok.EOS: 258}
    assert tok.VOCAB_SIZE == 259
    shipped = TRAINING.parent / "models" / "caspo-arith-sft" / "tokenizer.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == spec
