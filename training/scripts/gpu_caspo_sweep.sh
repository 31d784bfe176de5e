#!/usr/bin/env bash
# CASPO at ten times the pairs per iteration, several settings side by side on one CUDA machine
# (device tool run; docs/caspo/runs.md, v10). Each setting is `caspo_train.align` from the SFT model
# with the recipe's reference (the previous iteration); the GPU runs sampling, DPO and the PyTorch
# progress checks (full held-out and hard splits, with step ECE/AUROC). No Node there: no engine
# calibration (--calibrate no), so the pair filter reads raw geoMeanProb, as v8 showed gives the
# same pairs. Four state dicts come back xz-compressed -- the first-ranked run's iterations up to the
# chosen one, then the next-ranked -- to be fitted and measured by the engine on the CPU.
# Usage (from the repository root): bash training/scripts/gpu_caspo_sweep.sh SECONDS [SWEEP]
# SWEEP 10: batch size, steps and pool at ten times the pairs; 11: what keeps the in-domain accuracy
# (a larger in-domain share, a larger DPO beta, more replay, a smaller step).
set -uo pipefail
budget=${1:-420}
sweep=${2:-10}
py=${PYTHON:-python3}
out=${OUT:-/tmp/caspo-sweep-out}
runs=/tmp/caspo-sweep
mkdir -p "$out" "$runs"
cd "$(dirname "$0")/.."
nvidia-smi -L || true
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
common=(--init checkpoints/caspo-arith-sft.pt --iterations 4 --problems 6000 --epochs 1 --calibrate no
        --filter-confidence raw --device cuda)
b="--batch-pairs 16 --replay-batch 32"
d="--batch-pairs 32 --replay-batch 64 --epochs 2"
more_in_domain="--pool in_domain=.5,ops5=.25,edge=.25"
declare -A settings
if [ "$sweep" = 10 ]; then
  settings=([a]="--batch-pairs 64 --replay-batch 128" [b]="$b"
            [c]="--batch-pairs 64 --replay-batch 128 --pool in_domain=.3,ops5=.3,edge=.25,bigmul=.15" [d]="$d")
else
  settings=([e]="$b $more_in_domain" [f]="$b --beta 0.3" [g]="$d $more_in_domain"
            [h]="--batch-pairs 16 --replay-batch 128 $more_in_domain" [i]="$b --lr 5e-6" [j]="$d --beta 0.3")
fi
for name in "${!settings[@]}"; do
  # shellcheck disable=SC2086
  timeout "$budget" "$py" -m caspo_train.align "${common[@]}" ${settings[$name]} --run-dir "$runs/v$sweep$name" \
    > "$runs/v$sweep$name.log" 2>&1 &
done
wait
"$py" - "$runs" "$out" <<'EOF' || exit 1
import json, sys
from pathlib import Path
runs, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = []
for summary in sorted(runs.glob("v*/summary.json")):
    s = json.loads(summary.read_text())
    sft = s.get("sft_eval", {})
    for it in s["iterations"]:
        e = it["eval"]
        ece = min(e["hard_ece_minProb"], e["hard_ece_geoMeanProb"])
        area = max(e["hard_auroc_minProb"], e["hard_auroc_geoMeanProb"])
        goals = (ece <= 0.6 * sft["hard_ece_geoMeanProb"]) + (area >= 0.85) + (e["hard"] >= sft["hard"])
        rows.append({"run": summary.parent.name, "iteration": it["iteration"], "goals": goals, "hard_ece": ece,
                     "hard_auroc": area, "pairs": it["pairs"], "dpo_steps": it["dpo"]["steps"], "wall_s": it["wall_s"],
                     "eval": e, "path": str(summary.parent / f"iter{it['iteration']}" / "model.pt")})
if not rows:
    sys.exit("no iteration finished: see the logs")
# in-domain accuracy first (the goal every sweep-10 setting missed), then the hard-split goals
rows.sort(key=lambda r: (r["eval"]["heldout"] < sft["heldout"], -r["goals"], -r["hard_auroc"], r["hard_ece"]))
(out / "screen.json").write_text(json.dumps(rows, indent=1) + "\n")
for r in rows:
    print(r["run"], r["iteration"], r["goals"], r["eval"]["heldout"], r["eval"]["hard"], r["hard_ece"], r["hard_auroc"],
          r["pairs"], r["dpo_steps"], r["wall_s"])
# the first-ranked run's iterations up to the chosen one (the engine table wants every iteration of the
# run that ships), then the next-ranked others, 4 in all (the device returns 8 files of at most 16 MiB)
best = rows[0]
pick = sorted((r for r in rows if r["run"] == best["run"] and r["iteration"] <= best["iteration"]),
              key=lambda r: r["iteration"])[-4:]
pick += [r for r in rows if r not in pick][: 4 - len(pick)]
(out / "pick.txt").write_text("\n".join(f"{r['run']}-iter{r['iteration']} {r['path']}" for r in pick) + "\n")
EOF
while read -r name path; do xz -T1 -6 -c "$path" > "$out/$name.pt.xz" & done < "$out/pick.txt"
wait
tar czf "$out/logs.tgz" -C "$runs" --exclude='*.pt' --exclude=model --exclude=pairs.jsonl .
ls -la "$out"
