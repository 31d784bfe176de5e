/**
 * The reasoning editor as a person sees it in the workbench: its lines, gutter icons and squiggles
 * read from the DOM (editorDom.page.js), and the hover of a line opened with the mouse.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

export type Band = 'high' | 'medium' | 'low';

export interface EditorLine {
  /** 1-based, as the line numbers show it. */
  number: number;
  /** The rendered text, inlay hints included. */
  text: string;
  /** Where the line's first text run is drawn (page pixels), to point the mouse at. */
  box: { x: number; y: number; width: number; height: number } | null;
  /** Glyph-margin decorations: the SVG their background-image names. */
  icons: { svg: string | null; className: string }[];
  /** A warning squiggle is drawn on the line. */
  warning: boolean;
}

export interface EditorView {
  theme: 'light' | 'dark';
  lines: EditorLine[];
}

const READ_EDITOR = readFileSync(path.join(__dirname, 'editorDom.page.js'), 'utf8').trim();
const readerCall = (containing: string) => `(${READ_EDITOR})(${JSON.stringify(containing)})`;

/** What the editor whose text contains `containing` shows now; null when no such editor is open. */
export function readEditor(page: Page, containing: string): Promise<EditorView | null> {
  return page.evaluate(readerCall(containing)) as Promise<EditorView | null>;
}

/** Resolves once the editor containing `containing` shows `count` gutter icons (they are painted debounced). */
export async function waitForGutterIcons(page: Page, containing: string, count: number): Promise<EditorView> {
  await page.waitForFunction(`${readerCall(containing)}?.lines.reduce((n, line) => n + line.icons.length, 0) === ${count}`);
  return (await readEditor(page, containing))!;
}

/** The step lines: between the blank line after the header and the blank line before the summary. */
export function stepLinesOf(view: EditorView): EditorLine[] {
  const firstBlank = view.lines.findIndex((line) => line.text.trim() === '');
  const rest = view.lines.slice(firstBlank + 1);
  const end = rest.findIndex((line) => line.text.trim() === '');
  return end < 0 ? rest : rest.slice(0, end);
}

export interface StepHover {
  step: number;
  percent: number;
  band: Band;
  text: string;
}

const HOVER_HEADLINE = /Step (\d+): (\d+(?:\.\d+)?)% confidence \((high|medium|low)\)/;

/**
 * Moves the mouse onto the middle of the line's text and waits for the hover of step `step`
 * (and, when given, for `alsoShowing` in it: the diagnostics part may render a moment later).
 */
export async function hoverStep(page: Page, line: EditorLine, step: number, alsoShowing?: RegExp): Promise<StepHover> {
  if (!line.box) throw new Error(`line ${line.number} has no text to hover`);
  await page.mouse.move(line.box.x + line.box.width / 2, line.box.y + line.box.height / 2);
  let hover = page.locator('.monaco-hover', { hasText: `Step ${step}: ` });
  if (alsoShowing) hover = hover.filter({ hasText: alsoShowing });
  await hover.waitFor({ state: 'visible' });
  const text = (await hover.innerText()).replace(/\u00a0/g, ' ');
  const match = HOVER_HEADLINE.exec(text);
  if (!match) throw new Error(`hover of line ${line.number} has no "Step N: P% confidence (band)" headline:\n${text}`);
  return { step: Number(match[1]), percent: Number(match[2]), band: match[3] as Band, text };
}

/** Moves the mouse off the editors (onto the status bar) and waits until no step hover shows. */
export async function dismissHover(page: Page): Promise<void> {
  const box = await page.locator('.monaco-workbench .part.statusbar').boundingBox();
  if (!box) throw new Error('the status bar is not visible');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.locator('.monaco-hover', { hasText: /Step \d+: / }).waitFor({ state: 'hidden' });
}
