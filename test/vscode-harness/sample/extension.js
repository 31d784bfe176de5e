// Sample extension for the harness tests: one command that opens an untitled document holding a
// greeting, so both an in-host test (API) and a UI test (DOM) can see its effect.
'use strict';
const vscode = require('vscode');

const GREETING = 'Hello from the CASPO harness sample';

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('caspoHarnessSample.insertGreeting', async () => {
      const document = await vscode.workspace.openTextDocument({ content: GREETING, language: 'plaintext' });
      await vscode.window.showTextDocument(document);
      return GREETING;
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate, GREETING };
