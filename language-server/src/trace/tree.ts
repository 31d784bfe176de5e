import type { GeneratedToken } from '../decoding/rowDecoder';
import type { SamplingOptions } from '../decoding/sampling';
import type { StepMetric } from '../decoding/stepConfidence';
import type { StopReason } from '../decoding/stopping';

/**
 * The reasoning tree of one solve: the prompt at the root, one node per expanded step. Every
 * candidate a strategy generated stays in it, pruned ones included, with what re-expanding it needs:
 * its token ids (the path from the prompt is the concatenation along its ancestors) and the settings
 * that produced it.
 *
 * Node ids are addresses, not counters: the root is "root", candidate k of the root is "k", and
 * candidate k of node "a.b" is "a.b.k". A sampled candidate's random stream is derived from
 * (seed, its parent's id, k), so an id names the same step in every run with the same settings.
 * Steps continued greedily by a re-expansion get the suffix "g" ("a.b.g").
 */
export const ROOT_ID = 'root';
export const GREEDY_CHILD = 'g';

/** The id of candidate `candidate` of node `parentId`, or of its greedy continuation ('g'). */
export function childId(parentId: string, candidate: number | typeof GREEDY_CHILD): string {
  return parentId === ROOT_ID ? String(candidate) : `${parentId}.${candidate}`;
}

/**
 * - kept: continued by the search (confidence at or above the threshold);
 * - flagged: continued although below the threshold, because every candidate of its round was;
 * - pruned: not continued (see `prunedBy`); it can be re-expanded later;
 * - completed: its row stopped inside this step (answer line, EOS or token limit): a path's leaf.
 */
export type NodeStatus = 'kept' | 'pruned' | 'flagged' | 'completed';

/** Why a node was not continued. */
export type PruneReason = 'threshold' | 'width' | 'budget';

/** How a tree's path score adds up: log step confidences (CaT, sampling) or token log-probs (beam). */
export type PathScoring = 'confidence' | 'logProb';

/** One of the steps a node closed: the node's tokens it spans and its confidence over them. */
export interface NodeStep {
  /** The step text (trimmed), as the segmenter closed it. */
  text: string;
  /** Indices into the node's tokens; a token holding a delimiter belongs to the steps on both sides of it. */
  tokenIndices: number[];
  /** Calibrated confidence of those tokens under the tree's metric, and the metric's raw score. */
  confidence: number;
  rawScore: number;
  /** The row stopped from outside (token limit, cancel) inside this step, before its delimiter. */
  cutOff?: true;
}

export interface TreeNode {
  id: string;
  parentId: string | null;
  /** Root 0; a step node is the depth-th step of its path. */
  depth: number;
  /** Which of its parent's candidates drew it first (its stream index); -1 for the root. */
  candidate: number;
  /** Every candidate index of the parent that produced exactly these tokens (duplicates merge). */
  draws: number[];
  /** The step text (trimmed), as the segmenter closed it; "" when the node closed no step; joined by "\n" when it closed several. */
  text: string;
  /**
   * Set when the node closed several steps (its last token held several delimiters, or the row stopped right
   * after one): each is a line of the reasoning document, as greedy decoding shows it. See `stepsOf`.
   */
  steps?: NodeStep[];
  /** Ids generated in this node; the root holds none (the prompt is in the settings). */
  tokenIds: number[];
  /** Per-token evidence, as the token loop recorded it. */
  tokens: GeneratedToken[];
  /** Calibrated step confidence in [0, 1] of this node's tokens under the tree's metric; 1 for the root. */
  confidence: number;
  /** The metric's raw score (higher = more confident); 0 for the root. */
  rawScore: number;
  status: NodeStatus;
  /** Set when status is 'pruned'. */
  prunedBy?: PruneReason;
  /** Chosen by the all-below-threshold rule (status 'flagged', or 'completed' on a final step). */
  flagged: boolean;
  /** Cumulative score from the root (see PathScoring); 0 at the root. */
  pathScore: number;
  /** Generated tokens on the path before this node (its token offset after the prompt). */
  prefixTokenCount: number;
  /** Why its row stopped inside this node, or null when the path can go on. */
  stopReason: StopReason | null;
  /** Its step was cut off: the row stopped from outside (token limit, cancel) before the step delimiter closed it. */
  cutOff?: true;
  /** Added by the search, or later by re-expanding a branch. */
  origin: 'search' | 'expansion';
}

/** What produced the tree: enough to continue any node exactly as the search would have. */
export interface TreeSettings {
  strategy: string;
  promptIds: number[];
  maxNewTokens: number;
  stepDelimiter: string;
  stopAtAnswerLine: boolean;
  metric: StepMetric;
  scoring: PathScoring;
  /** How candidates were drawn: streams per (seed, parent id, candidate index), or greedy. */
  sampling: SamplingOptions;
  /** CaT's `branchBelow`, when set: a node's other candidates were drawn only where candidate 0's confidence was below it. */
  branchBelow?: number;
}

/** The JSON form: settings plus nodes in creation order (parents before children). */
export interface ReasoningTreeJSON {
  settings: TreeSettings;
  nodes: TreeNode[];
}

export class ReasoningTree {
  private readonly list: TreeNode[] = [];
  private readonly byId = new Map<string, TreeNode>();
  private readonly childIds = new Map<string, string[]>();

  constructor(readonly settings: TreeSettings) {}

  /** A tree holding only its root. */
  static withRoot(settings: TreeSettings): ReasoningTree {
    const tree = new ReasoningTree(settings);
    tree.add({
      id: ROOT_ID,
      parentId: null,
      depth: 0,
      candidate: -1,
      draws: [],
      text: '',
      tokenIds: [],
      tokens: [],
      confidence: 1,
      rawScore: 0,
      status: 'kept',
      flagged: false,
      pathScore: 0,
      prefixTokenCount: 0,
      stopReason: null,
      origin: 'search',
    });
    return tree;
  }

  get root(): TreeNode {
    return this.get(ROOT_ID);
  }

  /** Every node, parents before children, in creation order. */
  get nodes(): readonly TreeNode[] {
    return this.list;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): TreeNode {
    const node = this.byId.get(id);
    if (node === undefined) throw new Error(`the reasoning tree has no node "${id}"`);
    return node;
  }

  /** Adds a node whose parent is already in the tree (the root has parentId null). */
  add(node: TreeNode): TreeNode {
    if (this.byId.has(node.id)) throw new Error(`the reasoning tree already has a node "${node.id}"`);
    if (node.parentId === null) {
      if (this.list.length > 0) throw new Error(`node "${node.id}" has no parent, but the tree already has a root`);
    } else {
      const parent = this.get(node.parentId);
      if (node.depth !== parent.depth + 1) throw new Error(`node "${node.id}" has depth ${node.depth}, its parent ${parent.depth}`);
      const siblings = this.childIds.get(parent.id);
      if (siblings) siblings.push(node.id);
      else this.childIds.set(parent.id, [node.id]);
    }
    this.list.push(node);
    this.byId.set(node.id, node);
    return node;
  }

  children(id: string): TreeNode[] {
    return (this.childIds.get(id) ?? []).map((child) => this.get(child));
  }

  /** The nodes from the root's first step down to `id` (the root itself left out). */
  path(id: string): TreeNode[] {
    const out: TreeNode[] = [];
    for (let node = this.get(id); node.parentId !== null; node = this.get(node.parentId)) out.push(node);
    return out.reverse();
  }

  /** The generated ids from the prompt through node `id`. */
  generatedIds(id: string): number[] {
    return this.path(id).flatMap((node) => node.tokenIds);
  }

  /** The full token path: prompt ids, then every generated id through node `id` (what re-expansion feeds). */
  tokenPath(id: string): number[] {
    return [...this.settings.promptIds, ...this.generatedIds(id)];
  }

  /** Siblings of `id` (same parent) that were pruned: the alternatives the editor offers to re-expand. */
  prunedSiblings(id: string): TreeNode[] {
    const node = this.get(id);
    if (node.parentId === null) return [];
    return this.children(node.parentId).filter((sibling) => sibling.id !== id && sibling.status === 'pruned');
  }

  /** Leaves whose row stopped (completed paths), in creation order. */
  completedLeaves(): TreeNode[] {
    return this.list.filter((node) => node.status === 'completed');
  }

  toJSON(): ReasoningTreeJSON {
    return {
      settings: { ...this.settings, promptIds: this.settings.promptIds.slice() },
      nodes: this.list.map((node) => ({
        ...node,
        draws: node.draws.slice(),
        tokenIds: node.tokenIds.slice(),
        tokens: node.tokens.map(copyToken),
        ...(node.steps ? { steps: node.steps.map((step) => ({ ...step, tokenIndices: step.tokenIndices.slice() })) } : {}),
      })),
    };
  }
}

/** The steps a node closed, first first: its `steps`, or the node itself as its one step (none when it has no text). */
export function stepsOf(node: Readonly<TreeNode>): readonly NodeStep[] {
  if (node.steps) return node.steps;
  if (node.text.length === 0) return [];
  const only: NodeStep = { text: node.text, tokenIndices: node.tokens.map((_, i) => i), confidence: node.confidence, rawScore: node.rawScore };
  return [node.cutOff ? { ...only, cutOff: true } : only];
}

function copyToken(token: GeneratedToken): GeneratedToken {
  return { ...token, topK: token.topK.map((top) => ({ ...top })) };
}
