// Types for vsix-in-code-server.mjs.
export interface CodeServer {
  origin: string;
  port: number;
  pid: number;
  baseDir: string;
  userDataDir: string;
  output(): string;
  stop(): Promise<void>;
}

/** `publisher.name@version` of this repository's extension. */
export function extensionIdWithVersion(): string;

/** Start code-server and install the VSIX into its extensions folder (stops the server on failure). */
export function startCodeServerWithVsix(options: {
  vsix: string;
  userSettings?: Record<string, unknown>;
  log?: (line: string) => void;
}): Promise<{ server: CodeServer; extensionsDir: string; installed: string; installMs: number }>;

/** The workbench URL that opens `folder` and, when given, `file` with the cursor on `line` (1-based). */
export function workbenchUrl(server: { origin: string; port: number }, folder: string, file?: string, line?: number): string;
