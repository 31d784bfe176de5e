/**
 * Routes the server's solve notifications: every one updates the reasoning document store, and the
 * solve that is being run from a command gets its own events (progress, opening the document).
 * The handlers are registered once per client; per-solve listeners are removed when the solve ends.
 */
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import {
  documentChangedNotification,
  solveFinishedNotification,
  solveQueuedNotification,
  solveStartedNotification,
  stepAddedNotification,
  type SolveQueuedParams,
  type SolveStartedParams,
  type StepAddedParams,
} from './protocol';
import type { ReasoningDocumentStore } from './reasoningDocuments';

export interface SolveEvents {
  /** The server has it waiting for its turn to decode. */
  queued(params: SolveQueuedParams): void;
  started(params: SolveStartedParams): void;
  stepAdded(params: StepAddedParams): void;
}

export interface TrackedSolve extends vscode.Disposable {
  readonly solveId: string;
  /** Cancelled by cancel(), by "CASPO: Cancel Running Solves", or when the tracker is disposed. */
  readonly token: vscode.CancellationToken;
  cancel(): void;
}

interface Active {
  events: SolveEvents;
  cancellation: vscode.CancellationTokenSource;
}

export class SolveTracker implements vscode.Disposable {
  private counter = 0;
  private readonly active = new Map<string, Active>();
  private readonly started = new vscode.EventEmitter<SolveStartedParams>();
  /** Any solve's reasoning document began (the Reasoning Tree view follows the newest). */
  readonly onDidStartSolve = this.started.event;

  constructor(private readonly documents: ReasoningDocumentStore) {}

  /** Registers the notification handlers on a client; the caller owns the returned disposables. */
  attach(client: BaseLanguageClient): vscode.Disposable[] {
    return [
      client.onNotification(solveQueuedNotification, (params) => this.active.get(params.solveId)?.events.queued(params)),
      client.onNotification(solveStartedNotification, (params) => {
        this.documents.began(params);
        this.active.get(params.solveId)?.events.started(params);
        this.started.fire(params);
      }),
      client.onNotification(stepAddedNotification, (params) => {
        this.documents.stepAdded(params);
        this.active.get(params.solveId)?.events.stepAdded(params);
      }),
      client.onNotification(solveFinishedNotification, (params) => this.documents.finished(params)),
      client.onNotification(documentChangedNotification, (params) => this.documents.rerendered(params)),
    ];
  }

  /** A fresh id per solve for the whole extension session, so documents never collide across server restarts. */
  track(events: SolveEvents): TrackedSolve {
    const solveId = String(++this.counter);
    const cancellation = new vscode.CancellationTokenSource();
    this.active.set(solveId, { events, cancellation });
    return {
      solveId,
      token: cancellation.token,
      cancel: () => cancellation.cancel(),
      dispose: () => {
        this.active.delete(solveId);
        cancellation.dispose();
      },
    };
  }

  get runningCount(): number {
    return this.active.size;
  }

  /** Cancels every running solve; returns how many. */
  cancelAll(): number {
    for (const { cancellation } of this.active.values()) cancellation.cancel();
    return this.active.size;
  }

  dispose(): void {
    this.cancelAll();
    this.started.dispose();
  }
}
