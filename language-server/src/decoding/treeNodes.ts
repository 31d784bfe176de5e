import type { NodeStep, PathScoring, TreeNode, TreeSettings } from '../trace/tree';
import { DEFAULT_TOP_K } from './confidence';
import type { DecoderModel, GeneratedRow } from './generate';
import { RowDecoder, type GeneratedStep, type GeneratedToken } from './rowDecoder';
import { GREEDY, TokenSampler } from './sampling';
import { scoreStep, type ConfidenceCalibration, type StepMetric } from './stepConfidence';
import { StepSegmenter } from './steps';
import { standardStoppingCriteria, type StopReason } from './stopping';

/**
 * Confidences are floored here before taking their log, so a step the calibration maps to 0 gives
 * a very low but finite path score (−27.6) and paths stay comparable.
 */
export const MIN_STEP_CONFIDENCE = 1e-12;

/** A path's stop: its row's reason, or 'budget' when the step budget ran out before it finished. */
export type PathStopReason = StopReason | 'budget';

/** A decoded path in the token loop's row form (tokens, text, steps), for traces and labels. */
export interface PathRow extends Omit<GeneratedRow, 'stopReason'> {
  stopReason: PathStopReason;
}

/** A fresh decoding state for a path of `settings` (no tokens yet). */
export function createPathDecoder(
  model: DecoderModel,
  settings: Pick<TreeSettings, 'maxNewTokens' | 'stepDelimiter' | 'stopAtAnswerLine' | 'metric'>,
  calibration: ConfidenceCalibration,
  signal?: AbortSignal,
  sampler: TokenSampler = new TokenSampler(GREEDY),
): RowDecoder {
  return new RowDecoder({
    sampler,
    detokenizer: model.tokenizer.createDetokenizer(),
    segmenter: new StepSegmenter(settings.stepDelimiter),
    criteria: standardStoppingCriteria({
      eosTokenIds: model.eosTokenIds,
      maxNewTokens: settings.maxNewTokens,
      stopAtAnswerLine: settings.stopAtAnswerLine,
      signal,
    }),
    calibration,
    metric: settings.metric,
    topK: DEFAULT_TOP_K,
  });
}

/** How much a node adds to its path score: log of its confidence, or the sum of its token log-probs. */
export function stepScore(scoring: PathScoring, confidence: number, tokens: readonly GeneratedToken[]): number {
  if (scoring === 'confidence') return Math.log(Math.max(confidence, MIN_STEP_CONFIDENCE));
  let sum = 0;
  for (const token of tokens) sum += token.logProb;
  return sum;
}

export interface NewNode {
  id: string;
  parent: TreeNode;
  /** Candidate indices (or rows) that produced these tokens; the first is the node's own. */
  draws: number[];
  /** The node's tokens. */
  tokens: readonly GeneratedToken[];
  /** The steps its tokens closed (usually one; none when only e.g. EOS came after the last step). */
  closedSteps: readonly GeneratedStep[];
  /** Its row's stop reason when the row stopped inside the node, else null. */
  stopReason: StopReason | null;
  origin: TreeNode['origin'];
}

/**
 * A tree node for tokens just decoded: confidence from the node's own tokens under the tree's
 * metric, text from the steps they closed, path score from its parent's. Status starts as 'kept'
 * (or 'completed' when the row stopped); a search's selection may change it.
 */
export function makeNode(spec: NewNode, settings: Pick<TreeSettings, 'metric' | 'scoring'>, calibration: ConfidenceCalibration): TreeNode {
  const { parent } = spec;
  const tokens = spec.tokens.map((t) => ({ ...t, topK: t.topK.slice() }));
  if (tokens.length === 0) throw new Error(`node ${spec.id} has no tokens`);
  const report = scoreStep(tokens, calibration, settings.metric);
  const start = parent.prefixTokenCount + parent.tokenIds.length;
  return {
    id: spec.id,
    parentId: parent.id,
    depth: parent.depth + 1,
    candidate: spec.draws[0],
    draws: spec.draws,
    text: spec.closedSteps.map((step) => step.text).join('\n'),
    ...(spec.closedSteps.length > 1 ? { steps: spec.closedSteps.map((step) => nodeStep(step, tokens, start, settings.metric, calibration)) } : {}),
    tokenIds: tokens.map((t) => t.id),
    tokens,
    confidence: report.confidence,
    rawScore: report.score,
    status: spec.stopReason === null ? 'kept' : 'completed',
    flagged: false,
    pathScore: parent.pathScore + stepScore(settings.scoring, report.confidence, tokens),
    prefixTokenCount: start,
    stopReason: spec.stopReason,
    origin: spec.origin,
    // The segmenter knows whether the delimiter closed the step; the token text cannot tell (a delimiter mid-token).
    ...(spec.closedSteps.at(-1)?.cutOff ? { cutOff: true as const } : {}),
  };
}

/**
 * One of several steps a node closed, scored over the node's own tokens as the node is (`start`: the first one's
 * index in the row): a token of the node above that began the step stays with that node.
 */
function nodeStep(step: GeneratedStep, tokens: readonly GeneratedToken[], start: number, metric: StepMetric, calibration: ConfidenceCalibration): NodeStep {
  const tokenIndices = step.tokenIndices.map((i) => i - start).filter((i) => i >= 0);
  const report = scoreStep(tokenIndices.map((i) => tokens[i]), calibration, metric);
  return { text: step.text, tokenIndices, confidence: report.confidence, rawScore: report.score, ...(step.cutOff ? { cutOff: true as const } : {}) };
}

/** The parts of a node decoded by one candidate (tokens after `start`, steps after `stepsBefore`). */
export function candidateParts(decoder: RowDecoder, start: number, stepsBefore: number): Pick<NewNode, 'tokens' | 'closedSteps' | 'stopReason'> {
  return { tokens: decoder.tokens.slice(start), closedSteps: decoder.steps.slice(stepsBefore), stopReason: decoder.stopReason };
}

/** The row form of a decoded path; `budget` marks a path the search stopped before it finished. */
export function pathRow(decoder: RowDecoder, row = 0, stopReason?: PathStopReason): PathRow {
  return {
    row,
    tokens: decoder.tokens,
    text: decoder.text,
    steps: decoder.steps,
    stopReason: stopReason ?? decoder.stopReason ?? 'budget',
  };
}

/** Whether two decoders generated the same ids after index `start` (duplicate candidates). */
export function sameTokens(a: RowDecoder, b: RowDecoder, start: number): boolean {
  if (a.tokens.length !== b.tokens.length) return false;
  for (let i = start; i < a.tokens.length; i++) if (a.tokens[i].id !== b.tokens[i].id) return false;
  return true;
}
