#!/usr/bin/env bash
# The GPU-path check, on the device machine (see bench/gpu/prepare.sh): the embedded model's answers
# and step confidences on WebGPU against the CPU (greedy and CaT, 30 held-out problems), then the
# engine's token loop on cpu:1 / cpu:8 / webgpu:host (KV cache back to the CPU every step) / webgpu
# (KV cache on the GPU) for the embedded model and two random-weight Qwen3-vocabulary models made
# there (347 MB and 1.26 GB). Results in $OUT: evals.json, providers.json, providers.md, log.txt.
# Usage: bash bench/gpu/run.sh [TOKENS] [RUNS]   (about 5 minutes on an H200 host)
set -uo pipefail
cd "$(dirname "$0")/../.."
tokens=${1:-32}
runs=${2:-3}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
t0=$(date +%s)
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/node-bin && xz -dc .dev/node.xz > /tmp/node-bin/node && chmod +x /tmp/node-bin/node
export PATH=/tmp/node-bin:$PATH PYTHONUNBUFFERED=1 CASPO_PYTHON=${CASPO_PYTHON:-python3}
mkdir -p node_modules && tar -C node_modules -xJf .dev/ort.tar.xz && tar -C node_modules -xJf .dev/tok.tar.xz
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "node $(node --version); Vulkan loaders: $(ldconfig -p | grep -c libvulkan)"
for ep in cpu webgpu; do
  for strategy in greedy cat; do
    node bin/caspo.js eval --json --per-problem --input training/data/heldout.jsonl --limit 30 --ep "$ep" \
      --strategy "$strategy" > "/tmp/eval-$ep-$strategy.json" || echo "eval $ep $strategy failed"
  done
done
node -e '
const fs = require("fs");
const read = (ep, s) => JSON.parse(fs.readFileSync(`/tmp/eval-${ep}-${s}.json`, "utf8"));
const out = {};
for (const s of ["greedy", "cat"]) {
  const [cpu, gpu] = [read("cpu", s), read("webgpu", s)];
  let maxDiff = 0, equal = 0;
  cpu.problems.forEach((p, i) => {
    const q = gpu.problems[i];
    if (JSON.stringify(p.answers) === JSON.stringify(q.answers)) equal++;
    p.steps.forEach((step, j) => { maxDiff = Math.max(maxDiff, Math.abs(step[0] - q.steps[j][0])); });
  });
  out[s] = { problems: cpu.problems.length, accuracy: { cpu: cpu.accuracy, webgpu: gpu.accuracy }, answersEqual: equal,
    steps: { cpu: cpu.steps, webgpu: gpu.steps }, maxStepConfidenceDiff: maxDiff, wallMs: { cpu: cpu.wallMs, webgpu: gpu.wallMs },
    executionProvider: { cpu: cpu.executionProvider, webgpu: gpu.executionProvider } };
}
fs.writeFileSync(process.argv[1], JSON.stringify(out, null, 2));
console.log(JSON.stringify(out));
' "$out/evals.json"
echo "evals $(( $(date +%s) - t0 )) s"
timeout 300 node .dev/b/providers.js --providers cpu:8,webgpu:host,webgpu --tokens "$tokens" --runs "$runs" \
  --models caspo-arith,bench/qwen3-h512,bench/qwen3-h896 --out "$out" 2>&1 | tail -c 4000
echo "total $(( $(date +%s) - t0 )) s"
