import { LSPErrorCodes, ResponseError } from 'vscode-languageserver';
import type { SettingErrorData } from '../../../src/protocol';
import { ModelLoadFailure, type ModelHost, type ModelLease } from '../host/modelHost';

/** A request error the user fixes in `setting`: its data names the setting, so the client can offer to open it. */
export function settingError(message: string, setting: string, suggestion?: string | null): ResponseError<SettingErrorData> {
  return new ResponseError<SettingErrorData>(LSPErrorCodes.RequestFailed, message, { setting, ...(suggestion ? { suggestion } : {}) });
}

/** The request error for a model that could not be acquired (loaded): names the setting to change when there is one. */
export function acquireError(error: unknown): ResponseError<SettingErrorData | undefined> {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof ModelLoadFailure ? settingError(message, error.setting) : new ResponseError(LSPErrorCodes.RequestFailed, message);
}

/**
 * A lease on the current model for a request, or its error: the load failed (`acquireError`), or the request
 * was cancelled while the model was still loading. A cancel answers at once (a load can take seconds), and the
 * lease, when the load ends, is released.
 */
export async function acquireLease(models: ModelHost, signal: AbortSignal, cancelledMessage: string): Promise<ModelLease> {
  const acquiring = models.acquire();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ResponseError(LSPErrorCodes.RequestCancelled, cancelledMessage));
  });
  aborted.catch(() => undefined); // settled by the race below, or never observed
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([acquiring.catch((error: unknown) => Promise.reject(acquireError(error))), aborted]);
  } catch (error) {
    if (signal.aborted) acquiring.then((lease) => lease.release(), () => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
