import type { CancellationToken } from 'vscode-languageserver';

/** The signal that stops a request's work, and the end of its hold on the token and the shutdown signal. */
export interface RequestSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Aborts on the request's `$/cancelRequest` or when the server shuts down (its running decodes must stop before
 * the model's sessions are released). Dispose it when the request ends.
 */
export function requestSignal(token: CancellationToken, shutdown: AbortSignal): RequestSignal {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  const onCancel = token.onCancellationRequested(onAbort);
  shutdown.addEventListener('abort', onAbort, { once: true });
  // Cancelled before it was dispatched (the server was busy, e.g. loading the model): the event never fires.
  if (token.isCancellationRequested || shutdown.aborted) abort.abort();
  return {
    signal: abort.signal,
    dispose: () => {
      onCancel.dispose();
      shutdown.removeEventListener('abort', onAbort);
    },
  };
}
