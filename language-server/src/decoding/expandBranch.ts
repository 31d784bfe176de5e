import type { KvCache } from '../model/kvCache';
import { childId, GREEDY_CHILD, type ReasoningTree, type TreeNode } from '../trace/tree';
import { answerOf } from '../trace/types';
import { candidateSampler } from './branchStreams';
import { DEFAULT_TOP_K } from './confidence';
import type { DecoderModel } from './generate';
import type { RowDecoder } from './rowDecoder';
import { GREEDY, TokenSampler } from './sampling';
import { ConfidenceCalibration } from './stepConfidence';
import { expandCandidates, type ExpansionCounters } from './stepExpansion';
import { candidateParts, createPathDecoder, makeNode, pathRow, type PathRow } from './treeNodes';

/**
 * - 'sample': continue with candidate 0 at every step, each from its own stream (seed, parent id,
 *   0): the nodes "n.0", "n.0.0", ... get exactly the tokens those nodes get in a search run with the
 *   same settings that does not prune them (τ = 0, a width that keeps every candidate, a budget that
 *   does not run out). Only for trees whose candidates were drawn per node (cat, beam).
 * - 'greedy': continue with the most likely token ("n.g", "n.g.g", ...): what greedy decoding gives
 *   after the node's path.
 */
export type ExpansionMode = 'sample' | 'greedy';

export interface ExpandBranchOptions {
  /** Default: 'sample' for a sampled CaT/beam tree, else 'greedy'. */
  mode?: ExpansionMode;
  /** The model's calibration (the one the tree was scored with); default: the fixed mapping. */
  calibration?: ConfidenceCalibration;
  signal?: AbortSignal;
  /** Called for each node added, as soon as it is. */
  onNode?: (node: Readonly<TreeNode>) => void;
}

export interface BranchExpansion {
  mode: ExpansionMode;
  /** Nodes added to the tree (status 'kept', the last 'completed'), first step first; empty when the continuation was already there. */
  added: TreeNode[];
  /** The completed leaf the continuation reached (or the last node, when cancelled). */
  leafId: string;
  /** Ids from the root's first step to the leaf. */
  pathNodeIds: string[];
  /** The whole path through the leaf, in row form. */
  path: PathRow;
  answer: string | null;
  stats: { generatedTokens: number; forwardPasses: number; forwardMs: number; confidenceMs: number; wallMs: number };
}

const REPLAYABLE_STRATEGIES = ['cat', 'beam'];

/**
 * Continues node `nodeId` of `tree` to the end of its row (an answer line, EOS or the token limit)
 * and adds the new nodes to the tree (origin 'expansion'). Nodes of the continuation already in the
 * tree are walked, not decoded again, so expanding twice adds nothing the second time. The path is
 * fed from the prompt in one forward (the tree holds token ids, not caches); each further step is
 * decoded from the KV row of the one before.
 */
export async function expandBranch(
  model: DecoderModel,
  tree: ReasoningTree,
  nodeId: string,
  options: ExpandBranchOptions = {},
): Promise<BranchExpansion> {
  const started = performance.now();
  const settings = tree.settings;
  const mode = options.mode ?? (settings.sampling.kind === 'sample' && REPLAYABLE_STRATEGIES.includes(settings.strategy) ? 'sample' : 'greedy');
  if (mode === 'sample' && (settings.sampling.kind !== 'sample' || !REPLAYABLE_STRATEGIES.includes(settings.strategy))) {
    throw new Error(
      `cannot continue a ${settings.strategy} tree by sampling as it would have continued: only cat and beam draw each step from ` +
        'a stream of its own. Use mode "greedy".',
    );
  }
  const calibration = options.calibration ?? new ConfidenceCalibration(model.config.vocabSize, DEFAULT_TOP_K);
  const suffix = mode === 'greedy' ? GREEDY_CHILD : 0;
  const samplerAt = (parentId: string) =>
    mode === 'greedy' ? new TokenSampler(GREEDY) : candidateSampler(settings.sampling, parentId, 0);

  let current = tree.get(nodeId);
  while (current.stopReason === null && tree.has(childId(current.id, suffix))) current = tree.get(childId(current.id, suffix));
  // No cancellation criterion in the rows: expandCandidates checks the signal between forwards.
  let decoder = replayPath(model, tree, current.id, calibration);

  const counters: ExpansionCounters = { forwardPasses: 0, forwardMs: 0 };
  const added: TreeNode[] = [];
  let generatedTokens = 0;
  let confidenceMs = 0;
  let cache: KvCache | null = null;
  let pending = tree.tokenPath(current.id);
  let cancelled = false;
  try {
    while (current.stopReason === null) {
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      const [candidate] = await expandCandidates(model, [{ cache, pending, decoder, samplers: [samplerAt(current.id)] }], counters, options.signal);
      cache?.dispose();
      cache = null;
      if (candidate === undefined || candidate.decoder.stopReason === 'cancelled') {
        candidate?.cache?.dispose();
        cancelled = true;
        break;
      }
      generatedTokens += candidate.decoder.tokens.length - candidate.start;
      confidenceMs += candidate.decoder.confidenceMs;
      const node = makeNode(
        {
          id: childId(current.id, suffix),
          parent: current,
          draws: [0],
          ...candidateParts(candidate.decoder, candidate.start, decoder.steps.length),
          origin: 'expansion',
        },
        settings,
        calibration,
      );
      current = node;
      decoder = candidate.decoder;
      cache = candidate.cache; // owned here from now on, so a throwing onNode cannot leak it
      pending = decoder.stopReason === null ? [decoder.lastTokenId] : [];
      tree.add(node);
      added.push(node);
      options.onNode?.(node);
    }
  } finally {
    cache?.dispose();
  }
  const path = pathRow(decoder, 0, cancelled ? 'cancelled' : undefined);
  return {
    mode,
    added,
    leafId: current.id,
    pathNodeIds: tree.path(current.id).map((node) => node.id),
    path,
    answer: answerOf(path),
    stats: {
      generatedTokens,
      forwardPasses: counters.forwardPasses,
      forwardMs: counters.forwardMs,
      confidenceMs,
      wallMs: performance.now() - started,
    },
  };
}

/** The decoding state at the end of node `id`, rebuilt from the tokens the tree recorded. */
function replayPath(model: DecoderModel, tree: ReasoningTree, id: string, calibration: ConfidenceCalibration): RowDecoder {
  const decoder = createPathDecoder(model, tree.settings, calibration);
  const tokens = tree.path(id).flatMap((node) => node.tokens);
  tokens.forEach((token, i) => {
    if (decoder.finished) throw new Error(`the path to node "${id}" goes on after its row stopped (${decoder.stopReason}) at token ${i}`);
    decoder.replay(token);
  });
  const recorded = tree.get(id).stopReason;
  if (decoder.stopReason !== recorded) {
    throw new Error(`node "${id}" records stop reason ${recorded}, but replaying its path gives ${decoder.stopReason}`);
  }
  return decoder;
}
