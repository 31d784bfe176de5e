// Runs VS Code extension tests in a REAL extension host, offline: code-server (VS Code server + web
// workbench) driven by Debian's chromium through playwright-core.
//
//   runExtensionTests({ extensionDevelopmentPath, testFiles, summaryPath })  -> exit code (0 = all passed)
//   withWorkbench({ extensionDevelopmentPath, ui: async (page, workbench) => ... })  -> ui's result
//
// The tests run when the workbench URL carries extensionDevelopmentPath + extensionTestsPath (as
// vscode-remote URIs); the page reports the host's log through codeAutomationLog(type, args) and
// the result through codeAutomationExit(code), two functions we expose on the page.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startCodeServer } from './codeServer.mjs';

/** Installs code-server into .cache/code-server unless it is there (idempotent); returns one line saying what it did. */
export { installCodeServer } from '../../scripts/install-code-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The default extensionTestsPath: mocha inside the extension host (see mochaInHost.cjs). */
export const MOCHA_IN_HOST = path.join(here, 'mochaInHost.cjs');
export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-crash-reporter', '--disable-breakpad',
];

function requireAbsolute(name, value) {
  if (typeof value !== 'string' || !path.isAbsolute(value)) {
    throw new Error(`${name} must be an absolute path, got ${JSON.stringify(value)}`);
  }
}

// The workbench forwards its own log too; drop its routine start-up chatter so what remains is
// mostly the extension host's output (console.* of the extension and of the tests), warnings, errors.
const WORKBENCH_CHATTER = /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin extensions|Updating additional builtin extensions|\[Service Worker\] registered|ChatSessionStore: Migrating)/;

function defaultLog(type, message) {
  if ((type === 'info' && WORKBENCH_CHATTER.test(message)) || /^Creation of workbench contribution '[^']+' took \d+ms/.test(message)) return;
  console.log(`[vscode${type === 'info' ? '' : ` ${type}`}] ${message}`);
}

/**
 * Start code-server + chromium, open the workbench, call `drive(page, context)`, always clean up.
 * @param {object} options see withWorkbench / runExtensionTests
 * @param {(page: import('playwright-core').Page, ctx: { exited: Promise<number>, logs: string[] }) => Promise<any>} drive
 */
async function session(options, payloadExtra, drive) {
  const {
    extensionDevelopmentPath,
    workspaceFolder,
    userSettings = {},
    workspaceTrust = false,
    screenshotDir,
    timeoutMs = 180_000,
    env = {},
    onLog = defaultLog,
  } = options;
  requireAbsolute('extensionDevelopmentPath', extensionDevelopmentPath);
  if (workspaceFolder !== undefined) requireAbsolute('workspaceFolder', workspaceFolder);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (.ci/install-system-deps)`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'caspo-workbench-'));
  const removeScratch = () => {
    try {
      rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // chromium may still be writing its profile while it dies; a leftover temp folder is harmless
    }
  };
  process.on('exit', removeScratch); // also on Ctrl-C: codeServer.mjs exits the process then
  const folder = workspaceFolder ?? path.join(scratch, 'workspace');
  mkdirSync(folder, { recursive: true });

  const logs = [];
  let server;
  let browser;
  let page;
  let timer;
  try {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(deadline - Date.now(), 1);
    server = await startCodeServer({ userSettings, workspaceTrust, env, startTimeoutMs: timeoutMs });
    const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)], ...payloadExtra(remote)];
    const url = `${server.origin}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

    browser = await chromium.launchPersistentContext(path.join(scratch, 'chromium'), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      timeout: left(),
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    let reportExit;
    const exited = new Promise((resolve) => (reportExit = resolve));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const message = Array.isArray(args) ? args.map(String).join(' ') : String(args);
      logs.push(`[${type}] ${message}`);
      onLog(type, message);
    });
    await page.exposeFunction('codeAutomationExit', (code) => reportExit(Number(code)));
    page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));

    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => {
        const tail = logs.slice(-15).map((l) => `    ${l}`).join('\n');
        reject(new Error(`VS Code workbench session did not finish within ${timeoutMs} ms ` +
          `(no codeAutomationExit / ui callback still running). Last workbench log lines:\n${tail || '    (none)'}`));
      }, left());
    });
    const crashed = new Promise((_, reject) => {
      page.once('crash', () => reject(new Error('the workbench page crashed')));
      browser.once('close', () => reject(new Error('chromium closed before the session finished')));
    });
    const opened = page.goto(url, { timeout: left() }).then(() => drive(page, { exited, logs }));
    return await Promise.race([opened, timedOut, crashed]);
  } catch (err) {
    if (page && screenshotDir) {
      mkdirSync(screenshotDir, { recursive: true });
      const file = path.join(screenshotDir, `failure-${Date.now()}.png`);
      await page.screenshot({ path: file }).then(() => (err.message += `\n(screenshot: ${file})`), () => {});
    }
    if (server && !/code-server/.test(err.message)) {
      err.message += `\ncode-server output (tail):\n${server.output().split('\n').slice(-10).join('\n')}`;
    }
    throw err;
  } finally {
    clearTimeout(timer);
    await browser?.close().catch(() => {});
    await server?.stop();
    process.off('exit', removeScratch);
    removeScratch();
  }
}

/**
 * Run extension tests inside the real extension host. Resolves with the host's exit code.
 * @param {{
 *   extensionDevelopmentPath: string,   absolute folder of the extension under test (its package.json)
 *   extensionTestsPath?: string,        module exporting run(); default mochaInHost.cjs
 *   testFiles?: string[],               for mochaInHost: absolute test files / folders (default <repo>/out/test/vscode)
 *   summaryPath?: string,               for mochaInHost: where the JSON {passes, failures, pending, failedTitles} goes
 *   grep?: string, testTimeoutMs?: number,
 *   workspaceFolder?: string,           absolute folder to open (default: an empty temp folder)
 *   userSettings?: object,              merged over the harness's quiet defaults
 *   workspaceTrust?: boolean,           true: trust on as in a user's VS Code, the folder untrusted (default: trust off)
 *   screenshotDir?: string,             where a screenshot goes when the session fails
 *   timeoutMs?: number,                 whole session (default 180 s)
 *   env?: Record<string,string>,        extra environment for code-server and the extension host
 *   onLog?: (type: string, message: string) => void,
 * }} options
 * @returns {Promise<number>}
 */
export async function runExtensionTests(options) {
  const { extensionTestsPath = MOCHA_IN_HOST, testFiles, summaryPath, grep, testTimeoutMs } = options;
  requireAbsolute('extensionTestsPath', extensionTestsPath);
  for (const f of testFiles ?? []) requireAbsolute('testFiles entry', f);
  const env = {
    // Lets a suite check it runs in the session it was meant for (see cli.mjs).
    CASPO_VSCODE_WORKSPACE_TRUST: options.workspaceTrust ? 'enabled' : 'disabled',
    ...(testFiles ? { CASPO_VSCODE_TEST_FILES: JSON.stringify(testFiles) } : {}),
    ...(summaryPath ? { CASPO_VSCODE_TEST_SUMMARY: summaryPath } : {}),
    ...(grep ? { CASPO_VSCODE_TEST_GREP: grep } : {}),
    ...(testTimeoutMs ? { CASPO_VSCODE_TEST_TIMEOUT: String(testTimeoutMs) } : {}),
    ...options.env,
  };
  return session({ ...options, env }, (remote) => [['extensionTestsPath', remote(extensionTestsPath)]], (_page, { exited }) => exited);
}

/**
 * Open the workbench with the extension loaded (no test module) and let `ui` drive it like a person.
 * `ui(page, workbench)` gets the Playwright page and helpers: runCommand(title), screenshot(name).
 * Resolves with ui's result.
 * @template T
 * @param {{ extensionDevelopmentPath: string, ui: (page: import('playwright-core').Page, workbench: Workbench) => Promise<T>,
 *   workspaceFolder?: string, userSettings?: object, workspaceTrust?: boolean, screenshotDir?: string, timeoutMs?: number, env?: Record<string,string> }} options
 * @returns {Promise<T>}
 */
export async function withWorkbench(options) {
  if (typeof options.ui !== 'function') throw new Error('withWorkbench needs a ui(page, workbench) callback');
  return session(options, () => [], async (page) => {
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible' });
    return options.ui(page, workbenchHelpers(page, options.screenshotDir));
  });
}

/**
 * @typedef {{ runCommand: (title: string) => Promise<void>, screenshot: (name: string) => Promise<string> }} Workbench
 * @returns {Workbench}
 */
function workbenchHelpers(page, screenshotDir) {
  return {
    // F1, type the title, wait for the matching palette row, Enter. The palette lists an
    // extension's commands only once its package.json is scanned, so retry until the row shows.
    // The workbench is clicked for focus only when nothing in it has focus: a click in an editor
    // would move its cursor, and commands read the current line.
    async runCommand(title, { timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const input = page.locator('.quick-input-widget .quick-input-box input');
      for (;;) {
        const focused = await page.evaluate(() => document.activeElement?.closest('.monaco-workbench') != null);
        if (!focused) await page.locator('.monaco-workbench .part.editor').click();
        await page.keyboard.press('F1');
        await input.waitFor({ state: 'visible' });
        await page.keyboard.type(title);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        try {
          await row.waitFor({ state: 'visible', timeout: Math.min(10_000, Math.max(deadline - Date.now(), 1)) });
          await page.keyboard.press('Enter');
          await input.waitFor({ state: 'hidden' });
          return;
        } catch (err) {
          await page.keyboard.press('Escape');
          if (Date.now() >= deadline) throw new Error(`command palette never offered "${title}" (${err.message.split('\n')[0]})`);
        }
      }
    },
    async screenshot(name) {
      if (!screenshotDir) throw new Error('screenshot() needs screenshotDir in the withWorkbench options');
      mkdirSync(screenshotDir, { recursive: true });
      const file = path.join(screenshotDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
  };
}
