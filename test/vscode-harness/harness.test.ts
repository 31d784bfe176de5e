// Tests of the VS Code test harness itself, with the sample extension in ./sample: its in-host tests
// pass through a real extension host, a deliberately failing one is counted as a failure, a test
// module that never reports ends in the harness's timeout, the workbench can be driven by the
// command palette like a person would, and workspaceTrust opens the folder untrusted.
//
//   npx mocha --import=tsx test/vscode-harness/harness.test.ts
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installCodeServer, runExtensionTests, withWorkbench, type TestSummary } from './runExtensionTests.mjs';

const root = path.resolve(__dirname, '..', '..');
const sample = path.join(__dirname, 'sample');
const artifacts = path.join(root, 'test-artifacts', 'vscode-harness');
const GREETING = 'Hello from the CASPO harness sample';

describe('VS Code test harness (code-server + chromium, real extension host)', function () {
  this.timeout(240_000);
  let scratch: string;

  before(function () {
    this.timeout(600_000); // first run on a fresh machine installs code-server (about a minute)
    console.log(`      ${installCodeServer()}`);
    scratch = mkdtempSync(path.join(tmpdir(), 'caspo-harness-test-'));
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  async function runSample(testFile: string, name: string) {
    const summaryPath = path.join(scratch, `${name}.json`);
    const exitCode = await runExtensionTests({
      extensionDevelopmentPath: sample,
      testFiles: [path.join(sample, 'test', testFile)],
      summaryPath,
      screenshotDir: artifacts,
      timeoutMs: 180_000,
    });
    assert.ok(existsSync(summaryPath), 'the in-host runner should write its summary');
    const summary: TestSummary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    return { exitCode, summary };
  }

  it('runs the sample extension\'s tests in the extension host and reports them passing', async () => {
    const { exitCode, summary } = await runSample('sample.test.js', 'passing');
    assert.deepEqual(summary, { passes: 2, failures: 0, pending: 0, failedTitles: [] });
    assert.equal(exitCode, 0);
  });

  it('reports a failing in-host test as a failure with a non-zero exit code', async () => {
    const { exitCode, summary } = await runSample('failing.test.js', 'failing');
    assert.equal(summary.passes, 1);
    assert.equal(summary.failures, 1);
    assert.equal(summary.failedTitles.length, 1);
    assert.match(summary.failedTitles[0], /fails on purpose: the greeting is not this: .*Hello from the CASPO harness sample/);
    assert.notEqual(exitCode, 0);
  });

  it('fails with a clear message when the extension host never reports a result', async () => {
    await assert.rejects(
      runExtensionTests({
        extensionDevelopmentPath: sample,
        extensionTestsPath: path.join(sample, 'hangingTests.cjs'),
        timeoutMs: 25_000,
      }),
      /did not finish within 25000 ms/,
    );
  });

  it('runs the sample command from the command palette and shows its effect in the editor', async () => {
    const { text, screenshot } = await withWorkbench({
      extensionDevelopmentPath: sample,
      screenshotDir: artifacts,
      timeoutMs: 180_000,
      ui: async (page, workbench) => {
        await workbench.runCommand('CASPO Sample: Insert Harness Greeting');
        const lines = page.locator('.monaco-editor .view-lines', { hasText: GREETING });
        await lines.waitFor({ state: 'visible' });
        return { text: await lines.innerText(), screenshot: await workbench.screenshot('palette-greeting') };
      },
    });
    assert.equal(text.replace(/\u00a0/g, ' ').trim(), GREETING);
    assert.ok(statSync(screenshot).size > 10_000, `screenshot ${screenshot} should hold a rendered workbench`);
  });

  it('opens the folder untrusted (Restricted Mode) with workspaceTrust', async () => {
    // (Trust off, the default, is checked in host: test/vscode/settings.test.ts asserts isTrusted.)
    await withWorkbench({
      extensionDevelopmentPath: sample,
      workspaceTrust: true,
      screenshotDir: artifacts,
      timeoutMs: 180_000,
      ui: (page) => page.locator('.monaco-workbench .part.statusbar', { hasText: 'Restricted Mode' }).waitFor(),
    });
  });
});
