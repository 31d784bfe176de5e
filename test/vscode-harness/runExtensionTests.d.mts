// Types for runExtensionTests.mjs (plain JS so it runs with bare `node`, e.g. from scripts/).
import type { Page } from 'playwright-core';

/** Installs code-server into .cache/code-server unless it is there (idempotent); returns one line saying what it did. */
export function installCodeServer(): string;

export const MOCHA_IN_HOST: string;
export const CHROMIUM_PATH: string;

export interface WorkbenchOptions {
  /** Absolute folder of the extension under test (holds its package.json). */
  extensionDevelopmentPath: string;
  /** Absolute folder to open; default an empty temporary folder. */
  workspaceFolder?: string;
  /** User settings merged over the harness's quiet defaults (codeServer.mjs BASE_USER_SETTINGS). */
  userSettings?: Record<string, unknown>;
  /**
   * true: start code-server with workspace trust on (no --disable-workspace-trust, no start-up prompt),
   * so the folder, new to the throw-away user-data, opens untrusted (Restricted Mode). Default false: trust off.
   */
  workspaceTrust?: boolean;
  /** Where a screenshot goes when the session fails, and where workbench.screenshot() writes. */
  screenshotDir?: string;
  /** Limit for the whole session, start-up included (default 180000). */
  timeoutMs?: number;
  /** Extra environment for code-server and so for the extension host. */
  env?: Record<string, string>;
  /** Receives every workbench log line (default: print all but start-up chatter). */
  onLog?: (type: string, message: string) => void;
}

export interface ExtensionTestOptions extends WorkbenchOptions {
  /** Module exporting run(), loaded in the extension host; default mochaInHost.cjs. */
  extensionTestsPath?: string;
  /** For mochaInHost: absolute test files or folders (searched for *.test.js); default <repo>/out/test/vscode. */
  testFiles?: string[];
  /** For mochaInHost: where the JSON summary { passes, failures, pending, failedTitles } is written. */
  summaryPath?: string;
  /** For mochaInHost: only tests whose full title matches. */
  grep?: string;
  /** For mochaInHost: per-test timeout (default 60000). */
  testTimeoutMs?: number;
}

export interface TestSummary {
  passes: number;
  failures: number;
  pending: number;
  failedTitles: string[];
}

export interface Workbench {
  /** F1, type the title, wait until the palette offers it, Enter. */
  runCommand(title: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Saves `<screenshotDir>/<name>.png` and returns its path. */
  screenshot(name: string): Promise<string>;
}

/** Runs the tests in the real extension host; resolves with its exit code (0 = all passed). */
export function runExtensionTests(options: ExtensionTestOptions): Promise<number>;

/** Opens the workbench with the extension loaded and lets `ui` drive it; resolves with ui's result. */
export function withWorkbench<T>(
  options: WorkbenchOptions & { ui: (page: Page, workbench: Workbench) => Promise<T> },
): Promise<T>;
