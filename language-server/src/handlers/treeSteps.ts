import type { StepMetric } from '../decoding/stepConfidence';
import type { SolveSearch } from '../host/solveSearch';
import type { StepBranching } from '../trace/reasoningDocument';
import type { ReasoningStep } from '../trace/reasoningStep';
import type { TreeNode } from '../trace/tree';

/** What turning tree nodes into document steps needs besides the nodes. */
export interface StepContext {
  metric: StepMetric;
  calibrated: boolean;
  /** Text of a top-k id (the engine keeps only ids for alternatives). */
  decodeToken(id: number): string;
}

/**
 * Whether a node is a line of the document: a node holds the tokens of one step; one that closed no
 * step (e.g. only the end-of-text token after the answer line) has no text and is not shown.
 */
export function isShownNode(node: Readonly<TreeNode>): boolean {
  return node.text.length > 0;
}

/** A tree node as a document step: its confidence and evidence (weakest token with its top-k). */
export function stepFromNode(node: Readonly<TreeNode>, index: number, context: StepContext): ReasoningStep {
  let weakest: TreeNode['tokens'][number] | undefined;
  for (const token of node.tokens) if (weakest === undefined || token.prob < weakest.prob) weakest = token;
  return {
    index,
    text: node.text,
    confidence: node.confidence,
    metric: context.metric,
    score: node.rawScore,
    calibrated: context.calibrated,
    tokenCount: node.tokenIds.length,
    // Its row stopped inside it (the token limit, a cancel) before the step delimiter closed it.
    cutOff: node.cutOff === true,
    weakestToken:
      weakest === undefined
        ? null
        : {
            text: weakest.text.length > 0 ? weakest.text : context.decodeToken(weakest.id),
            prob: weakest.prob,
            alternatives: weakest.topK.map((top) => ({ text: context.decodeToken(top.id), prob: top.prob })),
          },
  };
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
