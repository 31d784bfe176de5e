/** A workspace folder with a problems.txt, and putting the cursor on one of its lines the way a person does. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';

export const SAMPLE_PROBLEMS = [
  '# Arithmetic problems: put the cursor on one and run "CASPO: Solve with CASPO" (F1).',
  '47*38 + 12',
  // Five operations, one more than the embedded model was trained on: see solve.ui.test.ts.
  '174 * 570 + 26 * 6 - 27 * 28',
  // A product at the edge of the training range: CaT prunes two wrong candidates beside step 4 and two beside
  // step 5 (branches.ui.test.ts).
  'Work out 58 + 633+(681*84 - 894 + 68).',
  // Fourteen operations: under a wide CaT search the model is still searching it minutes later (queue.ui.test.ts).
  '10 + 17 + 24 + 31 + 38 + 45 + 52 + 59 + 66 + 73 + 80 + 87 + 94 + 101 + 108',
];

export interface ProblemsWorkspace {
  folder: string;
  remove(): void;
}

/** A folder named `name` (the window title shows it) holding problems.txt and `files` (relative path → text). */
export function makeProblemsWorkspace(name: string, files: Record<string, string> = {}): ProblemsWorkspace {
  const parent = mkdtempSync(path.join(tmpdir(), 'caspo-ui-'));
  const folder = path.join(parent, name);
  for (const [file, text] of Object.entries({ 'problems.txt': `${SAMPLE_PROBLEMS.join('\n')}\n`, ...files })) {
    mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeFileSync(path.join(folder, file), text);
  }
  return { folder, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/** Opens problems.txt from the Explorer, clicks the line holding `problem` and moves the cursor to its end. */
export async function putCursorOnProblem(page: Page, problem: string): Promise<void> {
  const lineNumber = SAMPLE_PROBLEMS.indexOf(problem) + 1;
  if (lineNumber === 0) throw new Error(`"${problem}" is not in problems.txt`);
  await page.getByRole('treeitem', { name: 'problems.txt' }).click();
  await page.locator('.monaco-editor .view-line', { hasText: problem }).click();
  await page.keyboard.press('End');
  await page.locator('.monaco-workbench .part.statusbar', { hasText: new RegExp(`Ln ${lineNumber}, Col \\d+`) }).waitFor();
}
