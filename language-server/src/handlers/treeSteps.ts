import type { StepMetric } from '../decoding/stepConfidence';
import type { SolveSearch } from '../host/solveSearch';
import type { StepBranching } from '../trace/reasoningDocument';
import { weakestTokenOf, type ReasoningStep, type TokenText } from '../trace/reasoningStep';
import { stepsOf, type TreeNode } from '../trace/tree';

/** What turning tree nodes into document steps needs besides the nodes. */
export interface StepContext {
  metric: StepMetric;
  calibrated: boolean;
  /** Text of a token where it stands (the engine keeps only ids for alternatives). */
  tokenText: TokenText;
}

/**
 * Whether a node is shown in the document: a node holds the tokens of a step (or of several, when one token
 * closed them); one that closed no step (e.g. only the end-of-text token after the answer line) has no text.
 */
export function isShownNode(node: Readonly<TreeNode>): boolean {
  return node.text.length > 0;
}

/**
 * A tree node as document steps numbered from `firstIndex`, each with its confidence and evidence (weakest
 * token with its top-k): one line per step it closed, as greedy decoding shows them.
 */
export function stepsFromNode(node: Readonly<TreeNode>, firstIndex: number, context: StepContext): ReasoningStep[] {
  return stepsOf(node).map((step, i) => ({
    index: firstIndex + i,
    text: step.text,
    confidence: step.confidence,
    metric: context.metric,
    score: step.rawScore,
    calibrated: context.calibrated,
    tokenCount: step.tokenIndices.length,
    // Its row stopped inside it (the token limit, a cancel) before the step delimiter closed it.
    cutOff: step.cutOff === true,
    weakestToken: weakestTokenOf(node.tokens, step.tokenIndices, context.tokenText),
  }));
}

/** The index of a node's first step on its path: how many steps the nodes above it closed. */
export function firstStepIndex(search: SolveSearch, nodeId: string): number {
  const above = search.path(nodeId).slice(0, -1);
  return above.reduce((count, id) => count + stepsOf(search.node(id) as Readonly<TreeNode>).length, 0);
}

/** A shown node's place in the tree: its id, the siblings pruned beside it, and what was drawn there. */
export function branchingOf(search: SolveSearch, nodeId: string): StepBranching {
  const node = search.node(nodeId);
  return {
    nodeId,
    // Identical candidates are one node whose draws list them all, so the draws count what was decoded.
    ...(node ? { drawn: { candidates: search.siblings(nodeId).reduce((sum, sibling) => sum + sibling.draws.length, 0), thisStep: node.draws.length } } : {}),
    // A sibling that closed no step (the model ended the text there) has nothing to re-expand into.
    prunedSiblings: search
      .prunedSiblings(nodeId)
      .filter(isShownNode)
      .map((sibling) => ({ nodeId: sibling.id, text: sibling.text, confidence: sibling.confidence })),
  };
}
