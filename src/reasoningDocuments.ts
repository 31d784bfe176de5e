/**
 * The read-only reasoning documents (scheme `caspo-reasoning`). The server renders them; this store
 * keeps the latest text it sent for each solve and the step lines (for the gutter), and tells VS
 * Code when a document changed so it re-reads it.
 */
import * as vscode from 'vscode';
import { KEPT_FINISHED_SOLVES, type DocumentChangedParams, type SolveStartedParams, type SolveSummary, type StepAddedParams, type StepSummary } from './protocol';

/**
 * How many solves' documents the extension keeps (the oldest go first): the server's number, so a
 * document shown here still has its hovers, diagnostics and branches there (running solves aside).
 */
const KEPT_DOCUMENTS = KEPT_FINISHED_SOLVES;
/** whenShown never holds a command longer than this, whatever the editor does. */
const SHOWN_WAIT_LIMIT_MS = 5000;

const GONE_TEXT =
  'This CASPO reasoning document is no longer available: the extension or its server was restarted, ' +
  'or too many solves ran since. Solve the problem again.\n';

interface Entry {
  text: string;
  steps: StepSummary[];
  /** The server ended the document (its summary line is in the text). */
  ended?: boolean;
}

interface Waiter {
  text: string;
  resolve: () => void;
}

export class ReasoningDocumentStore implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChange = this.changed.event;

  constructor() {
    this.subscriptions = [
      this.changed,
      vscode.workspace.onDidChangeTextDocument((event) => this.settleWaiters(event.document)),
      vscode.workspace.onDidCloseTextDocument((document) => this.settleWaiters(document, true)),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.entries.get(uri.toString())?.text ?? GONE_TEXT;
  }

  began(params: SolveStartedParams): void {
    this.set(params.uri, { text: params.text, steps: [] });
  }

  stepAdded(params: StepAddedParams): void {
    const steps = [...(this.entries.get(key(params.uri))?.steps ?? []), params.step];
    this.set(params.uri, { text: params.text, steps });
  }

  finished(params: SolveSummary): void {
    this.set(params.uri, { text: params.text, steps: params.steps, ended: true });
  }

  /** Re-rendered by the server (a re-expanded branch): the new text and every step line, branches included. */
  rerendered(params: DocumentChangedParams): void {
    this.set(params.uri, { text: params.text, steps: params.steps, ended: this.entries.get(key(params.uri))?.ended });
  }

  /**
   * The solve failed and the server could not end the document (it stopped): the steps stay, with a line
   * saying what happened. A document the server ended already says why (its summary line) and is left as is.
   */
  interrupted(uri: string, message: string): void {
    const entry = this.entries.get(key(uri));
    if (entry && !entry.ended) this.set(uri, { text: `${entry.text}\n${message}\n`, steps: entry.steps, ended: true });
  }

  stepsOf(uri: vscode.Uri): readonly StepSummary[] {
    return this.entries.get(uri.toString())?.steps ?? [];
  }

  textOf(uri: string): string | undefined {
    return this.entries.get(key(uri))?.text;
  }

  /**
   * Asks VS Code to re-read `uri` if the open document does not show the latest text. A change
   * announced while the document was being opened is dropped by VS Code (the document was not
   * open yet), so the opener calls this once the document is open.
   */
  refresh(uri: string): void {
    const text = this.entries.get(key(uri))?.text;
    const document = openDocument(uri);
    if (text !== undefined && document && document.getText() !== text) this.changed.fire(document.uri);
  }

  /**
   * Resolves once the open document shows the store's current text for `uri` (VS Code re-reads a
   * changed virtual document asynchronously), or at once when it is not open.
   */
  whenShown(uri: string): Promise<void> {
    const text = this.entries.get(key(uri))?.text;
    const document = openDocument(uri);
    if (text === undefined || !document || document.getText() === text) return Promise.resolve();
    const shown = new Promise<void>((resolve) => {
      const list = this.waiters.get(key(uri)) ?? [];
      const waiter: Waiter = {
        text,
        resolve: () => {
          clearTimeout(limit);
          resolve();
        },
      };
      const limit = setTimeout(() => {
        const remaining = (this.waiters.get(key(uri)) ?? []).filter((w) => w !== waiter);
        if (remaining.length > 0) this.waiters.set(key(uri), remaining);
        else this.waiters.delete(key(uri));
        resolve();
      }, SHOWN_WAIT_LIMIT_MS);
      list.push(waiter);
      this.waiters.set(key(uri), list);
    });
    this.refresh(uri);
    return shown;
  }

  dispose(): void {
    for (const list of this.waiters.values()) for (const waiter of list) waiter.resolve();
    this.waiters.clear();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private set(uri: string, entry: Entry): void {
    const k = key(uri);
    this.entries.delete(k); // re-insert: Map order is the eviction order
    this.entries.set(k, entry);
    for (const old of [...this.entries.keys()].slice(0, Math.max(0, this.entries.size - KEPT_DOCUMENTS))) {
      this.entries.delete(old);
      this.changed.fire(vscode.Uri.parse(old)); // an open editor re-reads it and says it is gone
    }
    this.changed.fire(vscode.Uri.parse(k));
  }

  private settleWaiters(document: vscode.TextDocument, closed = false): void {
    const k = document.uri.toString();
    const list = this.waiters.get(k);
    if (!list) return;
    const text = document.getText();
    const remaining = list.filter((waiter) => {
      const done = closed || waiter.text === text;
      if (done) waiter.resolve();
      return !done;
    });
    if (remaining.length > 0) this.waiters.set(k, remaining);
    else this.waiters.delete(k);
  }
}

function openDocument(uri: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === key(uri) && !d.isClosed);
}

/** The server's URI text and VS Code's printing of it agree (safe characters only), but normalize anyway. */
function key(uri: string): string {
  return vscode.Uri.parse(uri).toString();
}
