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

export class CalibrationView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelScope: vscode.Disposable[] = [];
  /** The last message posted, posted again when the page reloads (it is not kept while hidden). */
  private state: CalibrationPageMessage | undefined;
  private running: Promise<CalibrationOutcome> | undefined;
  private requests = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly services: CalibrationServices,
  ) {}

  /** Opens (or reveals) the panel and fills it; a run already in progress is joined, not repeated. */
  show(options: { recompute?: boolean } = {}): Promise<CalibrationOutcome> {
    this.reveal();
    this.running ??= this.compute(options.recompute ?? false).finally(() => (this.running = undefined));
    return this.running;
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async compute(recompute: boolean): Promise<CalibrationOutcome> {
    let client: LanguageClient;
    let problems: number;
    try {
      problems = this.services.problems();
      client = await this.services.runningClient();
    } catch (error) {
      return this.fail(error);
    }
    this.post({ type: 'loading', problems, recompute });
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'CASPO calibration', cancellable: true },
      async (progress, token) => {
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
          return { result };
        } catch (error) {
          if (error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled) {
            this.post({ type: 'error', cancelled: true, message: 'The calibration was cancelled. Press Recompute (or run "CASPO: Show Calibration") to compute it.' });
            return { cancelled: true };
          }
          return this.fail(error);
        } finally {
          listening.dispose();
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
        for (const disposable of this.panelScope.splice(0)) disposable.dispose();
      }),
    );
  }

  private received(message: CalibrationViewMessage): void {
    switch (message?.type) {
      case 'ready': // the page (re)loaded: give it the latest state
        if (this.state) void this.panel?.webview.postMessage(this.state);
        break;
      case 'recompute':
        void this.show({ recompute: true });
        break;
    }
  }
}
