import type { GeneratedStep } from '../decoding/rowDecoder';
import type { StepMetric } from '../decoding/stepConfidence';
import { runStrategy } from '../decoding/strategies';
import { stepNodeIds, type StrategyName, type StrategyResult, type StrategySettings } from '../decoding/strategyResult';
import type { PathStopReason } from '../decoding/treeNodes';
import { treeToRoundedJSON } from '../trace/treeJson';
import { toJSON, traceFromRow } from '../trace/types';
import { screenProblem } from '../verify/domain';
import { confidenceBand } from './bands';
import { describeFlags, parseArgs, type ParsedFlags } from './args';
import { encodeProblem, openModel, requireProblemText, type OpenedModel } from './engine';
import { EXIT_CANCELLED, EXIT_OK, RuntimeError, UsageError } from './errors';
import { DEFAULT_MAX_TOKENS, METRIC_FLAG, MODEL_FLAGS, SAMPLING_FLAGS } from './flags';
import { readStdinText } from './input';
import { onInterrupt } from './interrupt';
import { MAX_ROWS_FLAG, SAMPLES_HELP, SEARCH_FLAGS, strategyFromFlags } from './strategyFlags';
import { describeStrategy } from './strategySummary';
import { createPalette, formatMs, formatProviders, formatStepLine, shouldUseColor, tokensPerSecond, type Palette } from './terminal';

export const SOLVE_FLAGS = {
  json: { kind: 'boolean', help: 'print one JSON object (steps with their pruned siblings, the whole reasoning tree) instead of the coloured steps' },
  ...MODEL_FLAGS,
  ...SAMPLING_FLAGS,
  samples: { kind: 'number', valueName: 'K', integer: true, min: 1, max: MAX_ROWS_FLAG, help: `${SAMPLES_HELP})` },
  ...SEARCH_FLAGS,
  ...METRIC_FLAG,
} as const;

export const SOLVE_USAGE = `Usage: caspo solve [flags] "<problem>"   (or "-" to read the problem from stdin)

Solves a problem step by step and shows each step's calibrated confidence. With --strategy cat
the steps come from a tree search that prunes unsure candidate steps; each step line says how many
candidates were pruned beside it, and --json prints them and the whole tree.

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
  const { strategy, settings } = strategyFromFlags(flags);
  const problem = await problemFrom(positionals);
  requireProblemText(problem, 'the problem');

  const opened = await openModel({ modelDir: flags.model, executionProvider: flags.ep, threads: flags.threads });
  try {
    return await solveWith(opened, problem, flags, strategy, settings);
  } finally {
    await opened.model.dispose();
  }
}

async function problemFrom(positionals: string[]): Promise<string> {
  if (positionals.length === 0) throw new UsageError('no problem given. Example: caspo solve "47*38 + 12".');
  if (positionals.length === 1 && positionals[0] === '-') return (await readStdinText()).trim();
  // (A "-" later on is an unquoted subtraction: caspo solve 12 - 3 + 4.)
  if (positionals[0] === '-') {
    throw new UsageError('give the problem either as arguments or as "-" (read from stdin), not both. Example: caspo solve "47*38 + 12".');
  }
  // Unquoted words (caspo solve 47*38 + 12) are one problem; trimmed, as the language server trims it.
  return positionals.join(' ').trim();
}

async function solveWith(opened: OpenedModel, problem: string, flags: SolveFlags, strategy: StrategyName, settings: StrategySettings): Promise<number> {
  const { model, calibration } = opened;
  const metric: StepMetric = flags.metric ?? calibration.defaultMetric;
  const requestedTokens = flags['max-tokens'] ?? DEFAULT_MAX_TOKENS;
  const { promptIds, maxNewTokens } = encodeProblem(model, problem, requestedTokens, 'the problem');
  // When the context, not --max-tokens, set the limit, raising --max-tokens would not help.
  const contextFull = maxNewTokens < requestedTokens ? model.config.maxPositionEmbeddings : null;
  const { refusal, suggestion, caution } = screenProblem(problem, model.config, opened.name);
  if (refusal !== null) {
    const rewrite = suggestion === null ? 'Rewrite the problem' : `Rewrite the problem (caspo solve "${suggestion}")`;
    throw new RuntimeError(`${refusal} ${rewrite}, or pass --model DIR with a general-purpose model (an ONNX export of a causal LM).`);
  }
  if (caution !== null) process.stderr.write(`caspo: warning: the problem is ${caution}\n`);
  const json = flags.json === true;
  const palette = createPalette(shouldUseColor(process.stdout));
  // One-row strategies stream their steps as they close; the others show the chosen path at the end.
  const streams = !json && (strategy === 'greedy' || strategy === 'sample');
  // Listen for Ctrl-C before the header goes out, so from then on it always cancels cleanly.
  const interrupt = onInterrupt();
  if (!json) process.stdout.write(`${palette.bold('Problem:')} ${problem.trim()}\n`);
  let result: StrategyResult;
  try {
    result = await runStrategy(
      model,
      strategy,
      {
        promptIds,
        maxNewTokens,
        calibration,
        metric,
        signal: interrupt.signal,
        onStep: streams ? ({ step }) => process.stdout.write(`${formatStepLine(step.index, step.text, step.confidence, palette, step.cutOff)}\n`) : undefined,
      },
      settings,
    );
  } finally {
    interrupt.dispose();
  }
  const path = result.path;
  const trace = traceFromRow(path, { problem, strategy, model: opened.name, executionProvider: model.executionProvider.active, stats: result.stats });
  const nodeIds = stepNodeIds(result, path.steps);
  // Siblings were pruned before a node's first step, not beside the further steps that node closed.
  const prunedAt = nodeIds.map((id, i) =>
    id === null || nodeIds[i - 1] === id ? [] : result.tree.prunedSiblings(id).map((n) => ({ id: n.id, text: n.text, confidence: round6(n.confidence) })),
  );

  if (json) {
    const base = toJSON(trace);
    const output = {
      ...base,
      steps: base.steps.map((step, i) => ({ ...step, rawScore: round6(path.steps[i].score), nodeId: nodeIds[i], pruned: prunedAt[i] })),
      stats: { ...base.stats, forwardPasses: result.stats.forwardPasses, expandedSteps: result.stats.expandedSteps },
      metric,
      calibrated: calibration.isFitted(metric),
      // Why the problem is outside the model's training range (also on stderr), or null.
      caution,
      stopReason: result.stopReason,
      modelDir: model.dir,
      rejectedProviders: model.executionProvider.rejected,
      sampling: result.tree.settings.sampling,
      settings: result.settings,
      ...(result.threshold !== undefined ? { threshold: result.threshold === null ? null : round6(result.threshold) } : {}),
      vote: result.vote && { ...result.vote, tally: result.vote.tally.map((t) => ({ ...t, weight: round6(t.weight) })) },
      pathNodeIds: result.pathNodeIds,
      tree: treeToRoundedJSON(result.tree),
    };
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } else {
    if (!streams) {
      path.steps.forEach((step, i) => {
        const pruned = prunedAt[i].length > 0 ? palette.dim(`  (${prunedAt[i].length} pruned)`) : '';
        process.stdout.write(`${formatStepLine(step.index, step.text, step.confidence, palette, step.cutOff)}${pruned}\n`);
      });
    }
    process.stdout.write(summaryLines(opened, result, trace.answer, metric, palette, contextFull));
  }
  return result.stopReason === 'cancelled' ? EXIT_CANCELLED : EXIT_OK;
}

/** `contextFull`: the model's context size when it, not --max-tokens, bounded the solution; else null. */
function summaryLines(opened: OpenedModel, result: StrategyResult, answer: string | null, metric: StepMetric, palette: Palette, contextFull: number | null): string {
  const lines: string[] = [];
  const why: Record<PathStopReason, string> = {
    cancelled: 'cancelled (Ctrl-C) — the steps above are what was decoded',
    maxTokens:
      contextFull === null
        ? 'stopped at the token limit (raise --max-tokens)'
        : `stopped with the model's context full (${contextFull} tokens, prompt and solution together): shorten the problem`,
    eos: 'the model ended without an answer line',
    budget: 'the step budget ran out before any path finished (raise --budget); the steps above are the best unfinished path',
    answer: '',
  };
  lines.push(`${palette.bold('Answer:')} ${answer ?? '(none)'}`);
  if (why[result.stopReason]) lines.push(palette.dim(why[result.stopReason]));
  const weakest = lowestStep(result.path.steps);
  if (weakest && confidenceBand(weakest.confidence) === 'low') {
    lines.push(palette.dim(`weakest step: ${weakest.index + 1} (${(weakest.confidence * 100).toFixed(1)}%)`));
  }
  const search = describeStrategy(result);
  if (search) lines.push(palette.dim(search));
  const stats = result.stats;
  const calibrated = opened.calibration.isFitted(metric) ? 'calibrated' : 'default mapping, not fitted in caspo.json';
  const forwards = result.strategy === 'greedy' || result.strategy === 'sample' ? '' : ` (${stats.forwardPasses} forwards)`;
  lines.push(
    palette.dim(
      `model ${opened.name} · ${formatProviders(opened.model.executionProvider)} · ` +
        `${stats.generatedTokens} tokens${forwards} in ${formatMs(stats.wallMs)} (${tokensPerSecond(stats.generatedTokens, stats.wallMs)} tokens/s) · ` +
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
