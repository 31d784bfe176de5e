import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ServerSettings } from '../../src/protocol';
import { activateExtension, EXTENSION_ID, openSettings, resetSettings, setSettings, solve, solved, waitUntil } from './helpers';

describe('settings and workspace trust', function () {
  this.timeout(60_000);
  before(activateExtension);
  afterEach(resetSettings);

  const serverSettings = () => vscode.commands.executeCommand<ServerSettings>('caspo.debug.serverSettings');

  it('declares caspo.modelPath restricted in untrusted workspaces', () => {
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces, {
      supported: 'limited',
      description: manifest.capabilities.untrustedWorkspaces.description,
      restrictedConfigurations: ['caspo.modelPath'],
    });
  });

  it('uses the embedded model by default, and the user setting when given', async () => {
    const extensionPath = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    assert.equal((await serverSettings()).modelDir, path.join(extensionPath, 'models', 'caspo-arith'));
    await setSettings({ modelPath: '/opt/some-model' });
    assert.equal((await serverSettings()).modelDir, '/opt/some-model');
  });

  // The harness runs this suite twice (test/vscode-harness/cli.mjs): with workspace trust off (the
  // folder counts as trusted) and with trust on, where the folder, new to its user-data, is untrusted.
  it('runs in the workspace trust state its harness session was started for', function () {
    const trust = process.env.CASPO_VSCODE_WORKSPACE_TRUST;
    if (trust === undefined) this.skip(); // started by some other runner
    assert.equal(vscode.workspace.isTrusted, trust === 'disabled', `CASPO_VSCODE_WORKSPACE_TRUST=${trust}`);
  });

  it('applies a workspace model path only when the workspace is trusted; a bad one is an error that names it, and the server lives on', async function () {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) this.skip(); // needs a folder for workspace settings
    const pid = await vscode.commands.executeCommand<number>('caspo.debug.serverPid');
    await setSettings({ modelPath: 'no-such-model' }, vscode.ConfigurationTarget.Workspace);
    const expected = path.join(folder!.uri.fsPath, 'no-such-model');
    const outcome = await solve('47*38 + 12');
    if (vscode.workspace.isTrusted) {
      assert.equal((await serverSettings()).modelDir, expected);
      assert.ok(outcome.error?.includes(expected), outcome.error);
      assert.match(outcome.error!, /Change caspo\.modelPath, or clear it to use the embedded model\./);
      assert.deepEqual(outcome.actions, [openSettings('caspo.modelPath')], 'the message offers to open the setting');
      assert.equal(outcome.uri, undefined, 'no document for a solve that never started');
      assert.equal(await vscode.commands.executeCommand('caspo.debug.serverPid'), pid, 'the same server process');
      await resetSettings();
      assert.equal((await solved('47*38 + 12')).result.answer, '1798');
    } else {
      // Untrusted: the workspace value is ignored and the embedded model answers, on the same server.
      // (VS Code hides restricted workspace values from inspect(), so resetSettings cannot see this
      // one: remove it here.)
      try {
        const extensionPath = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
        assert.equal((await serverSettings()).modelDir, path.join(extensionPath, 'models', 'caspo-arith'));
        assert.equal(outcome.error, undefined);
        assert.equal(outcome.result?.answer, '1798');
        assert.equal(await vscode.commands.executeCommand('caspo.debug.serverPid'), pid, 'the same server process');
      } finally {
        await vscode.workspace.getConfiguration('caspo').update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
      }
    }
  });

  it('rejects an invalid setting with a message naming it, without calling the server', async () => {
    await setSettings({ maxTokens: 0 });
    const outcome = await solve('1+1');
    assert.match(outcome.error ?? '', /caspo\.maxTokens must be a positive integer, got 0/);
    assert.deepEqual(outcome.actions, [openSettings('caspo.maxTokens')]);
    // The button opens the Settings editor on that setting.
    const [action] = outcome.actions!;
    await vscode.commands.executeCommand(action.command, ...action.args);
    await waitUntil(() => vscode.window.tabGroups.activeTabGroup.activeTab?.label === 'Settings');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('rejects a thread count that is not a whole number from 0 to 64, naming caspo.cpuThreads', async () => {
    for (const threads of [-2, 20000]) {
      await setSettings({ cpuThreads: threads });
      const outcome = await solve('1+1');
      assert.match(outcome.error ?? '', new RegExp(`caspo\\.cpuThreads must be an integer from 0 \\(automatic\\) to 64, got ${threads}`));
      assert.deepEqual(outcome.actions, [openSettings('caspo.cpuThreads')]);
    }
  });

  it('takes new band thresholds to the hover while another setting is invalid, as the gutter does', async () => {
    const { uri, result } = await solved('47*38 + 12');
    const step = result.steps[0];
    assert.ok(step.confidence > 0.8 && step.confidence < 1, `a high step: ${step.confidence}`);
    const bandInHover = async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', vscode.Uri.parse(uri), new vscode.Position(step.line, 2));
      const markdown = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      return /% confidence \((high|medium|low)\)/.exec(markdown)?.[1];
    };
    assert.equal(await bandInHover(), 'high');
    await setSettings({ 'cat.branches': 0 }); // invalid: reported, and the server keeps its CaT settings
    await setSettings({ 'confidenceBands.high': 1 }); // no step is high now
    let band: string | undefined;
    await waitUntil(async () => (band = await bandInHover()) === 'medium');
    assert.equal(band, 'medium');
  });

  it('rejects a CaT first candidate or branching level it does not know, naming the setting', async () => {
    await setSettings({ strategy: 'cat', 'cat.firstCandidate': 'best' });
    const first = await solve('1+1');
    assert.match(first.error ?? '', /caspo\.cat\.firstCandidate must be one of greedy, sampled, got "best"/);
    assert.deepEqual(first.actions, [openSettings('caspo.cat.firstCandidate')]);
    await setSettings({ strategy: 'cat', 'cat.firstCandidate': 'greedy', 'cat.branchBelow': 1.5 });
    const below = await solve('1+1');
    assert.match(below.error ?? '', /caspo\.cat\.branchBelow must be a number from 0 to 1, or null to branch at every step, got 1\.5/);
    assert.deepEqual(below.actions, [openSettings('caspo.cat.branchBelow')]);
  });

  it('names the band threshold to fix when the bands are inconsistent', async () => {
    await setSettings({ 'confidenceBands.medium': 0.9, 'confidenceBands.high': 0.8 });
    const outcome = await solve('1+1');
    assert.match(outcome.error ?? '', /the medium band threshold \(0\.9\) must not exceed the high one \(0\.8\)/);
    assert.deepEqual(outcome.actions, [openSettings('caspo.confidenceBands.medium')]);
  });
});
