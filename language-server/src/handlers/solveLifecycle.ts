import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import type {
  DocumentChangedParams,
  ServerSettings,
  SolveQueuedParams,
  SolveResult,
  SolveStartedParams,
  StepAddedParams,
  TreeChangedParams,
} from '../../../src/protocol';
import type { StepMetric } from '../decoding/stepConfidence';
import type { DecodeQueue } from '../host/decodeQueue';
import type { LoadedModel, ModelHost } from '../host/modelHost';
import type { SolveRegistry } from '../host/solveRegistry';
import { tokensPerSecond, type ReasoningDocument, type SolveEnding } from '../trace/reasoningDocument';
import type { DiagnosticsPublisher } from './diagnostics';
import type { ServerStatusReporter } from './status';

export interface SolveNotifier {
  /** The solve waits for its turn to decode. */
  queued(params: SolveQueuedParams): void;
  started(params: SolveStartedParams): void;
  stepAdded(params: StepAddedParams): void;
  finished(params: SolveResult): void;
  /** The solve's reasoning tree grew or changed (CaT). */
  treeChanged(params: TreeChangedParams): void;
  /** The document was re-rendered beyond an appended step (a re-expanded branch). */
  documentChanged(params: DocumentChangedParams): void;
}

export interface SolveServices {
  models: ModelHost;
  queue: DecodeQueue;
  /** Aborts when the server shuts down. */
  shutdown: AbortSignal;
  registry: SolveRegistry;
  settings(): ServerSettings;
  notify: SolveNotifier;
  diagnostics: DiagnosticsPublisher;
  status: ServerStatusReporter;
  log(message: string): void;
}

/** A solve whose document exists and whose model is loaded: what a strategy's decoding needs. */
export interface PreparedSolve {
  document: ReasoningDocument;
  settings: ServerSettings;
  loaded: LoadedModel;
  promptIds: number[];
  /** Most new tokens: the setting, within the model's context. */
  maxNewTokens: number;
  metric: StepMetric;
  calibrated: boolean;
  signal: AbortSignal;
  services: SolveServices;
  /** Tokens generated so far, in all candidates (what a failed solve reports). */
  generatedTokens: number;
}

/** Tells the client about a step just appended to the chosen path. */
export function announceStep(solve: PreparedSolve, index: number): void {
  const { document, services } = solve;
  const summary = document.summaries()[index];
  services.notify.stepAdded({ solveId: document.solveId, uri: document.uri, text: document.text(), step: summary });
  services.diagnostics.publish(document);
}

/** Ends the document, tells the client, and returns the result. */
export function finishSolve(solve: PreparedSolve, ending: SolveEnding): SolveResult {
  const { document, services, loaded } = solve;
  // The context, not caspo.maxTokens, set the limit: raising the setting would not help.
  const context = loaded.model.config.maxPositionEmbeddings;
  const contextFull = ending.stopReason === 'maxTokens' && solve.maxNewTokens < solve.settings.maxTokens && context !== null;
  document.finish(contextFull ? { ...ending, contextFull: context } : ending);
  const summary = summaryOf(document);
  services.notify.finished(summary);
  services.diagnostics.publish(document);
  services.status.solveFinished(loaded, summary.tokensPerSecond);
  forgetOldSolves(services, document.solveId);
  return summary;
}

/** Decoding threw: the document keeps its steps and says so; the request fails with the reason. */
export function failSolve(solve: PreparedSolve, error: unknown): ResponseError<void> {
  const { document, services } = solve;
  const message = error instanceof Error ? error.message : String(error);
  services.log(`solve ${document.solveId} failed: ${error instanceof Error ? error.stack : message}`);
  if (!document.finished) {
    document.finish({ stopReason: 'error', answer: null, generatedTokens: solve.generatedTokens, wallMs: 0, error: message });
    services.notify.finished(summaryOf(document));
  }
  forgetOldSolves(services, document.solveId);
  return new ResponseError(ErrorCodes.InternalError, `Decoding failed after ${document.steps.length} step(s): ${message}`);
}

export function summaryOf(document: ReasoningDocument): SolveResult {
  const ending = document.solveEnding;
  if (!ending) throw new Error(`solve ${document.solveId} has not ended`);
  return {
    solveId: document.solveId,
    uri: document.uri,
    text: document.text(),
    steps: document.summaries(),
    answer: ending.answer,
    stopReason: ending.stopReason,
    pathConfidence: document.pathConfidence(),
    generatedTokens: ending.generatedTokens,
    wallMs: ending.wallMs,
    tokensPerSecond: tokensPerSecond(ending.generatedTokens, ending.wallMs),
  };
}

/** `solveId` was just updated; the finished solves updated longest ago beyond the limit are dropped. */
export function forgetOldSolves(services: SolveServices, solveId: string): void {
  services.registry.touch(solveId);
  for (const uri of services.registry.evictFinished()) services.diagnostics.clear(uri);
}
