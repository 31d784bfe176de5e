import { generate, type GeneratedRow } from '../decoding/generate';
import type { GeneratedStep } from '../decoding/rowDecoder';
import type { SamplingOptions } from '../decoding/sampling';
import type { StepMetric } from '../decoding/stepConfidence';
import type { StopReason } from '../decoding/stopping';
import { toJSON, traceFromRow } from '../trace/types';
import { confidenceBand } from './bands';
import { describeFlags, parseArgs, type ParsedFlags } from './args';
import { encodeProblem, openModel, requireProblemText, samplingFromFlags, type OpenedModel } from './engine';
import { EXIT_CANCELLED, EXIT_OK, UsageError } from './errors';
import { DEFAULT_MAX_TOKENS, METRIC_FLAG, MODEL_FLAGS, SAMPLING_FLAGS } from './flags';
import { readStdinText } from './input';
import { onInterrupt } from './interrupt';
import { createPalette, formatMs, formatProviders, formatStepLine, shouldUseColor, tokensPerSecond, type Palette } from './terminal';

export const SOLVE_FLAGS = {
  json: { kind: 'boolean', help: 'print one JSON object instead of the coloured steps' },
  ...MODEL_FLAGS,
  ...SAMPLING_FLAGS,
  ...METRIC_FLAG,
} as const;

export const SOLVE_USAGE = `Usage: caspo solve [flags] "<problem>"   (or "-" to read the problem from stdin)

Solves a problem step by step and shows each step's calibrated confidence.

Flags:
${describeFlags(SOLVE_FLAGS)}`;

type SolveFlags = ParsedFlags<typeof SOLVE_FLAGS>;

/** `caspo solve`: returns the exit code. */
export async function runSolve(argv: readonly string[]): Promise<number> {
  const { flags, positionals, help } = parseArgs(argv, SOLVE_FLAGS);
  if (help) {
    process.stdout.write(`${SOLVE_USAGE}\n`);
    return EXIT_OK;
  }
  const sampling = samplingFromFlags(flags);
  const problem = await problemFrom(positionals);
  requireProblemText(problem, 'the problem');

  const opened = await openModel({ modelDir: flags.model, executionProvider: flags.ep, threads: flags.threads });
  try {
    return await solveWith(opened, problem, flags, sampling);
  } finally {
    await opened.model.dispose();
  }
}

async function problemFrom(positionals: string[]): Promise<string> {
  if (positionals.length === 0) throw new UsageError('no problem given. Example: caspo solve "47*38 + 12".');
  if (positionals.length === 1 && positionals[0] === '-') return (await readStdinText()).trim();
  // Unquoted words (caspo solve 47*38 + 12) are one problem.
  return positionals.join(' ');
}

async function solveWith(opened: OpenedModel, problem: string, flags: SolveFlags, sampling: SamplingOptions): Promise<number> {
  const { model, calibration } = opened;
  const metric: StepMetric = flags.metric ?? calibration.defaultMetric;
  const { promptIds, maxNewTokens } = encodeProblem(model, problem, flags['max-tokens'] ?? DEFAULT_MAX_TOKENS, 'the problem');
  const json = flags.json === true;
  const palette = createPalette(shouldUseColor(process.stdout));
  // Listen for Ctrl-C before the header goes out, so from then on it always cancels cleanly.
  const interrupt = onInterrupt();
  if (!json) process.stdout.write(`${palette.bold('Problem:')} ${problem.trim()}\n`);
  let result;
  try {
    result = await generate(model, {
      promptIds,
      maxNewTokens,
      sampling,
      calibration,
      metric,
      signal: interrupt.signal,
      onStep: json ? undefined : ({ step }) => process.stdout.write(`${formatStepLine(step.index, step.text, step.confidence, palette)}\n`),
    });
  } finally {
    interrupt.dispose();
  }
  const row = result.rows[0];
  const trace = traceFromRow(row, {
    problem,
    strategy: sampling.kind,
    model: opened.name,
    executionProvider: model.executionProvider.active,
    stats: result.stats,
  });

  if (json) {
    const base = toJSON(trace);
    const output = {
      ...base,
      steps: base.steps.map((step, i) => ({ ...step, rawScore: round6(row.steps[i].score) })),
      metric,
      calibrated: calibration.isFitted(metric),
      stopReason: row.stopReason,
      modelDir: model.dir,
      rejectedProviders: model.executionProvider.rejected,
      sampling,
    };
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } else {
    process.stdout.write(summaryLines(opened, row, trace.answer, result.stats, metric, palette));
  }
  return row.stopReason === 'cancelled' ? EXIT_CANCELLED : EXIT_OK;
}

function summaryLines(
  opened: OpenedModel,
  row: GeneratedRow,
  answer: string | null,
  stats: { generatedTokens: number; wallMs: number },
  metric: StepMetric,
  palette: Palette,
): string {
  const lines: string[] = [];
  const why: Record<StopReason, string> = {
    cancelled: 'cancelled (Ctrl-C) — the steps above are what was decoded',
    maxTokens: 'stopped at the token limit (raise --max-tokens)',
    eos: 'the model ended without an answer line',
    answer: '',
  };
  lines.push(`${palette.bold('Answer:')} ${answer ?? '(none)'}`);
  if (why[row.stopReason]) lines.push(palette.dim(why[row.stopReason]));
  const weakest = lowestStep(row.steps);
  if (weakest && confidenceBand(weakest.confidence) === 'low') {
    lines.push(palette.dim(`weakest step: ${weakest.index + 1} (${(weakest.confidence * 100).toFixed(1)}%)`));
  }
  const calibrated = opened.calibration.isFitted(metric) ? 'calibrated' : 'default mapping, not fitted in caspo.json';
  lines.push(
    palette.dim(
      `model ${opened.name} · ${formatProviders(opened.model.executionProvider)} · ` +
        `${stats.generatedTokens} tokens in ${formatMs(stats.wallMs)} (${tokensPerSecond(stats.generatedTokens, stats.wallMs)} tokens/s) · ` +
        `confidence ${metric} (${calibrated})`,
    ),
  );
  return `${lines.join('\n')}\n`;
}

function lowestStep(steps: readonly GeneratedStep[]): GeneratedStep | undefined {
  return steps.reduce<GeneratedStep | undefined>((low, step) => (low === undefined || step.confidence < low.confidence ? step : low), undefined);
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
