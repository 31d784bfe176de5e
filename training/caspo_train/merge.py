"""Interpolate the aligned model back toward the SFT model, as far as fresh in-domain draws allow.

    # from training/: the shipped model (docs/caspo/runs.md, v18: a = 1 kept the SFT model's accuracy, so it is iteration 6 itself)
    python3 -m caspo_train.merge --base checkpoints/caspo-arith-sft.pt --aligned runs/caspo-arith-v17e/iter6/model.pt \
        --out ../models/caspo-arith --summary ../models/caspo-arith/caspo_alignment.json

The weights theta(a) = theta_SFT + a * (theta_CASPO - theta_SFT), for a in ``--alphas`` from the largest
down: the first a whose greedy exact-answer accuracy on fresh in-domain problems (``screen.fresh_splits``:
none in a split, none trained on) is at least the SFT model's becomes ``--out`` (if none is, the one
that comes closest). This is the interpolation toward the initialisation of WARP (Rame et al., 2024)
and WiSE-FT (Wortsman et al., 2022): CASPO's update, scaled down, without another training run. It exists because the aligned
model's hard-kind gains came with an in-domain loss that the 500-problem held-out split was too small
to show and fresh draws of 3,000 did (runs.md, v14); a = 1 (no interpolation) is tried first, so a run
that keeps the in-domain accuracy ships unchanged.

The held-out and hard splits take no part in the choice (fresh draws only). ``--aligned`` is a
``model.pt`` state dict or a model folder: its ONNX initialisers are the weights (the shipped
iterations' PyTorch checkpoints were not kept). The folder written is a normal exported model
(config, tokenizer, ONNX, parity), calibrated by ``caspo calibrate`` like every iteration, with
``caspo_merge.json``: the screen of every a tried and why the chosen one was chosen.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch (see sample.py)

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .arith import OP_COUNTS
from .align import calibrate
from .card import write_card
from .screen import fresh_splits, load_model, screen_model
from .sft import SIZES, export_arith_model

ALPHAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
# The export names the decoder's parameters "model.<name>"; a tied lm_head is not stored.
ONNX_PREFIX = "model."


def state_from_onnx(path: Path) -> Dict[str, torch.Tensor]:
    """The state dict of an exported model from its named ONNX initialisers (exports without
    constant folding, as every tied-embedding export is: see export.export_onnx)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    state = {init.name[len(ONNX_PREFIX):]: torch.from_numpy(numpy_helper.to_array(init).copy())
             for init in graph.initializer if init.name.startswith(ONNX_PREFIX)}
    if "embed_tokens.weight" not in state:
        raise ValueError(f"{path}: no named initialiser {ONNX_PREFIX}embed_tokens.weight -- not an unfolded export of this "
                         "model family; pass the run's model.pt instead")
    state.setdefault("lm_head.weight", state["embed_tokens.weight"])
    return state


def load_state(path: Path) -> Dict[str, torch.Tensor]:
    """A ``.pt`` state dict, or a model folder's ``onnx/model.onnx``."""
    path = Path(path)
    if path.is_dir():
        return state_from_onnx(path / "onnx" / "model.onnx")
    return torch.load(path, map_location="cpu")


def interpolate(base: Dict[str, torch.Tensor], aligned: Dict[str, torch.Tensor], alpha: float) -> Dict[str, torch.Tensor]:
    """base + alpha * (aligned - base), parameter by parameter (float32 arithmetic); alpha 0 and 1 give the two
    models' weights exactly."""
    if set(base) != set(aligned):
        raise ValueError(f"the two models have different parameters: {sorted(set(base) ^ set(aligned))[:6]} (an ONNX "
                         "export stores identical weights once, e.g. untrained norms, and loses their names: pass model.pt)")
    out = {}
    for name, b in base.items():
        a = aligned[name]
        if a.shape != b.shape:
            raise ValueError(f"{name}: shape {tuple(b.shape)} in the base model, {tuple(a.shape)} in the aligned one")
        # the end points exactly: base + 1 * (aligned - base) differs from aligned in the last bits (2e-10 measured)
        out[name] = (b.clone() if alpha == 0 else a.clone().to(b.dtype) if alpha == 1
                     else (b.float() + alpha * (a.float() - b.float())).to(b.dtype))
    return out


def choose(screens: Sequence[Tuple[float, dict]], base_accuracy: float) -> Tuple[Optional[float], str]:
    """The first (largest) alpha of ``screens`` whose in-domain accuracy is at least the base's; None when
    none is (yet: the command screens one weight at a time)."""
    for alpha, row in screens:
        if row["in_domain"]["accuracy"] >= base_accuracy:
            return alpha, (f"the largest alpha tried whose fresh in-domain greedy accuracy ({100 * row['in_domain']['accuracy']:.2f} %) "
                           f"is at least the SFT model's ({100 * base_accuracy:.2f} %)")
    return None, f"no alpha tried keeps the SFT model's fresh in-domain accuracy ({100 * base_accuracy:.2f} %)"


def closest(screens: Sequence[Tuple[float, dict]]) -> Tuple[float, str]:
    """When no weight keeps the base's accuracy: the one that comes closest (on a tie, the larger)."""
    alpha, row = max(screens, key=lambda pair: (pair[1]["in_domain"]["accuracy"], pair[0]))
    return alpha, f"the highest of them, {100 * row['in_domain']['accuracy']:.2f} %, is alpha {alpha:g}'s"


def aligned_record(aligned: Path) -> Optional[str]:
    """The aligned iteration's training.json: the folder's own, or for ``RUN/iterN/model.pt`` the one align wrote
    beside it (``RUN/iterN/model/training.json``, else ``RUN/iterN/iteration.json``); None when there is none."""
    places = [aligned / "training.json"] if aligned.is_dir() else [aligned.parent / "model" / "training.json",
                                                                   aligned.parent / "iteration.json"]
    return next((p.read_text() for p in places if p.exists()), None)


def aligned_max_operations(aligned: Path) -> int:
    """``caspo_max_operations`` of the aligned model's config.json (the folder's, or for ``RUN/iterN/model.pt``
    the exported ``RUN/iterN/model``'s): the merge keeps it. The SFT problems' count when there is none."""
    config = aligned / "config.json" if aligned.is_dir() else aligned.parent / "model" / "config.json"
    declared = json.loads(config.read_text()).get("caspo_max_operations") if config.exists() else None
    if isinstance(declared, int):
        return declared
    print(f"caspo_train.merge: warning: no caspo_max_operations in {config} (a model.pt without the folder align exports "
          f"beside it): the merged model declares the SFT problems' {max(OP_COUNTS)} operations", file=sys.stderr, flush=True)
    return max(OP_COUNTS)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the SFT model: model.pt or a model folder")
    ap.add_argument("--aligned", required=True, help="the CASPO model: model.pt or a model folder")
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--alphas", default=",".join(f"{a:g}" for a in ALPHAS),
                    help="interpolation weights of the aligned model, tried from the largest down")
    ap.add_argument("--screen-seed", type=int, default=5,
                    help="fresh draws of screen.fresh_splits (seed 5 ranked sweep 14; seed 3 chose v12r's weight, 4 and 6 checked)")
    ap.add_argument("--in-domain", type=int, default=6000, help="fresh in-domain problems the choice reads")
    ap.add_argument("--hard-scale", type=float, default=2.0, help="fresh hard problems, 200 x this (reported, not chosen on)")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--summary", default=None,
                    help="the alignment run's summary (RUN/summary.json, or a shipped folder's caspo_alignment.json): "
                         "kept in --out as caspo_alignment.json with the merge added, and the model card written from it")
    ap.add_argument("--calibrate", choices=("auto", "yes", "no"), default="auto",
                    help="fit caspo.json with the Node CLI (auto: when bin/caspo.js and its build exist)")
    ap.add_argument("--calibrate-limit", type=int, default=None,
                    help="fit caspo.json on the first N calibration problems only (default: all of them)")
    args = ap.parse_args(argv)
    try:
        args.alpha_list = sorted({float(a) for a in args.alphas.split(",")}, reverse=True)
    except ValueError:
        ap.error(f"--alphas: {args.alphas!r} is not a comma-separated list of numbers")
    if not args.alpha_list or any(not 0 <= a <= 1 for a in args.alpha_list):
        ap.error(f"--alphas: every weight must be in [0, 1], got {args.alphas!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: PyTorch sees no CUDA GPU here; use --device auto or cpu")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(2)
    base, aligned = load_state(Path(args.base)), load_state(Path(args.aligned))
    # read before --out is replaced (it may be the --aligned folder itself, as in npm run caspo:align)
    summary = json.loads(Path(args.summary).read_text()) if args.summary else None
    iteration_record = aligned_record(Path(args.aligned))
    max_operations = aligned_max_operations(Path(args.aligned))
    splits = fresh_splits(args.screen_seed, args.in_domain, args.hard_scale)
    report: dict = {"command": "python3 -m caspo_train.merge " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "base": str(args.base), "aligned": str(args.aligned), "screen_seed": args.screen_seed,
                    "problems": {k: len(v) for k, v in splits.items()}}

    def screen(state: Dict[str, torch.Tensor]) -> dict:
        return screen_model(load_model(state, args.size, device), splits)

    report["base_screen"] = screen(base)
    print(json.dumps({"alpha": 0.0, **report["base_screen"]}), flush=True)
    screens: List[Tuple[float, dict]] = []
    for alpha in args.alpha_list:
        screens.append((alpha, screen(interpolate(base, aligned, alpha))))
        print(json.dumps({"alpha": alpha, **screens[-1][1]}), flush=True)
        chosen, why = choose(screens[-1:], report["base_screen"]["in_domain"]["accuracy"])
        if chosen is not None:
            break
    report["screens"] = [{"alpha": alpha, **row} for alpha, row in screens]
    if chosen is None:
        chosen, nearest = closest(screens)
        why = f"{why}; {nearest}"
    report["chosen"] = {"alpha": chosen, "why": why}
    print(json.dumps({"stage": "chosen", **report["chosen"]}), flush=True)

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    export_arith_model(load_model(interpolate(base, aligned, chosen), args.size, torch.device("cpu")), out, max_operations)
    report["calibrate"] = calibrate(out, args.calibrate, args.calibrate_limit)
    (out / "caspo_merge.json").write_text(json.dumps(report, indent=1) + "\n")
    if iteration_record is not None:
        (out / "training.json").write_text(iteration_record)  # the aligned iteration's record
    if summary is not None:
        summary["merge"] = {key: report[key] for key in ("command", "chosen", "screen_seed", "problems")}
        summary["merge"]["screens"] = [{"alpha": 0.0, **report["base_screen"]}] + report["screens"]
        (out / "caspo_alignment.json").write_text(json.dumps(summary, indent=1) + "\n")
        write_card(out, summary)
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
