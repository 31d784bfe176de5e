/**
 * The reasoning tree of a CaT solve and the re-expansion of its pruned branches: payloads shared by
 * the client (tree view, code lens command) and the server (which keeps the tree).
 */
import type { WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { ReasoningDocumentUpdate, SolveStopReason, StepSummary } from './types';

/** How the engine searched: CaT (branch, prune, keep the best path) or one greedy/sampled chain. */
export const SEARCH_STRATEGIES = ['cat', 'greedy'] as const;
export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];

/**
 * A node of the reasoning tree, as the engine marks it: `kept` survived pruning, `pruned` fell below
 * the threshold, `flagged` continued although every candidate there fell below it, `completed`
 * ended its path (answer or end of text).
 */
export const TREE_NODE_STATUSES = ['kept', 'pruned', 'flagged', 'completed'] as const;
export type TreeNodeStatus = (typeof TREE_NODE_STATUSES)[number];

export interface ReasoningTreeNode {
  id: string;
  /** null for a first step. */
  parentId: string | null;
  /** 0-based number of the node's first step on its path: its depth in the tree, unless a node above it closed several steps. */
  depth: number;
  text: string;
  /** Calibrated step confidence in [0, 1]. */
  confidence: number;
  status: TreeNodeStatus;
  /** Why a pruned node was not continued: below the threshold, beyond the width, or out of budget. */
  prunedBy?: PruneReason;
  /** Cumulative score of the path ending here (what CaT ranks paths by). */
  pathScore: number;
  /** On the path the document shows as the answer. */
  chosen: boolean;
  /** The reasoning document line that shows this node, if any (chosen path or a re-expanded branch). */
  line: number | null;
  /** A pruned node whose re-expanded branch is in the document. */
  expanded: boolean;
}

export const PRUNE_REASONS = ['threshold', 'width', 'budget'] as const;
export type PruneReason = (typeof PRUNE_REASONS)[number];

export interface ReasoningTreeParams {
  solveId: string;
}

export interface ReasoningTreeResult {
  solveId: string;
  uri: string;
  strategy: SearchStrategy;
  finished: boolean;
  /** Parents before their children. */
  nodes: ReasoningTreeNode[];
}

/** The tree of a solve grew or changed; the client asks for it again when it shows that solve. */
export interface TreeChangedParams {
  solveId: string;
  uri: string;
}

/** A candidate CaT pruned beside a step, as the quick pick offers it. */
export interface PrunedBranch {
  nodeId: string;
  text: string;
  confidence: number;
  /** Already re-expanded: its alternative path is in the document. */
  expanded: boolean;
}

/**
 * The arguments of the client command behind the code lens, the quick fix and the tree view:
 * which pruned siblings of a step can be re-expanded.
 */
export interface ReExpandArguments {
  solveId: string;
  uri: string;
  /** 0-based step number at which the candidates were pruned. */
  stepIndex: number;
  candidates: PrunedBranch[];
}

/** Client command: re-expand one of `ReExpandArguments.candidates` (quick pick unless a nodeId is given). */
export const RE_EXPAND_COMMAND = 'caspo.reExpandBranch';

/**
 * With a `workDoneToken`, the server reports `$/progress` on it: while the re-expansion waits for its turn to decode,
 * how many turns are ahead (`waitingForTurnsMessage`), then the model it decodes on.
 */
export interface ExpandBranchParams extends WorkDoneProgressParams {
  solveId: string;
  /** A pruned node of that solve's tree. */
  nodeId: string;
}

/** A re-expanded branch as the document shows it, below the chosen path. */
export interface AlternativeSummary {
  nodeId: string;
  /** 0-based step number of the pruned node it starts from. */
  fromStep: number;
  /** The pruned node's confidence when it was pruned. */
  prunedConfidence: number;
  /** Line of the section heading ("Alternative from step 2 (pruned at 41.2%): …"). */
  headingLine: number;
  /** The pruned step and its continuation, each on its own line. */
  steps: StepSummary[];
  answer: string | null;
  stopReason: SolveStopReason;
  /** Product of the step confidences along the whole path (shared steps included). */
  pathConfidence: number;
}

/** The reasoning document was re-rendered (a branch was re-expanded): its text and every step line. */
export interface DocumentChangedParams extends ReasoningDocumentUpdate {
  /** Every step line the document shows, chosen path and alternatives. */
  steps: StepSummary[];
}

export interface ExpandBranchResult extends DocumentChangedParams {
  alternative: AlternativeSummary;
  /** The branch had been expanded before: nothing was decoded, the existing section is returned. */
  reused: boolean;
}
