import type { ReExpandArguments } from '../../../src/protocol';
import type { ReasoningDocument, ShownStep } from '../trace/reasoningDocument';

/**
 * What the client's re-expand command needs for a shown step whose siblings CaT pruned: each
 * pruned sibling with its text and confidence, most confident first. Null when none was pruned.
 */
export function reExpandArguments(document: ReasoningDocument, shown: ShownStep): ReExpandArguments | null {
  const siblings = shown.branching?.prunedSiblings ?? [];
  if (siblings.length === 0) return null;
  return {
    solveId: document.solveId,
    uri: document.uri,
    stepIndex: shown.step.index,
    candidates: [...siblings]
      .sort((a, b) => b.confidence - a.confidence)
      .map((s) => ({ nodeId: s.nodeId, text: s.text, confidence: s.confidence, expanded: document.alternativeFrom(s.nodeId) !== undefined })),
  };
}
