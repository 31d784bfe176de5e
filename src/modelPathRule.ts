/**
 * Which `caspo.modelPath` applies, and where it points. Pure (no vscode import) so the workspace
 * trust rule is unit-tested without an editor.
 *
 * A model is code the server runs: in an untrusted workspace, a model path from the workspace's
 * settings is ignored (package.json declares it in `restrictedConfigurations`) and the user's own
 * setting, else the embedded model, is used. We apply the rule here as well rather than rely on
 * `get()` alone, so we can also tell the user which value was ignored.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface ModelPathInspection {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export interface ModelPathChoice {
  /** The path to use; '' means the embedded model. */
  value: string;
  source: 'default' | 'user' | 'workspace';
  /** A workspace value that was set but ignored because the workspace is not trusted. */
  ignoredWorkspaceValue?: string;
}

export function chooseModelPath(inspection: ModelPathInspection, trusted: boolean): ModelPathChoice {
  const workspaceValue = nonEmpty(inspection.workspaceFolderValue) ?? nonEmpty(inspection.workspaceValue);
  const userValue = nonEmpty(inspection.globalValue);
  if (workspaceValue !== undefined && trusted) return { value: workspaceValue, source: 'workspace' };
  const fallback: ModelPathChoice =
    userValue !== undefined ? { value: userValue, source: 'user' } : { value: nonEmpty(inspection.defaultValue) ?? '', source: 'default' };
  return workspaceValue !== undefined ? { ...fallback, ignoredWorkspaceValue: workspaceValue } : fallback;
}

export interface ModelDirContext {
  embeddedModelDir: string;
  /** The first workspace folder, for relative paths; undefined when no folder is open. */
  workspaceRoot: string | undefined;
  /**
   * Whether the workspace is trusted (default true). Untrusted, a relative path is refused: it would
   * load a model, which is code, from the untrusted folder, even when the path is the user's own.
   */
  trusted?: boolean;
  homeDir?: string;
}

/** The absolute model folder: '' → the embedded model; `~/x` → home; relative → the workspace folder. */
export function resolveModelDir(value: string, context: ModelDirContext): string {
  const path = value.trim();
  if (path.length === 0) return context.embeddedModelDir;
  if (path === '~' || path.startsWith('~/')) return join(context.homeDir ?? homedir(), path.slice(1));
  if (isAbsolute(path)) return resolve(path);
  if (context.workspaceRoot === undefined) {
    throw new Error(`caspo.modelPath "${path}" is relative, but no folder is open to resolve it against. Use an absolute path.`);
  }
  if (context.trusted === false) {
    throw new Error(
      `caspo.modelPath "${path}" is relative, and this workspace is not trusted: it would load a model (code the server runs) ` +
        'from the untrusted folder. Use an absolute path, or trust the workspace.',
    );
  }
  return resolve(context.workspaceRoot, path);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value : undefined;
}
