import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CalibrationOutcome } from '../../src/calibrationView';
import type { CalibrationPageMessage } from '../../src/calibrationHtml';
import { activateExtension, EXTENSION_ID, resetSettings, setSettings, waitUntil } from './helpers';

// "CASPO: Show Calibration" against the real language server: closing the panel stops the computation, a
// run started under other settings is replaced rather than joined, and a shown result is marked stale when
// the settings it was computed under change. The page itself is read in test/vscode-ui/calibration.ui.test.ts.
describe('Show Calibration: cancelling by closing the panel, and settings that change under it', function () {
  this.timeout(120_000);
  before(activateExtension);
  afterEach(async () => {
    await closePanel();
    await resetSettings();
  });

  const show = (options?: { recompute?: boolean }) => vscode.commands.executeCommand<CalibrationOutcome>('caspo.showCalibration', options);
  const shown = () => vscode.commands.executeCommand<{ state: CalibrationPageMessage | undefined; stale: boolean }>('caspo.debug.calibrationShown');
  const sftModel = () => path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'models', 'caspo-arith-sft');

  const panelTabs = () => vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.label === 'CASPO Calibration');

  /** Closes the panel's tab as a person would. */
  async function closePanel(): Promise<void> {
    if (panelTabs().length > 0) await vscode.window.tabGroups.close(panelTabs());
  }

  it('closing the panel cancels the computation (500 problems would take half a minute)', async () => {
    await setSettings({ 'calibration.problems': 500 });
    const run = show({ recompute: true });
    await waitUntil(async () => (await shown()).state?.type === 'loading');
    await waitUntil(async () => panelTabs().length === 1); // the workbench reports a new tab a moment later
    await closePanel();
    assert.deepEqual(await run, { cancelled: true });
  });

  it('run again after the model changed, it replaces the run in flight with one of the new model', async () => {
    await setSettings({ 'calibration.problems': 500 });
    const first = show({ recompute: true });
    await waitUntil(async () => (await shown()).state?.type === 'loading');
    await setSettings({ modelPath: sftModel(), 'calibration.problems': 10 });
    const second = show();
    assert.deepEqual(await first, { cancelled: true }, 'the run of the old model stopped');
    const outcome = await second;
    assert.equal(outcome.result?.modelDir, sftModel(), outcome.error);
    assert.equal(outcome.result?.problems, 10);
  });

  it('a result whose settings changed while it ran is shown as stale (the server computed it with the old ones)', async () => {
    await setSettings({ 'calibration.problems': 40 });
    const run = show({ recompute: true });
    await waitUntil(async () => (await shown()).state?.type === 'loading');
    await setSettings({ maxTokens: 200 });
    assert.ok((await run).result);
    assert.equal((await shown()).stale, true);
  });

  it('a shown result is marked stale when the model changes, and replaced by the error when the next run fails', async () => {
    await setSettings({ 'calibration.problems': 10 });
    assert.ok((await show()).result);
    assert.equal((await shown()).stale, false);
    await setSettings({ modelPath: sftModel() });
    await waitUntil(async () => (await shown()).stale);
    await setSettings({ modelPath: '/no/such/model' });
    const failed = await show();
    assert.match(failed.error ?? '', /\/no\/such\/model/);
    const now = await shown();
    assert.equal(now.state?.type, 'error');
    assert.equal(now.stale, false);
  });
});
