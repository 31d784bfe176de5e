"""Supervised fine-tuning of the embedded arithmetic model, then export to the model contract.

    python3 -m caspo_train.sft --out ../models/caspo-arith-sft --minutes 7.5 --heldout data/heldout.jsonl --run-dir runs/sft  # the real run
    python3 -m caspo_train.sft --out /tmp/toy --steps 5 --size tiny --eval-n 8   # smoke test

The learning rate follows a cosine over the run's budget (wall time or steps), so a time-boxed run
on a fast GPU and a long run on a CPU both end annealed.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import arith
from . import tokenizer as tok
from .card import write_model_card
from .data import BatchStream, heldout_problems, read_jsonl
from .evaluate import evaluate_heldout
from .export import export_model_folder
from .model import CausalLM, ModelConfig, count_parameters

SIZES = {
    "small": ModelConfig(hidden_size=256, intermediate_size=640, num_hidden_layers=6, num_attention_heads=8,
                         num_key_value_heads=4),
    "tiny": ModelConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2),
}
PARITY_PROBLEM = "What is 47*38 + 12?"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=None, help="step budget (instead of --minutes)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--workers", type=int, default=None, help="data-generation processes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--heldout", default=None, help="held-out JSONL (default: generate --eval-n problems)")
    ap.add_argument("--eval-n", type=int, default=500)
    ap.add_argument("--run-dir", default=None, help="where the checkpoint and log go")
    args = ap.parse_args(argv)
    if (args.minutes is None) == (args.steps is None):
        ap.error("give exactly one of --minutes or --steps")
    return args


def batch_iterator(batch_size: int, seed: int, workers: int):
    """Batches from worker processes; falls back to in-process generation if workers cannot start."""
    def make(n):
        kwargs = {"prefetch_factor": 4, "persistent_workers": True} if n else {}
        return iter(torch.utils.data.DataLoader(BatchStream(batch_size, seed), batch_size=None, num_workers=n, **kwargs))
    it = make(workers)
    try:
        first = next(it)
    except Exception as err:  # e.g. no shared memory for worker processes in a sandbox
        if not workers:
            raise
        print(json.dumps({"warning": f"data workers failed ({err}); generating in-process"}), flush=True)
        it = make(0)
        first = next(it)
    return itertools.chain([first], it)


def lr_at(progress: float, step: int, args) -> float:
    warm = min(1.0, (step + 1) / args.warmup)
    cosine = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return args.lr * warm * cosine


def train(args) -> dict:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    cfg = SIZES[args.size]
    model = CausalLM(cfg).to(device)
    batch_size = args.batch_size or (512 if device == "cuda" else 32)
    workers = args.workers if args.workers is not None else (12 if device == "cuda" else 1)
    batches = batch_iterator(batch_size, args.seed, workers)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98))
    use_bf16 = device == "cuda"
    start = time.time()
    step = 0
    examples = 0
    log = []
    for ids, loss_mask in batches:
        elapsed = time.time() - start
        progress = elapsed / (args.minutes * 60) if args.minutes is not None else step / args.steps
        if progress >= 1.0:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(progress, step, args)
        ids, loss_mask = ids.to(device, non_blocking=True), loss_mask.to(device, non_blocking=True)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(ids[:, :-1])
        targets = ids[:, 1:].masked_fill(~loss_mask[:, 1:], -100)
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), targets.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        examples += ids.shape[0]
        if step % 200 == 0 or step == 1 or (args.steps is not None and step == args.steps):
            entry = {"step": step, "loss": round(loss.item(), 4), "lr": round(opt.param_groups[0]["lr"], 6),
                     "examples": examples, "elapsed_s": round(time.time() - start, 1)}
            log.append(entry)
            print(json.dumps(entry), flush=True)
    wall = time.time() - start
    return {"model": model.to("cpu").float(), "device": device, "steps": step, "examples": examples,
            "wall_s": round(wall, 1), "batch_size": batch_size, "log": log}


def describe_hardware(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name(0)} (PyTorch {torch.__version__}, bf16 autocast)"
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads (PyTorch {torch.__version__})"


# What the engine reads from config.json besides the architecture: the problems this family was trained on; the
# language server and `caspo solve` give such a model only problems with an expression it can read, and solve one
# with more operations than ``caspo_max_operations`` (or numbers outside arith.py's ranges) under a caution.
ARITH_CONFIG = {"caspo_problem_domain": "arithmetic"}


def export_arith_model(model: CausalLM, folder: Path, max_operations: int = max(arith.OP_COUNTS)) -> None:
    """The model contract folder of a model of this family (SFT, each CASPO iteration, a merge): config,
    the byte-level tokenizer, the ONNX export, and the parity check on PARITY_PROBLEM. ``model`` on the CPU;
    ``max_operations``: the most operations of the problems it was trained on (the SFT problems' by default)."""
    export_model_folder(model, folder, write_tokenizer=tok.write_tokenizer, bos=tok.BOS_ID, eos=tok.EOS_ID,
                        pad=tok.PAD_ID, parity_prompt=tok.prompt_ids(PARITY_PROBLEM),
                        extra_config={**ARITH_CONFIG, "caspo_max_operations": max_operations})


def main(argv=None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    run = train(args)
    model: CausalLM = run["model"]
    rows = read_jsonl(Path(args.heldout))[: args.eval_n] if args.heldout else heldout_problems(args.eval_n)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    eval_start = time.time()
    metrics = evaluate_heldout(model.to(device), rows, device=device)
    model = model.to("cpu")
    metrics["eval_wall_s"] = round(time.time() - eval_start, 1)
    print(json.dumps({"accuracy": metrics["accuracy"], "step_accuracy": metrics["step_accuracy"]}), flush=True)
    export_arith_model(model, out)
    if args.run_dir:
        run_dir = Path(args.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), run_dir / "model.pt")
        (run_dir / "train_log.json").write_text(json.dumps(run["log"], indent=1))
    recipe = {
        "size": args.size, "parameters": count_parameters(model), "config": model.cfg.hf_config(
            tok.BOS_ID, tok.EOS_ID, tok.PAD_ID), "steps": run["steps"], "examples": run["examples"],
        "batch_size": run["batch_size"], "lr": args.lr, "warmup": args.warmup, "seed": args.seed,
        "wall_s": run["wall_s"], "hardware": describe_hardware(run["device"]),
        "budget": f"{args.minutes} min" if args.minutes is not None else f"{args.steps} steps",
        "final_loss": run["log"][-1]["loss"] if run["log"] else None,
    }
    (out / "training.json").write_text(json.dumps({"recipe": recipe, "heldout": metrics}, indent=2) + "\n")
    write_model_card(out, recipe, metrics)
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
