#!/usr/bin/env bash
# CASPO at ten times the pairs per iteration, several settings side by side on one CUDA machine
# (device tool run; docs/caspo/runs.md, v10). Each setting is `caspo_train.align` from the SFT model
# with the recipe's reference (the previous iteration); the GPU runs sampling, DPO and the PyTorch
# progress checks (full held-out and hard splits, with step ECE/AUROC). No Node there: no engine
# calibration (--calibrate no), so the pair filter reads raw geoMeanProb, as v8 showed gives the
# same pairs. Four state dicts come back xz-compressed -- the first-ranked run's iterations up to the
# chosen one, then the next-ranked -- to be fitted and measured by the engine on the CPU.
# Usage (from the repository root): bash training/scripts/gpu_caspo_sweep.sh SECONDS [SWEEP]
# A dry run of sweep 14 at toy size on the CPU: DEVICE=cpu SCREEN_N=20 HARD_SCALE=0.05 TOY="--problems 8 --samples 1 --mine 40
# --iterations 1 --eval-limit 2 --replay-batch 8" bash training/scripts/gpu_caspo_sweep.sh 300 14
# SWEEP 10: batch size, steps and pool at ten times the pairs; 11: what keeps the in-domain accuracy
# (a larger in-domain share, a larger DPO beta, more replay, a smaller step); 12: what lifts it above the
# SFT model's (pairs from the greedy decode, a heavier replay, a heavier chosen NLL) beside v11h itself
# (seed 0: does the GPU redo the default? seed 1: a replicate). Sweep 12 ranks on fresh draws
# (caspo_train.screen --seed 2, on the GPU) instead of the held-out and hard splits, which stay for the
# engine table; SHIPPED=path/to/model.pt is screened beside them. 13: is v12r's in-domain gain the
# replay's or its draw's (seed 1), and does more replay keep more (gamma 10)? 14: does pairing the greedy
# decode's in-domain mistakes (--mine) or leaving out the edge-product pool remove the in-domain cost? It ranks
# on 6,000 fresh in-domain problems (seed 5) and screens each run's last iteration scaled back to 0.8 (the
# merge the pipeline ships) beside the SFT model, v12r iteration 3 and the shipped model, which come as
# xz-compressed state dicts in BASE (default .dev14: sft.pt.xz, iter3.pt.xz, shipped.pt.xz). 15: sweep 14's x and y
# with --seed 1, screened the same way (MERGE_ALPHA=0.9: the weight v15 shipped); NO_PT=1 brings no state dicts back.
# 16: does aligning further fix the in-domain product slips the shipped model still makes? Iterations 4-6 continue
# v15's run y from its iteration 3 (BASE=../.dev16 holds only iter3.pt.xz; iterations 1-3 are resumed from the
# committed training/models/caspo-arith-iter{1,2,3} records, so iteration 4 draws what a 6-iteration run of the recipe
# would), with y's recipe, with four times the mined greedy mistakes, with a heavier replay, with a larger in-domain
# share. Ranked on fresh draws of seed 7 (SCREEN_SEED), in-domain step ECE (minProb, against the SFT model's default
# geoMeanProb: the table's goal) after in-domain accuracy; the shipped model is made there (SFT + 0.9 x (iter3 - SFT)).
# 17: can a fifth iteration keep what the fourth gave (the in-domain accuracy) without the dip every setting of sweep 16
# showed at iteration 5? Iterations 5-7 continue sweep 16's run d (the shipped model) from its iteration 4 (BASE=../.dev17
# holds iter4.pt.xz; iterations 1-4 resumed from the committed records) with d's settings and a smaller step, the SFT
# model as every iteration's reference, a larger DPO beta, a heavier chosen NLL. Ranked on fresh draws of seed 9 with
# the in-domain ECE goal on one metric for both models (geoMeanProb, each model's default): sweep 16's form compared
# two metrics, and on seed 8 the shipped model's own metric was only 15 % below the SFT model's.
# 18: can iterations 7-9 keep the in-domain ECE sweep 17's iteration 7 reached on minProb without its in-domain accuracy
# cost? They continue sweep 17's run e (the shipped model; BASE=../.dev18 holds iter6.pt.xz) with e's settings and a
# quarter step, an in-domain-only pool, twice the mined greedy mistakes. Ranked on fresh draws of seed 12 by the
# in-domain ECE goal against the SFT model's default (geoMeanProb) on how many of the two metrics a model's default
# could be (caspo calibrate picks it later, by AUROC); the first-ranked model and the shipped one are then checked
# on seed 13 (CHECK_SEED), which the ranking does not read. No merged models (sweep 17's ranked below their runs).
set -uo pipefail
budget=${1:-420}
sweep=${2:-10}
py=${PYTHON:-python3}
out=${OUT:-/tmp/caspo-sweep-out}
runs=/tmp/caspo-sweep
rm -rf "$runs"  # the ranking reads every screen-*.json there
mkdir -p "$out" "$runs"
cd "$(dirname "$0")/.."
nvidia-smi -L || true
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
common=(--init checkpoints/caspo-arith-sft.pt --iterations 4 --problems 6000 --epochs 1 --calibrate no
        --filter-confidence raw --device "${DEVICE:-cuda}")
# sweeps 10-12 ran when align's replay weight defaulted to 1 (3 since v12); a setting's own --gamma wins
[ "$sweep" -le 12 ] && common+=(--gamma 1)
b="--batch-pairs 16 --replay-batch 32"
d="--batch-pairs 32 --replay-batch 64 --epochs 2"
more_in_domain="--pool in_domain=.5,ops5=.25,edge=.25"
no_edge="--pool in_domain=.5,ops5=.5"
declare -A settings
if [ "$sweep" = 10 ]; then
  settings=([a]="--batch-pairs 64 --replay-batch 128" [b]="$b"
            [c]="--batch-pairs 64 --replay-batch 128 --pool in_domain=.3,ops5=.3,edge=.25,bigmul=.15" [d]="$d")
elif [ "$sweep" = 12 ]; then
  h="--batch-pairs 16 --replay-batch 128 $more_in_domain"
  settings=([h]="$h" [p]="$h --greedy-sample" [q]="$h --greedy-sample --gamma 3" [r]="$h --gamma 3"
            [s]="$h --seed 1" [t]="$h --greedy-sample --alpha 0.5")
elif [ "$sweep" = 13 ]; then
  # v12r (align's defaults since v12) with another seed, and a heavier replay still
  settings=([u]="--iterations 3 --seed 1" [v]="--iterations 3 --gamma 10")
elif [ "$sweep" = 15 ]; then
  # v15's recipe (sweep 14's y) and its no-mining twin (x) again with another seed: is the no-edge gain the draw?
  settings=([s]="--iterations 3 --mine 8000 $no_edge --seed 1" [t]="--iterations 3 $no_edge --seed 1")
elif [ "$sweep" = 16 ]; then
  settings=([a]="--iterations 6 --mine 8000" [b]="--iterations 6 --mine 32000" [c]="--iterations 6 --mine 32000 --gamma 10"
            [d]="--iterations 6 --mine 32000 --pool in_domain=.8,ops5=.2")
elif [ "$sweep" = 17 ]; then
  d16="--iterations 7 --mine 32000 --pool in_domain=.8,ops5=.2"
  settings=([e]="$d16 --lr 5e-6" [f]="$d16 --reference sft" [g]="$d16 --beta 0.3" [h]="$d16 --alpha 0.5")
elif [ "$sweep" = 18 ]; then
  e17="--iterations 9 --mine 32000 --pool in_domain=.8,ops5=.2 --lr 5e-6"
  settings=([i]="$e17" [j]="$e17 --lr 2.5e-6" [k]="$e17 --pool in_domain=1" [l]="$e17 --mine 64000")
elif [ "$sweep" = 14 ]; then
  settings=([w]="--iterations 3 --mine 8000" [x]="--iterations 3 $no_edge" [y]="--iterations 3 --mine 8000 $no_edge"
            [z]="--iterations 3 --mine 8000 --seed 1")
else
  settings=([e]="$b $more_in_domain" [f]="$b --beta 0.3" [g]="$d $more_in_domain"
            [h]="--batch-pairs 16 --replay-batch 128 $more_in_domain" [i]="$b --lr 5e-6" [j]="$d --beta 0.3")
fi
resumed=0
if [ "$sweep" -ge 14 ]; then
  base=${BASE:-../.dev14}
  rm -rf /tmp/base && mkdir -p /tmp/base
  if [ -f "$base/sft.pt.xz" ]; then xz -dc "$base/sft.pt.xz" > /tmp/base/sft.pt || exit 1; else cp checkpoints/caspo-arith-sft.pt /tmp/base/sft.pt; fi
  for f in iter3 iter4 iter6 shipped; do [ ! -f "$base/$f.pt.xz" ] || xz -dc "$base/$f.pt.xz" > "/tmp/base/$f.pt" || exit 1; done
fi
if [ "$sweep" -ge 16 ]; then
  resumed=$((sweep - 13))  # 16: from iteration 3 (run y), 17: from iteration 4 (run d, the shipped model)
  [ "$sweep" = 18 ] && resumed=6  # from iteration 6 (sweep 17's run e, the shipped model)
  if [ "$sweep" = 16 ]; then  # 17 on: the shipped model is the start itself (merge kept alpha 1)
    "$py" -c "import torch; from caspo_train.merge import interpolate as i; l=lambda p: torch.load(p, map_location='cpu')
torch.save(i(l('/tmp/base/sft.pt'), l('/tmp/base/iter3.pt'), ${MERGE_ALPHA:-0.9}), '/tmp/base/shipped.pt')" || exit 1
  fi
  for name in "${!settings[@]}"; do
    for it in $(seq 1 "$resumed"); do  # align --resume loads each model.pt in turn: the last one (the start) counts
      it_dir="$runs/v$sweep$name/iter$it"  # (not $d: that is a setting above)
      mkdir -p "$it_dir/model"
      cp "models/caspo-arith-iter$it/training.json" "$it_dir/iteration.json"
      cp "models/caspo-arith-iter$it/parity.json" "models/caspo-arith-iter$it/caspo.json" "$it_dir/model/"
      ln -f "/tmp/base/iter$resumed.pt" "$it_dir/model.pt"
    done
  done
  common+=(--resume)
fi
for name in "${!settings[@]}"; do
  # shellcheck disable=SC2086
  timeout "$budget" "$py" -m caspo_train.align "${common[@]}" ${settings[$name]} ${TOY:-} --run-dir "$runs/v$sweep$name" \
    > "$runs/v$sweep$name.log" 2>&1 &
done
wait
if [ "$sweep" -ge 14 ]; then
  [ "$sweep" -ge 18 ] || "$py" - "$runs" "$sweep" "${MERGE_ALPHA:-0.8}" <<'EOF' || exit 1
import sys
from pathlib import Path
import torch
from caspo_train.merge import interpolate
runs = Path(sys.argv[1])
sft = torch.load("/tmp/base/sft.pt", map_location="cpu")
for run in sorted(runs.glob(f"v{sys.argv[2]}?")):
    done = sorted(run.glob("iter*/iteration.json"))
    if done:  # the last finished iteration, scaled back (MERGE_ALPHA: 0.8, the weight v14 shipped; v15 shipped 0.9)
        last = done[-1].parent / "model.pt"
        torch.save(interpolate(sft, torch.load(last, map_location="cpu"), float(sys.argv[3])), run / "merge08.pt")
        print(run.name, "merged", last)
EOF
  screen=(--device "${DEVICE:-cuda}" --seed "${SCREEN_SEED:-5}" --in-domain "${SCREEN_N:-6000}" --hard-scale "${HARD_SCALE:-2}")
  timeout 180 "$py" -m caspo_train.screen "${screen[@]}" --out "$runs/screen-base.json" /tmp/base/*.pt \
    > "$runs/screen-base.log" 2>&1 &
  for run in "$runs"/v"$sweep"?; do
    mapfile -t models < <(ls "$run"/iter*/iteration.json 2>/dev/null | sed 's/iteration.json$/model.pt/' \
                            | awk -v r="$resumed" '{n = $0; sub(/.*iter/, "", n); sub(/\/.*/, "", n)} n + 0 > r'
                          ls "$run"/merge08.pt 2>/dev/null)
    [ "${#models[@]}" -gt 0 ] && timeout 180 "$py" -m caspo_train.screen "${screen[@]}" \
      --out "$runs/screen-$(basename "$run").json" "${models[@]}" > "$runs/screen-$(basename "$run").log" 2>&1 &
  done
  wait
  "$py" - "$runs" "$out" "$sweep" "$resumed" <<'EOF' || exit 1
import json, sys
from pathlib import Path
runs, out, sweep, resumed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
models = {}
for f in sorted(runs.glob("screen-*.json")):
    models.update(json.loads(f.read_text())["models"])
sft = models.pop("/tmp/base/sft.pt")
def name(path):
    p = Path(path)
    if p.parent.name == "base":
        return {"iter3": "BASE iter3 (sweep 14: v12r 3; 16: v14y 3)", "iter4": "BASE iter4 (sweep 17: v16d 4)",
                "iter6": "BASE iter6 (sweep 18: v17e 6, the shipped model)", "shipped": "BASE shipped"}[p.stem]
    return f"{p.parent.name} merged" if p.stem == "merge08" else f"{p.parent.parent.name} {p.parent.name[4:]}"
def goals(m):
    h = m["hard"]
    return ((h["ece_minProb"] <= 0.6 * sft["hard"]["ece_minProb"]) + (h["auroc_minProb"] >= 0.85)
            + (h["accuracy"] >= sft["hard"]["accuracy"]))
def in_ece(m):  # sweep 16: the table's in-domain ECE goal (minProb, then each aligned model's default, vs the SFT model's
    # geoMeanProb); 17: geoMeanProb for both (the shipped model's default, and the SFT model's); 18 on: on how many of
    # geoMeanProb and minProb (either can become a model's default) the goal holds against the SFT model's geoMeanProb
    goal = 0.6 * sft["in_domain"]["ece_geoMeanProb"]
    if sweep >= 18:
        return sum(m["in_domain"][f"ece_{k}"] <= goal for k in ("geoMeanProb", "minProb"))
    metric = "ece_geoMeanProb" if sweep >= 17 else "ece_minProb"
    return int(sweep >= 16 and m["in_domain"][metric] <= goal)
rows = [{"path": k, "name": name(k), "goals": goals(m), "in_domain_ece_goal": in_ece(m), **m} for k, m in models.items()]
# in-domain accuracy not below the SFT model's first, (sweep 16 on: the in-domain ECE goal,) then the hard-kind goals, then
# in-domain accuracy, then hard accuracy
rows.sort(key=lambda r: (r["in_domain"]["accuracy"] < sft["in_domain"]["accuracy"], -r["in_domain_ece_goal"], -r["goals"],
                         -r["in_domain"]["accuracy"], -r["hard"]["accuracy"]))
(out / "screen.json").write_text(json.dumps({"sft": sft, "rows": rows}, indent=1) + "\n")
print("sft", sft["in_domain"], sft["hard"])
for r in rows:
    print(r["name"], r["goals"], r["in_domain"]["accuracy"], r["in_domain"]["ece_minProb"], r["in_domain"]["auroc_minProb"],
          r["hard"]["accuracy"], r["hard"]["ece_minProb"], r["hard"]["auroc_minProb"])
# every iteration of the first-ranked run (the table wants them all), then the next run's last iteration
ranked = [r for r in rows if not r["path"].startswith("/tmp/base")]
if not ranked:
    sys.exit("no iteration finished: see the logs")
top = Path(ranked[0]["path"])
first = top.parent.name if top.stem == "merge08" else top.parent.parent.name
pick = [f"{first}-{p.parent.name} {p}" for p in sorted((runs / first).glob("iter*/model.pt"))
        if (p.parent / "iteration.json").exists() and int(p.parent.name[4:]) > resumed]
other = next((r for r in ranked if f"/{first}/" not in r["path"] and Path(r["path"]).stem != "merge08"), None)
if other:
    p = Path(other["path"])
    pick.append(f"{p.parent.parent.name}-{p.parent.name} {p}")
(out / "pick.txt").write_text("\n".join(pick[:4]) + "\n")
(runs / "check.txt").write_text(ranked[0]["path"] + "\n")
EOF
  if [ "$sweep" -ge 18 ]; then  # the check after the choice: fresh draws the ranking did not read
    timeout 120 "$py" -m caspo_train.screen --device "${DEVICE:-cuda}" --seed "${CHECK_SEED:-13}" --in-domain "${SCREEN_N:-6000}" \
      --hard-scale "${HARD_SCALE:-2}" --out "$out/check-seed${CHECK_SEED:-13}.json" /tmp/base/sft.pt /tmp/base/iter6.pt \
      "$(cat "$runs/check.txt")" > "$runs/check.log" 2>&1
  fi
elif [ "$sweep" -ge 12 ]; then
  # every finished iteration (iteration.json is written after its model.pt), the SFT model and SHIPPED
  screen=(--device cuda --seed 2)
  timeout 150 "$py" -m caspo_train.screen "${screen[@]}" --out "$runs/screen-base.json" checkpoints/caspo-arith-sft.pt \
    ${SHIPPED:-} > "$runs/screen-base.log" 2>&1 &
  for run in "$runs"/v"$sweep"?; do
    mapfile -t done_its < <(ls "$run"/iter*/iteration.json 2>/dev/null | sed 's/iteration.json$/model.pt/')
    [ "${#done_its[@]}" -gt 0 ] && timeout 150 "$py" -m caspo_train.screen "${screen[@]}" \
      --out "$runs/screen-$(basename "$run").json" "${done_its[@]}" > "$runs/screen-$(basename "$run").log" 2>&1 &
  done
  wait
  "$py" - "$runs" "$out" "${SHIPPED:-}" <<'EOF' || exit 1
import json, sys
from pathlib import Path
import torch
runs, out, shipped = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
models = {}
for f in sorted(runs.glob("screen-*.json")):
    models.update(json.loads(f.read_text())["models"])
sft = models.pop("checkpoints/caspo-arith-sft.pt")
def goals(m):
    h = m["hard"]
    return ((min(h["ece_minProb"], h["ece_geoMeanProb"]) <= 0.6 * sft["hard"]["ece_geoMeanProb"])
            + (max(h["auroc_minProb"], h["auroc_geoMeanProb"]) >= 0.85) + (h["accuracy"] >= sft["hard"]["accuracy"]))
rows = [{"path": k, "run": "shipped" if k == shipped else Path(k).parent.parent.name,
         "iteration": 3 if k == shipped else int(Path(k).parent.name[4:]), "goals": goals(m), **m} for k, m in models.items()]
# in-domain accuracy not below the SFT model's first (the goal no setting has met on fresh draws), then the
# hard-split goals, then in-domain accuracy, then hard AUROC
rows.sort(key=lambda r: (r["in_domain"]["accuracy"] < sft["in_domain"]["accuracy"], -r["goals"], -r["in_domain"]["accuracy"],
                         -max(r["hard"]["auroc_minProb"], r["hard"]["auroc_geoMeanProb"])))
(out / "screen.json").write_text(json.dumps({"sft": sft, "rows": rows}, indent=1) + "\n")
print("sft", sft["in_domain"]["accuracy"], sft["hard"]["accuracy"], sft["hard"]["ece_geoMeanProb"])
for r in rows:
    print(r["run"], r["iteration"], r["goals"], r["in_domain"]["accuracy"], r["in_domain"]["auroc_minProb"],
          r["hard"]["accuracy"], r["hard"]["ece_minProb"], r["hard"]["auroc_minProb"])
best = next(r for r in rows if r["run"] != "shipped")
pick = sorted((r for r in rows if r["run"] == best["run"] and r["iteration"] <= best["iteration"]), key=lambda r: r["iteration"])[-4:]
(out / "pick.txt").write_text("\n".join(f"{r['run']}-iter{r['iteration']} {r['path']}" for r in pick) + "\n")
redo = runs / "v12h/iter3/model.pt"
if shipped and redo.exists():  # does seed 0 on this GPU give the shipped weights again?
    a, b = torch.load(shipped, map_location="cpu"), torch.load(redo, map_location="cpu")
    print("v12h iteration 3 equals SHIPPED:", all(torch.equal(a[k], b[k]) for k in a),
          "largest difference:", max(float((a[k].float() - b[k].float()).abs().max()) for k in a))
EOF
else
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
fi
[ -n "${NO_PT:-}" ] || while read -r name path; do xz -T1 -6 -c "$path" > "$out/$name.pt.xz" & done < "$out/pick.txt"
wait
tar czf "$out/logs.tgz" -C "$runs" --exclude='*.pt' --exclude=model --exclude=pairs.jsonl .
ls -la "$out"
