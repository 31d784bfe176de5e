/**
 * Every custom method of the CASPO language server, as one typed constant. Call sites use these
 * constants, never the method strings.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type {
  DocumentChangedParams,
  ExpandBranchParams,
  ExpandBranchResult,
  ReasoningTreeParams,
  ReasoningTreeResult,
  TreeChangedParams,
} from './branches';
import type { CalibrationParams, CalibrationResult } from './calibration';
import type {
  ServerStatusParams,
  SolveFinishedParams,
  SolveParams,
  SolveQueuedParams,
  SolveResult,
  SolveStartedParams,
  StepAddedParams,
} from './types';

/** Solves a problem; steps stream as notifications; `$/cancelRequest` stops it and keeps them. */
export const solveRequest = new RequestType<SolveParams, SolveResult, void>('caspo/solve');

/** The solve waits for earlier ones to end before it decodes; says how many. */
export const solveQueuedNotification = new NotificationType<SolveQueuedParams>('caspo/solveQueued');

/** The model is ready and the reasoning document exists (header only). */
export const solveStartedNotification = new NotificationType<SolveStartedParams>('caspo/solveStarted');

/** A step closed: the document's new text and the step. */
export const stepAddedNotification = new NotificationType<StepAddedParams>('caspo/stepAdded');

/** The solve ended (answer, token limit, cancel): final text with its summary line. */
export const solveFinishedNotification = new NotificationType<SolveFinishedParams>('caspo/solveFinished');

/** Model loading, execution provider, tokens/s, and the server's own error reports. */
export const serverStatusNotification = new NotificationType<ServerStatusParams>('caspo/serverStatus');

/** The reasoning tree of a solve: every node CaT expanded, kept, flagged or pruned. */
export const reasoningTreeRequest = new RequestType<ReasoningTreeParams, ReasoningTreeResult, void>('caspo/reasoningTree');

/** A solve's tree changed (new candidates, a re-expanded branch); ask for it again to show it. */
export const treeChangedNotification = new NotificationType<TreeChangedParams>('caspo/treeChanged');

/**
 * Continues a pruned branch to its answer and appends it to the reasoning document as an alternative path. Reports
 * `$/progress` through the params' workDoneToken while it waits for its turn to decode.
 */
export const expandBranchRequest = new RequestType<ExpandBranchParams, ExpandBranchResult, void>('caspo/expandBranch');

/** The reasoning document was re-rendered beyond appending a step (e.g. an alternative path was added). */
export const documentChangedNotification = new NotificationType<DocumentChangedParams>('caspo/documentChanged');

/**
 * Decodes the first N held-out problems with the current model and reports step-confidence
 * calibration (reliability bins, ECE, Brier, AUROC). Reports `$/progress` through the params'
 * workDoneToken; `$/cancelRequest` stops it between decoding steps. Cached per model, execution provider and N.
 */
export const calibrationRequest = new RequestType<CalibrationParams, CalibrationResult, void>('caspo/calibration');
