// Pruned branches in the workbench, driven like a person (code-server + chromium): solve a problem
// on which CaT prunes candidates, click the code lens "N pruned branches — re-expand" above a step,
// pick the branch in the quick pick, see its alternative path appear below the summary; then open
// the CASPO view and read the Reasoning Tree: chosen and pruned nodes, each with its confidence,
// pruned ones with their own icon; re-expand another pruned node from the view and see its continuation open
// below it. Screenshots: test-artifacts/ui/re-expanded.png, reasoning-tree.png, reasoning-tree-re-expanded.png.
//
//   npx mocha --import=tsx test/vscode-ui/branches.ui.test.ts
import assert from 'node:assert/strict';
import path from 'node:path';
import { installCodeServer, withWorkbench } from '../vscode-harness/runExtensionTests.mjs';
import { makeProblemsWorkspace, putCursorOnProblem, SAMPLE_PROBLEMS, type ProblemsWorkspace } from './problemsWorkspace';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'ui');

// A product at the edge of the training range: under the default CaT settings the embedded model prunes
// candidates beside two of its steps.
const PROBLEM = SAMPLE_PROBLEMS[3];

describe('Pruned branches in the workbench, driven like a person (code-server + chromium)', function () {
  this.timeout(300_000);
  let workspace: ProblemsWorkspace;

  before(function () {
    this.timeout(600_000);
    console.log(`      ${installCodeServer()}`);
    workspace = makeProblemsWorkspace('arithmetic');
  });

  after(() => workspace?.remove());

  it('code lens → quick pick → the alternative path in the document; the Reasoning Tree view lists the nodes', async () => {
    const seen = await withWorkbench({
      extensionDevelopmentPath: root,
      workspaceFolder: workspace.folder,
      screenshotDir: artifacts,
      timeoutMs: 240_000,
      ui: async (page, workbench) => {
        await putCursorOnProblem(page, PROBLEM);
        await workbench.runCommand('Solve with CASPO');
        const reasoning = page.locator('.editor-group-container').nth(1);
        await reasoning.locator('.view-line', { hasText: 'path confidence' }).waitFor();

        // The lens above the first step whose siblings were pruned.
        const lens = reasoning.locator('.codelens-decoration a', { hasText: /^\d+ pruned branch(es)? — re-expand$/ }).first();
        await lens.waitFor();
        const lensText = (await lens.textContent())!;
        await lens.click();
        const picker = page.locator('.quick-input-widget');
        await picker.locator('.quick-input-title', { hasText: /^Re-expand a branch CaT pruned at step \d+$/ }).waitFor();
        const rows = picker.locator('.quick-input-list .monaco-list-row');
        const offered = Number(lensText.match(/^\d+/)![0]);
        assert.equal(await rows.count(), offered, 'one row per pruned branch');
        const firstRow = (await rows.first().textContent())!;
        assert.match(firstRow, /\d+\.\d%/, 'each branch with its confidence');
        await page.keyboard.press('Enter');

        // (Monaco draws spaces as no-break spaces: match words, not a pattern with spaces.)
        const heading = reasoning.locator('.view-line', { hasText: 'Alternative from step' });
        await heading.waitFor();
        const headingText = (await heading.textContent())!.replace(/\u00a0/g, ' ');
        assert.match(headingText, /^Alternative from step \d+ \(pruned at \d+\.\d%\): /);
        await reasoning.locator('.codelens-decoration a', { hasText: /shown below/ }).first().waitFor();
        await workbench.screenshot('re-expanded');

        // The CASPO view in the activity bar: the Reasoning Tree of this solve.
        await page.locator('.part.activitybar .action-item a[aria-label^="CASPO"]').click();
        const tree = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Reasoning Tree' }) });
        const items = tree.locator('.monaco-list-row');
        await tree.locator('.monaco-list-row', { hasText: '· chosen' }).first().waitFor();
        await tree.locator('.monaco-list-row', { hasText: '· re-expanded' }).waitFor();
        const read = await items.evaluateAll((elements) =>
          elements.map((row) => ({
            label: row.querySelector('.label-name')?.textContent ?? '',
            description: row.querySelector('.label-description')?.textContent ?? '',
            icon: [...(row.querySelector('.custom-view-tree-node-item-icon')?.classList ?? [])].find((c) => c.startsWith('codicon-')) ?? '',
          })),
        );
        await workbench.screenshot('reasoning-tree');

        // Re-expand a second pruned node from the view itself, with the view open: its continuation must show
        // under it (VS Code keeps a row's collapsed state across refreshes, and this row was a leaf until now).
        const leaf = tree.locator('.monaco-list-row', { hasText: '· pruned' }).filter({ hasNotText: 're-expanded' }).first();
        const leafLabel = (await leaf.locator('.label-name').textContent())!;
        const leafLevel = Number(await leaf.getAttribute('aria-level'));
        await leaf.hover();
        await leaf.locator('.actions .action-label[aria-label="Re-expand"]').click();
        const reExpanded = tree.locator('.monaco-list-row', { hasText: leafLabel }).filter({ hasText: '· re-expanded' });
        await reExpanded.waitFor();
        // (A string: the tests compile without the DOM's types.) The level of the row after the re-expanded one.
        const below = await page.waitForFunction(
          `(() => {
            const rows = [...document.querySelectorAll('.pane')]
              .filter((pane) => pane.querySelector('.pane-header')?.textContent?.includes('Reasoning Tree'))
              .flatMap((pane) => [...pane.querySelectorAll('.monaco-list-row')]);
            const at = rows.findIndex((row) => row.querySelector('.label-name')?.textContent === ${JSON.stringify(leafLabel)} && row.textContent.includes('re-expanded'));
            const next = at >= 0 ? rows[at + 1] : undefined;
            return next !== undefined && Number(next.getAttribute('aria-level')) === ${leafLevel + 1} && Number(next.getAttribute('aria-level'));
          })()`,
          undefined,
          { timeout: 60_000 },
        );
        const childLevel = await below.jsonValue();
        await workbench.screenshot('reasoning-tree-re-expanded');
        return { read, lensText, firstRow, leafLevel, childLevel };
      },
    });
    const { read } = seen;
    const pruned = read.filter((row) => row.description.includes('· pruned'));
    assert.ok(pruned.length >= 2, `pruned rows: ${JSON.stringify(read)}`);
    for (const row of pruned) assert.equal(row.icon, 'codicon-circle-slash', `pruned row ${row.label}`);
    for (const row of read) assert.match(row.description, /^\d+\.\d% · /, `row ${row.label} shows its confidence`);
    const chosen = read.filter((row) => / · chosen($| · )/.test(row.description));
    assert.ok(chosen.length >= 4, `chosen rows: ${JSON.stringify(chosen)}`);
    assert.equal(read.filter((row) => row.description.endsWith('· re-expanded')).length, 1);
    assert.equal(seen.childLevel, seen.leafLevel + 1, 'the node re-expanded from the view shows its continuation below it');
    console.log(`      lens "${seen.lensText}"; tree rows: ${read.length} (${pruned.length} pruned)`);
  });
});
