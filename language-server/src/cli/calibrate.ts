import { accessSync, constants, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { FEW_FIT_ERRORS } from '../../../src/protocol';
import { DEFAULT_TOP_K } from '../decoding/confidence';
import { ConfidenceCalibration, parseCaspoSettings, STEP_METRICS, type PlattMap, type StepMetric } from '../decoding/stepConfidence';
import { applyPlatt, fitPlatt } from '../eval/calibration';
import { auroc, brierScore, expectedCalibrationError } from '../eval/metrics';
import { modelFilesIn } from '../model/modelFiles';
import { describeFlags, parseArgs } from './args';
import { openModel, samplingFromFlags } from './engine';
import { EXIT_CANCELLED, EXIT_OK, RuntimeError, UsageError } from './errors';
import { ECE_BINS } from './eval';
import { DEFAULT_MAX_TOKENS, MODEL_FLAGS, SAMPLING_FLAGS } from './flags';
import { inputSource, readProblemsFile } from './input';
import { onInterrupt } from './interrupt';
import { createProgress } from './progress';
import type { LabelledStep } from './stepLabels';
import { decodeAndLabel } from './sweep';
import { MAX_ROWS_FLAG } from './strategyFlags';

const DEFAULT_SAMPLES = 4;

const { strategy: _strategy, ...sampling } = SAMPLING_FLAGS;
/** calibrate always samples: its sampling flags without the "every strategy but greedy" of solve and eval. */
const CALIBRATE_SAMPLING_FLAGS = Object.fromEntries(
  Object.entries(sampling).map(([name, flag]) => [name, 'help' in flag ? { ...flag, help: flag.help.replace('; every strategy but greedy', '') } : flag]),
) as typeof sampling;

export const CALIBRATE_FLAGS = {
  ...MODEL_FLAGS,
  model: { ...MODEL_FLAGS.model, help: 'model folder to calibrate; caspo.json is written into it (required)' },
  input: { kind: 'string', valueName: 'FILE.jsonl', help: 'calibration problems, one {"problem", "answer"} per line (required; - reads standard input)' },
  samples: { kind: 'number', valueName: 'K', integer: true, min: 1, max: MAX_ROWS_FLAG, help: `sampled solutions per problem (default ${DEFAULT_SAMPLES})` },
  limit: { kind: 'number', valueName: 'N', integer: true, min: 1, help: 'only the first N problems' },
  ...CALIBRATE_SAMPLING_FLAGS,
} as const;

export const CALIBRATE_USAGE = `Usage: caspo calibrate --model DIR --input FILE.jsonl [flags]

Samples solutions (greedy ones have too few wrong steps to fit on), labels every step with the
arithmetic verifier, measures each confidence metric's AUROC, fits a Platt map per metric, and
writes DIR/caspo.json with the maps and the metric of best AUROC as the default.

Flags:
${describeFlags(CALIBRATE_FLAGS)}`;

/** One metric's fit: its AUROC, its map, and ECE/Brier before (default mapping) and after (in sample). */
export interface MetricFit {
  metric: StepMetric;
  auroc: number;
  /** AUROC over operation lines only (answer lines left out), null if they hold one class. */
  operationAuroc: number | null;
  map: PlattMap;
  eceBefore: number;
  eceAfter: number;
  brierBefore: number;
  brierAfter: number;
}

/** `caspo calibrate`: returns the exit code. */
export async function runCalibrate(argv: readonly string[]): Promise<number> {
  const { flags, positionals, help } = parseArgs(argv, CALIBRATE_FLAGS);
  if (help) {
    process.stdout.write(`${CALIBRATE_USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`calibrate takes no positional arguments (got ${JSON.stringify(positionals[0])}).`);
  if (flags.model === undefined) throw new UsageError('calibrate needs --model DIR (the folder caspo.json is written to).');
  if (flags.input === undefined) throw new UsageError('calibrate needs --input FILE.jsonl (one {"problem", "answer"} object per line).');
  const sampling = samplingFromFlags({ ...flags, strategy: 'sample' });
  if (sampling.kind !== 'sample') throw new Error('calibrate always samples');
  const samples = flags.samples ?? DEFAULT_SAMPLES;
  const records = readProblemsFile(flags.input).slice(0, flags.limit);
  const path = modelFilesIn(resolve(flags.model)).caspoSettings;
  requireWritable(path);

  // The stored caspo.json is ignored: raw scores do not depend on it, and it may be the thing being fixed.
  const { model } = await openModel({ modelDir: flags.model, executionProvider: flags.ep, threads: flags.threads, storedCalibration: false });
  const defaults = new ConfidenceCalibration(model.config.vocabSize, DEFAULT_TOP_K);
  const progress = createProgress('calibrate', records.length);
  const interrupt = onInterrupt();
  let sweep;
  try {
    sweep = await decodeAndLabel(records, {
      model,
      calibration: defaults,
      metric: defaults.defaultMetric,
      sampling,
      samples,
      maxTokens: flags['max-tokens'] ?? DEFAULT_MAX_TOKENS,
      source: inputSource(flags.input),
      signal: interrupt.signal,
      onProblem: (done) => progress.update(done),
    });
  } finally {
    interrupt.dispose();
    progress.done();
    await model.dispose();
  }
  if (sweep.cancelled) {
    process.stderr.write('caspo: calibration cancelled (Ctrl-C); caspo.json was not written.\n');
    return EXIT_CANCELLED;
  }

  const steps = sweep.solutions.flat().flatMap((s) => s.steps);
  const fits = fitAllMetrics(steps, defaults);
  const best = fits.reduce((a, b) => (b.auroc > a.auroc ? b : a));
  const positives = steps.filter((s) => s.correct).length;
  const outOfDomain = sweep.solutions.filter((list) => list.some((s) => s.status === 'outOfDomain')).length;
  const settings = {
    defaultMetric: best.metric,
    calibration: Object.fromEntries(fits.map((f) => [f.metric, f.map])),
    auroc: Object.fromEntries(fits.map((f) => [f.metric, round(f.auroc)])),
    aurocOperationLines: Object.fromEntries(fits.map((f) => [f.metric, f.operationAuroc === null ? null : round(f.operationAuroc)])),
    fit: {
      steps: steps.length,
      positives,
      negatives: steps.length - positives,
      wrongAnswerLines: steps.filter((s) => s.isAnswer && !s.correct).length,
      problems: records.length,
      outOfDomainProblems: outOfDomain,
      samples,
      temperature: sampling.temperature,
      topP: sampling.topP,
      seed: sampling.seed,
      input: flags.input === '-' ? '(standard input)' : relative(process.cwd(), resolve(flags.input)) || flags.input,
      date: new Date().toISOString(),
      eceBins: ECE_BINS,
      inSample: Object.fromEntries(
        fits.map((f) => [f.metric, { eceBefore: round(f.eceBefore), eceAfter: round(f.eceAfter), brierBefore: round(f.brierBefore), brierAfter: round(f.brierAfter) }]),
      ),
    },
  };
  // The engine must accept what we write; check before replacing the old file.
  parseCaspoSettings(settings, path, model.config.vocabSize, DEFAULT_TOP_K);
  try {
    writeFileSync(`${path}.tmp`, `${JSON.stringify(settings, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  } catch (error) {
    throw new RuntimeError(`cannot write ${path}: ${(error as Error).message}`);
  }

  process.stdout.write(formatTable(fits, best.metric));
  process.stdout.write(
    `wrote ${path}: default metric ${best.metric} (best AUROC); fitted on ${steps.length} steps ` +
      `(${positives} correct, ${settings.fit.negatives} wrong) from ${records.length} problems × ${samples} samples ` +
      `at temperature ${sampling.temperature}, ${sweep.generatedTokens} tokens in ${(sweep.wallMs / 1000).toFixed(1)} s. ` +
      `"AUROC ops" leaves out the answer lines (${settings.fit.wrongAnswerLines} of the wrong steps misreport the last result).\n`,
  );
  if (settings.fit.negatives < FEW_FIT_ERRORS) {
    process.stderr.write(
      `caspo: warning: only ${settings.fit.negatives} of the ${steps.length} steps are wrong, so the Platt maps and the choice of ${best.metric} ` +
        `as the default rest on few errors. For ${FEW_FIT_ERRORS} or more, calibrate on more problems or samples ` +
        `(--samples ${samples * 2}) or at a higher --temperature.\n`,
    );
  }
  return EXIT_OK;
}

/**
 * Fails before any decoding when caspo.json could not be written at the end: the folder must be
 * writable, and neither caspo.json nor its temporary file may be a folder.
 */
function requireWritable(path: string): void {
  const folder = dirname(path);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new RuntimeError(`cannot write caspo.json into ${folder}: the folder is not writable. Copy the model to a folder of yours and calibrate that copy.`);
  }
  for (const target of [path, `${path}.tmp`]) {
    if (existsSync(target) && statSync(target).isDirectory()) {
      throw new RuntimeError(`cannot write ${path}: ${target} is a folder. Remove it, then run calibrate again.`);
    }
  }
}

/** AUROC and a Platt map per metric, plus in-sample ECE/Brier under the default mapping and the fit. */
export function fitAllMetrics(steps: readonly LabelledStep[], defaults: ConfidenceCalibration): MetricFit[] {
  const labels = steps.map((s) => s.correct);
  const positives = labels.filter(Boolean).length;
  if (steps.length === 0) {
    throw new RuntimeError(
      'cannot fit: no step could be labelled. The verifier labels steps of arithmetic problems (whole numbers, + - * and ' +
        'parentheses) whose solutions write one "a op b = c" per line; give calibrate such problems.',
    );
  }
  if (positives === 0 || positives === steps.length) {
    throw new RuntimeError(
      `cannot fit: all ${steps.length} labelled steps are ${positives === 0 ? 'wrong' : 'correct'}. ` +
        'Sample more varied solutions (raise --temperature or --samples) or use more problems.',
    );
  }
  return STEP_METRICS.map((metric) => {
    const scores = steps.map((s) => s.scores[metric]);
    const map = fitPlatt(scores, labels);
    const operations = steps.filter((s) => !s.isAnswer);
    const plattMap: PlattMap = { type: 'platt', a: map.a, b: map.b };
    const before = scores.map((x) => defaults.toConfidence(metric, x));
    const after = scores.map((x) => applyPlatt(plattMap, x));
    return {
      metric,
      auroc: auroc(scores, labels) as number, // both classes are present (checked above)
      operationAuroc: operations.length > 0 ? auroc(operations.map((s) => s.scores[metric]), operations.map((s) => s.correct)) : null,
      map: plattMap,
      eceBefore: expectedCalibrationError(before, labels, ECE_BINS),
      eceAfter: expectedCalibrationError(after, labels, ECE_BINS),
      brierBefore: brierScore(before, labels),
      brierAfter: brierScore(after, labels),
    };
  });
}

function formatTable(fits: readonly MetricFit[], chosen: StepMetric): string {
  const header = ['metric', 'AUROC', 'AUROC ops', 'a', 'b', 'ECE default→fit', 'Brier default→fit', ''];
  const rows = fits.map((f) => [
    f.metric,
    f.auroc.toFixed(4),
    f.operationAuroc === null ? 'n/a' : f.operationAuroc.toFixed(4),
    f.map.a.toPrecision(5),
    f.map.b.toPrecision(5),
    `${f.eceBefore.toFixed(4)} → ${f.eceAfter.toFixed(4)}`,
    `${f.brierBefore.toFixed(4)} → ${f.brierAfter.toFixed(4)}`,
    f.metric === chosen ? '← default' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

