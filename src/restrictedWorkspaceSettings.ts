/**
 * In an untrusted workspace VS Code hides restricted settings (`caspo.modelPath`) from
 * `getConfiguration().inspect()`, so the value the user would expect to apply is invisible to us.
 * To tell the user that it is being ignored, we read it from the workspace's settings files
 * ourselves — only to name it in a message, never to use it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import * as vscode from 'vscode';

/**
 * The `caspo.modelPath` written in the workspace's settings, if any: the .code-workspace file's
 * settings when a workspace file is open (VS Code ignores this window-scoped setting in its
 * folders' settings then), else the folder's .vscode/settings.json.
 */
export function workspaceModelPathFromFiles(key = 'caspo.modelPath'): string | undefined {
  const workspaceFile = vscode.workspace.workspaceFile;
  if (workspaceFile !== undefined) {
    return workspaceFile.scheme === 'file' ? readSetting(workspaceFile.fsPath, (json) => json?.settings?.[key]) : undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder?.uri.scheme !== 'file') return undefined;
  return readSetting(join(folder.uri.fsPath, '.vscode', 'settings.json'), (json) => json?.[key]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function readSetting(file: string, pick: (json: any) => unknown): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // no such file: nothing set there
  }
  const value = pick(parseJsonc(text, [], { allowTrailingComma: true }));
  return typeof value === 'string' && value.trim().length > 0 ? value : undefined;
}
