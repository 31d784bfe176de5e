import { InlayHintRequest, type InlayHint, type InlayHintParams } from 'vscode-languageserver';
import type { SolveRegistry } from '../host/solveRegistry';
import { formatPercent, stepLineText } from '../trace/reasoningDocument';
import { checkRange, requestedDocument } from './requestParams';

/** The confidence at the end of each step line inside the requested range. */
export function inlayHintsFor(registry: SolveRegistry, params: InlayHintParams): InlayHint[] {
  const document = requestedDocument(registry, InlayHintRequest.method, params);
  const { start, end } = checkRange(InlayHintRequest.method, 'range', params.range);
  if (!document) return [];
  const hints: InlayHint[] = [];
  for (const { step, line } of document.shownSteps()) {
    if (line < start.line || line > end.line) continue;
    hints.push({
      position: { line, character: stepLineText(step.text).length },
      label: step.cutOff ? `${formatPercent(step.confidence)} · cut off` : formatPercent(step.confidence),
      paddingLeft: true,
      tooltip: `Step ${step.index + 1} confidence (${step.metric})`,
    });
  }
  return hints;
}
