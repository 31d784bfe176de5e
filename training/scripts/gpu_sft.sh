#!/usr/bin/env bash
# Train the embedded model on a CUDA machine and pack the result into $OUT (device tool run).
# Usage (from the repository root): bash training/scripts/gpu_sft.sh MINUTES
set -euo pipefail
minutes=${1:-7}
out=${OUT:-/tmp/caspo-gpu-out}
mkdir -p "$out"
cd "$(dirname "$0")/.."
nvidia-smi -L || true
export PYTHONUNBUFFERED=1
python3 -m caspo_train.sft --out /tmp/caspo-arith-sft --minutes "$minutes" --batch-size 512 --workers 12 \
  --heldout data/heldout.jsonl --run-dir /tmp/caspo-run 2>&1 | tee "$out/train.log"
cp /tmp/caspo-arith-sft/training.json /tmp/caspo-arith-sft/README.md "$out/"
tar czf - -C /tmp caspo-arith-sft caspo-run | split -b 15M - "$out/result.tgz.part-"
ls -la "$out"
