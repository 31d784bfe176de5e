import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver';
import {
  reasoningDocumentUri,
  SOLVE_ID_PATTERN,
  type ServerSettings,
  type SolveParams,
  type SolveResult,
  type SolveStartedParams,
  type StepAddedParams,
} from '../../../src/protocol';
import { generate, type GenerateResult } from '../decoding/generate';
import type { GeneratedToken } from '../decoding/rowDecoder';
import type { SamplingOptions } from '../decoding/sampling';
import type { StepMetric } from '../decoding/stepConfidence';
import type { LoadedModel, ModelHost, ModelLease } from '../host/modelHost';
import type { SolveRegistry } from '../host/solveRegistry';
import { ReasoningDocument, tokensPerSecond } from '../trace/reasoningDocument';
import { reasoningStepFrom } from '../trace/reasoningStep';
import { parseAnswer } from '../trace/types';
import type { DiagnosticsPublisher } from './diagnostics';
import type { ServerStatusReporter } from './status';

export interface SolveNotifier {
  started(params: SolveStartedParams): void;
  stepAdded(params: StepAddedParams): void;
  finished(params: SolveResult): void;
}

export interface SolveServices {
  models: ModelHost;
  registry: SolveRegistry;
  settings(): ServerSettings;
  notify: SolveNotifier;
  diagnostics: DiagnosticsPublisher;
  status: ServerStatusReporter;
  log(message: string): void;
}

/**
 * `caspo/solve`: loads the model if needed, decodes, and streams each step as it closes
 * (`caspo/stepAdded` + diagnostics). `$/cancelRequest` aborts decoding between forwards; the
 * answer is then the normal result with stopReason 'cancelled' and the steps decoded so far.
 */
export async function handleSolve(params: SolveParams, token: CancellationToken, services: SolveServices): Promise<SolveResult> {
  checkSolveParams(params, services.registry);
  const settings = services.settings(); // one snapshot for the whole solve
  const abort = new AbortController();
  const onCancel = token.onCancellationRequested(() => abort.abort());
  let lease: ModelLease | undefined;
  try {
    try {
      lease = await services.models.acquire();
    } catch (error) {
      throw new ResponseError(LSPErrorCodes.RequestFailed, (error as Error).message);
    }
    if (abort.signal.aborted) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'The solve was cancelled before decoding started.');
    return await decode(params, settings, lease.loaded, abort.signal, services);
  } finally {
    void lease?.release();
    onCancel.dispose();
  }
}

function checkSolveParams(params: SolveParams, registry: SolveRegistry): void {
  const invalid = (message: string) => new ResponseError(ErrorCodes.InvalidParams, message);
  if (typeof params?.solveId !== 'string' || !SOLVE_ID_PATTERN.test(params.solveId)) {
    throw invalid(`caspo/solve: solveId must match ${SOLVE_ID_PATTERN}, got ${JSON.stringify(params?.solveId)}`);
  }
  if (registry.has(params.solveId)) throw invalid(`caspo/solve: solve id "${params.solveId}" was already used; choose a new one`);
  if (typeof params.problem !== 'string' || params.problem.trim().length === 0) {
    throw invalid('There is no problem to solve: select a problem (e.g. 47*38 + 12) or type one.');
  }
}

async function decode(
  params: SolveParams,
  settings: ServerSettings,
  loaded: LoadedModel,
  signal: AbortSignal,
  services: SolveServices,
): Promise<SolveResult> {
  const { model, calibration } = loaded;
  const problem = params.problem.trim();
  const promptIds = model.tokenizer.encodePrompt(problem);
  const contextLimit = model.config.maxPositionEmbeddings;
  const room = contextLimit === null ? Infinity : contextLimit - promptIds.length;
  if (room < 1) {
    throw new ResponseError(
      LSPErrorCodes.RequestFailed,
      `The problem is too long for ${loaded.name}: its prompt is ${promptIds.length} tokens and the model's context holds ` +
        `${contextLimit} in all (prompt and solution). Shorten the problem.`,
    );
  }
  const metric: StepMetric = settings.metric === 'modelDefault' ? calibration.defaultMetric : settings.metric;
  const calibrated = calibration.isFitted(metric);
  const document = new ReasoningDocument(params.solveId, reasoningDocumentUri(params.solveId, problem), {
    problem,
    model: loaded.name,
    executionProvider: loaded.activeProvider,
    metric,
    calibrated,
  });
  services.registry.add(document);
  const base = { solveId: document.solveId, uri: document.uri };
  services.notify.started({ ...base, text: document.text(), model: loaded.name, executionProvider: loaded.providers });

  const tokens: GeneratedToken[] = [];
  const decodeToken = (id: number) => model.tokenizer.decode([id]);
  let result: GenerateResult;
  try {
    result = await generate(model, {
      promptIds,
      maxNewTokens: Math.min(settings.maxTokens, room),
      sampling: samplingFor(settings.temperature),
      calibration,
      metric,
      stepDelimiter: settings.stepDelimiter,
      signal,
      onToken: ({ token }) => tokens.push(token),
      onStep: ({ step }) => {
        const summary = document.addStep(reasoningStepFrom(step, tokens, decodeToken, calibrated));
        services.notify.stepAdded({ ...base, text: document.text(), step: summary });
        services.diagnostics.publish(document);
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    services.log(`solve ${document.solveId} failed: ${error instanceof Error ? error.stack : message}`);
    document.finish({ stopReason: 'error', answer: null, generatedTokens: tokens.length, wallMs: 0, error: message });
    services.notify.finished(summaryOf(document));
    forgetOldSolves(services);
    throw new ResponseError(ErrorCodes.InternalError, `Decoding failed after ${document.steps.length} step(s): ${message}`);
  }

  const row = result.rows[0];
  document.finish({
    stopReason: row.stopReason,
    answer: parseAnswer(row.text),
    generatedTokens: result.stats.generatedTokens,
    wallMs: result.stats.wallMs,
  });
  const summary = summaryOf(document);
  services.notify.finished(summary);
  services.diagnostics.publish(document);
  services.status.solveFinished(loaded, summary.tokensPerSecond);
  forgetOldSolves(services);
  return summary;
}

/** temperature 0 = greedy; above 0, sampling with a fresh seed per solve. */
function samplingFor(temperature: number): SamplingOptions {
  if (temperature === 0) return { kind: 'greedy' };
  return { kind: 'sample', temperature, topP: 1, seed: Math.floor(Math.random() * 0x1_0000_0000) };
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

function forgetOldSolves(services: SolveServices): void {
  for (const uri of services.registry.evictFinished()) services.diagnostics.clear(uri);
}
