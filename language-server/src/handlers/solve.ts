import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver';
import { reasoningDocumentUri, SOLVE_ID_PATTERN, type ServerSettings, type SolveParams, type SolveResult } from '../../../src/protocol';
import type { StepMetric } from '../decoding/stepConfidence';
import type { LoadedModel, ModelLease } from '../host/modelHost';
import type { SolveRegistry } from '../host/solveRegistry';
import { ReasoningDocument } from '../trace/reasoningDocument';
import { screenProblem } from '../verify/domain';
import { decodeWithCat } from './catSolve';
import { decodeGreedy } from './greedySolve';
import { acquireLease, settingError } from './modelErrors';
import { failSolve, type PreparedSolve, type SolveServices } from './solveLifecycle';

export type { SolveNotifier, SolveServices } from './solveLifecycle';

/**
 * `caspo/solve`: loads the model if needed, decodes with the strategy of the settings (greedy, or
 * CaT), and streams each step as it is settled (`caspo/stepAdded` + diagnostics). `$/cancelRequest`
 * aborts decoding between forwards; the answer is then the normal result with stopReason
 * 'cancelled' and the steps decoded so far.
 */
export async function handleSolve(params: SolveParams, token: CancellationToken, services: SolveServices): Promise<SolveResult> {
  checkSolveParams(params, services.registry);
  const settings = services.settings(); // one snapshot for the whole solve
  const abort = new AbortController();
  const onCancel = token.onCancellationRequested(() => abort.abort());
  // Cancelled before it was dispatched (the server was busy, e.g. loading the model): the event never fires.
  if (token.isCancellationRequested) abort.abort();
  let lease: ModelLease | undefined;
  try {
    lease = await acquireLease(services.models, abort.signal, 'The solve was cancelled before decoding started.');
    const solve = prepare(params, settings, lease.loaded, abort.signal, services);
    try {
      return settings.strategy === 'cat' ? await decodeWithCat(solve) : await decodeGreedy(solve);
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      throw failSolve(solve, error);
    }
  } finally {
    void lease?.release();
    onCancel.dispose();
  }
}

/** No prompt averages more characters per token than this; a longer problem cannot fit the context. */
const MAX_CHARACTERS_PER_TOKEN = 32;
/** The context assumed for the character limit where config.json states none. */
const UNKNOWN_CONTEXT_TOKENS = 32_768;

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

