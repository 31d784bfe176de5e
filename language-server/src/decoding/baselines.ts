import { answerOf } from '../trace/types';
import { sampledTreeSearch, searchRequest, searchResult, type DecodeRequest } from './cat';
import { generate, type DecoderModel, type GeneratedRow } from './generate';
import type { GeneratedStep } from './rowDecoder';
import { GREEDY, type SamplingOptions } from './sampling';
import { tallyVotes, type StrategyName, type StrategyResult, type StrategySettings, type VoteResult } from './strategyResult';
import { rowSegments, treeFromRows } from './rowTree';

/** Sampling knobs of the sampling baselines. */
export interface SamplingSettings {
  temperature: number;
  topP: number;
  seed: number;
}

/** sc and bok: K sampled solutions decoded as K rows of one batch from one prefill. */
export interface SampledSolutionsSettings extends SamplingSettings {
  samples: number;
}

/** Step-level beam search: b candidates per beam, w beams, the same budget accounting as CaT. */
export interface BeamSettings extends SamplingSettings {
  branches: number;
  width: number;
  budget: number;
}

export const SAMPLING_DEFAULTS: Readonly<SamplingSettings> = Object.freeze({ temperature: 1, topP: 1, seed: 0 });
/** K = 10: the paper's sampling budget (design §8). */
export const SAMPLED_SOLUTIONS_DEFAULTS: Readonly<SampledSolutionsSettings> = Object.freeze({ ...SAMPLING_DEFAULTS, samples: 10 });
export const BEAM_DEFAULTS: Readonly<BeamSettings> = Object.freeze({ ...SAMPLING_DEFAULTS, branches: 3, width: 2, budget: 40 });

/** Extra for the row strategies: each closed step of each row as it closes (greedy/sample stream their steps). */
export interface RowDecodeRequest extends DecodeRequest {
  onStep?: (event: { row: number; step: GeneratedStep }) => void;
}

/** Greedy chain of thought: one row, the most likely token each time. */
export async function greedy(model: DecoderModel, request: RowDecodeRequest): Promise<StrategyResult> {
  const run = await decodeRows(model, request, 'greedy', GREEDY, 1, {});
  return run.result(0, null);
}

/** One sampled solution. */
export async function sample(model: DecoderModel, request: RowDecodeRequest, settings: Partial<SamplingSettings> = {}): Promise<StrategyResult> {
  const s = { ...SAMPLING_DEFAULTS, ...settings };
  const run = await decodeRows(model, request, 'sample', { kind: 'sample', ...s }, 1, s);
  return run.result(0, null);
}

/**
 * Self-consistency@K: K sampled solutions, the answer is the most frequent one (ties: the one seen
 * first); the path shown is the first row that gave it (row 0 when no row gave an answer).
 */
export async function selfConsistency(
  model: DecoderModel,
  request: RowDecodeRequest,
  settings: Partial<SampledSolutionsSettings> = {},
): Promise<StrategyResult> {
  const { samples, ...s } = { ...SAMPLED_SOLUTIONS_DEFAULTS, ...settings };
  const run = await decodeRows(model, request, 'sc', { kind: 'sample', ...s }, samples, { ...s, samples });
  const answers = run.rows.map((row) => answerOf(row));
  const vote = tallyVotes('majority', answers.map((answer) => ({ answer, weight: 1 })));
  const chosen = Math.max(0, answers.findIndex((answer) => answer !== null && answer === vote.answer));
  return run.result(chosen, vote);
}

/** Best-of-K: K sampled solutions, the one of highest total log-likelihood (Σ token log-probs; ties: lowest row). */
export async function bestOfK(model: DecoderModel, request: RowDecodeRequest, settings: Partial<SampledSolutionsSettings> = {}): Promise<StrategyResult> {
  const { samples, ...s } = { ...SAMPLED_SOLUTIONS_DEFAULTS, ...settings };
  const run = await decodeRows(model, request, 'bok', { kind: 'sample', ...s }, samples, { ...s, samples });
  const likelihoods = run.rows.map((row) => row.tokens.reduce((sum, token) => sum + token.logProb, 0));
  const chosen = likelihoods.reduce((best, value, r) => (value > likelihoods[best] ? r : best), 0);
  return run.result(chosen, null);
}

/**
 * Step-level beam search, the tree-search baseline: the same search as CaT (sampled candidates per
 * node stream, merged duplicates, budget) ranked by cumulative token log-probability, without a
 * threshold. The answer is the completed path of best score.
 */
export async function beam(model: DecoderModel, request: DecodeRequest, settings: Partial<BeamSettings> = {}): Promise<StrategyResult> {
  const started = performance.now();
  const s = { ...BEAM_DEFAULTS, ...settings };
  const outcome = await sampledTreeSearch(model, request, 'beam', s, null, 'logProb');
  return searchResult('beam', s, model, request, outcome, started);
}

/** `numRows` rows from one prefill through the token loop, their tree, and a result for any row. */
async function decodeRows(
  model: DecoderModel,
  request: RowDecodeRequest,
  strategy: StrategyName,
  sampling: SamplingOptions,
  numRows: number,
  settings: StrategySettings,
) {
  const started = performance.now();
  let forwardPasses = 0;
  const counted: DecoderModel = {
    config: model.config,
    eosTokenIds: model.eosTokenIds,
    tokenizer: model.tokenizer,
    emptyCache: (batchSize) => model.emptyCache(batchSize),
    forward: (ids, cache) => {
      forwardPasses += 1;
      return model.forward(ids, cache);
    },
  };
  const common = searchRequest(model, request);
  const generated = await generate(counted, {
    promptIds: request.promptIds,
    maxNewTokens: request.maxNewTokens,
    numRows,
    sampling,
    stepDelimiter: common.stepDelimiter,
    stopAtAnswerLine: common.stopAtAnswerLine,
    calibration: common.calibration,
    metric: common.metric,
    signal: request.signal,
    onStep: request.onStep,
  });
  const treeStarted = performance.now();
  const { tree, pathNodeIds } = treeFromRows(
    generated.rows,
    {
      strategy,
      promptIds: request.promptIds.slice(),
      maxNewTokens: request.maxNewTokens,
      stepDelimiter: common.stepDelimiter,
      stopAtAnswerLine: common.stopAtAnswerLine,
      metric: common.metric,
      scoring: 'confidence',
      sampling,
    },
    common.calibration,
  );
  for (const node of tree.nodes) request.onNode?.(node);
  const treeMs = performance.now() - treeStarted;
  const rows: GeneratedRow[] = generated.rows;
  return {
    rows,
    result(chosen: number, vote: VoteResult | null): StrategyResult {
      const path = rows[chosen];
      return {
        strategy,
        settings,
        answer: vote?.answer ?? answerOf(path),
        path,
        pathNodeIds: pathNodeIds[chosen],
        vote,
        tree,
        // Cancelled while other rows were decoding: a partial result, whichever row was chosen.
        stopReason: rows.some((row) => row.stopReason === 'cancelled') ? 'cancelled' : path.stopReason,
        stats: {
          promptTokens: generated.stats.promptTokens,
          generatedTokens: generated.stats.generatedTokens,
          forwardPasses,
          expandedSteps: rows.reduce((sum, row) => sum + rowSegments(row).length, 0),
          wallMs: performance.now() - started,
          confidenceMs: generated.stats.confidenceMs + treeMs,
          forwardMs: generated.stats.forwardMs,
        },
      };
    },
  };
}
