import type { GeneratedStep, GeneratedToken } from '../decoding/rowDecoder';
import type { StepMetric } from '../decoding/stepConfidence';

/** One of the most likely tokens at a position, as text. */
export interface TokenAlternative {
  text: string;
  prob: number;
}

/** The step's least likely chosen token and what the model weighed against it. */
export interface WeakestToken {
  /** Its text where it stands, as each alternative's (see TokenText): the character it completes, where it does. */
  text: string;
  prob: number;
  /** How many tokens before it hold the first bytes of the character it completes (byte-level BPE); absent when none. */
  completesAfter?: number;
  /** Where it ends inside a character that a later token completes: that token's text where it stands (the character). */
  partOf?: string;
  /** The top-k tokens at that position, most likely first (the chosen one among them when it made the top k). */
  alternatives: TokenAlternative[];
}

/**
 * The text of a token where it stands: what it adds after `contextIds`, the token before it and those since whose
 * bytes the stream held back (TextTokenizer.tokenText).
 */
export type TokenText = (id: number, contextIds: readonly number[]) => string;

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
 * `tokenText` names the weakest token and its top-k alternatives (the engine keeps only ids for those).
 */
export function reasoningStepFrom(
  step: GeneratedStep,
  tokens: readonly GeneratedToken[],
  tokenText: TokenText,
  calibrated: boolean,
): ReasoningStep {
  for (const i of step.tokenIndices) {
    if (tokens[i] === undefined) throw new Error(`step ${step.index} names token ${i}, but only ${tokens.length} were generated`);
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
    weakestToken: weakestTokenOf(tokens, step.tokenIndices, tokenText),
  };
}

/**
 * The least likely of `tokens[indices]` with its alternatives. A token's text in the stream can hold bytes of the
 * tokens before it (a character split across tokens is shown with the token that completes it), so the token and
 * each alternative are named alike, by the text they make where they stand: the chosen one then reads the same in
 * the alternatives list, and an alternative that would have completed another character shows that character.
 */
export function weakestTokenOf(tokens: readonly GeneratedToken[], indices: readonly number[], tokenText: TokenText): WeakestToken | null {
  let at = -1;
  for (const i of indices) if (at < 0 || tokens[i].prob < tokens[at].prob) at = i;
  if (at < 0) return null;
  const weakest = tokens[at];
  // The tokens the stream held back before it (no text yet), and the one before them that it showed.
  let heldFrom = at;
  while (heldFrom > 0 && tokens[heldFrom - 1].text === '') heldFrom--;
  const contextUpTo = (end: number) => tokens.slice(Math.max(0, heldFrom - 1), end).map((token) => token.id);
  const text = tokenText(weakest.id, contextUpTo(at));
  // Held back itself: the character it is part of shows with the first later token that has text.
  const completing = weakest.text === '' ? tokens.findIndex((token, i) => i > at && token.text !== '') : -1;
  const partOf = completing < 0 ? null : tokenText(tokens[completing].id, contextUpTo(completing));
  return {
    text,
    prob: weakest.prob,
    ...(heldFrom < at && text !== tokenText(weakest.id, []) ? { completesAfter: at - heldFrom } : {}),
    ...(partOf !== null && partOf !== tokenText(tokens[completing].id, []) ? { partOf } : {}),
    alternatives: weakest.topK.map((top) => ({ text: tokenText(top.id, contextUpTo(at)), prob: top.prob })),
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
