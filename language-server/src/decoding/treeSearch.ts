import type { KvCache } from '../model/kvCache';
import { childId, ReasoningTree, type PathScoring, type TreeNode } from '../trace/tree';
import { candidateSampler } from './branchStreams';
import type { DecoderModel } from './generate';
import type { RowDecoder } from './rowDecoder';
import type { SamplingOptions } from './sampling';
import { scoreStep, type ConfidenceCalibration, type StepMetric } from './stepConfidence';
import { expandCandidates, type BranchPoint, type ExpandedCandidate, type ExpansionCounters } from './stepExpansion';
import { ThresholdTracker, type ThresholdRule } from './threshold';
import { candidateParts, createPathDecoder, makeNode, pathRow, sameTokens, type PathRow } from './treeNodes';

/** A step-level tree search: CaT (confidence scoring and a threshold) or beam search (log-prob, none). */
export interface TreeSearchOptions {
  strategy: 'cat' | 'beam';
  promptIds: readonly number[];
  /** Token limit of each path. */
  maxNewTokens: number;
  /** b: candidates drawn at each step boundary of a continued node. */
  branches: number;
  /** w: at most this many candidates of a round are kept (completed ones included). */
  width: number;
  /** Most candidate steps expanded in all (every draw counts, duplicates too). */
  budget: number;
  /** How candidates are drawn; each gets its own stream from (seed, parent id, index). */
  sampling: SamplingOptions;
  /** CaT's τ; null: no threshold pruning (beam search). */
  threshold: ThresholdRule | null;
  /**
   * Branch only where unsure: each continued node first decodes its candidate 0 alone, and its other
   * candidates are drawn only when that step's confidence is below this. null: all candidates at once.
   */
  branchBelow?: number | null;
  scoring: PathScoring;
  calibration: ConfidenceCalibration;
  metric: StepMetric;
  stepDelimiter: string;
  stopAtAnswerLine: boolean;
  signal?: AbortSignal;
  /** Called when a node is added to the tree and again if its status changes later (budget). */
  onNode?: (node: Readonly<TreeNode>) => void;
  /**
   * Called once a round's candidates have all been added (and reported through onNode): until then a node's
   * siblings from the same expansion may not be in the tree yet, so what the search may still choose is unknown.
   */
  onRound?: () => void;
}

export interface SearchPath {
  node: TreeNode;
  row: PathRow;
}

export interface SearchStats {
  /** Candidate steps drawn (what the budget counts). */
  expandedSteps: number;
  generatedTokens: number;
  forwardPasses: number;
  forwardMs: number;
  /** Per-token confidence pass and choice, plus scoring each candidate step. */
  confidenceMs: number;
  rounds: number;
}

export interface TreeSearchOutcome {
  tree: ReasoningTree;
  /** Leaves the search kept whose rows stopped, in creation order. */
  completed: SearchPath[];
  /** The best path left unfinished when the budget ran out or the search was cancelled; null otherwise. */
  unfinished: SearchPath | null;
  stopReason: 'finished' | 'budget' | 'cancelled';
  /** τ in force at the end (null: none, or still warming up). */
  threshold: number | null;
  /** The warm-up's confidences (adaptive threshold only). */
  warmup: readonly number[];
  stats: SearchStats;
}

/** A node the search continues: its KV row (all but the last id), the ids to feed, its decoder. */
interface FrontierEntry {
  node: TreeNode;
  cache: KvCache | null;
  pending: number[];
  decoder: RowDecoder;
}

/**
 * Rounds of: allot candidates to the frontier within the budget (best path first, b each), decode
 * them in batched forwards (stepExpansion), merge duplicate siblings, judge the round
 * (`judgeRound`), continue the kept. Ends when no path is left to continue, the budget is spent, or
 * the signal aborts.
 */
export async function treeSearch(model: DecoderModel, options: TreeSearchOptions): Promise<TreeSearchOutcome> {
  validateSearch(options);
  const tree = ReasoningTree.withRoot({
    strategy: options.strategy,
    promptIds: options.promptIds.slice(),
    maxNewTokens: options.maxNewTokens,
    stepDelimiter: options.stepDelimiter,
    stopAtAnswerLine: options.stopAtAnswerLine,
    metric: options.metric,
    scoring: options.scoring,
    sampling: options.sampling,
    ...(options.branchBelow != null ? { branchBelow: options.branchBelow } : {}),
  });
  const tracker = new ThresholdTracker(options.threshold);
  const counters: ExpansionCounters = { forwardPasses: 0, forwardMs: 0 };
  const stats: SearchStats = { expandedSteps: 0, generatedTokens: 0, forwardPasses: 0, forwardMs: 0, confidenceMs: 0, rounds: 0 };
  const completed: SearchPath[] = [];
  let frontier: FrontierEntry[] = [
    { node: tree.root, cache: null, pending: options.promptIds.slice(), decoder: createPathDecoder(model, tree.settings, options.calibration, options.signal) },
  ];
  let stopReason: TreeSearchOutcome['stopReason'] = 'finished';
  /** Nodes never continued because the budget ran out or the search was cancelled. */
  const leftOver: FrontierEntry[] = [];
  const notify = (node: TreeNode) => options.onNode?.(node);
  /** This round's candidates: their KV rows are freed here if anything throws before they are placed. */
  let drawnThisRound: ExpandedCandidate[] = [];
  let finished = false;

  try {
    while (frontier.length > 0) {
      if (options.signal?.aborted) {
        stopReason = 'cancelled';
        break;
      }
      // With branchBelow a node needs one draw unless its first candidate is unsure: the budget
      // reaches every node it can first, and what is left goes to the unsure ones (drawCandidates).
      const budgetLeft = options.budget - stats.expandedSteps;
      const counts = allotCandidates(frontier.length, options.branchBelow == null ? options.branches : 1, budgetLeft);
      frontier.forEach((entry, i) => {
        if (counts[i] > 0) return;
        entry.node.status = 'pruned';
        entry.node.prunedBy = 'budget';
        notify(entry.node);
        entry.cache?.dispose();
        entry.cache = null;
        leftOver.push(entry);
      });
      frontier = frontier.filter((_, i) => counts[i] > 0);
      if (frontier.length === 0) {
        stopReason = 'budget';
        break;
      }
      const { candidates, drawn } = await drawCandidates(model, frontier, counts, budgetLeft, options, counters);
      drawnThisRound = candidates;
      stats.rounds += 1;
      stats.expandedSteps += drawn;
      for (const c of candidates) {
        stats.generatedTokens += c.decoder.tokens.length - c.start;
        stats.confidenceMs += c.decoder.confidenceMs;
      }
      if (options.signal?.aborted || candidates.some((c) => c.decoder.stopReason === 'cancelled')) {
        for (const c of candidates) c.cache?.dispose();
        stopReason = 'cancelled';
        break;
      }

      const started = performance.now();
      const round = mergeDuplicates(frontier, candidates).map(({ entry, first, draws }) => {
        const node = makeNode(
          {
            id: childId(entry.node.id, first.candidate),
            parent: entry.node,
            draws,
            ...candidateParts(first.decoder, first.start, entry.decoder.steps.length),
            origin: 'search',
          },
          tree.settings,
          options.calibration,
        );
        return { node, candidate: first };
      });
      stats.confidenceMs += performance.now() - started;
      for (const entry of frontier) entry.cache?.dispose();

      judgeRound(round.map(({ node }) => node), tracker.current, options.width);
      tracker.endRound(round.flatMap(({ node }) => node.draws.map(() => node.confidence)));

      const next: FrontierEntry[] = [];
      for (const { node, candidate } of round) {
        tree.add(node);
        notify(node);
        if (node.status === 'completed') completed.push({ node, row: pathRow(candidate.decoder) });
        if (node.status === 'kept' || node.status === 'flagged') {
          next.push({ node, cache: candidate.cache, pending: [candidate.decoder.lastTokenId], decoder: candidate.decoder });
        } else candidate.cache?.dispose();
      }
      frontier = next.sort((a, b) => byPathScore(a.node, b.node));
      drawnThisRound = [];
      options.onRound?.();
    }
    if (stopReason === 'cancelled') leftOver.push(...frontier);
    finished = true;
  } finally {
    for (const entry of frontier) entry.cache?.dispose();
    // A forward, a callback or the bookkeeping threw mid-round: free the rows no frontier holds yet.
    if (!finished) for (const c of drawnThisRound) c.cache?.dispose();
  }
  stats.forwardPasses = counters.forwardPasses;
  stats.forwardMs = counters.forwardMs;
  const best = leftOver.filter((entry) => entry.node.parentId !== null).sort((a, b) => byPathScore(a.node, b.node))[0];
  return {
    tree,
    completed,
    unfinished: completed.length > 0 || best === undefined ? null : { node: best.node, row: pathRow(best.decoder, 0, stopReason === 'cancelled' ? 'cancelled' : 'budget') },
    stopReason,
    threshold: tracker.current,
    warmup: tracker.warmup,
    stats,
  };
}

/**
 * Decodes the round's candidates: counts[i] for frontier node i, all in one batched expansion; or,
 * with `branchBelow` (counts are then 1 each), candidate 0 of every node first, then up to b − 1
 * more for each node whose candidate 0 scored below it (from the same KV rows), best path first
 * while `budgetLeft` lasts. Candidates come sorted by (node, index).
 */
async function drawCandidates(
  model: DecoderModel,
  frontier: readonly FrontierEntry[],
  counts: readonly number[],
  budgetLeft: number,
  options: TreeSearchOptions,
  counters: ExpansionCounters,
): Promise<{ candidates: ExpandedCandidate[]; drawn: number }> {
  const point = (entry: FrontierEntry, from: number, to: number): BranchPoint => ({
    cache: entry.cache,
    pending: entry.pending,
    decoder: entry.decoder,
    samplers: Array.from({ length: to - from }, (_, k) => candidateSampler(options.sampling, entry.node.id, from + k)),
  });
  const branchBelow = options.branchBelow ?? null;
  if (branchBelow === null) {
    const candidates = await expandCandidates(model, frontier.map((entry, i) => point(entry, 0, counts[i])), counters, options.signal);
    return { candidates, drawn: counts.reduce((a, b) => a + b, 0) };
  }
  const firsts = await expandCandidates(model, frontier.map((entry) => point(entry, 0, 1)), counters, options.signal);
  const cancelled = options.signal?.aborted === true || firsts.some((c) => c.decoder.stopReason === 'cancelled');
  const unsure = new Set(
    firsts
      .filter((c) => scoreStep(c.decoder.tokens.slice(c.start), options.calibration, options.metric).confidence < branchBelow)
      .map((c) => c.point),
  );
  let extra = budgetLeft - frontier.length;
  const extraFor = (i: number): number => {
    if (!unsure.has(i) || extra <= 0) return 0;
    const k = Math.min(options.branches - 1, extra);
    extra -= k;
    return k;
  };
  const more = cancelled ? [] : frontier.map((entry, i) => point(entry, 1, 1 + extraFor(i)));
  let rest: ExpandedCandidate[] = [];
  try {
    if (more.length > 0) rest = await expandCandidates(model, more, counters, options.signal);
  } catch (err) {
    for (const c of firsts) c.cache?.dispose();
    throw err;
  }
  for (const c of rest) c.candidate += 1;
  const candidates = [...firsts, ...rest].sort((a, b) => a.point - b.point || a.candidate - b.candidate);
  return { candidates, drawn: frontier.length + more.reduce((n, p) => n + p.samplers.length, 0) };
}

function validateSearch(options: TreeSearchOptions): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  };
  positive('branches', options.branches);
  positive('width', options.width);
  positive('budget', options.budget);
  positive('maxNewTokens', options.maxNewTokens);
  const branchBelow = options.branchBelow ?? null;
  if (branchBelow !== null && !(branchBelow >= 0 && branchBelow <= 1)) throw new Error(`branchBelow must be in [0, 1] or null, got ${branchBelow}`);
  if (options.promptIds.length === 0) throw new Error('the prompt must hold at least one token');
}

/** Candidates per frontier node (best first): b each while the budget lasts, the last may get fewer. */
export function allotCandidates(frontierSize: number, branches: number, remaining: number): number[] {
  const counts: number[] = [];
  for (let i = 0; i < frontierSize; i++) {
    const count = Math.max(0, Math.min(branches, remaining));
    counts.push(count);
    remaining -= count;
  }
  return counts;
}

/** Siblings with identical tokens are one node; its draws list every candidate index that produced it. */
function mergeDuplicates(
  active: readonly FrontierEntry[],
  candidates: readonly ExpandedCandidate[],
): { entry: FrontierEntry; first: ExpandedCandidate; draws: number[] }[] {
  const merged: { entry: FrontierEntry; first: ExpandedCandidate; draws: number[] }[] = [];
  for (const candidate of candidates) {
    const twin = merged.find(
      (m) => m.first.point === candidate.point && sameTokens(m.first.decoder, candidate.decoder, candidate.start),
    );
    if (twin) {
      twin.draws.push(candidate.candidate);
      candidate.cache?.dispose();
    } else merged.push({ entry: active[candidate.point], first: candidate, draws: [candidate.candidate] });
  }
  return merged;
}

/** Highest path score first; Array.prototype.sort is stable, so ties keep creation order. */
function byPathScore(a: TreeNode, b: TreeNode): number {
  return b.pathScore - a.pathScore;
}

/**
 * Sets the status of one round's candidate nodes (given in creation order):
 * 1. with a threshold τ, candidates below it are pruned ('threshold'); if that leaves none, the one
 *    of best path score is kept anyway and flagged;
 * 2. the rest, by path score (ties: creation order), keep the first `width` places — 'completed'
 *    when their row stopped, else 'kept' (or 'flagged') — and the others are pruned ('width').
 */
export function judgeRound(nodes: readonly TreeNode[], threshold: number | null, width: number): void {
  let passing = threshold === null ? [...nodes] : nodes.filter((node) => node.confidence >= threshold);
  const rescued = passing.length === 0 && nodes.length > 0;
  if (rescued) passing = [[...nodes].sort(byPathScore)[0]];
  for (const node of nodes) {
    if (!passing.includes(node)) {
      node.status = 'pruned';
      node.prunedBy = 'threshold';
    }
  }
  [...passing].sort(byPathScore).forEach((node, place) => {
    if (place >= width) {
      node.status = 'pruned';
      node.prunedBy = 'width';
      return;
    }
    node.flagged = rescued;
    node.status = node.stopReason !== null ? 'completed' : rescued ? 'flagged' : 'kept';
  });
}
