import { ErrorCodes, ResponseError, type Connection, type Disposable } from 'vscode-languageserver';

export interface CrashReportSink {
  /** Full text (with stack) for the log. */
  log(text: string): void;
  /** One line for the user. */
  show(message: string): void;
}

/** Where the process-wide error events come from (the process; an EventEmitter in tests). */
export interface ProcessEvents {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
}

/**
 * Reports errors that escaped every handler to the client (log + message) instead of dying
 * silently, and keeps the server running: one failed solve must not take the others down.
 */
export function reportUnhandledErrors(sink: CrashReportSink, target: ProcessEvents = process): Disposable {
  const report = (origin: string) => (error: unknown) => {
    sink.log(`CASPO language server: ${origin}: ${describe(error, true)}`);
    sink.show(`CASPO language server: internal error (${describe(error, false)}). It is still running; the CASPO log has the details.`);
  };
  const onException = report('uncaught exception');
  const onRejection = report('unhandled promise rejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return {
    dispose: () => {
      target.off('uncaughtException', onException);
      target.off('unhandledRejection', onRejection);
    },
  };
}

/**
 * Wraps a request handler: a ResponseError passes through (it is already meant for the user);
 * anything else is a bug, logged with its stack and answered with an InternalError that says where
 * to look.
 */
export function guarded<P, R, T>(
  method: string,
  sink: Pick<CrashReportSink, 'log'>,
  handler: (params: P, token: T) => R | Promise<R>,
): (params: P, token: T) => Promise<R> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      sink.log(`${method} failed: ${describe(error, true)}`);
      throw new ResponseError(ErrorCodes.InternalError, `CASPO ${method} failed: ${describe(error, false)}. The CASPO log has the details.`);
    }
  };
}

export function connectionSink(connection: Connection): CrashReportSink {
  return {
    log: (text) => connection.console.error(text),
    show: (message) => void connection.window.showErrorMessage(message),
  };
}

function describe(error: unknown, withStack: boolean): string {
  if (error instanceof Error) return withStack && error.stack ? error.stack : error.message;
  return String(error);
}
