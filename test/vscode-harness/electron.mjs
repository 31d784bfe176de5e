// The same in-host suites under @vscode/test-electron (desktop VS Code), for machines where VS Code
// is installed or can be downloaded. Offline (as on the project's own machines) the download fails
// with ENOTFOUND; that is reported as such, pointing at the code-server runner.
//
// Environment: CASPO_VSCODE_EXECUTABLE  an installed VS Code binary (skips the download)
//              CASPO_VSCODE_VERSION     the version to download (default 1.100.3, code-server's)
// Linux without a display needs a virtual one: `xvfb-run -a npm run test:electron`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { BASE_USER_SETTINGS } from './codeServer.mjs';
import { MOCHA_IN_HOST } from './runExtensionTests.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_VSCODE_VERSION = '1.100.3';
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo/;

async function vscodeExecutable(version) {
  if (process.env.CASPO_VSCODE_EXECUTABLE) return process.env.CASPO_VSCODE_EXECUTABLE;
  try {
    return await downloadAndUnzipVSCode({ version, cachePath: path.join(root, '.cache', 'vscode-test'), timeout: 30_000 });
  } catch (err) {
    const text = `${err?.code ?? ''} ${err?.message ?? err}`;
    if (OFFLINE.test(text)) {
      throw new Error(`cannot download VS Code ${version} (${text.trim().split('\n')[0]}): this machine cannot reach ` +
        'update.code.visualstudio.com. Run the offline code-server harness instead (test/vscode-harness/cli.mjs, part of npm test), ' +
        'or set CASPO_VSCODE_EXECUTABLE to an installed VS Code.');
    }
    throw err;
  }
}

/**
 * Run extension tests in desktop VS Code. Same options as runExtensionTests (runExtensionTests.mjs),
 * except the browser-only ones (screenshotDir, onLog, timeoutMs). Resolves with VS Code's exit code.
 */
export async function runElectronTests({
  extensionDevelopmentPath,
  extensionTestsPath = MOCHA_IN_HOST,
  testFiles,
  summaryPath,
  grep,
  testTimeoutMs,
  workspaceFolder,
  userSettings = {},
  env = {},
  version = process.env.CASPO_VSCODE_VERSION || DEFAULT_VSCODE_VERSION,
}) {
  for (const [name, value] of Object.entries({ extensionDevelopmentPath, extensionTestsPath })) {
    if (typeof value !== 'string' || !path.isAbsolute(value)) throw new Error(`${name} must be an absolute path, got ${JSON.stringify(value)}`);
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.warn('electron: no DISPLAY; desktop VS Code needs one on Linux (run under `xvfb-run -a`)');
  }
  const vscodeExecutablePath = await vscodeExecutable(version);
  const scratch = mkdtempSync(path.join(tmpdir(), 'caspo-electron-'));
  try {
    const userData = path.join(scratch, 'user-data');
    mkdirSync(path.join(userData, 'User'), { recursive: true });
    writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...BASE_USER_SETTINGS, ...userSettings }, null, 2));
    const folder = workspaceFolder ?? path.join(scratch, 'workspace');
    mkdirSync(folder, { recursive: true });
    return await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: [folder, '--user-data-dir', userData, '--extensions-dir', path.join(scratch, 'extensions'), '--disable-extensions', '--disable-gpu'],
      extensionTestsEnv: {
        CASPO_VSCODE_WORKSPACE_TRUST: 'disabled', // runTests always passes --disable-workspace-trust
        ...(testFiles ? { CASPO_VSCODE_TEST_FILES: JSON.stringify(testFiles) } : {}),
        ...(summaryPath ? { CASPO_VSCODE_TEST_SUMMARY: summaryPath } : {}),
        ...(grep ? { CASPO_VSCODE_TEST_GREP: grep } : {}),
        ...(testTimeoutMs ? { CASPO_VSCODE_TEST_TIMEOUT: String(testTimeoutMs) } : {}),
        ...env,
      },
    });
  } catch (err) {
    // runTests rejects with "Test run failed with code N" when the tests fail: that is a result.
    const code = /Test run failed with code (\d+)/.exec(err?.message ?? '')?.[1];
    if (code !== undefined) return Number(code);
    throw err;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
