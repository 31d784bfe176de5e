#!/usr/bin/env node
// `npm run caspo:align [-- extra flags]`: the whole CASPO pipeline on the embedded SFT model, in one
// command. Builds the `caspo` CLI first (each iteration's caspo.json is fitted by `caspo calibrate`),
// then runs training/caspo_train/align.py with the settings of the committed models, in four stages
// (each iteration's caspo.json fitted on all 2,000 problems of training/data/calibration.jsonl, about 3 min on a CPU):
// iterations 1-3 of 6,000 problems x 4 samples of the in-domain/five-operation pool, plus the greedy mistakes on
// 8,000 more in-domain ones (--mine), and the released dataset (its first 600 problems) in training/data/caspo;
// then iteration 4, resumed from iteration 3 with four fifths of the pool in-domain and 32,000 mined problems
// (docs/caspo/runs.md, v17); then iterations 5 and 6 with those settings at half the learning rate (v18); then
// iterations 7-9 at that rate on in-domain problems only (v20)
// -> training/models/caspo-arith-iter{1,...,9}, the chosen one (see select_iteration in align.py) also
// models/caspo-arith. Then caspo_train.merge interpolates models/caspo-arith back toward
// the SFT model as far as fresh in-domain draws allow (docs/caspo/runs.md, v14); `--no-merge` skips it.
// On a CUDA GPU (align.py --device auto) about 10 minutes; on a 2-core CPU about 6 hours (iteration 1 took 54 min,
// docs/caspo/runs.md v16). Flags after `--` go to every stage of align.py (they win: argparse keeps the last
// value). A quick run needs folders of its own, or it would replace the shipped model (and --resume refuses
// iterations trained with other settings): `npm run caspo:align -- --no-merge --iterations 1 --problems 50
// --run-dir /tmp/quick/run --publish /tmp/quick/pub --out /tmp/quick/out --dataset /tmp/quick/dataset`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTorchPython } from './lib/python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = requireTorchPython();

const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const rest = process.argv.slice(2).filter((arg) => arg !== '--no-merge');
const merge = rest.length === process.argv.length - 2;
const common = [
  '-m', 'caspo_train.align',
  '--init', 'checkpoints/caspo-arith-sft.pt',
  '--run-dir', 'runs/caspo-arith',
  '--publish', 'models',
  '--sft-model', '../models/caspo-arith-sft',
  '--resume',
];
// iterations 4-6: four fifths of the pool in-domain, 32,000 mined problems
const inDomain = ['--mine', '32000', '--pool', 'in_domain=.8,ops5=.2'];
const stages = [
  ['--iterations', '3', '--mine', '8000', '--dataset', 'data/caspo', '--dataset-problems', '600'],
  // iterations 1-3 are resumed from the first stage
  ['--iterations', '4', ...inDomain],
  // iterations 1-4 are resumed from the first two
  ['--iterations', '6', ...inDomain, '--lr', '5e-6'],
  // iterations 1-6 are resumed from the first three; --out chooses among all nine
  ['--iterations', '9', '--mine', '32000', '--pool', 'in_domain=1', '--lr', '5e-6', '--out', '../models/caspo-arith'],
];
for (const stage of stages) {
  const args = [...common, ...stage, ...rest];
  console.log(`caspo:align: ${python} ${args.join(' ')}  (in training/)`);
  const run = spawnSync(python, args, { cwd: join(root, 'training'), stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
if (!merge) process.exit(0);

// The chosen iteration (now models/caspo-arith) scaled back toward the SFT model; reads the folder before replacing it.
const mergeArgs = [
  '-m', 'caspo_train.merge',
  '--base', 'checkpoints/caspo-arith-sft.pt',
  '--aligned', '../models/caspo-arith',
  '--summary', '../models/caspo-arith/caspo_alignment.json',
  '--out', '../models/caspo-arith',
];
console.log(`caspo:align: ${python} ${mergeArgs.join(' ')}  (in training/)`);
const merged = spawnSync(python, mergeArgs, { cwd: join(root, 'training'), stdio: 'inherit' });
process.exit(merged.status ?? 1);
