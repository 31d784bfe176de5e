import { SAMPLING_DEFAULTS } from '../decoding/baselines';
import type { ConfidenceCalibration, StepMetric } from '../decoding/stepConfidence';
import { runStrategy, STRATEGY_SETTINGS } from '../decoding/strategies';
import type { StrategyName, StrategySettings } from '../decoding/strategyResult';
import type { CausalLM } from '../model/causalLM';
import { encodeProblem } from './engine';
import type { ProblemRecord } from './input';
import { answersMatch, labelSolution, type LabelledSolution } from './stepLabels';
import { perProblemSeed } from './sweep';

export interface StrategySweepOptions {
  model: CausalLM;
  calibration: ConfidenceCalibration;
  metric: StepMetric;
  strategy: StrategyName;
  settings: StrategySettings;
  maxTokens: number;
  /** Names the file in errors ("input file data.jsonl"). */
  source: string;
  signal?: AbortSignal;
  onProblem?: (done: number, solution: LabelledSolution) => void;
}

export interface StrategySweepResult {
  /** Per completed problem, the strategy's chosen path, labelled (one solution each). */
  solutions: LabelledSolution[][];
  /** Per completed problem, whether the strategy's vote (CaT's confidence-weighted one, sc's majority) is right. */
  voteCorrect: boolean[];
  /** The settings the strategy ran with, defaults filled in. */
  settings: StrategySettings;
  generatedTokens: number;
  forwardPasses: number;
  expandedSteps: number;
  confidenceMs: number;
  wallMs: number;
  cancelled: boolean;
}

/**
 * Runs a strategy on every problem and labels the path it chose with the verifier (its answer is
 * the strategy's answer). Prompts are checked against the model's context first. Problem i runs
 * with its own seed derived from the given one (as `caspo eval --strategy sample` does).
 */
export async function decodeWithStrategy(records: readonly ProblemRecord[], options: StrategySweepOptions): Promise<StrategySweepResult> {
  const started = performance.now();
  const prompts = records.map((record) =>
    encodeProblem(options.model, record.problem, options.maxTokens, `the problem on ${options.source} line ${record.line}`),
  );
  const out: StrategySweepResult = {
    solutions: [],
    voteCorrect: [],
    settings: options.settings,
    generatedTokens: 0,
    forwardPasses: 0,
    expandedSteps: 0,
    confidenceMs: 0,
    wallMs: 0,
    cancelled: false,
  };
  for (let i = 0; i < records.length; i++) {
    if (options.signal?.aborted) {
      out.cancelled = true;
      break;
    }
    const result = await runStrategy(
      options.model,
      options.strategy,
      { promptIds: prompts[i].promptIds, maxNewTokens: prompts[i].maxNewTokens, calibration: options.calibration, metric: options.metric, signal: options.signal },
      STRATEGY_SETTINGS[options.strategy].includes('seed') ? { ...options.settings, seed: perProblemSeed(options.settings.seed ?? 0, i) } : options.settings,
    );
    if (result.stopReason === 'cancelled') {
      out.cancelled = true;
      break;
    }
    // Report the sweep's seed (each problem ran with one derived from it), defaults filled in.
    out.settings = 'seed' in result.settings ? { ...result.settings, seed: options.settings.seed ?? SAMPLING_DEFAULTS.seed } : result.settings;
    out.generatedTokens += result.stats.generatedTokens;
    out.forwardPasses += result.stats.forwardPasses;
    out.expandedSteps += result.stats.expandedSteps;
    out.confidenceMs += result.stats.confidenceMs;
    const labelled = labelSolution(records[i].problem, records[i].answer, result.path);
    out.solutions.push([labelled]);
    out.voteCorrect.push(result.vote ? answersMatch(result.vote.answer, records[i].answer) : labelled.answerCorrect);
    options.onProblem?.(i + 1, labelled);
  }
  out.wallMs = performance.now() - started;
  return out;
}
