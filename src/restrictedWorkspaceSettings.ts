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

/** The `caspo.modelPath` written in the workspace's settings files, if any (folder settings first). */
export function workspaceModelPathFromFiles(key = 'caspo.modelPath'): string | undefined {
  const candidates: string[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme === 'file') candidates.push(join(folder.uri.fsPath, '.vscode', 'settings.json'));
  }
  const workspaceFile = vscode.workspace.workspaceFile;
  for (const file of candidates) {
    const value = readSetting(file, (json) => json?.[key]);
    if (value !== undefined) return value;
  }
  if (workspaceFile?.scheme === 'file') return readSetting(workspaceFile.fsPath, (json) => json?.settings?.[key]);
  return undefined;
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
