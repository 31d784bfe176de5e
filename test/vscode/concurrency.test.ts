import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { activateExtension, documentOf, LONG_PROBLEM, reasoningUris, solve, solved, stepLines, waitForReasoningDocument } from './helpers';

describe('cancelling and concurrent solves', function () {
  this.timeout(60_000);
  before(activateExtension);

  it('cancel stops within a few hundred ms and keeps the steps already shown', async () => {
    const full = await solved(LONG_PROBLEM);
    const known = reasoningUris();
    const solving = solve(LONG_PROBLEM);
    await waitForReasoningDocument(known, (text) => stepLines(text).length >= 1);
    const cancelledAt = Date.now();
    assert.equal(await vscode.commands.executeCommand('caspo.cancelSolves'), 1);
    const outcome = await solving;
    const latencyMs = Date.now() - cancelledAt;

    assert.equal(outcome.error, undefined);
    const result = outcome.result!;
    assert.equal(result.stopReason, 'cancelled');
    assert.ok(latencyMs < 1000, `the solve ended ${latencyMs} ms after the cancel`);
    assert.ok(result.generatedTokens < full.result.generatedTokens, `${result.generatedTokens} of ${full.result.generatedTokens} tokens`);
    assert.ok(result.steps.length >= 1);
    const text = documentOf(outcome.uri!).getText();
    assert.deepEqual(stepLines(text), result.steps.map((s) => s.text));
    assert.match(text, /Cancelled after \d+ steps?; the steps above were decoded before the cancel/);
    // What was kept is what the full solve decoded up to there (the last step may be cut short).
    for (const step of result.steps.slice(0, -1)) assert.equal(step.text, full.result.steps[step.index].text);
  });

  it('runs two solves at once, each in its own document', async () => {
    const [a, b] = await Promise.all([solved('47*38 + 12'), solved('7*8*9*10 - 3')]);
    assert.notEqual(a.uri, b.uri);
    assert.deepEqual(stepLines(documentOf(a.uri).getText()), ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1798']);
    assert.deepEqual(stepLines(documentOf(b.uri).getText()), ['7 * 8 = 56', '56 * 9 = 504', '504 * 10 = 5040', '5040 - 3 = 5037', 'Answer: 5037']);
    // And one after the other gives the same steps again, in a new document.
    const again = await solved('47*38 + 12');
    assert.notEqual(again.uri, a.uri);
    assert.deepEqual(again.result.steps.map((s) => s.text), a.result.steps.map((s) => s.text));
  });
});
