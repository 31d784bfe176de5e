import { DiagnosticSeverity, type Diagnostic, type PublishDiagnosticsParams } from 'vscode-languageserver';
import { DIAGNOSTIC_SOURCE, LOW_CONFIDENCE_CODE, OUTSIDE_TRAINING_RANGE_CODE } from '../../../src/protocol';
import { CAUTION_LINE, cautionLineText, formatPercent, stepLineText, type ReasoningDocument } from '../trace/reasoningDocument';

/**
 * A Warning on every step whose confidence is below `warningThreshold`, with the numbers. With
 * `clientLines` (the text the editor has now), only steps whose line is already there: a
 * diagnostic for a line the editor has not received yet would be clamped to its last line and then
 * drift with every appended step.
 */
export function lowConfidenceDiagnostics(document: ReasoningDocument, warningThreshold: number, clientLines?: readonly string[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const { step, line, alternative, branching } of document.shownSteps()) {
    if (!(step.confidence < warningThreshold)) continue;
    if (clientLines && !(clientLines[line] ?? '').startsWith(stepLineText(step.text))) continue;
    const weakest = step.weakestToken
      ? ` Weakest token ${JSON.stringify(step.weakestToken.text)} at ${formatPercent(step.weakestToken.prob)}.`
      : '';
    const pruned = branching?.prunedSiblings.length ?? 0;
    const fix = pruned === 0 ? '' : ` CaT pruned ${pruned} alternative${pruned === 1 ? '' : 's'} here: the quick fix re-expands them.`;
    diagnostics.push({
      range: { start: { line, character: 0 }, end: { line, character: stepLineText(step.text).length } },
      severity: DiagnosticSeverity.Warning,
      source: DIAGNOSTIC_SOURCE,
      code: LOW_CONFIDENCE_CODE,
      message:
        `Step ${step.index + 1}${alternative ? ` (alternative from step ${alternative.fromStep + 1})` : ''} has low confidence: ${formatPercent(step.confidence)} ` +
        `(${step.metric} score ${step.score.toFixed(4)}), below the warning threshold ${formatPercent(warningThreshold)}.${weakest}${fix}`,
    });
  }
  return diagnostics;
}

/** A Warning on the caution line of a problem outside the model's training range, or none. */
export function cautionDiagnostics(document: ReasoningDocument): Diagnostic[] {
  const { caution } = document.header;
  if (!caution) return [];
  return [{
    range: { start: { line: CAUTION_LINE, character: 0 }, end: { line: CAUTION_LINE, character: cautionLineText(caution).length } },
    severity: DiagnosticSeverity.Warning,
    source: DIAGNOSTIC_SOURCE,
    code: OUTSIDE_TRAINING_RANGE_CODE,
    message: `The problem is ${caution}`,
  }];
}

/**
 * Pushes the diagnostics of reasoning documents as their steps arrive, as the editor's copy of the
 * text catches up, and when the threshold changes — always against the text the editor has.
 */
export class DiagnosticsPublisher {
  constructor(
    private readonly send: (params: PublishDiagnosticsParams) => void,
    private readonly warningThreshold: () => number,
    /** The editor's current text of a document, or undefined while it has not opened it. */
    private readonly clientText: (uri: string) => string | undefined,
  ) {}

  publish(document: ReasoningDocument): void {
    const text = this.clientText(document.uri);
    if (text === undefined) return; // published again when the editor opens it
    const diagnostics = [...cautionDiagnostics(document), ...lowConfidenceDiagnostics(document, this.warningThreshold(), text.split(/\r\n|\r|\n/))];
    this.send({ uri: document.uri, diagnostics });
  }

  publishAll(documents: readonly ReasoningDocument[]): void {
    for (const document of documents) this.publish(document);
  }

  clear(uri: string): void {
    this.send({ uri, diagnostics: [] });
  }
}
