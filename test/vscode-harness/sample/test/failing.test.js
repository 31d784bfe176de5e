// Deliberately failing in-host test: harness.test.ts runs it to prove failures are reported.
'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');

describe('harness sample, deliberately failing', () => {
  it('passes: the workspace folder is open', () => {
    assert.equal(vscode.workspace.workspaceFolders?.length, 1);
  });

  it('fails on purpose: the greeting is not this', async () => {
    await vscode.commands.executeCommand('caspoHarnessSample.insertGreeting');
    assert.equal(vscode.window.activeTextEditor?.document.getText(), 'a greeting the sample never writes');
  });
});
