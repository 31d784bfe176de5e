import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import { type ReasoningTreeParams, type ReasoningTreeResult } from '../../../src/protocol';
import type { SolveRegistry } from '../host/solveRegistry';
import type { ReasoningDocument } from '../trace/reasoningDocument';
import { ROOT_ID } from '../trace/tree';
import { invalidParams } from './requestParams';
import { firstStepIndex } from './treeSteps';

/**
 * `caspo/reasoningTree`: every node of a solve's tree (the root left out), with where the document
 * shows it. A greedy solve has no tree: it answers with no nodes.
 */
export function reasoningTreeFor(registry: SolveRegistry, params: ReasoningTreeParams): ReasoningTreeResult {
  const document = knownSolve(registry, params?.solveId, 'caspo/reasoningTree');
  const search = registry.searchOf(document.solveId);
  const base = { solveId: document.solveId, uri: document.uri, finished: document.finished };
  if (!search) return { ...base, strategy: 'greedy', nodes: [] };
  const lines = new Map<string, number>();
  for (const shown of document.shownSteps()) if (shown.branching) lines.set(shown.branching.nodeId, shown.line);
  const chosen = new Set(search.shownPath);
  return {
    ...base,
    strategy: 'cat',
    nodes: search.nodes().map((node) => ({
      id: node.id,
      parentId: node.parentId === ROOT_ID ? null : node.parentId,
      depth: firstStepIndex(search, node.id),
      text: node.text,
      confidence: node.confidence,
      status: node.status,
      ...(node.prunedBy ? { prunedBy: node.prunedBy } : {}),
      pathScore: node.pathScore,
      chosen: chosen.has(node.id),
      line: lines.get(node.id) ?? null,
      expanded: document.alternativeFrom(node.id) !== undefined,
    })),
  };
}

/** The document of a solve the server still knows, or an error that says what to do. */
export function knownSolve(registry: SolveRegistry, solveId: unknown, method: string): ReasoningDocument {
  if (typeof solveId !== 'string') throw invalidParams(method, 'solveId', 'a string', solveId);
  const document = registry.get(solveId);
  if (!document) {
    throw new ResponseError(
      ErrorCodes.InvalidParams,
      `Solve ${solveId} is not known to the CASPO server: it was restarted, or too many solves ran since. Solve the problem again.`,
    );
  }
  return document;
}
