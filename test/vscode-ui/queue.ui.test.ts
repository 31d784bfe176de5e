// Solves and re-expansions that wait for their turn to decode (the server decodes two at once), driven like a
// person (code-server + chromium). Two long solves take both turns. A third solve's progress notification says it
// waits for 1 earlier solve, a fourth's for 2; Cancel on the third ends it while the long ones still decode, and it
// never opens a reasoning document; the fourth now waits for 1, and decodes once a long solve is cancelled. A
// re-expansion run from a code lens while both turns are taken says the same in its notification, and continues the
// branch once a long solve ends. Screenshots: test-artifacts/ui/queued-solves.png, queued-re-expansion.png.
//
//   npx mocha --import=tsx test/vscode-ui/queue.ui.test.ts
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { problemSlug } from '../../src/protocol';
import { installCodeServer, withWorkbench, type Workbench } from '../vscode-harness/runExtensionTests.mjs';
import { makeProblemsWorkspace, putCursorOnProblem, SAMPLE_PROBLEMS, type ProblemsWorkspace } from './problemsWorkspace';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'ui');

const LONG = SAMPLE_PROBLEMS[4];
/** Cancelled while it waits. */
const QUEUED = SAMPLE_PROBLEMS[1];
/** Waits, then decodes; CaT prunes candidates beside some of its steps, so it has code lenses to re-expand. */
const PRUNING = SAMPLE_PROBLEMS[3];
/**
 * CaT drawing and keeping 16 candidates a step and pruning only below 2%: on LONG it is still searching minutes
 * later, so a long solve holds its turn until the test cancels it; the other problems still end in seconds.
 */
const WIDE_SEARCH = { 'caspo.cat.branches': 16, 'caspo.cat.width': 16, 'caspo.cat.threshold': 0.02, 'caspo.cat.budget': 100_000 };

/** The notifications shown now whose text has `text` (progress notifications stay until their work ends). */
const toasts = (page: Page, text: string | RegExp): Locator => page.locator('.notifications-toasts .notification-toast', { hasText: text });
/** The progress notification of a solve of `problem` (titled "CASPO: <problem>"). */
const solveToasts = (page: Page, problem: string) => toasts(page, `CASPO: ${problem.slice(0, 20)}`);
const cancelButton = (toast: Locator) => toast.getByRole('button', { name: 'Cancel', exact: true });
const reasoningTabs = (page: Page, problem: string) => page.locator('.tabs-container .tab', { hasText: `${problemSlug(problem)}.caspo` });

/** Two solves of LONG, once both decode: they hold both turns until they are cancelled. */
async function startLongSolves(page: Page, workbench: Workbench): Promise<void> {
  await putCursorOnProblem(page, LONG);
  await workbench.runCommand('Solve with CASPO');
  await workbench.runCommand('Solve with CASPO');
  await solveToasts(page, LONG).filter({ hasText: /decoding on|step \d/ }).nth(1).waitFor();
}

describe('Solves and re-expansions waiting for their turn, driven like a person (code-server + chromium)', function () {
  this.timeout(300_000);
  let workspace: ProblemsWorkspace;

  before(function () {
    this.timeout(600_000); // first run on a fresh machine installs code-server (about a minute)
    console.log(`      ${installCodeServer()}`);
    workspace = makeProblemsWorkspace('arithmetic');
  });

  after(() => workspace?.remove());

  const session = <T>(ui: (page: Page, workbench: Workbench) => Promise<T>) =>
    withWorkbench({ extensionDevelopmentPath: root, workspaceFolder: workspace.folder, userSettings: WIDE_SEARCH, screenshotDir: artifacts, timeoutMs: 240_000, ui });

  it('a queued solve says how many solves are ahead, ends at once on Cancel without a document, and decodes once one ends', async () => {
    const cancelMs = await session(async (page, workbench) => {
      await startLongSolves(page, workbench);
      await putCursorOnProblem(page, QUEUED);
      await workbench.runCommand('Solve with CASPO');
      const queued = solveToasts(page, QUEUED);
      await queued.filter({ hasText: 'waiting for 1 earlier solve to end…' }).waitFor();
      await putCursorOnProblem(page, PRUNING);
      await workbench.runCommand('Solve with CASPO');
      const later = solveToasts(page, PRUNING);
      await later.filter({ hasText: 'waiting for 2 earlier solves to end…' }).waitFor();
      await workbench.screenshot('queued-solves');

      const cancelledAt = Date.now();
      await cancelButton(queued).click();
      await queued.waitFor({ state: 'detached' });
      const ms = Date.now() - cancelledAt;
      await later.filter({ hasText: 'waiting for 1 earlier solve to end…' }).waitFor();
      // Both turns are still taken: the cancelled solve did not wait for one to end.
      assert.equal(await solveToasts(page, LONG).filter({ hasText: /decoding on|step \d/ }).count(), 2, 'the long solves still decode');
      assert.equal(await reasoningTabs(page, PRUNING).count(), 0, 'the waiting solve has not started');

      // A turn is free: it decodes to its answer, in the document it opens.
      await cancelButton(solveToasts(page, LONG).first()).click();
      await later.waitFor({ state: 'detached' });
      await page.locator('.monaco-editor .view-line', { hasText: /^Answer\s\S+\s·\s\d+\ssteps?\s·/ }).waitFor();
      assert.equal(await reasoningTabs(page, PRUNING).count(), 1);
      assert.equal(await reasoningTabs(page, QUEUED).count(), 0, 'the solve cancelled while it waited never opened a document');

      await workbench.runCommand('Cancel Running Solves');
      await solveToasts(page, LONG).first().waitFor({ state: 'detached' });
      return ms;
    });
    console.log(`      the waiting solve's notification closed ${cancelMs} ms after its Cancel`);
  });

  it('a re-expansion that waits for a turn says how many solves are ahead in its notification, then continues the branch', async () => {
    await session(async (page, workbench) => {
      await putCursorOnProblem(page, PRUNING);
      await workbench.runCommand('Solve with CASPO');
      const reasoning = page.locator('.editor-group-container').nth(1);
      await reasoning.locator('.view-line', { hasText: 'path confidence' }).waitFor();
      await startLongSolves(page, workbench);
      // The long solves' documents opened over it: bring it back, as a person would.
      await reasoningTabs(page, PRUNING).click();

      await reasoning.locator('.codelens-decoration a', { hasText: /^\d+ pruned branch(es)? — re-expand$/ }).first().click();
      await page.locator('.quick-input-widget .quick-input-title', { hasText: /^Re-expand a branch CaT pruned at step \d+$/ }).waitFor();
      await page.keyboard.press('Enter');
      const expanding = toasts(page, 'CASPO: continuing the branch pruned at step');
      await expanding.filter({ hasText: 'waiting for 1 earlier solve to end…' }).waitFor();
      await workbench.screenshot('queued-re-expansion');
      assert.equal(await reasoning.locator('.view-line', { hasText: 'Alternative from step' }).count(), 0, 'the branch waits for its turn');

      await cancelButton(solveToasts(page, LONG).first()).click();
      await reasoning.locator('.view-line', { hasText: 'Alternative from step' }).waitFor();
      await expanding.waitFor({ state: 'detached' });

      await workbench.runCommand('Cancel Running Solves');
      await solveToasts(page, LONG).first().waitFor({ state: 'detached' });
    });
  });
});
