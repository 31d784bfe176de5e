import * as vscode from 'vscode';
import { REASONING_SCHEME } from './protocol';

/**
 * The problem to solve: the selection, else the current line, else what the user types. Returns
 * undefined when the input box is dismissed. A reasoning document is never its own problem.
 */
export async function problemFromEditor(): Promise<string | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (editor && editor.document.uri.scheme !== REASONING_SCHEME) {
    const { document, selection } = editor;
    const selected = selection.isEmpty ? '' : document.getText(selection).trim();
    if (selected.length > 0) return selected;
    const line = document.lineAt(selection.active.line).text.trim();
    if (line.length > 0) return line;
  }
  return vscode.window.showInputBox({
    title: 'Solve with CASPO',
    prompt: 'The problem to solve step by step',
    placeHolder: '47*38 + 12',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim().length === 0 ? 'Type a problem, e.g. 47*38 + 12' : undefined),
  });
}
