/**
 * The CASPO language server: LSP wiring only. The engine (model/, decoding/) does the work; the
 * handlers/ adapt it to LSP; host/ owns the model and the solves' documents.
 */
import {
  CodeActionKind,
  createConnection,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  calibrationRequest,
  documentChangedNotification,
  expandBranchRequest,
  reasoningTreeRequest,
  serverStatusNotification,
  solveFinishedNotification,
  solveQueuedNotification,
  solveRequest,
  solveStartedNotification,
  stepAddedNotification,
  treeChangedNotification,
  type DocumentChangedParams,
  type InitializationOptions,
  type TreeChangedParams,
  type ServerSettings,
} from '../../src/protocol';
import { handleCalibration } from './handlers/calibration';
import { codeActionsFor } from './handlers/codeActions';
import { codeLensesFor } from './handlers/codeLens';
import { DiagnosticsPublisher } from './handlers/diagnostics';
import { documentSymbolsFor } from './handlers/documentSymbols';
import { handleExpandBranch } from './handlers/expandBranch';
import { hoverAt } from './handlers/hover';
import { inlayHintsFor } from './handlers/inlayHints';
import { reasoningTreeFor } from './handlers/reasoningTree';
import { handleSolve } from './handlers/solve';
import { ServerStatusReporter } from './handlers/status';
import { CalibrationCache } from './host/calibrationCache';
import { connectionSink, guarded, reportUnhandledErrors } from './host/crashReports';
import { DecodeQueue } from './host/decodeQueue';
import { ModelHost } from './host/modelHost';
import { modelSpecOf, parseServerSettings, SettingsError } from './host/settings';
import { SolveRegistry } from './host/solveRegistry';

const connection = createConnection(ProposedFeatures.all);
const sink = connectionSink(connection);
const status = new ServerStatusReporter((params) => void connection.sendNotification(serverStatusNotification, params));
const unhandled = reportUnhandledErrors({
  log: sink.log,
  show: (message) => {
    sink.show(message);
    status.internalError(message);
  },
});

let settings: ServerSettings | undefined;
const currentSettings = (): ServerSettings => {
  if (!settings) throw new Error('the client has not sent its settings yet');
  return settings;
};
const registry = new SolveRegistry();
// The editor's copies of the reasoning documents: diagnostics must only name lines it already has.
const editorDocuments = new TextDocuments(TextDocument);
const diagnostics = new DiagnosticsPublisher(
  (params) => void connection.sendDiagnostics(params),
  () => currentSettings().warningThreshold,
  (uri) => editorDocuments.get(uri)?.getText(),
);
editorDocuments.onDidChangeContent(({ document }) => {
  const reasoning = registry.byUri(document.uri);
  if (reasoning) diagnostics.publish(reasoning);
});
// A closed reasoning document leaves no warnings in the Problems panel (they come back when it is opened again).
editorDocuments.onDidClose(({ document }) => {
  if (registry.byUri(document.uri)) diagnostics.clear(document.uri);
});
const models = new ModelHost({
  loading: (spec) => status.loading(spec),
  loaded: (loaded) => status.loaded(loaded),
  failed: (error) => status.failed(error),
  log: (message) => connection.console.info(message),
});

/** Solves and re-expansions take turns to decode. */
const queue = new DecodeQueue();
/** Aborts every request's work when the client shuts the server down. */
const shutdown = new AbortController();
/**
 * How long shutdown waits for cancelled decodes to stop (each stops at its next forward) before it lets the process's
 * exit release their model: within the 2 s the client gives the shutdown request.
 */
const SHUTDOWN_GRACE_MS = 1000;

function applySettings(raw: unknown): void {
  const previous = settings;
  settings = parseServerSettings(raw);
  models.configure(modelSpecOf(settings));
  if (previous && previous.warningThreshold !== settings.warningThreshold) diagnostics.publishAll(registry.all());
}

connection.onInitialize((params): InitializeResult => {
  // A bad setting fails the start with a message naming it (the client shows it).
  try {
    applySettings((params.initializationOptions as InitializationOptions | undefined)?.settings);
  } catch (error) {
    if (error instanceof SettingsError) throw new ResponseError(ErrorCodes.InvalidParams, error.message);
    throw error;
  }
  return {
    capabilities: {
      // The server renders the reasoning documents itself; it follows the editor's copy only to
      // publish diagnostics against the lines the editor has.
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      inlayHintProvider: true,
      documentSymbolProvider: true,
      // "N pruned branches — re-expand" on steps whose siblings CaT pruned, and the quick fix on their warnings.
      codeLensProvider: { resolveProvider: false },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'caspo-language-server' },
  };
});

// The client sends the resolved ServerSettings as `settings` (not VS Code's raw configuration).
connection.onDidChangeConfiguration(({ settings: raw }) => {
  try {
    applySettings(raw);
  } catch (error) {
    sink.log(`settings rejected: ${(error as Error).message}`);
    sink.show(`CASPO: ${(error as Error).message} The previous settings stay in effect.`);
  }
});

const treeChanged = (p: TreeChangedParams) => void connection.sendNotification(treeChangedNotification, p);
const documentChanged = (p: DocumentChangedParams) => void connection.sendNotification(documentChangedNotification, p);

connection.onRequest(
  solveRequest,
  guarded(solveRequest.method, sink, (params, token) =>
    handleSolve(params, token, {
      models,
      queue,
      shutdown: shutdown.signal,
      registry,
      settings: currentSettings,
      diagnostics,
      status,
      log: sink.log,
      notify: {
        queued: (p) => void connection.sendNotification(solveQueuedNotification, p),
        started: (p) => void connection.sendNotification(solveStartedNotification, p),
        stepAdded: (p) => void connection.sendNotification(stepAddedNotification, p),
        finished: (p) => void connection.sendNotification(solveFinishedNotification, p),
        treeChanged,
        documentChanged,
      },
    }),
  ),
);

connection.onRequest(
  expandBranchRequest,
  guarded(expandBranchRequest.method, sink, (params, token) =>
    handleExpandBranch(params, token, {
      models,
      queue,
      shutdown: shutdown.signal,
      registry,
      diagnostics,
      progress: (p) => connection.window.attachWorkDoneProgress(p.workDoneToken),
      log: sink.log,
      notify: { treeChanged, documentChanged },
    }),
  ),
);
const calibrations = new CalibrationCache();
connection.onRequest(
  calibrationRequest,
  guarded(calibrationRequest.method, sink, (params, token) =>
    handleCalibration(params, token, {
      models,
      shutdown: shutdown.signal,
      settings: currentSettings,
      cache: calibrations,
      progress: (p) => connection.window.attachWorkDoneProgress(p.workDoneToken),
      log: (message) => connection.console.info(message),
    }),
  ),
);
connection.onRequest(reasoningTreeRequest, guarded(reasoningTreeRequest.method, sink, (params) => reasoningTreeFor(registry, params)));

connection.onHover(guarded('textDocument/hover', sink, (params) => hoverAt(registry, params, currentSettings().bands)));
connection.languages.inlayHint.on(guarded('textDocument/inlayHint', sink, (params) => inlayHintsFor(registry, params)));
connection.onDocumentSymbol(guarded('textDocument/documentSymbol', sink, (params) => documentSymbolsFor(registry, params)));
connection.onCodeLens(guarded('textDocument/codeLens', sink, (params) => codeLensesFor(registry, params)));
connection.onCodeAction(guarded('textDocument/codeAction', sink, (params) => codeActionsFor(registry, params)));

editorDocuments.listen(connection);

connection.onShutdown(async () => {
  // Running decodes stop at their next forward and answer as cancelled; queued ones answer at once.
  shutdown.abort();
  await models.dispose(SHUTDOWN_GRACE_MS);
});
connection.onExit(() => unhandled.dispose());

connection.listen();
