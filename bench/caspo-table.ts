/**
 * The CASPO comparison table: every model (the SFT baseline, the CASPO iterations) × strategy
 * (greedy, CaT with its default settings) × split (held-out, hard), each one
 * `caspo eval --json --confidence raw` run, written to docs/caspo/ as calibration.md (tables and the
 * goal checks), calibration.json (every number) and reliability.png (baseline vs final, greedy).
 *
 *   npm run caspo:table
 *   npm run caspo:table -- --models models/caspo-arith-sft,training/runs/x/iter1,training/runs/x/iter2 --limit 50 --threads 2
 *   npm run caspo:table -- --from-json docs/caspo/calibration.json     (re-render the md and png only)
 *
 * The first model is the baseline; --final (default: the shipped model, else the last model) is the
 * CASPO model the goals check, and the last model's goals are listed too when it is another one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describeFlags, parseArgs } from '../language-server/src/cli/args';
import { EXECUTION_PROVIDER_SETTINGS } from '../language-server/src/model/executionProvider';
import { modelFilesIn } from '../language-server/src/model/modelFiles';
import { CAT_DEFAULTS } from '../language-server/src/decoding/cat';
import { STEP_METRICS } from '../language-server/src/decoding/stepConfidence';
import { runEvalProcess } from './caspo-table/evalProcess';
import { TABLE_STRATEGIES, type ModelSpec, type SplitSpec, type TableData, type TableRun, type TableStrategy } from './caspo-table/types';
import { readTableData, writeReport } from './caspo-table/writeReport';
import { machine } from './engine/environment';

const root = resolve(__dirname, '..');

// The SFT baseline and the run that ships, iteration by iteration: training/models/caspo-arith-iter{1,...,9}
// (run v18k, docs/caspo/runs.md v20: v15's run y, sweep 16's fourth iteration, two more at half the step (v18), and
// three more on in-domain problems only), and
// models/caspo-arith, the embedded default: the chosen iteration as caspo_train.merge left it (runs.md, v14).
const DEFAULT_MODELS = [
  'models/caspo-arith-sft',
  'training/models/caspo-arith-iter1',
  'training/models/caspo-arith-iter2',
  'training/models/caspo-arith-iter3',
  'training/models/caspo-arith-iter4',
  'training/models/caspo-arith-iter5',
  'training/models/caspo-arith-iter6',
  'training/models/caspo-arith-iter7',
  'training/models/caspo-arith-iter8',
  'training/models/caspo-arith-iter9',
  'models/caspo-arith',
];
const DEFAULT_FINAL = 'models/caspo-arith';

const SPLITS: readonly SplitSpec[] = [
  { name: 'heldout', file: 'training/data/heldout.jsonl', describe: 'Held-out problems (in the training domain)', title: 'held-out (in distribution)' },
  { name: 'hard', file: 'training/data/hard.jsonl', describe: 'Hard problems (out of distribution: 5 operations, 3-digit products)', title: 'hard (out of distribution)' },
];

const FLAGS = {
  models: { kind: 'string', valueName: 'DIR,DIR,...', help: `model folders, baseline first (default ${DEFAULT_MODELS.join(',')})` },
  final: {
    kind: 'string',
    valueName: 'DIR',
    help: `the CASPO model the goals check and the reliability diagram shows, one of --models (default: ${DEFAULT_FINAL} with the default models, else the last); when it is not the last, the goals are also checked for the last`,
  },
  splits: { kind: 'string', valueName: 'NAME,...', help: `which splits (default ${SPLITS.map((s) => s.name).join(',')})` },
  strategies: { kind: 'string', valueName: 'NAME,...', help: `which strategies (default ${TABLE_STRATEGIES.join(',')})` },
  limit: { kind: 'number', valueName: 'N', integer: true, min: 1, help: 'only the first N problems of each split (a quick, partial table)' },
  threads: { kind: 'number', valueName: 'N', integer: true, min: 0, help: 'passed to caspo eval --threads (default: that of caspo eval, half the cores, at most 8)' },
  ep: { kind: 'choice', choices: EXECUTION_PROVIDER_SETTINGS, help: 'passed to caspo eval --ep (default auto)' },
  metric: { kind: 'choice', choices: STEP_METRICS, help: "one step-confidence metric for every model, so their ECE compare like with like (default: each model's own default from its caspo.json)" },
  out: { kind: 'string', valueName: 'DIR', help: 'where calibration.md, calibration.json and reliability.png go (default docs/caspo)' },
  reuse: {
    kind: 'string',
    valueName: 'FILE',
    help: 'take rows (same split, model folder and files, strategy, --limit and --metric) from an earlier calibration.json instead of evaluating them again; the markdown marks them',
  },
  'from-json': { kind: 'string', valueName: 'FILE', help: 'no evals: re-render the markdown and the PNG from a calibration.json' },
} as const;

const USAGE = `Usage: npm run caspo:table -- [flags]\n\nFlags:\n${describeFlags(FLAGS)}`;

function list(value: string | undefined, fallback: readonly string[]): string[] {
  return value === undefined ? [...fallback] : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function modelSpecs(dirs: readonly string[]): ModelSpec[] {
  const shown = dirs.map((dir) => {
    const abs = resolve(root, dir);
    const rel = relative(root, abs);
    return rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
  });
  const names = shown.map((dir) => basename(dir));
  return shown.map((dir, i) => ({ label: names.filter((n) => n === names[i]).length > 1 ? dir : names[i], dir, fingerprint: fingerprint(resolve(root, dir)) }));
}

/** The graph and weights, the fitted calibration and the configs decoding reads: what an earlier table's rows stand for. */
function fingerprint(dir: string): string {
  const hash = createHash('sha256');
  const model = modelFilesIn(dir);
  const onnx = dirname(model.onnx); // every file there: a graph's external weights too
  const graph = existsSync(onnx) ? readdirSync(onnx).sort().map((f) => join(onnx, f)) : [];
  const read = [model.caspoSettings, model.config, model.generationConfig, model.tokenizer, model.tokenizerConfig];
  for (const file of [...graph, ...read].filter((f) => existsSync(f))) {
    hash.update(relative(dir, file)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

async function main(argv: readonly string[]): Promise<void> {
  const { flags, positionals, help } = parseArgs(argv, FLAGS);
  if (help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}.\n${USAGE}`);
  const outDir = resolve(root, flags.out ?? 'docs/caspo');
  if (flags['from-json'] !== undefined) {
    const data = readTableData(resolve(flags['from-json']));
    delete data.goals;
    delete data.lastGoals;
    if (flags.final !== undefined) data.final = finalLabel(data.models, flags.final);
    report(writeReport(data, outDir));
    return;
  }

  const models = modelSpecs(list(flags.models, DEFAULT_MODELS));
  const missing = models.filter((m) => !existsSync(join(resolve(root, m.dir), 'config.json')));
  if (missing.length) {
    throw new Error(`no model in ${missing.map((m) => m.dir).join(', ')} (config.json missing). Pass the folders with --models DIR,DIR,... (baseline first, final last).`);
  }
  const splitNames = list(flags.splits, SPLITS.map((s) => s.name));
  const splits = splitNames.map((name) => {
    const split = SPLITS.find((s) => s.name === name);
    if (!split) throw new Error(`unknown split ${JSON.stringify(name)}: choose from ${SPLITS.map((s) => s.name).join(', ')}.`);
    if (!existsSync(join(root, split.file))) throw new Error(`${split.file} is missing (cd training && python3 -m caspo_train.splits).`);
    return { ...split, sha256: createHash('sha256').update(readFileSync(join(root, split.file))).digest('hex').slice(0, 16) };
  });
  const strategies = list(flags.strategies, TABLE_STRATEGIES).map((name) => {
    if (!(TABLE_STRATEGIES as readonly string[]).includes(name)) throw new Error(`unknown strategy ${JSON.stringify(name)}: choose from ${TABLE_STRATEGIES.join(', ')}.`);
    return name as TableStrategy;
  });

  const data: TableData = {
    generatedAt: new Date().toISOString(),
    command: `npm run caspo:table${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    machine: machine(),
    threads: flags.threads ?? null,
    metric: flags.metric ?? null,
    limit: flags.limit ?? null,
    splits,
    models,
    baseline: models[0].label,
    final: finalLabel(models, flags.final ?? (flags.models === undefined ? DEFAULT_FINAL : models[models.length - 1].dir)),
    strategies,
    runs: [],
  };
  const total = splits.length * models.length * strategies.length;
  const earlier: TableData | null = flags.reuse === undefined ? null : readTableData(resolve(flags.reuse));
  const reusable = (split: string, model: ModelSpec, strategy: string): TableRun | undefined => {
    if (!earlier || (earlier.limit ?? null) !== data.limit || (earlier.metric ?? null) !== data.metric) return undefined;
    // the same problems: a split file since regenerated (or a table from before the hashes) is evaluated again
    const sha256 = splits.find((s) => s.name === split)?.sha256;
    if (sha256 === undefined || earlier.splits.find((s) => s.name === split)?.sha256 !== sha256) return undefined;
    // the same folder with the same files: a folder that now holds another model (or a table from before
    // fingerprints) is evaluated again
    const label = earlier.models.find((m) => resolve(root, m.dir) === resolve(root, model.dir) && m.fingerprint === model.fingerprint)?.label;
    const run = label === undefined ? undefined : earlier.runs.find((r) => r.split === split && r.model === label && r.strategy === strategy);
    // a CaT row decoded with other settings than CaT's defaults of today (e.g. before the first candidate became the greedy step) is not this table's CaT
    if (run?.strategy === 'cat' && !sameSettings(run.report.settings, CAT_DEFAULTS)) return undefined;
    return run && { ...run, model: model.label, reusedFrom: run.reusedFrom ?? earlier.generatedAt };
  };
  for (const split of splits) {
    for (const model of models) {
      for (const strategy of strategies) {
        const reused = reusable(split.name, model, strategy);
        if (reused) {
          data.runs.push(reused);
          process.stderr.write(`[${data.runs.length}/${total}] ${split.name} ${model.label} ${strategy}: reused from ${reused.reusedFrom}\n`);
          continue;
        }
        const { report, processMs } = await runEvalProcess({
          root,
          modelDir: resolve(root, model.dir),
          input: join(root, split.file),
          strategy,
          limit: flags.limit,
          threads: flags.threads,
          ep: flags.ep,
          metric: flags.metric,
        });
        data.runs.push({ split: split.name, model: model.label, strategy, processMs: Math.round(processMs), report });
        process.stderr.write(
          `[${data.runs.length}/${total}] ${split.name} ${model.label} ${strategy}: accuracy ${(100 * report.accuracy).toFixed(1)} %, ` +
            `ECE ${report.ece ?? 'n/a'}, AUROC ${report.stepAUROC ?? 'n/a'}, ${(report.wallMs / 1000).toFixed(1)} s decoding, ${(processMs / 1000).toFixed(1)} s in all\n`,
        );
      }
    }
  }
  report(writeReport(data, outDir));
}

/** The label of the model folder `dir` among `models` (a clear error when it is not one of them). */
function finalLabel(models: readonly ModelSpec[], dir: string): string {
  const found = models.find((m) => resolve(root, m.dir) === resolve(root, dir) || m.label === dir);
  if (!found) throw new Error(`--final ${dir} is not one of the table's models (${models.map((m) => m.dir).join(', ')}).`);
  return found.label;
}

/** Whether a run's recorded strategy settings hold every one of `defaults` (compared as JSON values). */
function sameSettings(recorded: object | undefined, defaults: object): boolean {
  if (recorded === undefined) return false;
  const values = recorded as Record<string, unknown>;
  return Object.entries(defaults).every(([key, value]) => JSON.stringify(values[key] ?? null) === JSON.stringify(value));
}

function report({ goals, files }: ReturnType<typeof writeReport>): void {
  for (const g of goals) process.stdout.write(`${g.split}: ${g.goal}: ${g.status} (${g.detail})\n`);
  process.stdout.write(`wrote ${files.map((f) => relative(process.cwd(), f)).join(', ')}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`caspo:table: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
