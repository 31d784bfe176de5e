import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type WorkDoneProgressReporter } from 'vscode-languageserver';
import { expandBranchRequest, waitingForTurnsMessage, type DocumentChangedParams, type ExpandBranchParams, type ExpandBranchResult } from '../../../src/protocol';
import { expandBranch } from '../decoding/expandBranch';
import type { DecodeQueue } from '../host/decodeQueue';
import type { ModelHost, ModelLease } from '../host/modelHost';
import type { SolveRegistry } from '../host/solveRegistry';
import type { SolveSearch } from '../host/solveSearch';
import type { AlternativePath, ReasoningDocument } from '../trace/reasoningDocument';
import { stepsOf, type ReasoningTree } from '../trace/tree';
import type { DiagnosticsPublisher } from './diagnostics';
import { acquireLease } from './modelErrors';
import { knownSolve } from './reasoningTree';
import { checkWorkDoneToken, invalidParams } from './requestParams';
import { requestSignal } from './requestSignal';
import type { SolveNotifier } from './solveLifecycle';
import { branchingOf, isShownNode, stepsFromNode } from './treeSteps';

export interface ExpandServices {
  models: ModelHost;
  queue: DecodeQueue;
  /** Aborts when the server shuts down. */
  shutdown: AbortSignal;
  registry: SolveRegistry;
  notify: Pick<SolveNotifier, 'treeChanged' | 'documentChanged'>;
  diagnostics: DiagnosticsPublisher;
  /** The work-done progress of the request (a null reporter when the client sent no token). */
  progress(params: ExpandBranchParams): WorkDoneProgressReporter;
  log(message: string): void;
}

const METHOD = expandBranchRequest.method;
const CANCELLED = 'Re-expanding the branch was cancelled.';
const cancelledError = () => new ResponseError(LSPErrorCodes.RequestCancelled, CANCELLED);

/**
 * `caspo/expandBranch`: continues a pruned node of a finished CaT solve to its answer, exactly as
 * the search would have continued it (the engine's expandBranch), and appends the path as an
 * alternative below the document's summary. Expanding a node twice returns the section already
 * there. `$/cancelRequest` stops it between forwards; the document gets nothing then, while the steps
 * already decoded stay in the tree (origin 'expansion'), so expanding the node again resumes after them.
 * `$/progress` on the params' workDoneToken says what it waits for (another re-expansion of the solve, then a turn to
 * decode: how many are ahead), then the model.
 */
export async function handleExpandBranch(params: ExpandBranchParams, token: CancellationToken, services: ExpandServices): Promise<ExpandBranchResult> {
  const document = knownSolve(services.registry, params?.solveId, METHOD);
  const nodeId = params.nodeId;
  if (typeof nodeId !== 'string') throw invalidParams(METHOD, 'nodeId', 'a string', nodeId);
  checkWorkDoneToken(METHOD, params);
  const search = services.registry.searchOf(document.solveId);
  if (!search) {
    throw new ResponseError(ErrorCodes.InvalidParams, `Solve ${document.solveId} used greedy decoding: nothing was pruned. Set caspo.strategy to "cat" and solve again.`);
  }
  const tree = search.tree;
  if (!document.finished) throw new ResponseError(LSPErrorCodes.RequestFailed, `Solve ${document.solveId} is still running: re-expand its branches once it has ended.`);
  if (!tree) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `Solve ${document.solveId} failed before its search ended, so it has no tree to re-expand: solve the problem again.`);
  }
  if (!tree.has(nodeId)) throw new ResponseError(ErrorCodes.InvalidParams, `${METHOD}: solve ${document.solveId} has no node ${JSON.stringify(nodeId)}`);
  const node = tree.get(nodeId);
  if (node.status !== 'pruned') {
    throw new ResponseError(ErrorCodes.InvalidParams, `Node ${nodeId} was not pruned (it is ${node.status}); only pruned branches can be re-expanded.`);
  }
  if (!isShownNode(node)) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `Node ${nodeId} is where the model ended the text, with no step: there is nothing to re-expand.`);
  }
  const progress = services.progress(params);
  progress.begin('Re-expanding a pruned branch');
  if (search.busy) progress.report(WAITING_FOR_EXPANSION);
  return search.exclusive(async () => {
    const shown = document.alternativeFrom(nodeId);
    if (shown) return result(document, shown, true);
    const alternative = await continueBranch(document, search, tree, nodeId, token, progress, services);
    document.addAlternative(alternative);
    const changed = documentUpdate(document);
    services.notify.documentChanged(changed);
    services.diagnostics.publish(document);
    services.notify.treeChanged({ solveId: document.solveId, uri: document.uri });
    services.registry.touch(document.solveId); // as the extension's copy of it moved to the back on the change
    return result(document, alternative, false);
  }, { token, error: cancelledError }).finally(() => progress.done());
}

/** Re-expansions of one solve grow its tree one at a time. */
const WAITING_FOR_EXPANSION = 'waiting for another re-expansion of this solve to end…';

async function continueBranch(
  document: ReasoningDocument,
  search: SolveSearch,
  tree: ReasoningTree,
  nodeId: string,
  token: CancellationToken,
  progress: WorkDoneProgressReporter,
  services: ExpandServices,
): Promise<AlternativePath> {
  const cancellation = requestSignal(token, services.shutdown);
  const { signal } = cancellation;
  let endTurn: (() => void) | undefined;
  let lease: ModelLease | undefined;
  try {
    endTurn = await services.queue.turn(signal, cancelledError, (turnsAhead) => progress.report(waitingForTurnsMessage(turnsAhead)));
    lease = await acquireLease(services.models, signal, CANCELLED);
    // A reload with other threads (caspo.cpuThreads) continues a branch as the model that decoded it would.
    if (lease.loaded.identity !== search.loaded.identity) {
      throw new ResponseError(
        LSPErrorCodes.RequestFailed,
        `The model changed since solve ${document.solveId} (caspo.modelPath or caspo.executionProvider, or its files): its branches can only be continued by the model that decoded them. Solve the problem again.`,
      );
    }
    const { loaded } = lease;
    progress.report(`decoding on ${loaded.name}…`);
    const expansion = await expandBranch(loaded.model, tree, nodeId, {
      calibration: loaded.calibration,
      signal,
      onNode: (added) => {
        search.saw(added);
        services.notify.treeChanged({ solveId: document.solveId, uri: document.uri });
      },
    });
    if (expansion.path.stopReason === 'cancelled') throw cancelledError();
    services.log(`solve ${document.solveId}: re-expanded ${nodeId} to ${expansion.leafId} (${expansion.stats.generatedTokens} tokens in ${Math.round(expansion.stats.wallMs)} ms)`);
    return alternativeFrom(search, nodeId, expansion.pathNodeIds, expansion.answer, expansion.path.stopReason);
  } finally {
    void lease?.release();
    endTurn?.();
    cancellation.dispose();
  }
}

/** The lines of a re-expanded path from where it leaves the chosen one. */
export function alternativeFrom(
  search: SolveSearch,
  nodeId: string,
  path: readonly string[],
  answer: string | null,
  stopReason: AlternativePath['stopReason'],
): AlternativePath {
  const context = search.stepContext;
  const chosen = search.shownPath;
  let leave = 0;
  while (leave < path.length && path[leave] === chosen[leave]) leave++;
  const nodeOf = (id: string) => {
    const node = search.node(id);
    if (!node) throw new Error(`the re-expanded path names node ${id}, which the tree does not have`);
    return node;
  };
  const fromStep = path.slice(0, leave).reduce((count, id) => count + stepsOf(nodeOf(id)).length, 0);
  const steps: AlternativePath['steps'][number][] = [];
  for (const node of path.slice(leave).map(nodeOf)) {
    // Branched before the node's first step; a node that closed several steps shows each on its own line.
    stepsFromNode(node, fromStep + steps.length, context).forEach((step, i) => steps.push(i === 0 ? { step, branching: branchingOf(search, node.id) } : { step }));
  }
  return { nodeId, fromStep, prunedConfidence: nodeOf(nodeId).confidence, steps, answer, stopReason };
}

function documentUpdate(document: ReasoningDocument): DocumentChangedParams {
  return { solveId: document.solveId, uri: document.uri, text: document.text(), steps: document.shownSummaries() };
}

function result(document: ReasoningDocument, alternative: AlternativePath, reused: boolean): ExpandBranchResult {
  return { ...documentUpdate(document), alternative: document.alternativeSummary(alternative), reused };
}
