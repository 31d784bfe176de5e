// Installs code-server (a real VS Code server + web workbench) into .cache/code-server/, outside
// node_modules, for the offline VS Code integration tests (test/vscode-harness/).
//
//   node scripts/install-code-server.mjs        install unless the right version is already there
//
// 4.100.3 (VS Code 1.100.3) is the newest code-server whose engines allow Node 20. Its install
// scripts must run (native modules, the VS Code server's own npm install), and @vscode/ripgrep's
// script downloads rg from GitHub, which is unreachable here: its download cache is pre-filled with
// a tarball of Debian's rg (package `ripgrep`, see .ci/install-system-deps).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
// The @vscode/ripgrep release inside code-server 4.100.3 (lib/vscode/node_modules) and the rg
// release its postinstall asks for; checked after every install (see checkRipgrepExpectation).
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_TARGET = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch];
const RIPGREP_ASSET = `ripgrep-v13.0.0-10-${RIPGREP_TARGET}.tar.gz`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, '.cache', 'code-server');
const installDir = path.join(cacheDir, CODE_SERVER_VERSION);
const marker = path.join(installDir, '.installed');

/** Absolute path of the installed code-server launcher (may not exist yet). */
export const codeServerBin = path.join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export function isCodeServerInstalled() {
  if (!existsSync(marker) || !existsSync(codeServerBin)) return false;
  const pkg = path.join(installDir, 'node_modules', 'code-server', 'package.json');
  return JSON.parse(readFileSync(pkg, 'utf8')).version === CODE_SERVER_VERSION;
}

function fail(message) {
  throw new Error(`install-code-server: ${message}`);
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// A tarball holding Debian's rg as `rg`, named as @vscode/ripgrep's download would be.
function prefillRipgrepCache(tmp) {
  if (process.platform !== 'linux' || !RIPGREP_TARGET) fail(`only Linux x64/arm64 is supported, not ${process.platform} ${process.arch}`);
  const rg = which('rg');
  if (!rg) fail('Debian ripgrep is missing (`rg` not on PATH): run .ci/install-system-deps');
  const dir = path.join(tmp, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  mkdirSync(dir, { recursive: true });
  const stage = path.join(tmp, 'rg-stage');
  mkdirSync(stage, { recursive: true });
  const copy = spawnSync('cp', ['-L', rg, path.join(stage, 'rg')]);
  if (copy.status !== 0) fail(`cannot copy ${rg}`);
  const tar = spawnSync('tar', ['czf', path.join(dir, RIPGREP_ASSET), '-C', stage, 'rg'], { encoding: 'utf8' });
  if (tar.status !== 0) fail(`tar failed: ${tar.stderr}`);
}

// If code-server's pinned @vscode/ripgrep ever differs, the pre-filled cache is not used: say so.
function checkRipgrepExpectation(dir) {
  const pkg = path.join(dir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep');
  const version = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
  if (version !== RIPGREP_PACKAGE_VERSION) {
    fail(`code-server ships @vscode/ripgrep ${version}, this script pre-fills the cache for ${RIPGREP_PACKAGE_VERSION}: update RIPGREP_PACKAGE_VERSION / RIPGREP_ASSET`);
  }
  if (!existsSync(path.join(pkg, 'bin', 'rg'))) fail(`@vscode/ripgrep has no bin/rg in ${pkg}`);
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// One installer at a time (the harness test and the vscode phase may both call this): a lock
// folder holding the owner's pid; a lock whose owner is gone is taken over.
function acquireInstallLock(timeoutMs = 15 * 60_000) {
  const lock = `${installDir}.lock`;
  const deadline = Date.now() + timeoutMs;
  mkdirSync(cacheDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    } catch {
      // owner has not written its pid yet, or just released the lock
    }
    let ageMs = 0;
    try {
      ageMs = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile: try again
    }
    if ((owner && !processAlive(owner)) || (!owner && ageMs > 60_000)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) fail(`another install (pid ${owner}) still holds ${lock} after ${timeoutMs / 1000} s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500); // poll the lock, synchronously
  }
}

export function installCodeServer() {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  if (isCodeServerInstalled()) {
    return `code-server ${CODE_SERVER_VERSION}: already installed in ${path.relative(root, installDir)} (checked in ${seconds()} s)`;
  }
  const release = acquireInstallLock();
  try {
    if (isCodeServerInstalled()) {
      return `code-server ${CODE_SERVER_VERSION}: installed by another process into ${path.relative(root, installDir)} (waited ${seconds()} s)`;
    }
    return installLocked(started);
  } finally {
    release();
  }
}

// What code-server's install builds with: Debian's rg (see above), and a compiler and the Kerberos
// headers for its native modules (kerberos, node-pty).
const BUILD_PACKAGES = [
  { name: 'ripgrep', present: () => Boolean(which('rg')) },
  { name: 'libkrb5-dev', present: () => existsSync('/usr/include/krb5.h') || existsSync('/usr/include/krb5/krb5.h') },
  { name: 'build-essential', present: () => Boolean(which('g++') && which('make')) },
];

/** The Debian packages code-server's install needs and this machine lacks (names, for apt-get). */
export function missingBuildPackages() {
  return BUILD_PACKAGES.filter((p) => !p.present()).map((p) => p.name);
}

// As root, installs what is missing (apt-get, Debian's repositories); otherwise says the command to run.
function ensureBuildPackages() {
  const missing = missingBuildPackages();
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    fail(`code-server's install needs the Debian packages ${missing.join(', ')}: run \`sudo ${command}\` (or sudo .ci/install-system-deps, which the tests need too), then run this again`);
  }
  console.log(`Installing ${missing.join(', ')} for code-server (${command})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...missing]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) fail(`apt-get ${args[0]} failed (exit ${r.status ?? r.error?.message}): install ${missing.join(', ')} by hand, then run this again`);
  }
  const still = missingBuildPackages();
  if (still.length) fail(`still missing after apt-get: ${still.join(', ')}`);
}

function installLocked(started) {
  ensureBuildPackages();
  // Install into a side folder and rename it into place, so an interrupted install never looks done.
  const partial = `${installDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const tmp = path.join(partial, '.tmp');
  mkdirSync(tmp, { recursive: true });
  prefillRipgrepCache(tmp);
  const env = {
    ...process.env,
    TMPDIR: tmp,
    npm_config_dangerously_allow_all_scripts: 'true',
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true', // node-pty's install runs `npx node-gyp`
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-save', '--prefix', partial, `code-server@${CODE_SERVER_VERSION}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
    fail(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${result.status ?? result.error?.message}). ` +
      `Needs the Debian packages in .ci/install-system-deps (chromium, ripgrep, libkrb5-dev, build-essential).\n${tail}`);
  }
  checkRipgrepExpectation(partial);
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(path.join(partial, '.installed'), `${CODE_SERVER_VERSION}\n`);
  rmSync(installDir, { recursive: true, force: true });
  renameSync(partial, installDir);
  return `code-server ${CODE_SERVER_VERSION}: installed in ${path.relative(root, installDir)} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(installCodeServer());
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
