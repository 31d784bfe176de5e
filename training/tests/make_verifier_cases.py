"""Build test/fixtures/verifier-cases.json: the shared truth for the Python verifier and its
TypeScript port (language-server/src/verify/arithmetic.ts). Every expected value below comes from
running caspo_train.arith, never from hand.

    /usr/bin/python3 training/tests/make_verifier_cases.py        # rewrite the file
    /usr/bin/python3 training/tests/make_verifier_cases.py --check  # exit 1 if it is stale
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

from caspo_train.arith import (  # noqa: E402
    evaluate, extract_expression, parse_expression, problem_features, random_problem, solution_text,
    verify_solution,
)

FIXTURE = ROOT / "test" / "fixtures" / "verifier-cases.json"

# (name, problem, solution)
CASES: List[Tuple[str, str, str]] = [
    ("right: precedence", "What is 12 + 7*3?", "7 * 3 = 21\n12 + 21 = 33\nAnswer: 33"),
    ("right: left to right with minus", "20 - 5 + 3", "20 - 5 = 15\n15 + 3 = 18\nAnswer: 18"),
    ("right: parentheses", "Compute (20 - 5) * 3.", "20 - 5 = 15\n15 * 3 = 45\nAnswer: 45"),
    ("right: nested parentheses, 4 ops", "Evaluate ((1 + 2) * 3 - 4) * 5.",
     "1 + 2 = 3\n3 * 3 = 9\n9 - 4 = 5\n5 * 5 = 25\nAnswer: 25"),
    ("right: right operand in parentheses", "100 - (40 - 15)", "40 - 15 = 25\n100 - 25 = 75\nAnswer: 75"),
    ("right: two products, second one first", "6*7 + 8*9", "8 * 9 = 72\n6 * 7 = 42\n42 + 72 = 114\nAnswer: 114"),
    ("right: commuted + and *", "3 * 7 + 12", "7 * 3 = 21\n12 + 21 = 33\nAnswer: 33"),
    ("commuted minus is wrong", "20 - 5", "5 - 20 = -15\nAnswer: -15"),
    ("arithmetic slip, carried value", "What is 12 + 7*3?", "7 * 3 = 22\n12 + 22 = 34\nAnswer: 34"),
    ("arithmetic slip in the last step", "12 + 7*3", "7 * 3 = 21\n12 + 21 = 32\nAnswer: 32"),
    ("precedence ignored", "12 + 7*3", "12 + 7 = 19\n19 * 3 = 57\nAnswer: 57"),
    ("right-to-left order for minus", "20 - 5 + 3", "5 + 3 = 8\n20 - 8 = 12\nAnswer: 12"),
    ("operands not in the problem", "12 + 7*3", "7 * 4 = 28\n12 + 28 = 40\nAnswer: 40"),
    ("ready op of the wrong operator", "12 + 7*3", "7 + 3 = 10\n12 + 10 = 22\nAnswer: 22"),
    ("operation inside parentheses skipped", "2 * (3 + 4)", "2 * 3 = 6\n6 + 4 = 10\nAnswer: 10"),
    ("words around: Find the value of", "Find the value of 4 + 5 * 6.", "5 * 6 = 30\n4 + 30 = 34\nAnswer: 34"),
    ("words around: = ?", "9*9 - 1 = ?", "9 * 9 = 81\n81 - 1 = 80\nAnswer: 80"),
    ("words around: equal-length expressions, first wins", "Compute 1+2 or 3+4", "1 + 2 = 3\nAnswer: 3"),
    ("words around: year before the expression", "In 2024, what is 15 - 3*4?", "3 * 4 = 12\n15 - 12 = 3\nAnswer: 3"),
    ("x alone as the operator (problem_features: mul is false)", "What is 6 x 7 + 1?",
     "6 x 7 = 42\n42 + 1 = 43\nAnswer: 43"),
    ("× and x operators", "How much is 6 × 7 - 2 x 3?", "6 x 7 = 42\n2 × 3 = 6\n42 - 6 = 36\nAnswer: 36"),
    ("malformed line in the middle", "12 + 7*3", "Let me think.\n7 * 3 = 21\n12 + 21 = 33\nAnswer: 33"),
    ("step written in words", "12 + 7*3", "7 * 3 is 21\n12 + 21 = 33\nAnswer: 33"),
    ("missing answer line", "12 + 7*3", "7 * 3 = 21\n12 + 21 = 33"),
    ("empty solution", "12 + 7*3", ""),
    ("answer before the expression is reduced (right value)", "12 + 7*3", "7 * 3 = 21\nAnswer: 33"),
    ("answer before the expression is reduced (wrong value)", "12 + 7*3", "7 * 3 = 21\nAnswer: 21"),
    ("answer differs from the expression", "12 + 7*3", "7 * 3 = 21\n12 + 21 = 33\nAnswer: 34"),
    ("right answer after a slip: differs from the last result", "12 + 7*3",
     "7 * 3 = 22\n12 + 22 = 34\nAnswer: 33"),
    ("lines after the answer are ignored", "12 + 7*3", "7 * 3 = 21\n12 + 21 = 33\nAnswer: 33\n1 + 1 = 3\nDone."),
    ("lowercase answer is not an answer line", "12 + 7*3", "7 * 3 = 21\n12 + 21 = 33\nanswer: 33"),
    ("trailing periods, blank lines, CRLF", "12 + 7*3", "\n7 * 3 = 21.\r\n\r\n  12 + 21 = 33 \r\nAnswer: 33.\r\n"),
    ("spacing variants", "12+7*3", "7*3=21\n12 +21=  33\nAnswer:33"),
    ("negative intermediate carried", "3 - 5 + 10", "3 - 5 = -2\n-2 + 10 = 8\nAnswer: 8"),
    ("negative answer", "3 - 5", "3 - 5 = -2\nAnswer: -2"),
    ("duplicate ready operations: leftmost taken", "3*4 + 4*3", "4 * 3 = 12\n3 * 4 = 12\n12 + 12 = 24\nAnswer: 24"),
    ("step after the expression is reduced", "2 + 3", "2 + 3 = 5\n5 + 0 = 5\nAnswer: 5"),
    ("Unicode digits (Arabic-Indic, fullwidth)", "What is ٣ + ٤*2?", "٤ * ２ = 8\n3 + 8 = ١١\nAnswer: ١١"),
    ("Python whitespace: no-break space, \\x1c, \\x85", "12\u00a0+ 7*3", "7\u00a0*\u00a03 = 21\u001c\n12 + 21 = 33\u0085\nAnswer: 33"),
    ("\\ufeff is not whitespace in Python", "12 + 7*3", "\ufeff7 * 3 = 21\n12 + 21 = 33\nAnswer: 33"),
    ("numbers past 2^53 are exact", "9007199254740992 + 1",
     "9007199254740992 + 1 = 9007199254740992\nAnswer: 9007199254740992"),
    ("numbers past 2^53, right", "9007199254740992 + 1 * 3",
     "1 * 3 = 3\n9007199254740992 + 3 = 9007199254740995\nAnswer: 9007199254740995"),
]

# Problems the verifier must reject (both languages throw).
INVALID_PROBLEMS = [
    "What is the answer?",
    "",
    "Compute 12.",
    "2 + + 3",
    "Evaluate (2 + 3 please",
    "12 ) + 3",
    "What is 10/2 + 3?",
    "2^10 + 3",
    "50% of 20 + 3",
    "1.5 + 2*3",
    "8 ÷ 2 + 1",
    "+".join(["1"] * 501),
]


def generated_cases(n: int = 8, seed: int = 7) -> List[Tuple[str, str, str]]:
    """Generator problems with their canonical solutions, and the same with one result changed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        problem = random_problem(rng)
        solution = solution_text(extract_expression(problem))
        if i % 2:
            lines = solution.split("\n")
            k = rng.randrange(len(lines) - 1)
            left, result = lines[k].rsplit(" = ", 1)
            lines[k] = f"{left} = {int(result) + rng.choice([-10, -1, 1, 2])}"
            solution = "\n".join(lines)
            out.append((f"generated {i}: slip in step {k}", problem, solution))
        else:
            out.append((f"generated {i}: canonical", problem, solution))
    return out


def expected_for(problem: str, solution: str) -> dict:
    v = verify_solution(problem, solution)
    return {
        "answer": v.answer,
        "answerCorrect": v.answer_correct,
        "firstError": v.first_error,
        "correct": [s.correct for s in v.steps],
        "arithmeticOk": [s.arithmetic_ok for s in v.steps],
        "operandsOk": [s.operands_ok for s in v.steps],
        "texts": [s.text for s in v.steps],
        "reasons": [s.reason for s in v.steps],
        "value": evaluate(parse_expression(extract_expression(problem))),
        "features": problem_features(problem),
    }


def build() -> dict:
    cases = [{"name": name, "problem": problem, "solution": solution, "expected": expected_for(problem, solution)}
             for name, problem, solution in CASES + generated_cases()]
    invalid = []
    for problem in INVALID_PROBLEMS:
        try:
            verify_solution(problem, "Answer: 0")
        except ValueError as err:
            invalid.append({"problem": problem, "pythonError": str(err)})
        else:
            raise AssertionError(f"expected {problem!r} to be rejected")
    return {
        "about": "Generated by training/tests/make_verifier_cases.py from caspo_train.arith; do not edit by hand.",
        "cases": cases,
        "invalidProblems": invalid,
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not FIXTURE.exists() or FIXTURE.read_text(encoding="utf-8") != text:
            print(f"{FIXTURE} is stale: run {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(text, encoding="utf-8")
    print(f"wrote {len(build()['cases'])} cases to {FIXTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
