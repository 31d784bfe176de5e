// In-host tests of the sample extension: run inside the real extension host by mochaInHost.cjs.
'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');

describe('harness sample extension (in the extension host)', () => {
  it('runs in a real VS Code extension host (Node, not a web worker)', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+$/);
    assert.ok(process.versions.node, 'the extension host should be a Node process');
  });

  it('inserts the greeting through its command', async () => {
    const returned = await vscode.commands.executeCommand('caspoHarnessSample.insertGreeting');
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor, 'the command should leave an active text editor');
    assert.equal(editor.document.getText(), 'Hello from the CASPO harness sample');
    assert.equal(returned, 'Hello from the CASPO harness sample');
    const extension = vscode.extensions.getExtension('caspo-test.caspo-harness-sample');
    assert.ok(extension && extension.isActive, 'the sample extension should be active');
  });
});
