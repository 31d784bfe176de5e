import type { ReasoningTree } from '../trace/tree';
import type { GeneratedStep } from './rowDecoder';
import type { ThresholdRule } from './threshold';
import type { PathRow, PathStopReason } from './treeNodes';

/** Every knob of every strategy; each strategy takes the ones STRATEGY_SETTINGS lists for it. */
export interface StrategySettings {
  branches?: number;
  width?: number;
  threshold?: ThresholdRule;
  budget?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  samples?: number;
  greedyFirst?: boolean;
  branchBelow?: number | null;
}

/** Every decoding strategy the engine runs (design §5). */
export const STRATEGY_NAMES = ['greedy', 'sample', 'sc', 'bok', 'beam', 'cat'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && (STRATEGY_NAMES as readonly string[]).includes(name);
}

export interface StrategyStats {
  promptTokens: number;
  /** Every token generated, in all rows and candidates (duplicates and pruned ones included). */
  generatedTokens: number;
  /** Calls of the model's forward (each may carry many rows). */
  forwardPasses: number;
  /** Step-level units of work: candidate steps drawn (CaT, beam) or steps decoded in all rows. */
  expandedSteps: number;
  wallMs: number;
  /** Time in the per-token confidence pass and token choice, and in scoring candidate steps. */
  confidenceMs: number;
  forwardMs: number;
}

/** One answer's share of a vote. */
export interface VoteEntry {
  answer: string;
  /** Sum of the votes' weights (1 per path for a majority vote; path confidence for CaT's). */
  weight: number;
  /** How many paths voted for it. */
  paths: number;
}

export interface VoteResult {
  kind: 'majority' | 'confidence';
  /** The answer of most weight (ties: the one seen first); null when no path gave an answer. */
  answer: string | null;
  /** Every answer with its weight, in the order first seen. */
  tally: VoteEntry[];
}

/** What every strategy returns: the answer, the chosen path, the whole tree, and the work done. */
export interface StrategyResult {
  strategy: StrategyName;
  /** The settings it ran with, defaults filled in. */
  settings: StrategySettings;
  /**
   * The strategy's answer: greedy/sample's only path, sc's majority, bok's most likely path, beam's
   * and CaT's completed path of best score.
   */
  answer: string | null;
  /** The path the answer comes from: its tokens, text and steps (a trace's content). */
  path: PathRow;
  /** Tree ids of that path's nodes, first step first. */
  pathNodeIds: string[];
  /** sc: the majority vote (its answer is `answer`); CaT: the confidence-weighted vote, reported beside it. */
  vote: VoteResult | null;
  tree: ReasoningTree;
  /** Why the chosen path ended: its row's reason, or 'budget'; 'cancelled' whenever the run was cancelled, even if that path had completed. */
  stopReason: PathStopReason;
  stats: StrategyStats;
  /** CaT only: τ in force at the end (null while an adaptive threshold was still warming up). */
  threshold?: number | null;
}

/** Sums weights per answer (paths without an answer do not vote). Ties go to the answer seen first. */
export function tallyVotes(kind: VoteResult['kind'], votes: readonly { answer: string | null; weight: number }[]): VoteResult {
  const tally: VoteEntry[] = [];
  for (const vote of votes) {
    if (vote.answer === null) continue;
    const entry = tally.find((e) => e.answer === vote.answer);
    if (entry) {
      entry.weight += vote.weight;
      entry.paths += 1;
    } else tally.push({ answer: vote.answer, weight: vote.weight, paths: 1 });
  }
  let best: VoteEntry | null = null;
  for (const entry of tally) if (best === null || entry.weight > best.weight) best = entry;
  return { kind, answer: best?.answer ?? null, tally };
}

/**
 * For each step of a chosen path, the id of the tree node that holds it (the node holding the
 * step's last token; null if none does, which a well-formed result never gives).
 */
export function stepNodeIds(result: Pick<StrategyResult, 'tree' | 'pathNodeIds'>, steps: readonly GeneratedStep[]): (string | null)[] {
  const nodes = result.pathNodeIds.map((id) => result.tree.get(id));
  return steps.map((step) => {
    if (step.tokenIndices.length === 0) return null;
    const last = Math.max(...step.tokenIndices);
    return nodes.find((n) => last >= n.prefixTokenCount && last < n.prefixTokenCount + n.tokenIds.length)?.id ?? null;
  });
}
