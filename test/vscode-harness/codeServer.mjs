// Starts and stops one code-server (VS Code server + web workbench) for a test run: bound to
// 127.0.0.1 on a port the OS picks, with throw-away user-data, extensions and XDG folders and a
// pre-written user settings.json. stop() kills the whole process tree; so does Ctrl-C or an exit of
// the test process while a server is up.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { codeServerBin, isCodeServerInstalled, CODE_SERVER_VERSION } from '../../scripts/install-code-server.mjs';

// Quiet, deterministic workbench: no welcome page, no update/telemetry/experiment traffic.
export const BASE_USER_SETTINGS = Object.freeze({
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'chat.disableAIFeatures': true,
});

// With workspaceTrust: trust is on, as in a user's VS Code, and a folder the fresh user-data has never
// seen is untrusted (Restricted Mode). No start-up prompt, so the folder stays untrusted and nothing
// modal blocks the workbench; files from outside the folder open without asking.
export const WORKSPACE_TRUST_USER_SETTINGS = Object.freeze({
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
});

const live = new Set();

// Every descendant of `pid`, read from /proc (children first found, then theirs).
function descendants(pid) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function signalTree(pid, signal) {
  const pids = descendants(pid); // before the group signal: orphans get re-parented to init
  try {
    process.kill(-pid, signal); // the process group we created with `detached`
  } catch {
    // group already gone
  }
  for (const p of pids) {
    try {
      process.kill(p, signal); // children that left the group (setsid, e.g. terminals)
    } catch {
      // already gone
    }
  }
}

function killAllNow() {
  for (const server of live) {
    signalTree(server.pid, 'SIGKILL');
    try {
      rmSync(server.baseDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a dying child may still write there; a leftover temp folder is harmless
    }
  }
}

function onSignal(signal) {
  killAllNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function track(server) {
  if (live.size === 0) {
    process.on('exit', killAllNow);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(server);
}

function untrack(server) {
  live.delete(server);
  if (live.size === 0) {
    process.off('exit', killAllNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function waitForHealthz(origin, child, deadline) {
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('code-server exited before /healthz answered');
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // poll interval, not a readiness guess
  }
  throw new Error(`code-server /healthz did not answer OK (${lastError})`);
}

/**
 * Start code-server. Resolves once /healthz answers. workspaceTrust: true starts it without
 * --disable-workspace-trust and with WORKSPACE_TRUST_USER_SETTINGS, so the opened folder is untrusted.
 * @param {{ userSettings?: object, workspaceTrust?: boolean, env?: Record<string,string>, startTimeoutMs?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<{ origin: string, port: number, pid: number, userDataDir: string, output: () => string, stop: () => Promise<void> }>}
 */
export async function startCodeServer({ userSettings = {}, workspaceTrust = false, env = {}, startTimeoutMs = 60_000, log } = {}) {
  if (!isCodeServerInstalled()) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed: run \`node scripts/install-code-server.mjs\` (needs .ci/install-system-deps)`);
  }
  const base = mkdtempSync(path.join(tmpdir(), 'caspo-code-server-'));
  const dirs = {
    userData: path.join(base, 'user-data'),
    extensions: path.join(base, 'extensions'),
    xdgConfig: path.join(base, 'xdg-config'),
    xdgData: path.join(base, 'xdg-data'),
    xdgCache: path.join(base, 'xdg-cache'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...BASE_USER_SETTINGS, ...(workspaceTrust ? WORKSPACE_TRUST_USER_SETTINGS : {}), ...userSettings }, null, 2));

  const args = [
    codeServerBin,
    '--config', '/dev/null',
    '--auth', 'none',
    '--bind-addr', '127.0.0.1:0', // the OS picks a free port; code-server prints it
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--disable-telemetry',
    '--disable-update-check',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  const child = spawn(process.execPath, args, {
    detached: true, // own process group, so stop() reaches every child
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: dirs.xdgConfig,
      XDG_DATA_HOME: dirs.xdgData,
      XDG_CACHE_HOME: dirs.xdgCache,
      // No extension gallery: the tests stay offline even where open-vsx.org is reachable.
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }),
      ...env,
    },
  });
  let output = '';
  let stopped;
  const server = {
    pid: child.pid,
    baseDir: base,
    userDataDir: dirs.userData,
    origin: '',
    port: 0,
    output: () => output,
    stop: () => (stopped ??= stop()),
  };
  track(server);

  async function stop() {
    const tree = descendants(child.pid); // snapshot: orphans are re-parented once the server exits
    const killTree = (signal) => {
      signalTree(child.pid, signal);
      for (const p of tree) {
        try {
          process.kill(p, signal);
        } catch {
          // already gone
        }
      }
    };
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      killTree('SIGTERM');
      let timer;
      const gentle = await Promise.race([exited.then(() => true), new Promise((r) => (timer = setTimeout(r, 5000, false)))]);
      clearTimeout(timer);
      if (!gentle) killTree('SIGKILL');
      await exited;
    }
    killTree('SIGKILL'); // anything in the group or the snapshot that ignored SIGTERM
    untrack(server);
    rmSync(base, { recursive: true, force: true });
  }

  try {
    const deadline = Date.now() + startTimeoutMs;
    server.origin = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not report its address in ${startTimeoutMs} ms`)), startTimeoutMs);
      const onData = (chunk) => {
        const text = chunk.toString();
        output += text;
        if (log) for (const line of text.split('\n')) if (line.trim()) log(`[code-server] ${line}`);
        const match = output.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:(\d+))\//);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) => reject(new Error(`cannot start code-server: ${err.message}`)));
      child.once('exit', (code, signal) => reject(new Error(`code-server exited (${signal ?? code}) before listening:\n${output}`)));
    });
    server.port = Number(new URL(server.origin).port);
    await waitForHealthz(server.origin, child, deadline);
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}
