// The extensionTestsPath module: VS Code loads it inside the extension host and awaits run().
// It runs mocha (the project's own copy) over the test files named in the environment, prints each
// result through console (the workbench forwards it to codeAutomationLog / the terminal) and writes
// a JSON summary { passes, failures, pending, failedTitles } for the outer runner.
//
// Environment (set by runExtensionTests.mjs or electron.mjs):
//   CASPO_VSCODE_TEST_FILES    JSON array of absolute paths: files, or folders searched for *.test.js
//                              (default: <repo>/out/test/vscode)
//   CASPO_VSCODE_TEST_SUMMARY  where to write the JSON summary (optional)
//   CASPO_VSCODE_TEST_GREP     only tests whose full title matches (optional)
//   CASPO_VSCODE_TEST_TIMEOUT  per-test timeout in ms (default 60000)
// and, for the tests themselves, CASPO_VSCODE_WORKSPACE_TRUST: 'enabled' when the session runs with
// workspace trust on (its folder untrusted), 'disabled' when trust is off.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..');
// Resolve mocha from the project, never from wherever the extension host happens to run.
const Mocha = require(path.join(repoRoot, 'node_modules', 'mocha'));

function testFilesUnder(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFilesUnder(full));
    else if (/\.test\.(c|m)?js$/.test(entry.name)) found.push(full);
  }
  return found;
}

function requestedTestFiles() {
  const raw = process.env.CASPO_VSCODE_TEST_FILES;
  const entries = raw ? JSON.parse(raw) : [path.join(repoRoot, 'out', 'test', 'vscode')];
  if (!Array.isArray(entries)) throw new Error('CASPO_VSCODE_TEST_FILES must be a JSON array of absolute paths');
  const files = [];
  for (const entry of entries) {
    if (!path.isAbsolute(entry)) throw new Error(`CASPO_VSCODE_TEST_FILES: ${entry} is not an absolute path`);
    if (!fs.existsSync(entry)) throw new Error(`CASPO_VSCODE_TEST_FILES: ${entry} does not exist (compiled the tests?)`);
    files.push(...(fs.statSync(entry).isDirectory() ? testFilesUnder(entry) : [entry]));
  }
  if (files.length === 0) throw new Error(`no *.test.js files in ${entries.join(', ')}`);
  return files.sort();
}

function writeSummary(summary) {
  const file = process.env.CASPO_VSCODE_TEST_SUMMARY;
  if (file) fs.writeFileSync(file, JSON.stringify(summary));
}

// One line for the summary: the message with its whitespace (and assert's diff) folded.
function firstLine(err) {
  const text = String(err && err.message ? err.message : err).replace(/\s+/g, ' ').trim();
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

// One console line per test, so the outer runner's log shows progress as it happens.
class ConsoleReporter {
  constructor(runner) {
    const { constants } = Mocha.Runner;
    this.failedTitles = [];
    runner.on(constants.EVENT_TEST_PASS, (test) => console.log(`  ✓ ${test.fullTitle()} (${test.duration} ms)`));
    runner.on(constants.EVENT_TEST_PENDING, (test) => console.log(`  - ${test.fullTitle()} (pending)`));
    runner.on(constants.EVENT_TEST_FAIL, (test, err) => {
      this.failedTitles.push(`${test.fullTitle()}: ${firstLine(err)}`);
      console.log(`  ✗ ${test.fullTitle()}\n${String((err && err.stack) || err).replace(/^/gm, '      ')}`);
    });
    runner.once(constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      console.log(`in-host mocha: ${s.passes} passing, ${s.failures} failing, ${s.pending} pending`);
      writeSummary({ passes: s.passes, failures: s.failures, pending: s.pending, failedTitles: this.failedTitles });
    });
  }
}

async function run() {
  let mocha;
  try {
    mocha = new Mocha({
      ui: 'bdd',
      color: false,
      timeout: Number(process.env.CASPO_VSCODE_TEST_TIMEOUT || 60000),
      grep: process.env.CASPO_VSCODE_TEST_GREP || undefined,
      reporter: ConsoleReporter,
    });
    for (const file of requestedTestFiles()) mocha.addFile(file);
    await mocha.loadFilesAsync();
  } catch (err) {
    // A test file that cannot load is a failure the outer runner must count, not a silent zero.
    writeSummary({ passes: 0, failures: 1, pending: 0, failedTitles: [`loading in-host tests: ${firstLine(err)}`] });
    console.error(`in-host mocha could not load the tests: ${(err && err.stack) || err}`);
    throw err;
  }
  const failures = await new Promise((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} in-host test(s) failed`);
}

module.exports = { run };
