import { strict as assert } from 'node:assert';
import { activateExtension, documentOf, LONG_PROBLEM, reasoningUris, solve, solved, stepLines, waitForReasoningDocument } from './helpers';
import * as vscode from 'vscode';

describe('language server lifecycle', function () {
  this.timeout(90_000);
  before(activateExtension);

  it('restarts a server killed mid-solve; the steps shown stay and the next solve works', async () => {
    await solved('1+2'); // the server is up and has the model
    const pid = await vscode.commands.executeCommand<number>('caspo.debug.serverPid');
    assert.ok(Number.isInteger(pid) && pid > 0, `server pid ${pid}`);

    const known = reasoningUris();
    const solving = solve(LONG_PROBLEM);
    const partial = await waitForReasoningDocument(known, (text) => stepLines(text).length >= 1);
    const stepsBefore = stepLines(partial.getText());
    process.kill(pid, 'SIGKILL');

    const outcome = await solving;
    assert.match(outcome.error ?? '', /the CASPO language server stopped during this solve/);
    assert.deepEqual(outcome.actions?.map((a) => [a.title, a.command]), [['Show Log', 'caspo.showLog']], 'the log says why it stopped');
    assert.equal(outcome.uri, partial.uri.toString());
    const text = documentOf(outcome.uri!).getText();
    assert.deepEqual(stepLines(text).slice(0, stepsBefore.length), stepsBefore, 'the steps already shown are kept');
    assert.match(text, /\nInterrupted: the CASPO language server stopped during this solve/);

    const next = await solved('47*38 + 12');
    assert.equal(next.result.answer, '1798');
    const newPid = await vscode.commands.executeCommand<number>('caspo.debug.serverPid');
    assert.ok(newPid !== undefined && newPid !== pid, `a new server process (${pid} → ${newPid})`);
  });

  it('restarts on request, and the next solve loads the model again', async () => {
    const before = await solved('12*(40-3)');
    const treeMessage = () => vscode.commands.executeCommand<string | undefined>('caspo.debug.reasoningTreeMessage', before.uri);
    assert.match((await treeMessage()) ?? '', /^\d+ nodes, \d+ pruned$/);
    const pid = await vscode.commands.executeCommand<number>('caspo.debug.serverPid');
    await vscode.commands.executeCommand('caspo.restartServer');
    const newPid = await vscode.commands.executeCommand<number>('caspo.debug.serverPid');
    assert.ok(newPid !== undefined && newPid !== pid, `${pid} → ${newPid}`);
    // Unasked, the view drops the old server's tree (its Re-expand actions would fail) and asks the new one.
    const shown = () => vscode.commands.executeCommand<string | undefined>('caspo.debug.reasoningTreeShownMessage');
    const deadline = Date.now() + 10_000;
    while (!/^No reasoning tree to show: Solve \d+ is not known to the CASPO server/.test((await shown()) ?? '') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match((await shown()) ?? '', /^No reasoning tree to show: Solve \d+ is not known to the CASPO server: it was restarted/, 'refetched from the new server');
    // The new server does not know the old solve: the tree view says so, instead of "Loading…" for ever.
    assert.match((await treeMessage()) ?? '', /^No reasoning tree to show: Solve \d+ is not known to the CASPO server: it was restarted/);
    assert.equal((await solved('47*38 + 12')).result.answer, '1798');
  });
});
