/**
 * Error messages with the button that fixes them: "Open Settings" on the setting a bad value or a
 * refused problem names (a ConfigError, or a server error whose data names one), `Solve "…"` with a
 * problem refused for its form as the model reads it, "Show Log" where the reason is in the log (the
 * server failed or stopped).
 */
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-languageclient/node';
import { ConfigError } from './config';
import { settingOfErrorData, suggestionOfErrorData } from './protocol';

/** A button on an error message and the command it runs. */
export interface ErrorAction {
  /** "Open Settings", "Show Log", or `Solve "…"` (a refused problem as the model reads it). */
  title: string;
  command: string;
  args: unknown[];
}

/** Opens the Settings editor filtered to `setting` (e.g. `caspo.modelPath`). */
export function openSettingAction(setting: string): ErrorAction {
  return { title: 'Open Settings', command: 'workbench.action.openSettings', args: [`@id:${setting}`] };
}

export const SHOW_LOG_ACTION: ErrorAction = { title: 'Show Log', command: 'caspo.showLog', args: [] };

/**
 * The buttons for `error`. A rejected request of the user's own making (a problem too long, a solve
 * that was still running) gets none: its message says what to do.
 */
export function errorActions(error: unknown): ErrorAction[] {
  if (error instanceof ConfigError) return error.setting === undefined ? [] : [openSettingAction(error.setting)];
  if (error instanceof ResponseError) {
    const setting = settingOfErrorData(error.data);
    const suggestion = suggestionOfErrorData(error.data);
    const solveIt: ErrorAction[] = suggestion === undefined ? [] : [{ title: `Solve "${suggestion}"`, command: 'caspo.solve', args: [suggestion] }];
    if (setting !== undefined) return [...solveIt, openSettingAction(setting)];
    // The server failed (InternalError) or stopped under the request: the log has the why.
    const serverSide = [ErrorCodes.InternalError, ErrorCodes.PendingResponseRejected, ErrorCodes.ConnectionInactive] as number[];
    return serverSide.includes(error.code) ? [SHOW_LOG_ACTION] : [];
  }
  // Not from a request: the client could not start or reach the server.
  return [SHOW_LOG_ACTION];
}

/** Shows `CASPO: message` with `actions` as buttons and runs the one picked; returns them (tests read them). */
export function showError(message: string, actions: ErrorAction[]): ErrorAction[] {
  void vscode.window.showErrorMessage(`CASPO: ${message}`, ...actions.map((action) => action.title)).then((picked) => {
    const action = actions.find((a) => a.title === picked);
    if (action) void vscode.commands.executeCommand(action.command, ...action.args);
  });
  return actions;
}
