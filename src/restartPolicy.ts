/**
 * What happens when the server process dies: restart it and tell the user, unless it keeps dying
 * (then stop and say where to look). Solves in flight fail with their own message (solveCommand).
 */
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, type CloseHandlerResult, type ErrorHandler, type ErrorHandlerResult } from 'vscode-languageclient/node';

const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60_000;

export class RestartPolicy implements ErrorHandler {
  private readonly restarts: number[] = [];

  constructor(
    private readonly showLog: () => void,
    private readonly gaveUp: () => void,
  ) {}

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    // A few write/read errors in a row are tolerated; a stream of them means the connection is gone.
    if ((count ?? 0) <= 3) return { action: ErrorAction.Continue };
    this.gaveUp(); // the client shuts down for good: the next solve starts a fresh one
    return { action: ErrorAction.Shutdown };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0] > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      void this.tell(
        vscode.window.showErrorMessage,
        `The CASPO language server stopped ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60_000} minutes and will not be restarted. ` +
          'The CASPO log says why; run "CASPO: Restart Language Server" once it is fixed.',
      );
      this.gaveUp();
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.restarts.push(now);
    void this.tell(
      vscode.window.showWarningMessage,
      'The CASPO language server stopped unexpectedly and is being restarted. Solves that were running were interrupted; ' +
        'their steps so far are kept. Solve again to continue.',
    );
    return { action: CloseAction.Restart, handled: true };
  }

  private async tell(show: (message: string, ...items: string[]) => Thenable<string | undefined>, message: string): Promise<void> {
    if ((await show(message, 'Show Log')) === 'Show Log') this.showLog();
  }
}
