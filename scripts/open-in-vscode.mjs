// npm start: open the CASPO extension in VS Code with samples/arithmetic/problems.txt ready to solve.
//
//   node scripts/open-in-vscode.mjs [--code-server]
//
// - Desktop VS Code (`code` on PATH, unless --code-server): builds dist/ when a source is newer, then
//   `code --new-window --extensionDevelopmentPath=<repo> samples/arithmetic --goto problems.txt:LINE`
//   and returns (VS Code keeps running on its own).
// - Otherwise code-server (a real VS Code server + web workbench, installed into .cache/code-server
//   by scripts/install-code-server.mjs on first use): packages the linux-x64 VSIX when a source is
//   newer (npm run package), starts code-server on 127.0.0.1 with throw-away user-data and
//   extensions folders, installs the VSIX there, prints the URL that opens the sample folder with
//   problems.txt and stays in the foreground. Ctrl-C stops code-server and removes its folders.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCodeServer, CODE_SERVER_VERSION } from './install-code-server.mjs';
import { COPIED, defaultVsixPath, packageVsix } from './package-vsix.mjs';
import { startCodeServerWithVsix, workbenchUrl } from './lib/vsix-in-code-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sampleFolder = path.join(root, 'samples', 'arithmetic');
const sampleFile = path.join(sampleFolder, 'problems.txt');

// What the bundles and the VSIX are made from.
const BUNDLE_INPUTS = ['src', 'language-server/src', 'package.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/lib'];
const VSIX_INPUTS = [...BUNDLE_INPUTS, ...COPIED, 'scripts/package-vsix.mjs'];

function newestMtime(rel) {
  const full = path.join(root, rel);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(full).map((name) => newestMtime(path.join(rel, name))));
}

/** True when one of `outputs` is missing or older than the newest of `inputs`. */
function stale(outputs, inputs) {
  const newestInput = Math.max(...inputs.map(newestMtime));
  return outputs.some((rel) => !existsSync(path.join(root, rel)) || statSync(path.join(root, rel)).mtimeMs < newestInput);
}

/** The first line of the sample file that is a problem (not a comment, not blank), 1-based. */
function firstProblemLine() {
  const lines = readFileSync(sampleFile, 'utf8').split('\n');
  const index = lines.findIndex((l) => l.trim() && !l.trim().startsWith('#'));
  return index >= 0 ? index + 1 : 1;
}

function which(command) {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function fail(message) {
  console.error(`open-in-vscode: ${message}`);
  process.exit(1);
}

async function openDesktop(code) {
  if (stale(['dist/extension.js', 'dist/server.js'], BUNDLE_INPUTS)) {
    console.log('Building the extension (scripts/build.mjs)...');
    const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) fail('the build failed');
  }
  const args = ['--new-window', `--extensionDevelopmentPath=${root}`, sampleFolder, '--goto', `${sampleFile}:${firstProblemLine()}`];
  console.log(`${code} ${args.join(' ')}`);
  const child = spawn(code, args, { stdio: 'inherit' });
  const status = await new Promise((resolve) => child.once('exit', resolve).once('error', (err) => resolve(err.message)));
  if (status !== 0) fail(`${code} exited with ${status}`);
  console.log('VS Code opened the sample problems: put the cursor on a problem and run "CASPO: Solve with CASPO" (F1).');
}

async function openCodeServer() {
  try {
    console.log(installCodeServer());
  } catch (err) {
    fail(err.message);
  }
  const vsix = defaultVsixPath();
  if (stale([path.relative(root, vsix)], VSIX_INPUTS)) {
    console.log('Packaging the extension (npm run package)...');
    await packageVsix({ out: vsix });
  }

  let server;
  const stopping = () => console.log('\nStopping code-server...');
  process.once('SIGINT', stopping); // runs before the harness's handler, which kills the tree and exits
  process.once('SIGTERM', stopping);
  try {
    ({ server } = await startCodeServerWithVsix({ vsix }));
  } catch (err) {
    fail(err.message);
  }
  const url = workbenchUrl(server, sampleFolder, sampleFile, firstProblemLine());
  console.log([
    '',
    `CASPO in VS Code (code-server ${CODE_SERVER_VERSION}, the extension installed from ${path.relative(root, vsix)}). Open:`,
    '',
    `  ${url}`,
    '',
    'problems.txt opens with the cursor on a problem: press F1, type "CASPO: Solve with CASPO", Enter.',
    'Ctrl-C stops code-server.',
  ].join('\n'));

  // Foreground until Ctrl-C; if code-server dies on its own, say so and exit.
  setInterval(() => {
    try {
      process.kill(server.pid, 0);
    } catch {
      console.error(`code-server exited:\n${server.output().split('\n').slice(-15).join('\n')}`);
      process.exit(1);
    }
  }, 2000);
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--code-server');
if (unknown.length) {
  console.error('usage: node scripts/open-in-vscode.mjs [--code-server]');
  process.exit(2);
}
const code = args.includes('--code-server') ? undefined : which('code');
if (code) await openDesktop(code);
else await openCodeServer();
