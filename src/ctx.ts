/**
 * Owns the language client's lifecycle and the extension's long-lived parts. Two cleanup scopes:
 * the extension's (`ExtensionContext.subscriptions`: store, gutter, status item, output channel,
 * listeners, commands) and the client's (`clientScope`: notification handlers of one client,
 * disposed with it on stop/restart).
 */
import { join } from 'node:path';
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient, State, TransportKind, type ServerOptions } from 'vscode-languageclient/node';
import { CalibrationView } from './calibrationView';
import { errorActions, showError } from './errorActions';
import { affectsCaspo, readBandThresholds, readCalibrationProblems, readSettings, readWarningThreshold, type ResolvedSettings } from './config';
import { ConfidenceGutter } from './gutter';
import type { ModelPathChoice } from './modelPathRule';
import { REASONING_LANGUAGE_ID, REASONING_SCHEME, serverStatusNotification, type ServerSettings } from './protocol';
import { ReasoningDocumentStore } from './reasoningDocuments';
import { ReasoningEditorOpener } from './reasoningEditors';
import { ReasoningTreeView } from './reasoningTreeView';
import { RestartPolicy } from './restartPolicy';
import { SolveTracker } from './solveTracker';
import { ServerStatusItem, type ClientPhase } from './status';

/** The embedded model's folder inside the extension. */
const EMBEDDED_MODEL = join('models', 'caspo-arith');
/** The held-out problems "Show Calibration" decodes (shipped in the VSIX: .vscodeignore). */
const HELDOUT_PROBLEMS = join('training', 'data', 'heldout.jsonl');

export class Ctx {
  readonly output: vscode.LogOutputChannel;
  readonly documents: ReasoningDocumentStore;
  readonly solves: SolveTracker;
  readonly gutter: ConfidenceGutter;
  readonly editors: ReasoningEditorOpener;
  readonly reasoningTree: ReasoningTreeView;
  readonly calibration: CalibrationView;
  private readonly statusItem: ServerStatusItem;
  private client: LanguageClient | undefined;
  private clientScope: vscode.Disposable[] = [];
  /** Set when the client cannot recover by itself (start failed, or it gave up restarting). */
  private needsFreshStart = false;
  private lastSentSettings: string | undefined;
  private warnedIgnoredModelPath: string | undefined;

  constructor(private readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('CASPO', { log: true });
    this.documents = new ReasoningDocumentStore();
    this.solves = new SolveTracker(this.documents);
    this.statusItem = new ServerStatusItem();
    this.gutter = new ConfidenceGutter(extension.extensionUri, this.documents, readBandThresholds);
    this.editors = new ReasoningEditorOpener(this.documents, this.output);
    this.reasoningTree = new ReasoningTreeView(readBandThresholds, this.output);
    this.calibration = new CalibrationView(extension.extensionUri, {
      runningClient: () => this.runningClient(),
      problems: readCalibrationProblems,
      problemsFile: extension.asAbsolutePath(HELDOUT_PROBLEMS),
      output: this.output,
    });
    extension.subscriptions.push(
      this.output,
      this.documents,
      vscode.workspace.registerTextDocumentContentProvider(REASONING_SCHEME, this.documents),
      this.solves,
      this.statusItem,
      this.gutter,
      this.reasoningTree,
      this.calibration,
      this.solves.onDidStartSolve(({ uri }) => this.reasoningTree.follow(uri)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (affectsCaspo(event)) void this.settingsChanged();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.settingsChanged()),
      { dispose: () => void this.stop() },
    );
  }

  /** Reads the settings (throws ConfigError naming a bad one); warns once about an ignored workspace model path. */
  resolveSettings(): ResolvedSettings {
    const resolved = readSettings(this.extension.asAbsolutePath(EMBEDDED_MODEL));
    this.warnIfWorkspaceModelPathIgnored(resolved.modelPath);
    return resolved;
  }

  async start(): Promise<void> {
    if (this.client) return;
    let settings: ServerSettings;
    try {
      settings = this.resolveSettings().server;
    } catch (error) {
      this.needsFreshStart = true;
      this.statusItem.clientPhase('stopped');
      this.report(error);
      return;
    }
    this.lastSentSettings = JSON.stringify(settings);
    const serverModule = this.extension.asAbsolutePath(join('dist', 'server.js'));
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
    };
    const client = new LanguageClient(
      'caspo',
      'CASPO Language Server',
      serverOptions,
      {
        documentSelector: [{ scheme: REASONING_SCHEME, language: REASONING_LANGUAGE_ID }],
        outputChannel: this.output,
        // Evaluated at every (re)start, so a restarted server gets the settings of that moment.
        initializationOptions: () => ({ settings: this.settingsForStart() }),
        errorHandler: new RestartPolicy(() => this.output.show(true), () => (this.needsFreshStart = true)),
      },
    );
    this.client = client;
    this.clientScope.push(
      ...this.solves.attach(client),
      ...this.reasoningTree.attach(client),
      client.onNotification(serverStatusNotification, (status) => this.statusItem.serverStatus(status)),
      client.onDidChangeState(({ newState }) => {
        this.statusItem.clientPhase(phaseOf(newState));
        // Settings changed while it started were not sent (its initializationOptions were read before).
        if (newState === State.Running) void this.pushSettingsQuietly();
      }),
    );
    this.needsFreshStart = false;
    try {
      await client.start();
    } catch (error) {
      this.needsFreshStart = true;
      this.statusItem.clientPhase('stopped');
      this.report(new Error(`the CASPO language server did not start: ${(error as Error).message}`));
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const disposable of this.clientScope.splice(0)) disposable.dispose();
    if (client) {
      try {
        // A client still starting cannot be stopped (it would start anyway, an orphan server beside the
        // next one): let the start it is in finish, then dispose it.
        if (client.state === State.Starting) await client.start().catch(() => undefined);
        await client.dispose(2000);
      } catch (error) {
        this.output.warn(`stopping the language server: ${(error as Error).message}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * The client to send a solve to, with the current settings pushed first. A client that is
   * restarting after a crash is returned as is (its requests wait for the new server); one that
   * stopped for good is started afresh.
   */
  async runningClient(): Promise<LanguageClient> {
    const settings = this.resolveSettings().server; // a bad setting is the error to report, not a stopped server
    // Stopped by another route than the restart policy's (a failed automatic restart): start afresh too.
    if (!this.client || this.needsFreshStart || this.client.state === State.Stopped) await this.restart();
    const client = this.client;
    if (!client || this.needsFreshStart) {
      throw new Error('the CASPO language server is not running; the CASPO log says why. Fix that and run "CASPO: Restart Language Server".');
    }
    await this.pushSettings(settings);
    return client;
  }

  /** The server process id (tests kill it to check the restart). */
  serverPid(): number | undefined {
    return this.client?.isRunning() ? this.client.serverProcess?.pid : undefined;
  }

  /** Sends the settings to the server if they changed since it last got them. */
  private async pushSettings(settings: ServerSettings): Promise<void> {
    const text = JSON.stringify(settings);
    const client = this.client;
    // A client that is (re)starting sends the settings of that moment in initializationOptions.
    if (client?.isRunning() && text !== this.lastSentSettings) {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings });
      this.lastSentSettings = text;
    }
  }

  /** Pushes the current settings if they changed; an invalid setting was reported when it was made. */
  private async pushSettingsQuietly(): Promise<void> {
    try {
      await this.pushSettings(this.resolveSettings().server);
    } catch (error) {
      this.output.warn(`sending the settings to the started server: ${(error as Error).message}`);
    }
  }

  private settingsForStart(): ServerSettings {
    try {
      const settings = this.resolveSettings().server;
      this.lastSentSettings = JSON.stringify(settings);
      return settings;
    } catch (error) {
      this.report(error);
      // Keep the server usable with what it had: the user has been told which setting to fix.
      if (this.lastSentSettings) return JSON.parse(this.lastSentSettings) as ServerSettings;
      throw error;
    }
  }

  private async settingsChanged(): Promise<void> {
    // The band colours follow their own settings even while another setting is invalid.
    this.gutter.schedule();
    this.reasoningTree.restyle();
    try {
      const settings = this.resolveSettings().server;
      if (this.needsFreshStart) await this.restart();
      else await this.pushSettings(settings);
    } catch (error) {
      this.report(error);
      await this.pushDisplaySettings();
    }
  }

  /**
   * While another setting is invalid, the band and warning thresholds still reach the server, as they reach the
   * gutter: its hovers name the band and its warnings use the threshold. The rest stays as the server last got it.
   */
  private async pushDisplaySettings(): Promise<void> {
    const bands = readBandThresholds();
    const warningThreshold = readWarningThreshold();
    if (this.lastSentSettings === undefined || bands === undefined || warningThreshold === undefined) return;
    const last = JSON.parse(this.lastSentSettings) as ServerSettings;
    await this.pushSettings({ ...last, bands, warningThreshold }).catch((error: unknown) =>
      this.output.warn(`sending the band thresholds to the server: ${(error as Error).message}`),
    );
  }

  private warnIfWorkspaceModelPathIgnored(choice: ModelPathChoice): void {
    const ignored = choice.ignoredWorkspaceValue;
    if (ignored === undefined || ignored === this.warnedIgnoredModelPath) return;
    this.warnedIgnoredModelPath = ignored;
    const used = choice.source === 'user' ? `your user setting (${choice.value})` : 'the embedded model';
    const message =
      `CASPO: this workspace is not trusted, so its caspo.modelPath ("${ignored}") is ignored and ${used} is used. ` +
      'Trust the workspace to use its model.';
    this.output.warn(message);
    void vscode.window.showWarningMessage(message, 'Manage Workspace Trust').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  }

  private report(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.output.error(message);
    showError(message, errorActions(error));
  }
}

function phaseOf(state: State): ClientPhase {
  return state === State.Running ? 'running' : state === State.Starting ? 'starting' : 'stopped';
}
