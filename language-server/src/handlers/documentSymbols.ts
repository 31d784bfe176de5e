import { SymbolKind, type DocumentSymbol, type DocumentSymbolParams } from 'vscode-languageserver';
import type { SolveRegistry } from '../host/solveRegistry';
import { formatPercent, stepLineText } from '../trace/reasoningDocument';

/** The steps as an outline: "Step 2", detail "1786 + 12 = 1798 · 97.1%". */
export function documentSymbolsFor(registry: SolveRegistry, params: DocumentSymbolParams): DocumentSymbol[] {
  const document = registry.byUri(params.textDocument.uri);
  if (!document) return [];
  return document.steps.map((step) => {
    const line = document.lineOfStep(step.index);
    const range = { start: { line, character: 0 }, end: { line, character: stepLineText(step.text).length } };
    return {
      name: `Step ${step.index + 1}`,
      detail: `${stepLineText(step.text)} · ${formatPercent(step.confidence)}`,
      kind: SymbolKind.Event,
      range,
      selectionRange: range,
    };
  });
}
