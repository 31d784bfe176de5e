import { DocumentSymbolRequest, SymbolKind, type DocumentSymbol, type DocumentSymbolParams } from 'vscode-languageserver';
import type { SolveRegistry } from '../host/solveRegistry';
import { alternativeTitle, formatPercent, stepLineText, type ShownStep } from '../trace/reasoningDocument';
import { requestedDocument } from './requestParams';

/**
 * The steps as an outline: "Step 2", detail "1786 + 12 = 1798 · 97.1%"; each re-expanded branch is
 * one more entry ("Alternative from step 2 …") holding its steps.
 */
export function documentSymbolsFor(registry: SolveRegistry, params: DocumentSymbolParams): DocumentSymbol[] {
  const document = requestedDocument(registry, DocumentSymbolRequest.method, params);
  if (!document) return [];
  const shown = document.shownSteps();
  const symbols = shown.filter((s) => !s.alternative).map(stepSymbol);
  for (const alternative of document.alternatives) {
    const steps = shown.filter((s) => s.alternative === alternative);
    const first = steps[0];
    const last = steps[steps.length - 1];
    const heading = { line: first.line - 1, character: 0 };
    symbols.push({
      name: alternativeTitle(alternative),
      detail: `${alternative.answer === null ? 'no answer' : `Answer ${alternative.answer}`} · ${steps.length} step(s)`,
      kind: SymbolKind.Namespace,
      range: { start: heading, end: { line: last.line, character: stepLineText(last.step.text).length } },
      selectionRange: { start: heading, end: heading },
      children: steps.map(stepSymbol),
    });
  }
  return symbols;
}

function stepSymbol({ step, line }: ShownStep): DocumentSymbol {
  const range = { start: { line, character: 0 }, end: { line, character: stepLineText(step.text).length } };
  return {
    name: `Step ${step.index + 1}`,
    detail: `${stepLineText(step.text)} · ${formatPercent(step.confidence)}`,
    kind: SymbolKind.Event,
    range,
    selectionRange: range,
  };
}
