import { CodeLensRequest, type CodeLens, type CodeLensParams } from 'vscode-languageserver';
import { RE_EXPAND_COMMAND } from '../../../src/protocol';
import type { SolveRegistry } from '../host/solveRegistry';
import { stepLineText, type ReasoningDocument } from '../trace/reasoningDocument';
import { reExpandArguments } from './reExpandArguments';
import { requestedDocument } from './requestParams';

/**
 * "N pruned branches — re-expand" above every step line whose siblings CaT pruned, once the solve
 * has ended (a running solve's tree is still growing, and only a finished one can be re-expanded).
 */
export function codeLensesFor(registry: SolveRegistry, params: CodeLensParams): CodeLens[] {
  const document = requestedDocument(registry, CodeLensRequest.method, params);
  if (!document?.finished) return [];
  return prunedBranchLenses(document);
}

export function prunedBranchLenses(document: ReasoningDocument): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const shown of document.shownSteps()) {
    const args = reExpandArguments(document, shown);
    if (!args) continue;
    const count = args.candidates.length;
    const expanded = args.candidates.filter((c) => c.expanded).length;
    const title =
      `${count} pruned branch${count === 1 ? '' : 'es'} — ` +
      (expanded === count ? 'shown below' : `re-expand${expanded > 0 ? ` (${expanded} shown below)` : ''}`);
    const { line } = shown;
    lenses.push({
      range: { start: { line, character: 0 }, end: { line, character: stepLineText(shown.step.text).length } },
      command: { title, command: RE_EXPAND_COMMAND, arguments: [args] },
    });
  }
  return lenses;
}
