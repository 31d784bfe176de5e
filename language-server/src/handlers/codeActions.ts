import { CodeActionKind, CodeActionRequest, type CodeAction, type CodeActionParams } from 'vscode-languageserver';
import { DIAGNOSTIC_SOURCE, ellipsize, LOW_CONFIDENCE_CODE, RE_EXPAND_COMMAND } from '../../../src/protocol';
import type { SolveRegistry } from '../host/solveRegistry';
import { formatPercent, stepLineText } from '../trace/reasoningDocument';
import { reExpandArguments } from './reExpandArguments';
import { checkRange, invalidParams, member, requestedDocument } from './requestParams';

const METHOD = CodeActionRequest.method;

/** How many pruned alternatives get a quick fix of their own; the rest are one quick pick away. */
const DIRECT_FIXES = 3;
const QUOTED_LENGTH = 40;

/**
 * Quick fixes on a low-confidence warning whose step had siblings pruned by CaT: re-expand each
 * pruned alternative there (most confident first), or pick one from all of them.
 */
export function codeActionsFor(registry: SolveRegistry, params: CodeActionParams): CodeAction[] {
  const document = requestedDocument(registry, METHOD, params);
  checkRange(METHOD, 'range', params.range);
  const diagnostics = member(params.context, 'diagnostics');
  if (!Array.isArray(diagnostics)) throw invalidParams(METHOD, 'context.diagnostics', 'an array', diagnostics);
  diagnostics.forEach((diagnostic: unknown, i) => checkRange(METHOD, `context.diagnostics[${i}].range`, member(diagnostic, 'range')));
  if (!document?.finished) return [];
  const actions: CodeAction[] = [];
  for (const diagnostic of params.context.diagnostics) {
    if (diagnostic.source !== DIAGNOSTIC_SOURCE || diagnostic.code !== LOW_CONFIDENCE_CODE) continue;
    const shown = document.shownStepAtLine(diagnostic.range.start.line);
    const args = shown && reExpandArguments(document, shown);
    if (!args) continue;
    const open = args.candidates.filter((c) => !c.expanded);
    for (const candidate of open.slice(0, DIRECT_FIXES)) {
      actions.push({
        title: `Re-expand the pruned alternative "${quote(candidate.text)}" (${formatPercent(candidate.confidence)}) at step ${args.stepIndex + 1}`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        command: { title: 'Re-expand', command: RE_EXPAND_COMMAND, arguments: [args, candidate.nodeId] },
      });
    }
    if (open.length > DIRECT_FIXES || open.length === 0) {
      actions.push({
        title: `Re-expand one of the ${args.candidates.length} pruned alternatives at step ${args.stepIndex + 1}…`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        command: { title: 'Re-expand', command: RE_EXPAND_COMMAND, arguments: [args] },
      });
    }
  }
  return actions;
}

function quote(text: string): string {
  return ellipsize(stepLineText(text), QUOTED_LENGTH);
}
