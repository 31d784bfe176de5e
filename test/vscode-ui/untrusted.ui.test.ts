// Workspace trust as a user meets it: code-server with trust on, a folder it has never seen (so
// Restricted Mode) whose .vscode/settings.json points caspo.modelPath at a folder that is no model.
// F1 → "Solve with CASPO" still solves with the embedded model, and a notification tells the user
// that the workspace's model path is ignored. (The in-host suite test/vscode/settings.test.ts
// checks the same rule through the API, in the harness's untrusted session.)
//
//   npx mocha --import=tsx test/vscode-ui/untrusted.ui.test.ts
import path from 'node:path';
import { installCodeServer, withWorkbench } from '../vscode-harness/runExtensionTests.mjs';
import { makeProblemsWorkspace, putCursorOnProblem, SAMPLE_PROBLEMS, type ProblemsWorkspace } from './problemsWorkspace';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'ui');
const BOGUS_MODEL_PATH = 'not-a-model';

describe('Solve with CASPO in an untrusted workspace, driven like a person (code-server + chromium)', function () {
  this.timeout(300_000);
  let workspace: ProblemsWorkspace;

  before(function () {
    this.timeout(600_000); // first run on a fresh machine installs code-server (about a minute)
    console.log(`      ${installCodeServer()}`);
    workspace = makeProblemsWorkspace('downloaded-project', {
      '.vscode/settings.json': `${JSON.stringify({ 'caspo.modelPath': BOGUS_MODEL_PATH }, null, 2)}\n`,
    });
  });

  after(() => workspace?.remove());

  it('ignores the workspace model path, solves with the embedded model and says so', async () => {
    const problem = SAMPLE_PROBLEMS[1]; // 47*38 + 12
    await withWorkbench({
      extensionDevelopmentPath: root,
      workspaceFolder: workspace.folder,
      workspaceTrust: true,
      screenshotDir: artifacts,
      timeoutMs: 240_000,
      ui: async (page, workbench) => {
        // VS Code marks Restricted Mode in the status bar.
        await page.locator('.monaco-workbench .part.statusbar', { hasText: 'Restricted Mode' }).waitFor();
        await putCursorOnProblem(page, problem);
        await workbench.runCommand('Solve with CASPO');
        await page.locator('.monaco-editor .view-line', { hasText: 'Answer 1798 · 3 steps' }).waitFor();
        await page
          .locator('.notifications-toasts .notification-toast', { hasText: `caspo.modelPath ("${BOGUS_MODEL_PATH}") is ignored` })
          .waitFor({ timeout: 30_000 });
        await workbench.screenshot('untrusted');
      },
    });
  });
});
