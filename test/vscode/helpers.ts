/** Shared by the suites that run inside VS Code's extension host (bundled into each *.test.js). */
import * as vscode from 'vscode';
import type { ErrorAction } from '../../src/errorActions';
import type { SolveOutcome } from '../../src/solveCommand';
import { REASONING_SCHEME } from '../../src/protocol';

export const EXTENSION_ID = 'caspo.caspo-vscode';

/** A sum the embedded model works through until its context is full (~1.5 s on 2 cores): long enough to act mid-way. */
export const LONG_PROBLEM = Array.from({ length: 39 }, (_, i) => String(i * 7 + 10)).join(' + ');

export async function activateExtension(): Promise<void> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not loaded: run the suite with the repository as extensionDevelopmentPath`);
  await extension.activate();
}

export async function solve(problem?: string): Promise<SolveOutcome> {
  const outcome = await vscode.commands.executeCommand<SolveOutcome | undefined>('caspo.solve', ...(problem === undefined ? [] : [problem]));
  if (!outcome) throw new Error('caspo.solve returned nothing (no problem?)');
  return outcome;
}

export async function solved(problem?: string): Promise<Required<Pick<SolveOutcome, 'uri' | 'result'>>> {
  const outcome = await solve(problem);
  if (outcome.error || !outcome.result || !outcome.uri) throw new Error(`solve failed: ${outcome.error ?? JSON.stringify(outcome)}`);
  return { uri: outcome.uri, result: outcome.result };
}

export function documentOf(uri: string): vscode.TextDocument {
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === vscode.Uri.parse(uri).toString());
  if (!document) throw new Error(`${uri} is not open`);
  return document;
}

export function reasoningUris(): Set<string> {
  return new Set(vscode.workspace.textDocuments.filter((d) => d.uri.scheme === REASONING_SCHEME).map((d) => d.uri.toString()));
}

/** The first reasoning document (open now or later), not in `known`, whose text passes `test`. */
export function waitForReasoningDocument(known: Set<string>, test: (text: string) => boolean): Promise<vscode.TextDocument> {
  const matches = (d: vscode.TextDocument) => d.uri.scheme === REASONING_SCHEME && !known.has(d.uri.toString()) && test(d.getText());
  const now = vscode.workspace.textDocuments.find(matches);
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    const subscriptions = [
      vscode.workspace.onDidOpenTextDocument((d) => check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    ];
    function check(d: vscode.TextDocument) {
      if (!matches(d)) return;
      for (const s of subscriptions) s.dispose();
      resolve(d);
    }
  });
}

/**
 * Step lines of a reasoning document's text: between the blank line after the header (two lines, or three
 * with a caution) and the blank line before the summary.
 */
export function stepLines(text: string): string[] {
  const all = text.split('\n');
  const start = all.indexOf('');
  if (start < 0) return [];
  const lines = all.slice(start + 1);
  const end = lines.indexOf('');
  return end < 0 ? lines : lines.slice(0, end);
}

/** Resolves with the diagnostics of `uri` once they pass `test` (they arrive asynchronously). */
export function waitForDiagnostics(uri: string, test: (d: readonly vscode.Diagnostic[]) => boolean): Promise<vscode.Diagnostic[]> {
  const target = vscode.Uri.parse(uri);
  const current = () => vscode.languages.getDiagnostics(target);
  if (test(current())) return Promise.resolve(current());
  return new Promise((resolve) => {
    const subscription = vscode.languages.onDidChangeDiagnostics((event) => {
      if (!event.uris.some((u) => u.toString() === target.toString()) || !test(current())) return;
      subscription.dispose();
      resolve(current());
    });
  });
}

const TOUCHED = [
  'modelPath',
  'executionProvider',
  'cpuThreads',
  'confidenceBands.high',
  'confidenceBands.medium',
  'warningThreshold',
  'maxTokens',
  'temperature',
  'confidenceMetric',
  'stepDelimiter',
  'strategy',
  'cat.branches',
  'cat.width',
  'cat.threshold',
  'cat.thresholdPercentile',
  'cat.budget',
  'cat.temperature',
  'cat.firstCandidate',
  'cat.branchBelow',
  'calibration.problems',
];

export async function setSettings(values: Record<string, unknown>, target = vscode.ConfigurationTarget.Global): Promise<void> {
  const config = vscode.workspace.getConfiguration('caspo');
  for (const [key, value] of Object.entries(values)) await config.update(key, value, target);
}

/** Back to package.json's defaults at every level the suites write. */
export async function resetSettings(): Promise<void> {
  const config = vscode.workspace.getConfiguration('caspo');
  for (const key of TOUCHED) {
    const inspected = config.inspect(key);
    if (inspected?.globalValue !== undefined) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    if (inspected?.workspaceValue !== undefined) await config.update(key, undefined, vscode.ConfigurationTarget.Workspace);
  }
}

/** The "Open Settings" button an error message offers for `setting` (src/errorActions.ts). */
export function openSettings(setting: string): ErrorAction {
  return { title: 'Open Settings', command: 'workbench.action.openSettings', args: [`@id:${setting}`] };
}

/** Resolves once `test()` holds, polling every 50 ms (for UI state no event reports); the suite's timeout bounds it. */
export async function waitUntil(test: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await test())) await new Promise((resolve) => setTimeout(resolve, 50));
}
