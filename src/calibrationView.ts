/**
 * "CASPO: Show Calibration": one webview panel (reused while open) with the reliability diagram and
 * the metrics of the current model on the held-out problems. The language server computes them
 * (`caspo/calibration`); this side runs the request under a cancellable progress notification and
 * posts the data to the page (media/calibration.js draws it).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError, WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import { errorActions, SHOW_LOG_ACTION, showError, type ErrorAction } from './errorActions';
import { calibrationHtml, type CalibrationPageMessage, type CalibrationViewMessage } from './calibrationHtml';
import { calibrationRequest, type CalibrationResult } from './protocol';

export const CALIBRATION_VIEW_TYPE = 'caspo.calibration';
export const CALIBRATION_TITLE = 'CASPO Calibration';

/** What the command resolves to (tests read it; the user sees the panel). */
export interface CalibrationOutcome {
  result?: CalibrationResult;
  error?: string;
  /** The buttons the error message offered and what each runs. */
  actions?: ErrorAction[];
  cancelled?: boolean;
}

export interface CalibrationServices {
  /** The running client with the current settings pushed (throws with what to do). */
  runningClient(): Promise<LanguageClient>;
  /** caspo.calibration.problems (throws ConfigError naming it). */
  problems(): number;
  /** Absolute path of the extension's held-out problems. */
  problemsFile: string;
  output: vscode.LogOutputChannel;
}

/** The settings a calibration's numbers depend on: a change makes the shown result, and a run in flight, stale. */
export const CALIBRATION_INPUTS = ['modelPath', 'executionProvider', 'confidenceMetric', 'maxTokens', 'calibration.problems'].map((key) => `caspo.${key}`);

interface Run {
  promise: Promise<CalibrationOutcome>;
  token: vscode.CancellationToken;
  /** Stops it; a "Show Calibration" after that starts a new run instead of joining this one. */
  cancel(): void;
  /**
   * A setting it depends on changed since it started (the server took the settings of its start), or it was
   * cancelled: a new "Show Calibration" replaces it instead of joining it, and its result is shown as stale.
   */
  stale: boolean;
}

export class CalibrationView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelScope: vscode.Disposable[] = [];
  /** The last message posted, posted again when the page reloads (it is not kept while hidden). */
  private state: CalibrationPageMessage | undefined;
  /** Posted after `state` while the result shown was computed under other settings. */
  private staleNote: CalibrationPageMessage | undefined;
  private run: Run | undefined;
  /** Whether the page shows a result (the last one posted, through later 'loading' and cancelled runs). */
  private resultShown = false;
  private requests = 0;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly services: CalibrationServices,
  ) {
    this.subscriptions = [vscode.workspace.onDidChangeConfiguration((event) => this.settingsChanged(event))];
  }

  /**
   * Opens (or reveals) the panel and fills it. A run in progress is joined, not repeated, unless a setting it
   * depends on changed since it started: then it is cancelled and a run under the new settings follows it.
   */
  show(options: { recompute?: boolean } = {}): Promise<CalibrationOutcome> {
    this.reveal();
    if (this.run && !this.run.stale) return this.run.promise;
    const previous = this.run;
    previous?.cancel();
    const source = new vscode.CancellationTokenSource();
    const settled = previous ? previous.promise.then(() => undefined, () => undefined) : Promise.resolve();
    const run: Run = {
      stale: false,
      token: source.token,
      cancel: () => {
        run.stale = true;
        source.cancel();
      },
      promise: Promise.resolve({}),
    };
    run.promise = settled
      .then(() => this.compute(options.recompute ?? false, run))
      .finally(() => {
        source.dispose();
        if (this.run === run) this.run = undefined;
      });
    this.run = run;
    return run.promise;
  }

  /** What the page was last told, and the stale note after it if any (tests). */
  get shown(): { state: CalibrationPageMessage | undefined; stale: boolean } {
    return { state: this.state, stale: this.staleNote !== undefined };
  }

  dispose(): void {
    this.panel?.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private settingsChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!CALIBRATION_INPUTS.some((key) => event.affectsConfiguration(key))) return;
    if (this.run) this.run.stale = true;
    if (this.resultShown) this.markStale();
  }

  /** The page shows a result computed under settings that have changed since: it says so. */
  private markStale(): void {
    this.staleNote = {
      type: 'stale',
      message: 'The model, execution provider, metric or problem settings changed since these numbers were computed: press Recompute for the current ones.',
    };
    void this.panel?.webview.postMessage(this.staleNote);
  }

  private async compute(recompute: boolean, run: Run): Promise<CalibrationOutcome> {
    const runToken = run.token;
    if (runToken.isCancellationRequested) return { cancelled: true };
    let client: LanguageClient;
    let problems: number;
    try {
      problems = this.services.problems();
      client = await this.services.runningClient();
    } catch (error) {
      return this.fail(error);
    }
    if (runToken.isCancellationRequested) return { cancelled: true }; // e.g. the panel closed while the server started
    this.post({ type: 'loading', problems, recompute });
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'CASPO calibration', cancellable: true },
      async (progress, notificationToken) => {
        // Cancelled from the notification, by closing the panel, or by a run under new settings.
        const cancel = new vscode.CancellationTokenSource();
        const cancelling = [notificationToken, runToken].map((token) => token.onCancellationRequested(() => cancel.cancel()));
        if (notificationToken.isCancellationRequested || runToken.isCancellationRequested) cancel.cancel();
        const token = cancel.token;
        const workDoneToken = `caspo-calibration-${process.pid}-${++this.requests}`;
        let percentage = 0;
        progress.report({ message: `${problems} held-out problems…` });
        const listening = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
          if (value.kind !== 'report') return;
          const increment = value.percentage === undefined ? undefined : value.percentage - percentage;
          percentage = value.percentage ?? percentage;
          progress.report({ message: value.message, increment });
        });
        try {
          const result = await client.sendRequest(calibrationRequest, { problemsFile: this.services.problemsFile, problems, recompute, workDoneToken }, token);
          this.post({ type: 'result', result });
          // A setting changed while it ran: the numbers are those of the settings it started with.
          if (run.stale) this.markStale();
          return { result };
        } catch (error) {
          if (error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled) {
            this.post({ type: 'error', cancelled: true, message: 'The calibration was cancelled. Press Recompute (or run "CASPO: Show Calibration") to compute it.' });
            return { cancelled: true };
          }
          return this.fail(error);
        } finally {
          listening.dispose();
          for (const subscription of cancelling) subscription.dispose();
          cancel.dispose();
        }
      },
    );
  }

  private fail(error: unknown): CalibrationOutcome {
    const message = error instanceof Error ? error.message : String(error);
    this.services.output.error(`calibration failed: ${message}`);
    this.post({ type: 'error', cancelled: false, message: `The calibration could not be computed: ${message}` });
    // The log has this run's details, whether or not a setting is the fix.
    const actions = errorActions(error).filter((action) => action !== SHOW_LOG_ACTION);
    return { error: message, actions: showError(message, [...actions, SHOW_LOG_ACTION]) };
  }

  private post(message: CalibrationPageMessage): void {
    this.state = message;
    this.staleNote = undefined;
    // The page keeps a result through 'loading' and a cancelled run, and drops it on a failure.
    if (message.type === 'result') this.resultShown = true;
    else if (message.type === 'error' && !message.cancelled) this.resultShown = false;
    void this.panel?.webview.postMessage(message);
  }

  private reveal(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(CALIBRATION_VIEW_TYPE, CALIBRATION_TITLE, { viewColumn: vscode.ViewColumn.Active }, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [media],
    });
    const webview = panel.webview;
    try {
      webview.html = calibrationHtml({
        cspSource: webview.cspSource,
        nonce: randomBytes(16).toString('base64'),
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'calibration.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'calibration.css')).toString(),
      });
    } catch (error) {
      panel.dispose(); // no empty panel left behind
      throw error;
    }
    this.panel = panel;
    this.panelScope.push(
      webview.onDidReceiveMessage((message: CalibrationViewMessage) => this.received(message)),
      panel.onDidDispose(() => {
        this.panel = undefined;
        this.run?.cancel(); // closing the panel means stop: the server stops decoding
        for (const disposable of this.panelScope.splice(0)) disposable.dispose();
      }),
    );
  }

  private received(message: CalibrationViewMessage): void {
    switch (message?.type) {
      case 'ready': // the page (re)loaded: give it the latest state
        for (const message of [this.state, this.staleNote]) if (message) void this.panel?.webview.postMessage(message);
        break;
      case 'recompute':
        void this.show({ recompute: true });
        break;
    }
  }
}
