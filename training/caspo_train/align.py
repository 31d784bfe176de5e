"""CASPO: iterative step-wise DPO that aligns the model's token confidence with step correctness.

    # from training/: the real run (`npm run caspo:align` = these three calls, each resuming the one before):
    # about 1.5 min an iteration on an H200 GPU, about an hour an iteration on a 2-core CPU
    python3 -m caspo_train.align --init checkpoints/caspo-arith-sft.pt --run-dir runs/caspo-arith --publish models \
        --sft-model ../models/caspo-arith-sft --resume --iterations 3 --mine 8000 --dataset data/caspo --dataset-problems 600
    python3 -m caspo_train.align ...the same... --iterations 4 --mine 32000 --pool in_domain=.8,ops5=.2
    python3 -m caspo_train.align ...the same... --iterations 6 --mine 32000 --pool in_domain=.8,ops5=.2 --lr 5e-6 \
        --out ../models/caspo-arith
    # toy size (CI smoke test): a random tiny model, a few steps of each stage
    python3 -m caspo_train.align --size tiny --iterations 1 --problems 6 --samples 2 --max-new-tokens 24 \
        --epochs 1 --run-dir /tmp/caspo-toy --out /tmp/caspo-toy/model

Each iteration i (policy = iteration i-1's model; iteration 0 is the SFT model):
1. sample ``--samples`` solutions for each of ``--problems`` fresh training problems at
   ``--temperature``, with per-token confidence exactly as the Node engine computes it (sample.py);
2. label every step with the verifier;
3. build the confidence-filtered step-wise preference pairs (pairs.py) and count them per kind; the
   filter reads each step's confidence as the engine shows it and CaT prunes on it: the sampling
   model's caspo.json metric through its Platt map (``--filter-confidence``);
4. DPO on the pairs with the previous iteration frozen as the reference (dpo.py);
5. export to the model contract (``RUN/iterN/model``) and, when Node and the built CLI are there,
   fit the step-confidence calibration (``caspo calibrate``) into its caspo.json.
``--out`` gets the last iteration whose calibration-split step error rate stays within 2x the SFT
model's (``select_iteration``). ``RUN/summary.json`` records every
iteration: pair counts, DPO statistics, and the PyTorch progress checks on the held-out and hard
splits (greedy accuracy, raw step ECE and AUROC). ``--device`` puts sampling, DPO and the checks on a
CUDA GPU when there is one (the GPU draws its own samples: a CPU run of the same command differs).

Training problems never overlap the evaluation: the in-domain ones come from outside the held-out
hash space, the hard-corner ones too, and every problem text of data/{heldout,calibration,hard}.jsonl
is excluded. The kinds (``--pool``): in-domain 2-4 operations, five operations, products at the edge
of the training range (80-99 x 800-999) and products of two three-digit numbers -- the kinds where
the SFT model is confidently wrong. The default mix leaves the last out (docs/caspo/runs.md, v2/v3)
and, since v11, samples 6,000 problems an iteration with one pass of DPO over their pairs: ten times
the pairs of the earlier runs, which is what moved the hard split (runs.md, v10/v11), and since v12
replays ordinary training solutions at three times the weight (``--gamma 3``), which kept the in-domain
accuracy on fresh draws (runs.md, v12). Since v14 the edge products are out of the default mix, and
``npm run caspo:align`` passes ``--mine 8000``: the greedy decode's mistakes on 8,000 more in-domain
problems an iteration make pairs too (runs.md, v15).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch (see sample.py)

import argparse
import copy
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

from .data import read_jsonl
from .dataset import write_dataset
from .dpo import DPOConfig, train_dpo
from .card import write_card
from .metrics import auroc, expected_calibration_error
from .model import CausalLM
from .pairs import Pair, build_pairs, count_pairs, group_by_problem
from .sample import EngineConfidence, Sample, annotate, sample_solutions
from .sft import SIZES, export_arith_model
# The pool's names stay importable from here (screen.py, merge.py and the tests read them from align).
from .pool import (DATA, EVAL_SPLITS, GENERATORS, POOL, parse_pool, pool_max_operations, pool_text,  # noqa: F401
                   training_problems)

TRAINING = Path(__file__).resolve().parent.parent
REPO = TRAINING.parent


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", default=None, help="state dict of the starting (SFT) model; none: random weights")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--problems", type=int, default=6000, help="training problems sampled per iteration")
    ap.add_argument("--pool", default=pool_text(POOL),
                    help=f"problem kinds and their shares, KIND=SHARE,... with KIND one of {', '.join(GENERATORS)} (default %(default)s)")
    ap.add_argument("--samples", type=int, default=4, help="sampled solutions per problem")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--greedy-sample", action="store_true",
                    help="also decode every problem greedily and build pairs from that solution too")
    ap.add_argument("--mine", type=int, default=0,
                    help="also decode this many extra in-domain training problems greedily and pair the wrong ones "
                         "(first-error pairs on the mistakes users would see in-domain, too rare for the pool to sample)")
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--tau", type=float, default=0.5, help="confidence at or above which a wrong step is 'confident'")
    ap.add_argument("--filter-confidence", choices=("engine", "raw"), default="engine",
                    help="the confidence compared with --tau: engine = the sampling model's caspo.json metric through its "
                         "Platt map, what CaT prunes on (iteration 1: the --sft-model folder's; later: the previous "
                         "iteration's); raw = geoMeanProb. engine falls back to raw, and says so, without a caspo.json")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=0.2, help="weight of the chosen steps' NLL")
    ap.add_argument("--gamma", type=float, default=3.0, help="weight of the replayed training solutions' NLL")
    ap.add_argument("--replay-batch", type=int, default=128, help="training solutions replayed per DPO step")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--reference", choices=("previous", "sft"), default="previous",
                    help="DPO's frozen reference: the previous iteration (the CASPO recipe) or the --init model in every iteration")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-pairs", type=int, default=16)
    ap.add_argument("--max-pairs", type=int, default=None, help="cap on pairs per iteration (random subset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-limit", type=int, default=None, help="held-out/hard problems for the PyTorch check")
    ap.add_argument("--run-dir", required=True, help="checkpoints, pairs and per-iteration models")
    ap.add_argument("--publish", default=None,
                    help="also copy each iteration's model folder to PUBLISH/caspo-arith-iterN (the table's rows)")
    ap.add_argument("--out", default=None, help="model folder for the last iteration")
    ap.add_argument("--dataset", default=None, help="write the released step-wise dataset (iteration 1) here")
    ap.add_argument("--dataset-problems", type=int, default=None, help="problems in the released file (all)")
    ap.add_argument("--calibrate", choices=("auto", "yes", "no"), default="auto",
                    help="fit caspo.json with the Node CLI (auto: when bin/caspo.js and its build exist)")
    ap.add_argument("--calibrate-limit", type=int, default=None,
                    help="fit caspo.json on the first N calibration problems only (default: all of them)")
    ap.add_argument("--sft-model", default=None,
                    help="the SFT model folder whose caspo.json gives the baseline step error rate for choosing --out")
    ap.add_argument("--max-error-ratio", type=float, default=2.0,
                    help="--out is the last iteration whose calibration-split step error rate is at most this times the SFT model's")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                    help="where sampling, DPO and the progress checks run (auto: CUDA when PyTorch sees a GPU); "
                         "export and calibration always use the CPU")
    ap.add_argument("--resume", action="store_true",
                    help="reuse every iteration whose RUN/iterN/model.pt and iteration.json exist")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: PyTorch sees no CUDA GPU here (torch.cuda.is_available() is false); "
                 "use --device auto or cpu")
    if args.reference == "sft" and not args.init:
        ap.error("--reference sft needs --init: the starting model is the reference")
    try:
        parse_pool(args.pool)
    except ValueError as err:
        ap.error(str(err))
    return args


def log(entry) -> None:
    print(json.dumps(entry) if isinstance(entry, dict) else entry, flush=True)


def step_report(model: CausalLM, rows: List[dict]) -> Dict[str, Optional[float]]:
    """Greedy decoding of ``rows`` in PyTorch: exact-answer accuracy, and how well the raw step
    confidence tracks the verifier's step labels -- ECE over 10 bins and AUROC, of minProb and
    geoMeanProb, with the engine's definitions (metrics.py)."""
    solved = sample_solutions(model, rows, 1, 0.0, seed=0, max_new_tokens=160)
    out: Dict[str, Optional[float]] = {"accuracy": round(sum(s.answer_correct for s in solved) / max(1, len(rows)), 4)}
    steps = [st for s in solved for st in s.steps if st.correct is not None]
    labels = [bool(st.correct) for st in steps]
    for metric in ("minProb", "geoMeanProb"):
        scores = [st.scores[metric] for st in steps]
        area = auroc(scores, labels)
        out[f"ece_{metric}"] = round(expected_calibration_error(scores, labels), 4) if steps else None
        out[f"auroc_{metric}"] = None if area is None else round(area, 4)
    return out


def quick_eval(model: CausalLM, limit: Optional[int]) -> Dict[str, Optional[float]]:
    """``step_report`` on the held-out and hard splits (a progress check: the engine's table is the
    measurement), flattened: ``heldout``, ``heldout_ece_minProb``, ..., ``hard_auroc_geoMeanProb``."""
    out = {}
    for name in ("heldout", "hard"):
        path = DATA / f"{name}.jsonl"
        if not path.exists():
            continue
        rows = read_jsonl(path)[:limit] if limit else read_jsonl(path)
        for key, value in step_report(model, rows).items():
            out[name if key == "accuracy" else f"{name}_{key}"] = value
    return out


def sample_stats(samples: List[Sample], tau: float) -> Dict[str, float]:
    steps = [s for x in samples for s in x.steps]
    steps = [s for s in steps if s.correct is not None]
    wrong = [s for s in steps if s.correct is False]
    return {"solutions": len(samples), "accuracy": round(sum(x.answer_correct for x in samples) / max(1, len(samples)), 4),
            "steps": len(steps), "wrong_steps": len(wrong),
            "confident_wrong_steps": sum(s.filter_confidence >= tau for s in wrong)}


def filter_confidence(args, it: int, run_dir: Path) -> tuple:
    """(EngineConfidence or None, what the pair filter compares with --tau in iteration ``it``)."""
    if args.filter_confidence == "raw":
        return None, "raw geoMeanProb (--filter-confidence raw)"
    if it > 1:
        folder: Optional[Path] = run_dir / f"iter{it - 1}" / "model"  # calibrated before this iteration starts
    else:
        folder = Path(args.sft_model) if args.sft_model else None
    engine = EngineConfidence.from_model_dir(folder) if folder else None
    if engine is None:
        where = f"no caspo.json in {folder}" if folder else "iteration 1 without --sft-model"
        return None, f"raw geoMeanProb ({where}: the sampling model has no engine calibration)"
    return engine, f"engine confidence: {engine.describe()}"


def calibrate(folder: Path, mode: str, limit: Optional[int]) -> Optional[str]:
    cli = REPO / "bin" / "caspo.js"
    built = (REPO / "language-server" / "dist").exists() or (REPO / "dist").exists()
    node = shutil.which("node")
    if mode == "no" or (mode == "auto" and not (node and cli.exists() and built)):
        return None
    cmd = [node or "node", str(cli), "calibrate", "--model", str(Path(folder).resolve()), "--input",
           str(DATA / "calibration.jsonl"), "--samples", "4", "--temperature", "1.0", "--seed", "0"]
    if limit:
        cmd += ["--limit", str(limit)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"caspo calibrate failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return " ".join(cmd[1:]).replace(str(REPO) + "/", "")


def mine_mistakes(policy: CausalLM, it: int, args) -> List[Sample]:
    """--mine: greedy decodes of ``args.mine`` in-domain training problems (their own draw, apart from the
    pool's), only those with a wrong step. Each makes a first-error pair with the verifier's step as chosen."""
    pool = (("in_domain", GENERATORS["in_domain"], 1.0),)
    rows = training_problems(args.mine, seed=args.seed * 1000 + it + 500_000, pool=pool)
    decoded = sample_solutions(policy, rows, 1, 0.0, seed=0, max_new_tokens=args.max_new_tokens)
    return [s for s in decoded if any(st.correct is False for st in s.steps) or not s.answer_correct]


def run_iteration(policy: CausalLM, it: int, it_dir: Path, args, anchor: Optional[dict] = None,
                  engine: Optional[EngineConfidence] = None, filter_text: str = "raw geoMeanProb") -> dict:
    """Sample, label, pair and DPO once; trains ``policy`` in place and saves it to it_dir/model.pt.
    DPO's reference is a frozen copy of ``policy`` (the previous iteration), or ``anchor``'s weights."""
    t0 = time.time()
    problems = training_problems(args.problems, seed=args.seed * 1000 + it, pool=parse_pool(args.pool))
    samples = sample_solutions(policy, problems, args.samples, args.temperature, seed=args.seed * 1000 + it,
                               max_new_tokens=args.max_new_tokens)
    # --greedy-sample: the deployed decode's own mistakes pair too (not in the released dataset, which is T samples)
    greedy = sample_solutions(policy, problems, 1, 0.0, seed=0, max_new_tokens=args.max_new_tokens) if args.greedy_sample else []
    mined = mine_mistakes(policy, it, args) if args.mine else []
    t_sample = time.time() - t0
    annotate(samples + greedy + mined, engine)
    stats = sample_stats(samples, args.tau)
    if greedy:
        stats["greedy_accuracy"] = round(sum(g.answer_correct for g in greedy) / len(greedy), 4)
    if args.mine:
        stats["mined"] = {"problems": args.mine, "wrong": len(mined)}
    log({"iteration": it, "stage": "sampled", **stats, "filter": filter_text, "wall_s": round(t_sample, 1)})
    pairs: List[Pair] = [p for group in group_by_problem(samples + greedy + mined) for p in build_pairs(group, args.tau)]
    counts = count_pairs(pairs)
    if args.max_pairs and len(pairs) > args.max_pairs:
        pairs = random.Random(it).sample(pairs, args.max_pairs)
    log({"iteration": it, "stage": "pairs", **counts, "used": len(pairs)})
    it_dir.mkdir(parents=True, exist_ok=True)
    with open(it_dir / "pairs.jsonl", "w") as f:
        for p in pairs:
            f.write(json.dumps(p.to_json()) + "\n")
    if it == 1 and args.dataset:
        write_dataset(Path(args.dataset), samples, problems, "caspo-arith-sft" if args.init else "random-init",
                      settings=dict(problems=args.problems, samples=args.samples, temperature=args.temperature,
                                    seed=args.seed, tau=args.tau, keep=args.dataset_problems, pool=args.pool,
                                    device=next(policy.parameters()).device.type,
                                    engine=engine.describe() if engine else None))
    reference = copy.deepcopy(policy).eval()
    if anchor is not None:
        reference.load_state_dict(anchor)
    for p in reference.parameters():
        p.requires_grad_(False)
    cfg = DPOConfig(beta=args.beta, alpha=args.alpha, lr=args.lr, epochs=args.epochs, batch_pairs=args.batch_pairs,
                    seed=args.seed + it, gamma=args.gamma, replay_batch=args.replay_batch)
    dpo = train_dpo(policy, reference, pairs, cfg, log=lambda e: log({"iteration": it, "stage": "dpo", **e}))
    if dpo["log"]:
        dpo["final_pair_accuracy"] = dpo["log"][-1]["pair_accuracy"]
    torch.save({k: v.cpu() for k, v in policy.state_dict().items()}, it_dir / "model.pt")
    return {"iteration": it, "model": f"caspo-arith-iter{it}", "problems": len(problems),
            "sampling": {**stats, "wall_s": round(t_sample, 1)}, "filter": filter_text, "pairs": counts, "pairs_used": len(pairs), "dpo": dpo,
            "wall_s": round(time.time() - t0, 1)}


def calibration_error_rate(model_dir: Path) -> Optional[float]:
    """Wrong steps / steps of the sampled calibration-split run that fitted the folder's caspo.json."""
    path = Path(model_dir) / "caspo.json"
    if not path.exists():
        return None
    fit = json.loads(path.read_text())["fit"]
    return fit["negatives"] / max(1, fit["steps"])


def select_iteration(run_dir: Path, args) -> tuple:
    """The iteration that becomes --out: the last one whose step error rate on the calibration split
    (sampled at T = 1 by `caspo calibrate`, never the held-out or hard splits) is at most
    ``--max-error-ratio`` times the SFT model's. Iterations compound DPO's drift, since each one's
    reference is the previous iteration; this keeps one that drifted off the training domain from
    becoming the default. Without calibration data (toy runs): the last iteration."""
    base = calibration_error_rate(Path(args.sft_model)) if args.sft_model else None
    rates = {it: calibration_error_rate(run_dir / f"iter{it}" / "model") for it in range(1, args.iterations + 1)}
    if base is None or any(r is None for r in rates.values()):
        return args.iterations, "last iteration (no calibration-split error rates to compare)"
    ok = [it for it, r in rates.items() if r <= args.max_error_ratio * max(base, 1e-4)]
    shown = ", ".join(f"iteration {it} {100 * r:.2f} %" for it, r in rates.items())
    if not ok:
        return args.iterations, f"no iteration within {args.max_error_ratio}x the SFT step error rate ({100 * base:.2f} %; {shown}): the last"
    return max(ok), (f"last iteration whose calibration-split step error rate is within {args.max_error_ratio}x the SFT "
                     f"model's {100 * base:.2f} % ({shown})")


# What makes an iteration this run's and not another's: a resumed iteration must have been trained with
# the same values. The canonical stages (npm run caspo:align) vary only --mine, --pool and --lr between
# iterations, so those are not compared.
RESUME_KEYS = ("init", "size", "problems", "samples", "temperature", "greedy_sample", "max_new_tokens", "tau",
               "filter_confidence", "beta", "alpha", "gamma", "replay_batch", "reference", "epochs", "batch_pairs",
               "max_pairs", "seed")


def max_operations(run_dir: Path, it: int, pool: tuple) -> int:
    """``caspo_max_operations`` of iteration ``it``: a model keeps what it was trained on, so the most operations of this
    call's pool and of the iteration before it (whose config.json holds those of every earlier one: a stage on
    in-domain problems only resumes iterations that saw five operations)."""
    previous = run_dir / f"iter{it - 1}" / "model" / "config.json"
    earlier = json.loads(previous.read_text()).get("caspo_max_operations", 0) if previous.exists() else 0
    return max(pool_max_operations(pool), earlier)


def resume_mismatch(entry: dict, args) -> Optional[str]:
    """Which recorded setting of a resumed iteration this command contradicts (None: none, or none recorded)."""
    recorded = entry.get("settings")
    if not isinstance(recorded, dict):
        return None  # an iteration from before the settings were recorded
    for key in RESUME_KEYS:
        if key in recorded and recorded[key] != getattr(args, key):
            return f"--{key.replace('_', '-')} {recorded[key]!r} there, {getattr(args, key)!r} here"
    return None


def main(argv=None) -> None:
    args = parse_args(argv)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    policy = CausalLM(SIZES[args.size])
    if args.init:
        policy.load_state_dict(torch.load(args.init, map_location="cpu"))
    policy.to(device).eval()
    # --reference sft: every iteration's DPO reference is the starting model (parse_args requires --init)
    anchor = copy.deepcopy(policy.state_dict()) if args.reference == "sft" else None
    start = time.time()
    iterations = []
    summary = {"command": "python3 -m caspo_train.align " + " ".join(sys.argv[1:] if argv is None else argv),
               "hardware": (f"{torch.cuda.get_device_name(device)} (PyTorch {torch.__version__})" if device.type == "cuda"
                            else f"CPU, {torch.get_num_threads()} threads (PyTorch {torch.__version__})"),
               "args": vars(args), "iterations": iterations}
    if args.init:
        # a resumed run (npm run caspo:align's second stage) checked the same starting model already
        earlier = json.loads((run_dir / "summary.json").read_text()) if args.resume and (run_dir / "summary.json").exists() else {}
        same = "sft_eval" in earlier and all(earlier["args"].get(k) == getattr(args, k) for k in ("init", "eval_limit", "size"))
        summary["sft_eval"] = earlier["sft_eval"] if same else quick_eval(policy, args.eval_limit)
        log({"iteration": 0, "eval": summary["sft_eval"]})
    for it in range(1, args.iterations + 1):
        it_dir = run_dir / f"iter{it}"
        info_path = it_dir / "iteration.json"
        if args.resume and (it_dir / "model.pt").exists() and info_path.exists():
            entry = json.loads(info_path.read_text())
            mismatch = resume_mismatch(entry, args)
            if mismatch:
                raise SystemExit(f"--resume: {it_dir} was trained with other settings ({mismatch}). Give this run its own "
                                 f"--run-dir (and --out/--publish), or remove {it_dir} to train it again.")
            policy.load_state_dict(torch.load(it_dir / "model.pt", map_location=device))
            policy.eval()
            log({"iteration": it, "stage": "resumed", "from": str(it_dir / "model.pt")})
        else:
            # A retrained iteration's export and caspo.json are those of the weights it replaces: drop them.
            shutil.rmtree(it_dir / "model", ignore_errors=True)
            engine, filter_text = filter_confidence(args, it, run_dir)
            entry = run_iteration(policy, it, it_dir, args, anchor, engine, filter_text)
            entry["settings"] = {key: getattr(args, key) for key in RESUME_KEYS}
            info_path.write_text(json.dumps(entry, indent=1) + "\n")
        if "eval" not in entry:
            entry["eval"] = quick_eval(policy, args.eval_limit)
            info_path.write_text(json.dumps(entry, indent=1) + "\n")
        model_dir = it_dir / "model"
        if not (model_dir / "parity.json").exists():
            export_arith_model(copy.deepcopy(policy).cpu(), model_dir, max_operations(run_dir, it, parse_pool(args.pool)))
        if not (model_dir / "caspo.json").exists():
            entry["calibrate"] = calibrate(model_dir, args.calibrate, args.calibrate_limit)
            info_path.write_text(json.dumps(entry, indent=1) + "\n")
        iterations.append(entry)
        (model_dir / "training.json").write_text(json.dumps(entry, indent=1) + "\n")
        if args.publish:
            target = Path(args.publish) / f"caspo-arith-iter{it}"
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(model_dir, target)
        log({"iteration": it, "stage": "done", "eval": entry["eval"], "wall_s": entry.get("wall_s")})
        summary["wall_s"] = round(time.time() - start, 1)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if args.out:
        out = Path(args.out)
        chosen, why = select_iteration(run_dir, args)
        summary["default"] = {"iteration": chosen, "why": why}
        log({"stage": "select", "iteration": chosen, "why": why})
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(run_dir / f"iter{chosen}" / "model", out)
        (out / "caspo_alignment.json").write_text(json.dumps(summary, indent=1) + "\n")
        write_card(out, summary)
        log(f"wrote {out}")


if __name__ == "__main__":
    main()
