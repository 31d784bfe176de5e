import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver';
import { reasoningDocumentUri, SOLVE_ID_PATTERN, solveRequest, type ServerSettings, type SolveParams, type SolveResult } from '../../../src/protocol';
import type { StepMetric } from '../decoding/stepConfidence';
import type { LoadedModel, ModelLease } from '../host/modelHost';
import type { SolveRegistry } from '../host/solveRegistry';
import { ReasoningDocument } from '../trace/reasoningDocument';
import { screenProblem } from '../verify/domain';
import { decodeWithCat } from './catSolve';
import { decodeGreedy } from './greedySolve';
import { acquireLease, settingError } from './modelErrors';
import { invalidParams } from './requestParams';
import { requestSignal } from './requestSignal';
import { failSolve, type PreparedSolve, type SolveServices } from './solveLifecycle';

export type { SolveNotifier, SolveServices } from './solveLifecycle';

/**
 * `caspo/solve`: waits for a turn to decode (`caspo/solveQueued` says how many turns are ahead), loads the model
 * if needed, decodes with the strategy of the settings (greedy, or CaT), and streams each step as it is settled
 * (`caspo/stepAdded` + diagnostics). `$/cancelRequest` before decoding starts answers RequestCancelled at once; once
 * decoding, it aborts between forwards and the answer is the normal result with stopReason 'cancelled' and the
 * steps decoded so far. Shutting the server down cancels it the same way.
 */
export async function handleSolve(params: SolveParams, token: CancellationToken, services: SolveServices): Promise<SolveResult> {
  checkSolveParams(params, services.registry);
  const settings = services.settings(); // one snapshot for the whole solve
  const cancellation = requestSignal(token, services.shutdown);
  const { signal } = cancellation;
  let endTurn: (() => void) | undefined;
  let lease: ModelLease | undefined;
  try {
    endTurn = await services.queue.turn(signal, cancelledBeforeDecoding, (turnsAhead) => services.notify.queued({ solveId: params.solveId, turnsAhead }));
    lease = await acquireLease(services.models, signal, CANCELLED_BEFORE_DECODING);
    // Again: a solve with the same id may have started while this one waited.
    checkSolveIdFree(params.solveId, services.registry);
    const solve = prepare(params, settings, lease.loaded, signal, services);
    try {
      return settings.strategy === 'cat' ? await decodeWithCat(solve) : await decodeGreedy(solve);
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      throw failSolve(solve, error);
    }
  } finally {
    void lease?.release();
    endTurn?.();
    cancellation.dispose();
  }
}

const CANCELLED_BEFORE_DECODING = 'The solve was cancelled before decoding started.';
const cancelledBeforeDecoding = () => new ResponseError(LSPErrorCodes.RequestCancelled, CANCELLED_BEFORE_DECODING);

/** No prompt averages more characters per token than this; a longer problem cannot fit the context. */
const MAX_CHARACTERS_PER_TOKEN = 32;
/** The context assumed for the character limit where config.json states none. */
const UNKNOWN_CONTEXT_TOKENS = 32_768;

function checkSolveParams(params: SolveParams, registry: SolveRegistry): void {
  const invalid = (message: string) => new ResponseError(ErrorCodes.InvalidParams, message);
  if (typeof params?.solveId !== 'string' || !SOLVE_ID_PATTERN.test(params.solveId)) {
    throw invalid(`caspo/solve: solveId must match ${SOLVE_ID_PATTERN}, got ${JSON.stringify(params?.solveId)}`);
  }
  checkSolveIdFree(params.solveId, registry);
  if (typeof params.problem !== 'string') throw invalidParams(solveRequest.method, 'problem', 'a string', params.problem);
  if (params.problem.trim().length === 0) throw invalid('There is no problem to solve: select a problem (e.g. 47*38 + 12) or type one.');
}

function checkSolveIdFree(solveId: string, registry: SolveRegistry): void {
  if (registry.has(solveId)) throw new ResponseError(ErrorCodes.InvalidParams, `caspo/solve: solve id "${solveId}" was already used; choose a new one`);
}

/** Encodes the prompt, checks it fits, creates and announces the reasoning document. */
function prepare(params: SolveParams, settings: ServerSettings, loaded: LoadedModel, signal: AbortSignal, services: SolveServices): PreparedSolve {
  const { model, calibration } = loaded;
  const problem = params.problem.trim();
  const contextLimit = model.config.maxPositionEmbeddings;
  // Far past what any context holds, refused before the tokenizer spends seconds on it (the server answers nothing meanwhile).
  const characterLimit = (contextLimit ?? UNKNOWN_CONTEXT_TOKENS) * MAX_CHARACTERS_PER_TOKEN;
  if (problem.length > characterLimit) {
    throw new ResponseError(
      LSPErrorCodes.RequestFailed,
      `The problem is ${problem.length} characters, too long for ${loaded.name}, whose context holds ` +
        `${contextLimit ?? 'an unstated number of'} tokens in all (prompt and solution). Shorten the problem.`,
    );
  }
  const promptIds = model.tokenizer.encodePrompt(problem);
  const room = contextLimit === null ? Infinity : contextLimit - promptIds.length;
  if (room < 1) {
    throw new ResponseError(
      LSPErrorCodes.RequestFailed,
      `The problem is too long for ${loaded.name}: its prompt is ${promptIds.length} tokens and the model's context holds ` +
        `${contextLimit} in all (prompt and solution). Shorten the problem.`,
    );
  }
  const { refusal, suggestion, caution } = screenProblem(problem, model.config, loaded.name);
  if (refusal !== null) {
    const rewrite = suggestion === null ? 'Rewrite the problem' : `Rewrite the problem (as "${suggestion}")`;
    throw settingError(
      `${refusal} ${rewrite}, or set caspo.modelPath to a general-purpose model (an ONNX export of a causal LM).`,
      'caspo.modelPath',
      suggestion,
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
    ...(caution === null ? {} : { caution }),
  });
  services.registry.add(document);
  services.notify.started({ solveId: document.solveId, uri: document.uri, text: document.text(), model: loaded.name, executionProvider: loaded.providers });
  return { document, settings, loaded, promptIds, maxNewTokens: Math.min(settings.maxTokens, room), metric, calibrated, signal, services, generatedTokens: 0 };
}

