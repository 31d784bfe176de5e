import { ConfidenceCalibration, STEP_METRICS, type StepMetric } from '../decoding/stepConfidence';
import type { StrategySettings } from '../decoding/strategyResult';
import type { ProblemScore } from '../eval/bootstrap';
import { auroc, expectedCalibrationError, type ReliabilityBin } from '../eval/metrics';
import { ECE_BINS, stepCalibration, type StepCalibration } from '../eval/stepCalibration';
import { describeFlags, parseArgs } from './args';
import { openModel, samplingFromFlags } from './engine';
import { EXIT_CANCELLED, EXIT_OK, UsageError } from './errors';
import { DEFAULT_MAX_TOKENS, METRIC_FLAG, MODEL_FLAGS, SAMPLING_FLAGS } from './flags';
import { inputSource, readProblemsFile, type ProblemRecord } from './input';
import { onInterrupt } from './interrupt';
import { createProgress } from './progress';
import { problemScores, type LabelledSolution, type LabelledStep } from './stepLabels';
import { MAX_ROWS_FLAG, SEARCH_FLAGS, strategyFromFlags } from './strategyFlags';
import { decodeWithStrategy } from './strategySweep';
import { decodeAndLabel } from './sweep';
import { evaluate, extractExpression, parseExpression } from '../verify/arithmetic';
import { brief, outsideDomain } from '../verify/domain';

export const EVAL_FLAGS = {
  json: { kind: 'boolean', help: 'print the report as one JSON line' },
  input: { kind: 'string', valueName: 'FILE.jsonl', help: 'problems, one {"problem", "answer"} object per line (required; - reads standard input)' },
  samples: {
    kind: 'number',
    valueName: 'K',
    integer: true,
    min: 1,
    max: MAX_ROWS_FLAG,
    help: 'sampled solutions per problem: independent ones with --strategy sample (default 1), the K of sc and bok (default 10)',
  },
  limit: { kind: 'number', valueName: 'N', integer: true, min: 1, help: 'only the first N problems' },
  'per-problem': {
    kind: 'boolean',
    help: 'with --json, add "problems" to the report: per problem, whether each answer is right and every labelled step\'s scored confidence and label (the data of a paired bootstrap, e.g. npm run caspo:table)',
  },
  confidence: {
    kind: 'choice',
    choices: ['calibrated', 'raw'],
    help: "which step confidence ECE, Brier and AUROC score: calibrated (default; the Platt map of the model's caspo.json when it has one) or raw (the metric's default mapping, e.g. geoMeanProb as a probability). Decoding (CaT's pruning) always uses the calibrated one",
  },
  ...MODEL_FLAGS,
  ...SAMPLING_FLAGS,
  ...SEARCH_FLAGS,
  ...METRIC_FLAG,
} as const;

export const EVAL_USAGE = `Usage: caspo eval --json --input FILE.jsonl [flags]

Decodes every problem, scores the answers, labels each step with the arithmetic verifier and
reports accuracy and how well step confidence predicts step correctness (AUROC, ECE over 10
equal-width bins, Brier). --confidence raw scores the model's own confidence (the metric's default
mapping, no Platt map) instead of the calibrated one, and adds the calibrated numbers under
"platt"; the decoding is the same either way. With sc, bok, beam or cat, the strategy's answer is
scored and the steps of the path it chose are labelled; cat also reports its confidence-weighted
vote's accuracy.

Flags:
${describeFlags(EVAL_FLAGS)}`;

export { ECE_BINS };

/** The report; the first seven fields are the stable contract, the rest are extras. */
export interface EvalReport {
  n: number;
  accuracy: number;
  generatedTokens: number;
  wallMs: number;
  stepAUROC: number | null;
  ece: number | null;
  brier: number | null;
  metric: StepMetric;
  /** Whether the scored confidence went through a fitted Platt map (false with --confidence raw). */
  calibrated: boolean;
  /** Which confidence ece, brier, stepAUROC and reliability score (--confidence). */
  confidence: ConfidenceKind;
  /** --confidence raw on a model with a fitted map: the same numbers for the calibrated confidence. */
  platt?: CalibrationNumbers;
  /** The 10 equal-width bins behind `ece` (count, mean confidence, accuracy); null without labelled steps. */
  reliability: ReliabilityBin[] | null;
  strategy: string;
  samples: number;
  solutions: number;
  /** sample with K > 1: majority vote over the K; sc: its majority (= accuracy); cat: its confidence-weighted vote. */
  voteAccuracy?: number;
  steps: number;
  correctSteps: number;
  stepAccuracy: number | null;
  aurocByMetric: Record<StepMetric, number | null>;
  /**
   * ECE of every metric's confidence under the same --confidence (raw: each metric's default mapping;
   * calibrated: each metric's Platt map where the model has one), so that models whose default metrics
   * differ can also be compared on one metric. Absent from reports that predate it.
   */
  eceByMetric?: Record<StepMetric, number | null>;
  /** stepAUROC over the operation lines only (answer lines left out; see LabelledStep.isAnswer). */
  operationStepAUROC: number | null;
  /** Wrong steps that are answer lines. */
  wrongAnswerLines: number;
  outOfDomain: number;
  unaligned: number;
  note?: string;
  cancelled?: boolean;
  model: string;
  executionProvider: string;
  /** sc, bok, beam, cat: their settings (defaults filled in) and the work done. */
  settings?: StrategySettings;
  forwardPasses?: number;
  expandedSteps?: number;
  confidenceMs?: number;
  /** --per-problem: one entry per problem, in input order. */
  problems?: ProblemScore[];
}

export type ConfidenceKind = 'calibrated' | 'raw';

export interface CalibrationNumbers {
  stepAUROC: number | null;
  ece: number | null;
  brier: number | null;
}

/** `caspo eval`: returns the exit code. */
export async function runEval(argv: readonly string[]): Promise<number> {
  const { flags, positionals, help } = parseArgs(argv, EVAL_FLAGS);
  if (help) {
    process.stdout.write(`${EVAL_USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`eval takes no positional arguments (got ${JSON.stringify(positionals[0])}). Give the problems with --input FILE.jsonl.`);
  if (flags.input === undefined) throw new UsageError('eval needs --input FILE.jsonl (one {"problem", "answer"} object per line).');
  if (flags['per-problem'] && !flags.json) throw new UsageError('--per-problem adds to the JSON report: give --json too.');
  const greedyDefault = (flags.strategy ?? 'greedy') === 'greedy';
  if (greedyDefault && (flags.samples ?? 1) > 1) {
    throw new UsageError(`--samples ${flags.samples} needs --strategy sample: greedy decoding gives ${flags.samples} identical solutions.`);
  }
  const { strategy, settings } = strategyFromFlags({ ...flags, samples: greedyDefault ? undefined : flags.samples }, { samplesForSample: true });
  const records = readProblemsFile(flags.input).slice(0, flags.limit);
  for (const warning of answerKeyWarnings(records, inputSource(flags.input))) process.stderr.write(`caspo: warning: ${warning}\n`);

  const { model, calibration, name } = await openModel({ modelDir: flags.model, executionProvider: flags.ep, threads: flags.threads });
  const metric = flags.metric ?? calibration.defaultMetric;
  const scoring = confidenceScoring(flags.confidence ?? 'calibrated', calibration, metric);
  const progress = createProgress('eval', records.length);
  let correct = 0;
  let total = 0;
  const countAnswers = (solutions: readonly LabelledSolution[]) => {
    for (const s of solutions) correct += Number(s.answerCorrect);
    total += solutions.length;
  };
  const interrupt = onInterrupt();
  const common = {
    model,
    calibration,
    metric,
    maxTokens: flags['max-tokens'] ?? DEFAULT_MAX_TOKENS,
    source: inputSource(flags.input),
    signal: interrupt.signal,
  };
  let report: EvalReport;
  let cancelled: boolean;
  let perProblemSolutions: readonly (readonly LabelledSolution[])[] = [];
  try {
    if (strategy === 'greedy' || strategy === 'sample') {
      const sampling = samplingFromFlags(flags);
      const samples = flags.samples ?? 1;
      const sweep = await decodeAndLabel(records, {
        ...common,
        sampling,
        samples,
        onProblem: (done, solutions) => {
          countAnswers(solutions);
          progress.update(done, `accuracy ${((100 * correct) / total).toFixed(1)}%`);
        },
      });
      cancelled = sweep.cancelled;
      perProblemSolutions = sweep.solutions;
      report = summarize(sweep.solutions, {
        ...scoring,
        strategy,
        samples,
        generatedTokens: sweep.generatedTokens,
        wallMs: sweep.wallMs,
        model: name,
        executionProvider: model.executionProvider.active,
      });
    } else {
      const sweep = await decodeWithStrategy(records, {
        ...common,
        strategy,
        settings,
        onProblem: (done, solution) => {
          countAnswers([solution]);
          progress.update(done, `accuracy ${((100 * correct) / total).toFixed(1)}%`);
        },
      });
      cancelled = sweep.cancelled;
      perProblemSolutions = sweep.solutions;
      report = summarize(sweep.solutions, {
        ...scoring,
        strategy,
        samples: sweep.settings.samples ?? 1,
        generatedTokens: sweep.generatedTokens,
        wallMs: sweep.wallMs,
        model: name,
        executionProvider: model.executionProvider.active,
      });
      if (strategy === 'cat' || strategy === 'sc') {
        report.voteAccuracy = round(ratio(sweep.voteCorrect.filter(Boolean).length, sweep.voteCorrect.length) ?? 0);
      } else delete report.voteAccuracy;
      report.settings = sweep.settings;
      report.forwardPasses = sweep.forwardPasses;
      report.expandedSteps = sweep.expandedSteps;
      report.confidenceMs = Math.round(sweep.confidenceMs);
    }
  } finally {
    interrupt.dispose();
    progress.done();
    await model.dispose();
  }
  if (cancelled) report.cancelled = true;
  if (flags['per-problem']) report.problems = problemScores(perProblemSolutions, scoring.scoredConfidence);
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return cancelled ? EXIT_CANCELLED : EXIT_OK;
}

/** How the report scores step confidence (see --confidence). */
interface ConfidenceScoring {
  metric: StepMetric;
  calibrated: boolean;
  confidence: ConfidenceKind;
  /** The confidence that ece, brier, stepAUROC and reliability score. */
  scoredConfidence: (step: LabelledStep) => number;
  /** Whether to add the calibrated confidence's numbers as `platt` (raw scoring of a fitted model). */
  reportPlatt: boolean;
  /** The same kind of confidence (raw or calibrated) under any metric: eceByMetric. */
  metricConfidence: (metric: StepMetric, step: LabelledStep) => number;
}

/**
 * Calibrated: the confidence the decoder used (the model's Platt map when fitted). Raw: the step's
 * raw score under the same metric through the default mapping (ConfidenceCalibration without Platt
 * maps), i.e. the model's own confidence, as CASPO claims to calibrate it.
 */
export function confidenceScoring(kind: ConfidenceKind, calibration: ConfidenceCalibration, metric: StepMetric): ConfidenceScoring {
  const fitted = calibration.isFitted(metric);
  if (kind === 'calibrated') {
    return {
      metric,
      calibrated: fitted,
      confidence: kind,
      scoredConfidence: (step) => step.confidence,
      reportPlatt: false,
      metricConfidence: (name, step) => calibration.toConfidence(name, step.scores[name]),
    };
  }
  const defaultMapping = new ConfidenceCalibration(calibration.vocabSize, calibration.topK, calibration.defaultMetric);
  const metricConfidence = (name: StepMetric, step: LabelledStep) => defaultMapping.toConfidence(name, step.scores[name]);
  return {
    metric,
    calibrated: false,
    confidence: kind,
    scoredConfidence: (step) => metricConfidence(metric, step),
    reportPlatt: fitted,
    metricConfidence,
  };
}

interface SummaryContext extends Omit<ConfidenceScoring, 'confidence' | 'scoredConfidence' | 'reportPlatt' | 'metricConfidence'> {
  /** Default: 'calibrated', scoring the decoder's confidence. */
  confidence?: ConfidenceKind;
  scoredConfidence?: (step: LabelledStep) => number;
  reportPlatt?: boolean;
  /** With it, the report gets eceByMetric. */
  metricConfidence?: (metric: StepMetric, step: LabelledStep) => number;
  strategy: string;
  samples: number;
  generatedTokens: number;
  wallMs: number;
  model: string;
  executionProvider: string;
}

/** Accuracy over all solutions, and step calibration over every labelled step. */
export function summarize(perProblem: readonly (readonly LabelledSolution[])[], context: SummaryContext): EvalReport {
  const solutions = perProblem.flat();
  const steps = solutions.flatMap((s) => s.steps);
  const labels = steps.map((s) => s.correct);
  const scored = context.scoredConfidence ?? ((step: LabelledStep) => step.confidence);
  const confidences = steps.map(scored);
  const calibration = stepCalibration(confidences.map((confidence, i) => ({ confidence, correct: labels[i] })), ECE_BINS);
  const correctSteps = labels.filter(Boolean).length;
  const bothClasses = correctSteps > 0 && correctSteps < steps.length;
  const aurocByMetric = {} as Record<StepMetric, number | null>;
  for (const name of STEP_METRICS) aurocByMetric[name] = bothClasses ? roundOrNull(auroc(steps.map((s) => s.scores[name]), labels)) : null;
  const operations = steps.filter((s) => !s.isAnswer);
  const outOfDomain = perProblem.filter((list) => list.some((s) => s.status === 'outOfDomain')).length;
  const unaligned = solutions.filter((s) => s.status === 'unaligned').length;

  const report: EvalReport = {
    n: perProblem.length,
    accuracy: round(ratio(solutions.filter((s) => s.answerCorrect).length, solutions.length) ?? 0),
    generatedTokens: context.generatedTokens,
    wallMs: Math.round(context.wallMs),
    ...calibrationNumbers(calibration),
    metric: context.metric,
    calibrated: context.calibrated,
    confidence: context.confidence ?? 'calibrated',
    reliability: steps.length > 0 ? calibration.bins.map(roundBin) : null,
    strategy: context.strategy,
    samples: context.samples,
    solutions: solutions.length,
    steps: steps.length,
    correctSteps,
    stepAccuracy: ratio(correctSteps, steps.length),
    aurocByMetric,
    operationStepAUROC: operations.length > 0 ? roundOrNull(auroc(operations.map(scored), operations.map((s) => s.correct))) : null,
    wrongAnswerLines: steps.filter((s) => s.isAnswer && !s.correct).length,
    outOfDomain,
    unaligned,
    model: context.model,
    executionProvider: context.executionProvider,
  };
  if (context.metricConfidence && steps.length > 0) {
    const byMetric = context.metricConfidence;
    const eceByMetric = {} as Record<StepMetric, number | null>;
    for (const name of STEP_METRICS) {
      eceByMetric[name] = round(expectedCalibrationError(steps.map((s) => byMetric(name, s)), labels, ECE_BINS));
    }
    report.eceByMetric = eceByMetric;
  }
  if (context.reportPlatt) report.platt = calibrationNumbers(stepCalibration(steps, ECE_BINS));
  if (context.samples > 1) report.voteAccuracy = round(ratio(perProblem.filter(majorityIsCorrect).length, perProblem.length) ?? 0);
  const notes: string[] = [];
  if (outOfDomain > 0) {
    notes.push(`${outOfDomain} problem(s) are outside the arithmetic verifier's domain: only their answers are scored, their steps are not labelled`);
  }
  if (steps.length > 0 && !bothClasses) notes.push(`every labelled step is ${correctSteps > 0 ? 'correct' : 'wrong'}, so AUROC is undefined (null)`);
  if (unaligned > 0) notes.push(`${unaligned} solution(s) could not be aligned with the verifier's lines and were left out of the step metrics`);
  if (notes.length > 0) report.note = `${notes.join('; ')}.`;
  if (report.stepAccuracy !== null) report.stepAccuracy = round(report.stepAccuracy);
  return report;
}

/** AUROC (null when all steps share a label), ECE over ECE_BINS bins and Brier, rounded; all null without steps. */
function calibrationNumbers(calibration: StepCalibration): CalibrationNumbers {
  return { stepAUROC: roundOrNull(calibration.stepAUROC), ece: roundOrNull(calibration.ece), brier: roundOrNull(calibration.brier) };
}

function roundBin(bin: ReliabilityBin): ReliabilityBin {
  return { ...bin, meanConfidence: roundOrNull(bin.meanConfidence), accuracy: roundOrNull(bin.accuracy) };
}

/** Self-consistency: the most frequent answer (ties: the first seen) is the problem's answer. */
function majorityIsCorrect(solutions: readonly LabelledSolution[]): boolean {
  const votes = new Map<string, { count: number; correct: boolean }>();
  for (const s of solutions) {
    if (s.answer === null) continue;
    const entry = votes.get(s.answer) ?? { count: 0, correct: s.answerCorrect };
    entry.count++;
    votes.set(s.answer, entry);
  }
  let best: { count: number; correct: boolean } | undefined;
  for (const entry of votes.values()) if (best === undefined || entry.count > best.count) best = entry;
  return best?.correct ?? false;
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}

function formatReport(r: EvalReport): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const num = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  const lines = [
    `problems ${r.n}, solutions ${r.solutions} (${r.strategy}${r.samples > 1 ? `, ${r.samples} per problem` : ''})${r.cancelled ? ' — cancelled, partial' : ''}`,
    `answer accuracy ${pct(r.accuracy)}${r.strategy === 'cat' ? ' (best path)' : ''}${
      r.voteAccuracy !== undefined ? `, ${r.strategy === 'cat' ? 'confidence-weighted' : 'majority'} vote ${pct(r.voteAccuracy)}` : ''
    }`,
    `steps ${r.steps}, correct ${pct(r.stepAccuracy)}`,
    `confidence ${r.metric} (${r.calibrated ? 'calibrated' : r.confidence === 'raw' ? 'raw, default mapping' : 'default mapping'}): AUROC ${num(r.stepAUROC)}, ECE ${num(r.ece)}, Brier ${num(r.brier)}`,
    ...(r.platt ? [`with the Platt map of caspo.json: AUROC ${num(r.platt.stepAUROC)}, ECE ${num(r.platt.ece)}, Brier ${num(r.platt.brier)}`] : []),
    `AUROC by metric: ${STEP_METRICS.map((m) => `${m} ${num(r.aurocByMetric[m])}`).join(', ')}`,
    ...(r.eceByMetric ? [`ECE by metric (${r.confidence}): ${STEP_METRICS.map((m) => `${m} ${num(r.eceByMetric?.[m] ?? null)}`).join(', ')}`] : []),
    `AUROC on operation lines only: ${num(r.operationStepAUROC)} (${r.wrongAnswerLines} wrong answer lines left out)`,
    `${r.generatedTokens} tokens in ${(r.wallMs / 1000).toFixed(1)} s · model ${r.model} on ${r.executionProvider}`,
  ];
  if (r.forwardPasses !== undefined) {
    lines.push(
      `work: ${r.forwardPasses} forwards, ${r.expandedSteps} candidate steps, confidence ${pct((r.confidenceMs ?? 0) / Math.max(1, r.wallMs))} of the time · settings ${JSON.stringify(r.settings)}`,
    );
  }
  if (r.note) lines.push(`note: ${r.note}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A warning for each record whose answer key is not the value of its expression, when the problem is a
 * plain arithmetic one (the arithmetic domain accepts it): such a key is a typo that would score every
 * right solution wrong. Keys of other problems are not second-guessed.
 */
export function answerKeyWarnings(records: readonly ProblemRecord[], source: string): string[] {
  const warnings: string[] = [];
  for (const { line, problem, answer } of records) {
    if (!/^-?\d+$/u.test(answer) || outsideDomain(problem, 'arithmetic') !== null) continue;
    const expression = extractExpression(problem);
    const value = evaluate(parseExpression(expression));
    if (BigInt(answer) !== value) {
      warnings.push(`${source} line ${line}: the answer ${answer} is not the value of "${brief(expression)}" (${value}); it is scored as given`);
    }
  }
  return warnings;
}
