/**
 * Payloads of the client/server contract. Plain data only: this folder imports nothing but
 * vscode-languageserver-protocol, so both the extension and the language server can use it.
 */
import type { SearchStrategy } from './branches';

/** URI scheme and language id of the read-only reasoning documents. */
export const REASONING_SCHEME = 'caspo-reasoning';
export const REASONING_LANGUAGE_ID = 'caspo-reasoning';

/** Diagnostic source and code of a step whose confidence is below the warning threshold. */
export const DIAGNOSTIC_SOURCE = 'caspo';
export const LOW_CONFIDENCE_CODE = 'caspo.lowConfidence';
/** The diagnostic on a reasoning document's caution line: the problem is outside the model's training range. */
export const OUTSIDE_TRAINING_RANGE_CODE = 'caspo.outsideTrainingRange';

export const EXECUTION_PROVIDERS = ['auto', 'webgpu', 'cuda', 'cpu'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];

/** `modelDefault`: the metric named in the model's caspo.json, else meanEntropy. */
export const CONFIDENCE_METRICS = ['modelDefault', 'meanEntropy', 'geoMeanProb', 'minProb', 'deepConf'] as const;
export type ConfidenceMetricChoice = (typeof CONFIDENCE_METRICS)[number];

/** A step at or above `high` is high; at or above `medium` (and below `high`) medium; else low. */
export interface BandThresholds {
  high: number;
  medium: number;
}

/**
 * Everything the server needs from the user's settings, already resolved by the client (workspace
 * trust applied, model path absolute). Sent as `initializationOptions.settings` and as the
 * `settings` of `workspace/didChangeConfiguration`.
 */
export interface ServerSettings {
  /** Absolute path of the model folder (the embedded model when the setting is empty). */
  modelDir: string;
  executionProvider: ExecutionProviderChoice;
  /** CPU threads per operator; 0 = automatic (half the cores, at most 8). */
  cpuThreads: number;
  bands: BandThresholds;
  /** Steps below this confidence get a Warning diagnostic. */
  warningThreshold: number;
  maxTokens: number;
  /** 0 = greedy decoding; above 0 = sampling at this temperature. */
  temperature: number;
  metric: ConfidenceMetricChoice;
  stepDelimiter: string;
  strategy: SearchStrategy;
  /** Used when `strategy` is `cat`. */
  cat: CatSettings;
}

/** CaT's search: `branches` candidates per step boundary, at most `width` survive, prune below τ. */
export interface CatSettings {
  branches: number;
  width: number;
  /** Fixed τ in [0, 1]: candidates below it are pruned. */
  threshold: number;
  /** Adaptive τ: this percentile (0–100) of the confidences seen in a warm-up; null = the fixed τ. */
  thresholdPercentile: number | null;
  /** Most steps expanded in all (every candidate counts). */
  budget: number;
  /** Candidates are sampled at this temperature (> 0: at 0 every candidate would be the same). */
  temperature: number;
  /** Candidate 0 at each step boundary: the greedy step, or sampled like the others. */
  firstCandidate: FirstCandidate;
  /** Branch only where unsure: the other candidates are drawn only when candidate 0's confidence is below this; null = always. */
  branchBelow: number | null;
}

/**
 * The lowest sampling temperature (caspo.temperature above 0, caspo.cat.temperature, --temperature):
 * below it 1/T times a logit can overflow to Infinity, and a draw that cold is greedy decoding anyway.
 */
export const MIN_TEMPERATURE = 1e-4;

/** A temperature to sample at: a finite number of at least MIN_TEMPERATURE (the client, the server and the engine check alike). */
export function isSamplingTemperature(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= MIN_TEMPERATURE;
}

/**
 * Upper limits of the integer settings (package.json's schema maxima; the client and the server refuse more):
 * far beyond them a typo hangs the server (20,000 onnxruntime threads) or fills the memory (a row per candidate,
 * each with its KV cache). The CLI's --threads has the same limit.
 */
export const MAX_CPU_THREADS = 64;
export const MAX_CAT_BRANCHES = 16;
export const MAX_CAT_WIDTH = 16;

/**
 * How many finished solves the server keeps (for hovers, diagnostics, re-expansion) and the extension
 * keeps documents of: one number, so a document never outlives what the server knows of it.
 */
export const KEPT_FINISHED_SOLVES = 50;

export const FIRST_CANDIDATES = ['greedy', 'sampled'] as const;
export type FirstCandidate = (typeof FIRST_CANDIDATES)[number];

export interface InitializationOptions {
  settings: ServerSettings;
}

export interface SolveParams {
  /** Chosen by the client, unique among its solves: it names the reasoning document. */
  solveId: string;
  problem: string;
}

/** What the client needs of a step: where it is and how sure the model was (for the gutter). */
export interface StepSummary {
  index: number;
  /** 0-based line of the step in the reasoning document. */
  line: number;
  /** Calibrated confidence in [0, 1]. */
  confidence: number;
  text: string;
  /** Set on the lines of a re-expanded branch: the pruned node the alternative starts from. */
  alternative?: string;
}

/**
 * Why decoding stopped: the engine's StopReason, `budget` when CaT's step budget ran out before a
 * path finished, or `error` when decoding failed part-way (the request then answers with an error;
 * the steps already decoded stay in the document).
 */
export type SolveStopReason = 'answer' | 'eos' | 'maxTokens' | 'budget' | 'cancelled' | 'error';

/** Every document update carries the whole text: reasoning documents are a few lines long. */
export interface ReasoningDocumentUpdate {
  solveId: string;
  uri: string;
  text: string;
}

/**
 * The solve waits for its turn to decode (the server decodes a few requests at once): `turnsAhead` solves or
 * re-expansions running or queued before it must end first. Sent when it is queued and each time the number falls;
 * `caspo/solveStarted` follows once it decodes. A solve that finds a turn free is never queued.
 */
export interface SolveQueuedParams {
  solveId: string;
  turnsAhead: number;
}

/** What the user reads while a solve or a re-expansion waits for its turn to decode. */
export function waitingForTurnsMessage(turnsAhead: number): string {
  return `waiting for ${turnsAhead} earlier solve${turnsAhead === 1 ? '' : 's'} to end…`;
}

/** Sent once the model is ready and decoding begins: the client opens the document now. */
export interface SolveStartedParams extends ReasoningDocumentUpdate {
  model: string;
  executionProvider: string;
}

export interface StepAddedParams extends ReasoningDocumentUpdate {
  step: StepSummary;
}

export interface SolveSummary extends ReasoningDocumentUpdate {
  steps: StepSummary[];
  answer: string | null;
  stopReason: SolveStopReason;
  /** Product of the step confidences (null without steps). */
  pathConfidence: number | null;
  generatedTokens: number;
  wallMs: number;
  tokensPerSecond: number;
}

export type SolveFinishedParams = SolveSummary;
export type SolveResult = SolveSummary;

export type ServerState = 'idle' | 'loadingModel' | 'ready' | 'error';

/** Drives the language status item; `error` also carries crash reports from the server. */
export interface ServerStatusParams {
  state: ServerState;
  /** Model folder name, once loaded. */
  model?: string;
  /** e.g. "cpu, 1 thread(s) (webgpu: no adapter; cuda: not bundled)". */
  executionProvider?: string;
  /** Of the last finished solve. */
  tokensPerSecond?: number;
  message?: string;
}

/**
 * `data` of a request error that a setting fixes (a model that cannot be loaded, a problem the model
 * refuses): the client offers to open that setting.
 */
export interface SettingErrorData {
  /** The full setting id, e.g. `caspo.modelPath`. */
  setting: string;
  /** A refused problem rewritten as the model reads it, when only its form was wrong: the client offers to solve it. */
  suggestion?: string;
}

/** The rewritten problem a request error's `data` suggests, if any. */
export function suggestionOfErrorData(data: unknown): string | undefined {
  const suggestion = (data as Partial<SettingErrorData> | null | undefined)?.suggestion;
  return typeof suggestion === 'string' && suggestion.trim().length > 0 ? suggestion : undefined;
}

/** The setting named by a request error's `data`, if it names one. */
export function settingOfErrorData(data: unknown): string | undefined {
  const setting = (data as Partial<SettingErrorData> | null | undefined)?.setting;
  return typeof setting === 'string' && setting.startsWith('caspo.') ? setting : undefined;
}
