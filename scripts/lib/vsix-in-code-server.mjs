// code-server with the packaged extension INSTALLED (not loaded as a development extension): used by
// scripts/open-in-vscode.mjs and test/vscode-harness/vsix.test.ts.
//
// The server is the test harness's (test/vscode-harness/codeServer.mjs: 127.0.0.1, a port the OS
// picks, throw-away user-data/extensions/XDG folders, stop() kills the process tree). The VSIX is
// installed into that server's extensions folder with code-server's own CLI
// (`--install-extension FILE.vsix --extensions-dir DIR`) after it starts and before any workbench
// connects: the extension host reads the extensions folder when a window opens.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeServerBin } from '../install-code-server.mjs';
import { startCodeServer } from '../../test/vscode-harness/codeServer.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `publisher.name@version` of this repository's extension. */
export function extensionIdWithVersion() {
  const { publisher, name, version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return `${publisher}.${name}@${version}`;
}

function codeServerCli(server, extensionsDir, args) {
  const result = spawnSync(process.execPath, [
    codeServerBin, '--config', '/dev/null', '--user-data-dir', server.userDataDir, '--extensions-dir', extensionsDir, ...args,
  ], {
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...process.env,
      XDG_CONFIG_HOME: path.join(server.baseDir, 'xdg-config'),
      XDG_DATA_HOME: path.join(server.baseDir, 'xdg-data'),
      XDG_CACHE_HOME: path.join(server.baseDir, 'xdg-cache'),
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }), // offline: never ask a gallery
    },
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}` };
}

/**
 * Start code-server and install `vsix` into its extensions folder. On any failure the server is
 * stopped and the error says why.
 * @param {{ vsix: string, userSettings?: object, log?: (line: string) => void }} options
 * @returns {Promise<{ server: Awaited<ReturnType<typeof startCodeServer>>, extensionsDir: string, installed: string, installMs: number }>}
 */
export async function startCodeServerWithVsix({ vsix, userSettings = {}, log } = {}) {
  if (!vsix || !existsSync(vsix)) throw new Error(`no VSIX at ${vsix}: run npm run package`);
  const server = await startCodeServer({ userSettings, log });
  try {
    const extensionsDir = path.join(server.baseDir, 'extensions'); // codeServer.mjs passes this as --extensions-dir
    if (!existsSync(extensionsDir)) throw new Error(`code-server's extensions folder ${extensionsDir} is missing (codeServer.mjs changed?)`);
    const started = Date.now();
    const install = codeServerCli(server, extensionsDir, ['--install-extension', vsix]);
    if (!install.ok || !/successfully installed/i.test(install.output)) {
      throw new Error(`code-server --install-extension ${vsix} failed:\n${install.output}`);
    }
    const installMs = Date.now() - started;
    const list = codeServerCli(server, extensionsDir, ['--list-extensions', '--show-versions']);
    const wanted = extensionIdWithVersion();
    const installed = list.output.split('\n').map((l) => l.trim()).find((l) => l.toLowerCase() === wanted.toLowerCase());
    if (!list.ok || !installed) throw new Error(`code-server does not list ${wanted} after the install:\n${list.output}`);
    return { server, extensionsDir, installed, installMs };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * The workbench URL that opens `folder` and, when given, `file` in an editor with the cursor on
 * `line` (1-based; default the first).
 * @param {{ origin: string, port: number }} server
 * @param {string} folder absolute
 * @param {string} [file] absolute
 * @param {number} [line]
 */
export function workbenchUrl(server, folder, file, line) {
  let url = `${server.origin}/?folder=${encodeURIComponent(folder)}`;
  if (file) {
    const uri = `vscode-remote://127.0.0.1:${server.port}${file}`;
    const payload = line ? [['openFile', `${uri}:${line}`], ['gotoLineMode', 'true']] : [['openFile', uri]];
    url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }
  return url;
}
