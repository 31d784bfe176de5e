/**
 * "CASPO: Solve with CASPO": sends `caspo/solve`, opens the reasoning document beside the problem
 * when decoding starts, shows the step count (or, while the server has it queued, how many solves are ahead of it)
 * in a cancellable progress notification.
 */
import * as vscode from 'vscode';
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageclient/node';
import type { Ctx } from './ctx';
import { errorActions, showError, type ErrorAction } from './errorActions';
import { problemFromEditor } from './problemText';
import { ellipsize, solveRequest, waitingForTurnsMessage, type SolveResult } from './protocol';

/** What the command resolves to (tests read it; the user sees the document and messages). */
export interface SolveOutcome {
  /** The reasoning document, once decoding started. */
  uri?: string;
  result?: SolveResult;
  /** Set when the solve failed; the user was shown it. */
  error?: string;
  /** The buttons the error message offered (`Solve "…"`, "Open Settings", "Show Log") and what each runs. */
  actions?: ErrorAction[];
  /** Cancelled before decoding started (no document). */
  cancelled?: boolean;
}

/** `problem`: the text to solve; absent (or a URI from the editor context menu) → selection, line or input box. */
export function solveCommand(ctx: Ctx) {
  return async (problemArgument?: unknown): Promise<SolveOutcome | undefined> => {
    const problem = typeof problemArgument === 'string' ? problemArgument : await problemFromEditor();
    if (problem === undefined) return undefined;
    if (problem.trim().length === 0) return fail('There is nothing to solve: select a problem (e.g. 47*38 + 12) or type one.', []);
    let client;
    try {
      client = await ctx.runningClient();
    } catch (error) {
      return fail((error as Error).message, errorActions(error));
    }
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CASPO: ${shorten(problem)}`, cancellable: true },
      async (progress, progressToken) => {
        let uri: string | undefined;
        let shown: Promise<unknown> = Promise.resolve();
        let steps = 0;
        progress.report({ message: 'starting…' });
        const solve = ctx.solves.track({
          queued: ({ turnsAhead }) => progress.report({ message: waitingForTurnsMessage(turnsAhead) }),
          started: (params) => {
            uri = params.uri;
            progress.report({ message: `decoding on ${params.model}…` });
            shown = ctx.editors.show(params.uri);
          },
          stepAdded: () => progress.report({ message: `step ${++steps}` }),
        });
        const cancelLink = progressToken.onCancellationRequested(() => solve.cancel());
        try {
          const result = await client.sendRequest(solveRequest, { solveId: solve.solveId, problem }, solve.token);
          await shown;
          await ctx.documents.whenShown(result.uri);
          return { uri: result.uri, result };
        } catch (error) {
          if (error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled) return { cancelled: true };
          const message = solveErrorMessage(error);
          if (uri) {
            ctx.documents.interrupted(uri, `Interrupted: ${message}`);
            await shown;
            await ctx.documents.whenShown(uri);
          }
          ctx.output.error(`solve ${solve.solveId} failed: ${message}`);
          return { uri, ...fail(message, errorActions(error)) };
        } finally {
          cancelLink.dispose();
          solve.dispose();
        }
      },
    );
  };
}

function solveErrorMessage(error: unknown): string {
  if (error instanceof ResponseError && error.code === ErrorCodes.PendingResponseRejected) {
    return 'the CASPO language server stopped during this solve (it is being restarted). The steps shown are kept; solve again to continue.';
  }
  if (error instanceof ResponseError && error.code === ErrorCodes.ConnectionInactive) {
    return 'the connection to the CASPO language server was lost. The steps shown are kept; solve again to start the server afresh.';
  }
  return error instanceof Error ? error.message : String(error);
}

function fail(message: string, actions: ErrorAction[]): SolveOutcome {
  return { error: message, actions: showError(message, actions) };
}

function shorten(problem: string): string {
  return ellipsize(problem.trim().replace(/\s+/g, ' '), 60);
}
