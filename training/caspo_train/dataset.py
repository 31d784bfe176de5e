"""The released step-wise dataset with confidence annotations (training/data/caspo/).

The first CASPO iteration writes it (``align.py --dataset DIR``); its README and counts are computed
from ``steps.jsonl`` itself (the iteration-1 pair counts too, rebuilt from its rows with pairs.py), so this
also rewrites them for an existing file, and with ``--model`` re-annotates every step's engine confidence from
that model folder's caspo.json:

    python3 -m caspo_train.dataset data/caspo [--model ../models/caspo-arith-sft]    # from training/
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from .pairs import build_pairs, count_pairs, group_by_problem
from .sample import EngineConfidence, Sample, sample_from_json, sample_to_json

V2_POOL = "in_domain=.35,ops5=.3,edge=.35"  # the pool of the runs before v10, whose generation.json predates "pool"
COUNT_KEYS = ("solutions", "correct_answers", "steps", "wrong_steps", "confident_wrong_steps")


def write_dataset(folder: Path, samples: List[Sample], problems: List[dict], model_name: str, settings: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {r["problem"]: r["kind"] for r in problems}
    keep = {r["problem"] for r in problems[: settings["keep"]]} if settings.get("keep") else None
    with open(folder / "steps.jsonl", "w") as f:
        for s in samples:
            if keep is not None and s.problem not in keep:
                continue
            row = sample_to_json(s, model_name)
            row["kind"] = kinds.get(s.problem)
            row["temperature"] = settings["temperature"]
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    meta = {k: settings[k] for k in ("problems", "samples", "temperature", "seed", "tau")}
    meta["engine"] = settings.get("engine")  # EngineConfidence.describe() of the sampling model, or None
    meta["pool"], meta["device"] = settings.get("pool"), settings.get("device", "cpu")  # draws differ by device
    (folder / "generation.json").write_text(json.dumps(meta, indent=1) + "\n")
    describe(folder)


def count(rows: Iterable[dict], samples: Iterable[Sample], tau: float) -> Dict[str, Dict[str, int]]:
    """Per kind of problem; ``samples`` are the rows rebuilt (sample_from_json), whose steps give the filter's confidence."""
    per_kind: Dict[str, Dict[str, int]] = {}
    for row, sample in zip(rows, samples):
        c = per_kind.setdefault(row["kind"], {k: 0 for k in COUNT_KEYS})
        c["solutions"] += 1
        c["correct_answers"] += bool(row["answerCorrect"])
        c["steps"] += sum(st["correct"] is not None for st in row["steps"])  # lines after the answer line are no steps
        c["wrong_steps"] += sum(st["correct"] is False for st in row["steps"])
        c["confident_wrong_steps"] += sum(st.correct is False and st.filter_confidence >= tau for st in sample.steps)
    return per_kind


def read_rows(folder: Path) -> List[dict]:
    return [json.loads(line) for line in (folder / "steps.jsonl").read_text().splitlines() if line.strip()]


def reannotate(folder: Path, model_dir: Path) -> str:
    """Rewrites steps.jsonl with every step's engine confidence under ``model_dir``'s caspo.json."""
    engine = EngineConfidence.from_model_dir(model_dir)
    if engine is None:
        raise SystemExit(f"{model_dir} has no caspo.json: calibrate the model first (caspo calibrate --model {model_dir})")
    rows = read_rows(folder)
    with open(folder / "steps.jsonl", "w") as f:
        for row in rows:
            for st in row["steps"]:
                st["engineConfidence"] = round(engine(st["scores"]), 6)
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    meta = json.loads((folder / "generation.json").read_text())
    meta["engine"] = engine.describe()
    (folder / "generation.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta["engine"]


def describe(folder: Path) -> dict:
    """Writes counts.json and README.md from steps.jsonl and generation.json; the iteration-1 pair counts
    are rebuilt from the rows (the same pairs.py, the filter confidence each row carries)."""
    meta = json.loads((folder / "generation.json").read_text())
    rows = read_rows(folder)
    samples = [sample_from_json(r) for r in rows]
    per_kind = count(rows, samples, meta["tau"])
    meta["pairs_iteration1"] = count_pairs(p for g in group_by_problem(samples) for p in build_pairs(g, meta["tau"]))
    (folder / "generation.json").write_text(json.dumps(meta, indent=1) + "\n")
    info = {"model": sorted({r["model"] for r in rows}), "problems": len({r["problem"] for r in rows}),
            "total": {k: sum(c[k] for c in per_kind.values()) for k in COUNT_KEYS}, "by_kind": per_kind,
            "bytes": (folder / "steps.jsonl").stat().st_size, **meta, "kept": len({r["problem"] for r in rows})}
    (folder / "counts.json").write_text(json.dumps(info, indent=1) + "\n")
    (folder / "README.md").write_text(_readme(info))
    return info


def _filter_name(info: dict) -> str:
    return "engine confidence" if info.get("engine") else "geoMeanProb"


def _device(info: dict) -> str:
    return "the CPU" if (info.get("device") or "cpu") == "cpu" else "a CUDA GPU"


def _scope(info: dict) -> str:
    if info["kept"] < info["problems"]:
        return f"the first {info['kept']} of the iteration's {info['problems']} training problems"
    return f"{info['problems']} training problems"


def _readme(info: dict) -> str:
    # the engine filter reads the SFT model's caspo.json: the command names it (--sft-model), as npm run caspo:align does
    sft = " \\\n        --sft-model ../models/caspo-arith-sft" if info.get("engine") else ""
    pool = info.get("pool") or V2_POOL
    rows = "\n".join(f"| {k} | {c['solutions']} | {c['correct_answers']} | {c['steps']} | {c['wrong_steps']} | "
                     f"{c['confident_wrong_steps']} |" for k, c in sorted(info["by_kind"].items()))
    t, p = info["total"], info["pairs_iteration1"]
    return f"""# CASPO step-wise arithmetic dataset, with confidence annotations

Solutions sampled from {', '.join(f'`{m}`' for m in info['model'])} (this repository's SFT model) for {_scope(info)},
{info['samples']} per problem at temperature {info['temperature']}, on {_device(info)} (seeded; another device draws other
samples of the same problems). Every step is labelled by the exact arithmetic verifier and annotated with the model's
own confidence, computed as the Node engine computes it. It is the data of CASPO's first iteration: its preference
pairs are built from these samples. {t['solutions']} solutions, {info['bytes'] / 1e6:.1f} MB.

## Files
- `steps.jsonl`: one sampled solution per line (schema below).
- `counts.json`: the counts below; `generation.json`: the settings that produced the file.

## Schema (one JSON object per line)
| field | meaning |
|---|---|
| `problem`, `answer` | the problem text and its exact answer |
| `kind` | the kind of problem in the pool of `caspo_train.align` ({pool}): `in_domain` (2-4 operations, the SFT distribution), `ops5` (five operations), `edge` (products 80-99 x 800-999 in 3-4 operations) |
| `model`, `temperature` | the model that sampled the solution, and the sampling temperature |
| `solution` | the generated steps, one per line |
| `answerCorrect`, `finished` | the final answer equals `answer`; the model stopped with its end-of-sequence token |
| `steps[].index`, `steps[].text` | the step's position and text (a step is one line) |
| `steps[].confidence` | the step's raw confidence: geoMeanProb = exp(mean log-probability of its tokens) |
| `steps[].engineConfidence` | the confidence the engine shows for the step and CaT prunes on: {info.get('engine') or 'not annotated (the sampling model had no caspo.json)'} |
| `steps[].scores` | every raw step metric: `geoMeanProb`, `minProb`, `meanEntropy` (minus the mean entropy, nats), `deepConf` |
| `steps[].correct`, `steps[].reason` | the verifier's label, judged on the state the solution's own earlier steps left, and why |
| `steps[].tokens[]` | the evidence: each token's `text`, `id`, the chosen token's `logProb` and the `entropy` of the full distribution (natural log, unscaled logits; 6 significant digits) |

## Counts
| kind | solutions | correct answers | steps | wrong steps | wrong steps with {_filter_name(info)} >= {info['tau']} |
|---|---|---|---|---|---|
{rows}
| all | {t['solutions']} | {t['correct_answers']} | {t['steps']} | {t['wrong_steps']} | {t['confident_wrong_steps']} |

Preference pairs these rows make as iteration 1 builds them (`training/caspo_train/pairs.py`, a wrong step counting
as confident when its {_filter_name(info)} is >= {info['tau']}): {p['confident_wrong']} `confident_wrong`,
{p['first_error']} `first_error` ({p['verifier_chosen']} of them with a verifier-made chosen step). The greedy decodes
that `--mine` adds to an iteration's pairs are not sampled solutions and are not in this file.

## Regenerate
From `training/` (the first iteration of the pipeline writes this folder; the sampling is seeded):

    python3 -m caspo_train.align --init checkpoints/caspo-arith-sft.pt --iterations 1 --problems {info['problems']} \\
        --samples {info['samples']} --temperature {info['temperature']} --seed {info['seed']} --pool {pool} \\
        --device {info.get('device') or 'cpu'} --dataset-problems {info['kept']}{sft} --run-dir /tmp/caspo --dataset data/caspo

For more data raise `--dataset-problems` (all of the iteration's problems without it), `--problems` or `--samples` (about {info['bytes'] / max(1, t['solutions']) / 1e3:.0f} KB per solution);
only this sample is committed. `python3 -m caspo_train.dataset data/caspo` rewrites this README and counts.json
from steps.jsonl (`--model ../models/caspo-arith-sft` first re-annotates `engineConfidence` from that model's caspo.json).
"""


def main(argv: Optional[list] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", type=Path, default=None,
                    help="re-annotate engineConfidence from this model folder's caspo.json (the model that sampled the rows)")
    args = ap.parse_args(argv)
    if args.model:
        print(f"engineConfidence: {reannotate(args.folder, args.model)}")
    info = describe(args.folder)
    print(f"wrote {args.folder / 'README.md'}: {info['total']['solutions']} solutions")


if __name__ == "__main__":
    main()
