import type { GeneratedStep, GeneratedToken } from '../decoding/rowDecoder';
import type { StepMetric } from '../decoding/stepConfidence';

/** One of the most likely tokens at a position, as text. */
export interface TokenAlternative {
  text: string;
  prob: number;
}

/** The step's least likely chosen token and what the model weighed against it. */
export interface WeakestToken {
  text: string;
  prob: number;
  /** The top-k tokens at that position, most likely first (the chosen one among them when it made the top k). */
  alternatives: TokenAlternative[];
}

/** A step as the language server keeps it: confidence, its evidence, and nothing else. */
export interface ReasoningStep {
  index: number;
  text: string;
  /** Calibrated confidence in [0, 1] under `metric`. */
  confidence: number;
  metric: StepMetric;
  /** The metric's raw score (higher = more confident). */
  score: number;
  /** True when caspo.json holds a fitted map for `metric`; false for the fixed default mapping. */
  calibrated: boolean;
  tokenCount: number;
  weakestToken: WeakestToken | null;
  /** Decoding stopped inside the step (the token limit, a cancel): it and its confidence end where the tokens did. */
  cutOff: boolean;
}

/**
 * Builds the server's record of a closed step from the engine's step and the row's tokens so far.
 * `decodeToken` turns a top-k id into text (the engine keeps only ids for alternatives).
 */
export function reasoningStepFrom(
  step: GeneratedStep,
  tokens: readonly GeneratedToken[],
  decodeToken: (id: number) => string,
  calibrated: boolean,
): ReasoningStep {
  let weakest: GeneratedToken | undefined;
  for (const i of step.tokenIndices) {
    const token = tokens[i];
    if (token === undefined) throw new Error(`step ${step.index} names token ${i}, but only ${tokens.length} were generated`);
    if (weakest === undefined || token.prob < weakest.prob) weakest = token;
  }
  return {
    index: step.index,
    text: step.text,
    confidence: step.confidence,
    metric: step.metric,
    score: step.score,
    calibrated,
    tokenCount: step.tokenIndices.length,
    cutOff: step.cutOff === true,
    weakestToken:
      weakest === undefined
        ? null
        : {
            text: weakest.text.length > 0 ? weakest.text : decodeToken(weakest.id),
            prob: weakest.prob,
            alternatives: weakest.topK.map((top) => ({ text: decodeToken(top.id), prob: top.prob })),
          },
  };
}

/**
 * Path confidence through step `throughIndex`: the PRODUCT of the step confidences from the first
 * step to that one — the chance that every step so far is right if steps fail independently, and
 * the cumulative score CaT ranks paths by. Null when there is no step.
 */
export function pathConfidence(steps: readonly Pick<ReasoningStep, 'confidence'>[], throughIndex = steps.length - 1): number | null {
  if (steps.length === 0 || throughIndex < 0) return null;
  let product = 1;
  for (let i = 0; i <= Math.min(throughIndex, steps.length - 1); i++) product *= steps[i].confidence;
  return product;
}
