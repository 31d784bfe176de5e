"""Write the fixed evaluation splits (both drawn from the held-out hash space, disjoint by problem).

    python3 -m caspo_train.splits            # rewrites data/heldout.jsonl and data/calibration.jsonl

The calibration split is what every model's caspo.json is fitted on (``caspo calibrate``): 2,000 problems, so the
Platt maps and the choice of default metric rest on a hundred or more wrong steps, not on ten (docs/caspo/runs.md,
v19). Its first 300 rows are the 300 it had before: the generator is sequential.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from .data import HELDOUT_SEED, heldout_problems, read_jsonl, write_jsonl

CALIBRATION_SEED = 7
CALIBRATION_PROBLEMS = 2000
DATA = Path(__file__).resolve().parent.parent / "data"


def evaluation_splits(hard_rows: List[dict]) -> Tuple[List[dict], List[dict]]:
    """The held-out and calibration splits; calibration leaves out every held-out and ``hard_rows`` problem."""
    heldout = heldout_problems(500, seed=HELDOUT_SEED)
    taken = {r["problem"] for r in heldout} | {r["problem"] for r in hard_rows}
    drawn = heldout_problems(CALIBRATION_PROBLEMS + CALIBRATION_PROBLEMS // 4, seed=CALIBRATION_SEED)
    return heldout, [r for r in drawn if r["problem"] not in taken][:CALIBRATION_PROBLEMS]


def main() -> None:
    hard = DATA / "hard.jsonl"  # its edge problems come from the held-out hash space too
    heldout, calibration = evaluation_splits(read_jsonl(hard) if hard.exists() else [])
    write_jsonl(heldout, DATA / "heldout.jsonl")
    write_jsonl(calibration, DATA / "calibration.jsonl")
    print(f"wrote {len(heldout)} held-out and {len(calibration)} calibration problems to {DATA}")


if __name__ == "__main__":
    main()
