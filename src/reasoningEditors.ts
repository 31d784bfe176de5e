/**
 * Opens reasoning documents beside the problem, one at a time: VS Code abandons an editor opening
 * when another opens in the same group meanwhile ("Could NOT open editor"), which two solves
 * started together would otherwise do to each other.
 */
import * as vscode from 'vscode';
import { REASONING_LANGUAGE_ID } from './protocol';
import type { ReasoningDocumentStore } from './reasoningDocuments';

export class ReasoningEditorOpener {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly documents: ReasoningDocumentStore,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Resolves once the document is shown (or showing it failed, which is logged: the solve goes on). */
  show(uri: string): Promise<void> {
    const shown = this.queue.then(() => this.open(uri));
    this.queue = shown;
    return shown;
  }

  private async open(uri: string): Promise<void> {
    try {
      let document = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
      this.documents.refresh(uri); // steps that arrived while it was opening
      if (document.languageId !== REASONING_LANGUAGE_ID) document = await vscode.languages.setTextDocumentLanguage(document, REASONING_LANGUAGE_ID);
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    } catch (error) {
      this.log.warn(`could not show ${uri}: ${(error as Error).message}`);
    }
  }
}
