// Command line for the in-host VS Code suites (what `npm test`'s vscode phase and `test:electron` run).
//
//   node test/vscode-harness/cli.mjs [--electron] [--extension DIR] [--tests PATH]... [--untrusted-tests PATH]...
//                                    [--summary FILE] [--grep RE] [--timeout MS] [--screenshots DIR]
//
// Defaults: the extension is the repository (package.json at the root), the tests are
// out/test/vscode/**/*.test.js, failure screenshots go to test-artifacts/vscode/. Without --electron
// the tests run offline in code-server + chromium (installed on first use), in two sessions:
//   1. every test, workspace trust off (the folder counts as trusted);
//   2. the --untrusted-tests (default, unless --tests is given: the workspace-trust suite
//      out/test/vscode/settings.test.js) again with trust on, so the folder opens untrusted
//      (Restricted Mode) and the suite takes its untrusted branch. The harness tells the tests
//      which session they are in: CASPO_VSCODE_WORKSPACE_TRUST=enabled|disabled.
// Desktop VS Code under @vscode/test-electron always disables trust, so --electron runs only 1.
// Prints `vscode: N passed, N failed` (both sessions), writes their merged summary to --summary and
// exits non-zero when a session's extension host did or a test failed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installCodeServer, runExtensionTests } from './runExtensionTests.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    electron: { type: 'boolean', default: false },
    extension: { type: 'string', default: root },
    tests: { type: 'string', multiple: true },
    'untrusted-tests': { type: 'string', multiple: true },
    summary: { type: 'string' },
    grep: { type: 'string' },
    timeout: { type: 'string', default: '300000' },
    screenshots: { type: 'string', default: path.join(root, 'test-artifacts', 'vscode') },
  },
});

const scratch = mkdtempSync(path.join(tmpdir(), 'caspo-vscode-'));
const options = {
  extensionDevelopmentPath: path.resolve(values.extension),
  testFiles: values.tests?.map((t) => path.resolve(t)),
  grep: values.grep,
  timeoutMs: Number(values.timeout),
  screenshotDir: path.resolve(values.screenshots),
};
const untrustedTests = (values['untrusted-tests'] ?? (values.tests ? [] : [path.join(root, 'out', 'test', 'vscode', 'settings.test.js')]))
  .map((t) => path.resolve(t));
const sessions = [{ name: 'trust off', options: { ...options, summaryPath: path.join(scratch, 'trust-off.json') } }];
if (untrustedTests.length && !values.electron) {
  sessions.push({
    name: 'untrusted workspace',
    options: { ...options, testFiles: untrustedTests, workspaceTrust: true, summaryPath: path.join(scratch, 'untrusted.json') },
  });
}

async function runSession({ name, options: sessionOptions }) {
  let exitCode;
  try {
    if (values.electron) {
      const { runElectronTests } = await import('./electron.mjs');
      exitCode = await runElectronTests(sessionOptions);
    } else {
      exitCode = await runExtensionTests(sessionOptions);
    }
  } catch (err) {
    console.error(`vscode tests (${name}) could not run: ${err.message}`);
    return { exitCode: 2, summary: undefined };
  }
  try {
    return { exitCode, summary: JSON.parse(readFileSync(sessionOptions.summaryPath, 'utf8')) };
  } catch {
    console.error(`vscode tests (${name}): the extension host exited ${exitCode} without writing ${sessionOptions.summaryPath}`);
    return { exitCode: exitCode || 2, summary: undefined };
  }
}

if (!values.electron) console.log(installCodeServer());
const results = [];
for (const session of sessions) {
  if (sessions.length > 1) console.log(`vscode session: ${session.name}`);
  results.push({ ...session, ...(await runSession(session)) });
}

if (results.every((r) => !r.summary)) process.exit(Math.max(...results.map((r) => r.exitCode)) || 2);
// One summary for both sessions; a session that reported nothing counts as one failure.
const merged = { passes: 0, failures: 0, pending: 0, failedTitles: [] };
for (const { name, summary, exitCode } of results) {
  const label = (title) => (name === 'trust off' ? title : `[${name}] ${title}`);
  if (!summary) {
    merged.failures += 1;
    merged.failedTitles.push(label(`no results (extension host exit ${exitCode})`));
    continue;
  }
  merged.passes += summary.passes;
  merged.failures += summary.failures;
  merged.pending += summary.pending;
  merged.failedTitles.push(...summary.failedTitles.map(label));
}
if (values.summary) writeFileSync(values.summary, JSON.stringify(merged));
for (const title of merged.failedTitles) console.log(`  failed: ${title}`);
console.log(`vscode: ${merged.passes} passed, ${merged.failures} failed${merged.pending ? `, ${merged.pending} skipped` : ''}`);
process.exit(results.some((r) => r.exitCode !== 0) || merged.failures ? 1 : 0);
