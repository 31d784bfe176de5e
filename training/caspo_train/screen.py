"""Screen checkpoints in PyTorch on fresh draws of the evaluation kinds: problems no split, no
training run and no earlier choice has seen, to check that a setting picked on the held-out and hard
splits keeps its numbers on new problems (docs/caspo/runs.md, v10/v11).

    # from training/: 1,000 in-domain problems from the held-out hash space and 400 hard ones (seed 1)
    python3 -m caspo_train.screen --seed 1 checkpoints/caspo-arith-sft.pt runs/caspo-arith/iter2/model.pt ...

For each state dict: greedy exact-answer accuracy, and raw step ECE (10 bins) and AUROC of minProb and
geoMeanProb against the verifier's step labels (``align.step_report``). Both draws exclude every
problem of data/{heldout,calibration,hard}.jsonl; the in-domain draw comes from the held-out hash
space (never trained on), the hard draw from ``hard.hard_problems`` with another seed.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from pathlib import Path

import torch

from .align import DATA, EVAL_SPLITS, step_report
from .data import heldout_problems, read_jsonl
from .hard import HARD_SEED, hard_problems
from .model import CausalLM
from .sft import SIZES


def fresh_splits(seed: int, in_domain: int, hard_scale: float) -> dict:
    taken = {r["problem"] for name in EVAL_SPLITS if (DATA / name).exists() for r in read_jsonl(DATA / name)}
    # seeds none of the committed splits used (held-out 20261126, calibration 7, hard 20261127)
    domain = [r for r in heldout_problems(in_domain + 200, seed=1_000_003 + seed) if r["problem"] not in taken]
    hard = [r for r in hard_problems(hard_scale, seed=HARD_SEED + 1_000 + seed) if r["problem"] not in taken]
    return {"in_domain": domain[:in_domain], "hard": hard}


def load_model(state: dict, size: str, device) -> CausalLM:
    """A model of SIZES[size] with ``state``'s weights on ``device``, in eval mode."""
    model = CausalLM(SIZES[size])
    model.load_state_dict(state)
    return model.to(device).eval()


def screen_model(model: CausalLM, splits: dict) -> dict:
    """``step_report`` of ``model`` on every split of ``fresh_splits``, with the wall time."""
    start = time.time()
    row = {name: step_report(model, rows) for name, rows in splits.items()}
    row["wall_s"] = round(time.time() - start, 1)
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="state dicts (model.pt) of the small model")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--in-domain", type=int, default=1000)
    ap.add_argument("--hard-scale", type=float, default=2.0, help="hard problems: 200 x this")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--out", default=None, help="also write the report as JSON here")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the greedy decoding runs")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: PyTorch sees no CUDA GPU here (torch.cuda.is_available() is false); use --device cpu")
    torch.set_num_threads(2)
    splits = fresh_splits(args.seed, args.in_domain, args.hard_scale)
    report = {"seed": args.seed, "problems": {k: len(v) for k, v in splits.items()}, "models": {}}
    print(json.dumps(report["problems"]), flush=True)
    for path in args.checkpoints:
        row = screen_model(load_model(torch.load(path, map_location="cpu"), args.size, args.device), splits)
        report["models"][path] = row
        print(json.dumps({"model": path, **row}), flush=True)
        if args.out:  # after every model: a screen stopped by a time limit keeps what it measured
            Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
