import type { TreeNode } from '../trace/tree';
import { answerOf } from '../trace/types';
import { DEFAULT_TOP_K } from './confidence';
import type { DecoderModel } from './generate';
import { validateSampling } from './sampling';
import { ConfidenceCalibration, type StepMetric } from './stepConfidence';
import { DEFAULT_STEP_DELIMITER } from './steps';
import { tallyVotes, type StrategyResult, type StrategySettings } from './strategyResult';
import { validateThresholdRule, type ThresholdRule } from './threshold';
import { createPathDecoder, pathRow } from './treeNodes';
import { treeSearch, type SearchPath, type TreeSearchOptions, type TreeSearchOutcome } from './treeSearch';

/**
 * CaT (Confidence-aware Thought, design §5): a step-level tree search that branches on sampled
 * candidate steps and prunes by calibrated step confidence.
 *
 * - At each step boundary of a continued node, `branches` candidate next steps are drawn at
 *   `temperature` (candidate k of node n from its own stream, derived from (seed, n's id, k)) and
 *   decoded in batched forwards from the node's forked KV row (stepExpansion). With `greedyFirst`,
 *   candidate 0 is the greedy step instead of a draw. With `branchBelow`, candidate 0 is decoded
 *   first and the other b − 1 only where its confidence is below that (confident steps cost one).
 * - Each candidate step is scored by its calibrated confidence (the tree's metric over its tokens);
 *   identical siblings merge into one node.
 * - Candidates below τ are pruned; when every candidate of a round is below τ, the one of best
 *   path score continues and is flagged. Of the rest, at most `width` (by path score) are kept.
 * - Path score = Σ log(step confidence) along the path (the log of the product of step
 *   confidences, i.e. of the path confidence the editor shows; a confidence under 1e-12 counts as
 *   1e-12). It only falls as a path grows.
 * - Completed candidates (their row stopped: answer line, EOS, token limit) take part in the
 *   round's selection like the others; the kept ones are the completed paths.
 * - The budget bounds the candidate steps drawn in all (each draw counts, merged duplicates too).
 *   When it cannot cover the whole frontier, the nodes of best path score get their candidates
 *   first and the others are pruned ('budget'). It is a hard bound: if it runs out before any path
 *   completes, there is no answer (stop reason 'budget'), the result's path is the best unfinished
 *   one, and `expandBranch` can finish any node later.
 * - The answer is the completed path of best path score (paths with an answer line before those
 *   without). Beside it, a confidence-weighted vote: every completed path votes for its answer with
 *   weight = its path confidence exp(path score).
 */
export interface CatSettings {
  /** b: candidates drawn at each step boundary. */
  branches: number;
  /** w: candidates kept per round. */
  width: number;
  threshold: ThresholdRule;
  /** Most candidate steps drawn in all. */
  budget: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Candidate 0 of every expansion is the greedy step, the others are drawn (so the greedy chain is always a candidate). */
  greedyFirst: boolean;
  /**
   * Branch only where unsure: candidate 0 is decoded first and the other b − 1 are drawn only when its step
   * confidence is below this; null: all b every time.
   */
  branchBelow: number | null;
}

/** Defaults for the CLI and the server (one place). */
export const CAT_DEFAULTS: Readonly<CatSettings> = Object.freeze({
  branches: 3,
  width: 2,
  threshold: Object.freeze({ kind: 'fixed', value: 0.5 } as const),
  budget: 40,
  temperature: 1,
  topP: 1,
  seed: 0,
  greedyFirst: true,
  branchBelow: null,
});

/** What every tree-building strategy needs besides its own settings. */
export interface DecodeRequest {
  promptIds: readonly number[];
  maxNewTokens: number;
  calibration?: ConfidenceCalibration;
  /** Default: the calibration's default metric. */
  metric?: StepMetric;
  stepDelimiter?: string;
  stopAtAnswerLine?: boolean;
  signal?: AbortSignal;
  /** Called as nodes join the tree (and when a node's status changes later). */
  onNode?: (node: Readonly<TreeNode>) => void;
  /** Called when a round's candidates are all in the tree (tree searches: CaT, beam). */
  onRound?: () => void;
}

export function validateCatSettings(settings: CatSettings): void {
  validateThresholdRule(settings.threshold);
  validateSampling({ kind: 'sample', temperature: settings.temperature, topP: settings.topP, seed: settings.seed, greedyFirst: settings.greedyFirst });
}

export async function cat(model: DecoderModel, request: DecodeRequest, settings: Partial<CatSettings> = {}): Promise<StrategyResult> {
  const started = performance.now();
  const full: CatSettings = { ...CAT_DEFAULTS, ...settings };
  validateCatSettings(full);
  const outcome = await sampledTreeSearch(model, request, 'cat', full, full.threshold, 'confidence');
  return searchResult('cat', full, model, request, outcome, started);
}

/** CaT's and beam search's tree search: sampled candidates per node stream, ranked by `scoring`. */
export function sampledTreeSearch(
  model: DecoderModel,
  request: DecodeRequest,
  strategy: 'cat' | 'beam',
  s: { branches: number; width: number; budget: number; temperature: number; topP: number; seed: number } & Partial<Pick<CatSettings, 'greedyFirst' | 'branchBelow'>>,
  threshold: CatSettings['threshold'] | null,
  scoring: 'confidence' | 'logProb',
) {
  return treeSearch(model, {
    ...searchRequest(model, request),
    strategy,
    branches: s.branches,
    width: s.width,
    budget: s.budget,
    sampling: { kind: 'sample', temperature: s.temperature, topP: s.topP, seed: s.seed, ...(s.greedyFirst === true ? { greedyFirst: true } : {}) },
    threshold,
    scoring,
    branchBelow: s.branchBelow ?? null,
  });
}

/** The search options common to CaT and beam search, with the request's defaults filled in. */
export function searchRequest(
  model: DecoderModel,
  request: DecodeRequest,
): Pick<TreeSearchOptions, 'promptIds' | 'maxNewTokens' | 'calibration' | 'metric' | 'stepDelimiter' | 'stopAtAnswerLine' | 'signal' | 'onNode' | 'onRound'> {
  const calibration = request.calibration ?? new ConfidenceCalibration(model.config.vocabSize, DEFAULT_TOP_K);
  return {
    promptIds: request.promptIds,
    maxNewTokens: request.maxNewTokens,
    calibration,
    metric: request.metric ?? calibration.defaultMetric,
    stepDelimiter: request.stepDelimiter ?? DEFAULT_STEP_DELIMITER,
    stopAtAnswerLine: request.stopAtAnswerLine ?? true,
    signal: request.signal,
    onNode: request.onNode,
    onRound: request.onRound,
  };
}

/**
 * The result of a tree search: the best completed path (answer lines first, then path score,
 * then creation order); without one, the best unfinished path. CaT adds its confidence-weighted
 * vote over the completed paths.
 */
export function searchResult(
  strategy: 'cat' | 'beam',
  settings: StrategySettings,
  model: DecoderModel,
  request: DecodeRequest,
  outcome: TreeSearchOutcome,
  startedAt: number,
): StrategyResult {
  const ranked = [...outcome.completed].sort(
    (a, b) => Number(answerOf(b.row) !== null) - Number(answerOf(a.row) !== null) || b.node.pathScore - a.node.pathScore,
  );
  const chosen: SearchPath | null = ranked[0] ?? outcome.unfinished;
  const path = chosen?.row ?? pathRow(createPathDecoder(model, outcome.tree.settings, searchRequest(model, request).calibration), 0, outcome.stopReason === 'cancelled' ? 'cancelled' : 'budget');
  const stats = outcome.stats;
  return {
    strategy,
    settings,
    answer: answerOf(path),
    path,
    pathNodeIds: chosen ? outcome.tree.path(chosen.node.id).map((node) => node.id) : [],
    vote:
      strategy !== 'cat'
        ? null
        : tallyVotes(
            'confidence',
            outcome.completed.map((c) => ({ answer: answerOf(c.row), weight: Math.exp(c.node.pathScore) })),
          ),
    tree: outcome.tree,
    // A cancelled search is a partial result even when a path it chose had completed.
    stopReason: outcome.stopReason === 'cancelled' ? 'cancelled' : path.stopReason,
    stats: {
      promptTokens: request.promptIds.length,
      generatedTokens: stats.generatedTokens,
      forwardPasses: stats.forwardPasses,
      expandedSteps: stats.expandedSteps,
      wallMs: performance.now() - startedAt,
      confidenceMs: stats.confidenceMs,
      forwardMs: stats.forwardMs,
    },
    ...(strategy === 'cat' ? { threshold: outcome.threshold } : {}),
  };
}
