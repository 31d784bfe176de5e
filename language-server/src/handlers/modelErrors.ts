import { LSPErrorCodes, ResponseError } from 'vscode-languageserver';
import type { SettingErrorData } from '../../../src/protocol';
import { ModelLoadFailure } from '../host/modelHost';

/** A request error the user fixes in `setting`: its data names the setting, so the client can offer to open it. */
export function settingError(message: string, setting: string): ResponseError<SettingErrorData> {
  return new ResponseError<SettingErrorData>(LSPErrorCodes.RequestFailed, message, { setting });
}

/** The request error for a model that could not be acquired (loaded): names the setting to change when there is one. */
export function acquireError(error: unknown): ResponseError<SettingErrorData | undefined> {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof ModelLoadFailure ? settingError(message, error.setting) : new ResponseError(LSPErrorCodes.RequestFailed, message);
}
