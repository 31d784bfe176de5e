"""The problems CASPO aligns on: the kinds of problem the pipeline can draw (``--pool``), their mix, and the
training problems drawn from it (never a held-out or evaluation problem)."""
from __future__ import annotations

import random
from pathlib import Path
from typing import List

from .arith import OP_COUNTS, TEMPLATES, extract_expression, is_heldout, random_expression, verify_solution
from .data import read_jsonl
from .hard import bigmul_expression, edge_expression, ops5_expression

DATA = Path(__file__).resolve().parent.parent / "data"
EVAL_SPLITS = ("heldout.jsonl", "calibration.jsonl", "hard.jsonl")

# The problem kinds the pipeline can sample from, by name.
GENERATORS = {
    "in_domain": lambda rng: random_expression(rng),
    "ops5": ops5_expression,
    "edge": lambda rng: edge_expression(rng, heldout=False),
    "bigmul": bigmul_expression,
}
# The most operations of a problem of each kind (arith.py: 2-4 in-domain; hard.py: edge 3-4, bigmul 2-3).
KIND_MAX_OPERATIONS = {"in_domain": max(OP_COUNTS), "ops5": 5, "edge": 4, "bigmul": 3}


def pool_max_operations(pool: tuple) -> int:
    """The most operations of the problems a model aligned on ``pool`` has seen (its SFT problems' at least):
    its config.json's ``caspo_max_operations``."""
    return max([max(OP_COUNTS)] + [KIND_MAX_OPERATIONS[kind] for kind, _, _ in pool])


# (kind, generator, share of the pool): the default mix (v15: sweep 14's run y, docs/caspo/runs.md): half
# in-domain, so that each iteration samples, and pairs up, the in-domain mistakes the previous one made, and
# half five-operation problems. The edge products (80-99 x 800-999) of v11-v13 are left out: with them the
# in-domain products slipped by exactly 100 or 1,000 (v14); without them the hard split, which has edge
# products, gained as much.
POOL = (
    ("in_domain", GENERATORS["in_domain"], 0.5),
    ("ops5", GENERATORS["ops5"], 0.5),
)


def parse_pool(text: str) -> tuple:
    """``"in_domain=.3,ops5=.3,edge=.25,bigmul=.15"`` -> a POOL-shaped tuple; shares must sum to 1."""
    pool = []
    for part in text.split(","):
        name, sep, share = part.strip().partition("=")
        if not sep or name not in GENERATORS:
            raise ValueError(f"--pool: {part.strip()!r} is not KIND=SHARE with KIND one of {', '.join(GENERATORS)}")
        try:
            value = float(share)
        except ValueError:
            raise ValueError(f"--pool: the share of {name} ({share!r}) is not a number") from None
        if not 0 < value <= 1:
            raise ValueError(f"--pool: the share of {name} must be in (0, 1], got {value}")
        pool.append((name, GENERATORS[name], value))
    total = sum(share for _, _, share in pool)
    if abs(total - 1) > 1e-6:
        raise ValueError(f"--pool: the shares sum to {total:g}, not 1")
    return tuple(pool)


def pool_text(pool: tuple) -> str:
    return ",".join(f"{kind}={share:g}" for kind, _, share in pool)


def _excluded() -> set:
    out = set()
    for name in EVAL_SPLITS:
        path = DATA / name
        if path.exists():
            out.update(extract_expression(r["problem"]).replace(" ", "") for r in read_jsonl(path))
    return out


def training_problems(n: int, seed: int, pool: tuple = POOL) -> List[dict]:
    """``n`` problems of the pool's mix, none in the held-out hash space or an evaluation file."""
    rng = random.Random(seed)
    excluded = _excluded()
    counts = [int(n * share) for _, _, share in pool]
    for i in range(n - sum(counts)):  # the remainder goes to the kinds in order
        counts[i % len(pool)] += 1
    rows: List[dict] = []
    seen = set()
    for (kind, make, _), target in zip(pool, counts):
        count = 0
        while count < target:
            expression = make(rng)
            key = expression.replace(" ", "")
            if key in seen or key in excluded or is_heldout(key):
                continue
            seen.add(key)
            problem = rng.choice(TEMPLATES).format(e=expression)
            rows.append({"problem": problem, "answer": str(_value(problem)), "kind": kind})
            count += 1
    rng.shuffle(rows)
    return rows[:n]


def _value(problem: str) -> int:
    return verify_solution(problem, "").expected
