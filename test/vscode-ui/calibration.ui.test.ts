// "CASPO: Show Calibration" in the workbench, driven like a person (code-server + chromium): F1,
// the command, and the webview panel titled "CASPO Calibration" shows the reliability diagram and
// the metrics the language server computed — read from the webview's own DOM and checked against
// `caspo eval` on the same problems. Running the command again reuses the panel and answers from
// the server's cache. Screenshot: test-artifacts/ui/calibration.png.
//
//   npx mocha --import=tsx test/vscode-ui/calibration.ui.test.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { installCodeServer, withWorkbench } from '../vscode-harness/runExtensionTests.mjs';
import { runCaspo } from '../cli/helpers';
import { makeProblemsWorkspace, type ProblemsWorkspace } from './problemsWorkspace';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'ui');
const PROBLEMS = 10; // the setting's minimum: quick to decode

/** The page inside the calibration webview (VS Code nests it: the webview host frame, then #active-frame). */
function calibrationPage(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

/** The metrics table as label → value, once it has the given row. */
async function metricsTable(frame: FrameLocator): Promise<Record<string, string>> {
  const rows = frame.locator('#metrics tr');
  await frame.locator('#metrics th', { hasText: 'ECE (10 bins)' }).waitFor({ timeout: 120_000 });
  const table: Record<string, string> = {};
  for (const row of await rows.all()) {
    const label = (await row.locator('th').innerText()).trim();
    table[label] = (await row.locator('td').first().innerText()).trim();
    const interval = (await row.locator('td.interval').innerText()).trim();
    if (interval) table[`${label} interval`] = interval;
  }
  return table;
}

describe('CASPO: Show Calibration in the workbench (code-server + chromium)', function () {
  this.timeout(300_000);
  let workspace: ProblemsWorkspace;

  before(function () {
    this.timeout(600_000); // first run on a fresh machine installs code-server
    console.log(`      ${installCodeServer()}`);
    workspace = makeProblemsWorkspace('calibration', { '.vscode/settings.json': JSON.stringify({ 'caspo.calibration.problems': PROBLEMS }) });
  });

  after(() => workspace?.remove());

  it('F1 → "Show Calibration": a "CASPO Calibration" panel with the diagram and the server\'s numbers; again → cached', async () => {
    const cli = await runCaspo(['eval', '--json', '--input', path.join(root, 'training', 'data', 'heldout.jsonl'), '--limit', String(PROBLEMS), '--ep', 'cpu']);
    assert.equal(cli.code, 0, cli.stderr);
    const expected = JSON.parse(cli.stdout);

    const seen = await withWorkbench({
      extensionDevelopmentPath: root,
      workspaceFolder: workspace.folder,
      screenshotDir: artifacts,
      timeoutMs: 240_000,
      ui: async (page, workbench) => {
        await workbench.runCommand('CASPO: Show Calibration');
        const tab = page.locator('.tabs-container .tab', { hasText: 'CASPO Calibration' });
        await tab.waitFor();
        const frame = calibrationPage(page);
        const table = await metricsTable(frame);

        assert.match(await frame.locator('#subtitle').innerText(), new RegExp(`caspo-arith · ${PROBLEMS} held-out problems · `));
        assert.match(table['Model'], /^caspo-arith \(cpu/);
        assert.equal(table['Problems'], `${PROBLEMS} held-out`);
        assert.equal(table['Answer accuracy'], `${(100 * expected.accuracy).toFixed(1)}%`);
        assert.equal(table['Steps'], `${expected.steps} (${expected.steps - expected.correctSteps} wrong)`);
        assert.ok(Math.abs(Number(table['ECE (10 bins)']) - expected.ece) <= 1.5e-4, `ECE shown ${table['ECE (10 bins)']}, caspo eval ${expected.ece}`);
        assert.ok(Math.abs(Number(table['Brier score']) - expected.brier) <= 1.5e-4, `Brier shown ${table['Brier score']}, caspo eval ${expected.brier}`);
        assert.equal(table['Step AUROC'], expected.stepAUROC === null ? 'n/a' : expected.stepAUROC.toFixed(4));
        assert.equal(table['Confidence metric'], `${expected.metric} (Platt map fitted)`);
        const fit = (JSON.parse(readFileSync(path.join(root, 'models', 'caspo-arith', 'caspo.json'), 'utf8')) as { fit: { steps: number; negatives: number } }).fit;
        assert.equal(table['Platt fit'], `${fit.negatives} wrong of ${fit.steps} steps`);
        // The server's bootstrap intervals, in the third column: the accuracy's holds the accuracy.
        const range = (label: string) => /^95 %: (\d+(?:\.\d+)?)%?–(\d+(?:\.\d+)?)%?$/.exec(table[`${label} interval`] ?? '');
        const accuracyRange = range('Answer accuracy');
        assert.ok(accuracyRange, `accuracy interval shown: ${table['Answer accuracy interval']}`);
        assert.ok(Number(accuracyRange[1]) <= 100 * expected.accuracy + 0.05 && 100 * expected.accuracy <= Number(accuracyRange[2]) + 0.05);
        assert.ok(range('ECE (10 bins)') && range('Brier score'), `ECE ${table['ECE (10 bins)']} ${table['ECE (10 bins) interval']}`);
        assert.equal(table['Steps interval'], undefined, 'counts have no interval');
        assert.doesNotMatch(table['Computed'], /cached/);

        // The diagram: the diagonal, and one bar per non-empty bin whose tooltip gives its count; the counts add up to the steps.
        assert.equal(await frame.locator('#diagram line.diagonal').count(), 1);
        const titles = await frame.locator('#diagram rect.bar title').allTextContents();
        assert.ok(titles.length >= 1);
        const counts = titles.map((t) => Number(/: (\d+) steps?,/.exec(t)?.[1]));
        assert.equal(counts.reduce((a, b) => a + b, 0), expected.steps, `bar tooltips: ${titles.join(' | ')}`);
        await workbench.screenshot('calibration');

        // Again from the palette: the same panel, answered from the server's cache.
        await workbench.runCommand('CASPO: Show Calibration');
        await frame.locator('#metrics td', { hasText: '(cached)' }).waitFor({ timeout: 60_000 });
        assert.equal(await tab.count(), 1, 'one calibration panel, reused');
        // Recompute in the page: decoded again, so no longer from the cache.
        await frame.locator('#recompute').click();
        await frame.locator('#metrics th', { hasText: 'Computed' }).waitFor();
        await frame.locator('#metrics td', { hasText: '(cached)' }).waitFor({ state: 'detached', timeout: 60_000 });
        return { table, bars: titles.length };
      },
    });
    console.log(`      shown: ECE ${seen.table['ECE (10 bins)']}, Brier ${seen.table['Brier score']}, ${seen.bars} bar(s), steps ${seen.table['Steps']}`);
  });
});
