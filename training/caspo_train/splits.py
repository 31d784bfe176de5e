"""Write the fixed evaluation splits (both drawn from the held-out hash space, disjoint by problem).

    python3 -m caspo_train.splits            # rewrites data/heldout.jsonl and data/calibration.jsonl
"""
from __future__ import annotations

from pathlib import Path

from .data import HELDOUT_SEED, heldout_problems, write_jsonl

CALIBRATION_SEED = 7
DATA = Path(__file__).resolve().parent.parent / "data"


def main() -> None:
    heldout = heldout_problems(500, seed=HELDOUT_SEED)
    taken = {r["problem"] for r in heldout}
    calibration = [r for r in heldout_problems(400, seed=CALIBRATION_SEED) if r["problem"] not in taken][:300]
    write_jsonl(heldout, DATA / "heldout.jsonl")
    write_jsonl(calibration, DATA / "calibration.jsonl")
    print(f"wrote {len(heldout)} held-out and {len(calibration)} calibration problems to {DATA}")


if __name__ == "__main__":
    main()
