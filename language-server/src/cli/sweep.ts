import { generate } from '../decoding/generate';
import type { SamplingOptions } from '../decoding/sampling';
import type { ConfidenceCalibration, StepMetric } from '../decoding/stepConfidence';
import type { CausalLM } from '../model/causalLM';
import { encodeProblem } from './engine';
import type { ProblemRecord } from './input';
import { labelSolution, type LabelledSolution } from './stepLabels';

export interface SweepOptions {
  model: CausalLM;
  calibration: ConfidenceCalibration;
  metric: StepMetric;
  sampling: SamplingOptions;
  /** Solutions per problem, decoded side by side as rows of one batch. */
  samples: number;
  maxTokens: number;
  /** Names the file in errors ("input file data.jsonl"). */
  source: string;
  signal?: AbortSignal;
  onProblem?: (done: number, solutions: readonly LabelledSolution[]) => void;
}

export interface SweepResult {
  /** Per completed problem, its `samples` labelled solutions. */
  solutions: LabelledSolution[][];
  generatedTokens: number;
  wallMs: number;
  /** Ctrl-C stopped the sweep; `solutions` holds the problems finished before it. */
  cancelled: boolean;
}

/**
 * Decodes every problem (`samples` rows each) and labels each solution's steps with the verifier.
 * All prompts are checked against the model's context first, so a bad line fails before any work.
 */
export async function decodeAndLabel(records: readonly ProblemRecord[], options: SweepOptions): Promise<SweepResult> {
  const started = performance.now();
  const prompts = records.map((record) =>
    encodeProblem(options.model, record.problem, options.maxTokens, `the problem on ${options.source} line ${record.line}`),
  );
  const solutions: LabelledSolution[][] = [];
  let generatedTokens = 0;
  let cancelled = false;
  for (let i = 0; i < records.length; i++) {
    if (options.signal?.aborted) {
      cancelled = true;
      break;
    }
    const result = await generate(options.model, {
      promptIds: prompts[i].promptIds,
      maxNewTokens: prompts[i].maxNewTokens,
      numRows: options.samples,
      sampling: perProblemSampling(options.sampling, i),
      calibration: options.calibration,
      metric: options.metric,
      signal: options.signal,
    });
    if (result.rows.some((row) => row.stopReason === 'cancelled')) {
      cancelled = true;
      break;
    }
    generatedTokens += result.stats.generatedTokens;
    const labelled = result.rows.map((row) => labelSolution(records[i].problem, records[i].answer, row));
    solutions.push(labelled);
    options.onProblem?.(i + 1, labelled);
  }
  return { solutions, generatedTokens, wallMs: performance.now() - started, cancelled };
}

/** Each problem gets its own random stream (rows within it are split further by the engine). */
function perProblemSampling(sampling: SamplingOptions, problemIndex: number): SamplingOptions {
  if (sampling.kind === 'greedy') return sampling;
  return { ...sampling, seed: perProblemSeed(sampling.seed, problemIndex) };
}

/** The seed of problem `problemIndex` of a sweep run with `seed`. */
export function perProblemSeed(seed: number, problemIndex: number): number {
  return (seed + Math.imul(problemIndex + 1, 0x632be5ab)) | 0;
}
