import { DiagnosticSeverity, type Diagnostic, type PublishDiagnosticsParams } from 'vscode-languageserver';
import { DIAGNOSTIC_SOURCE, LOW_CONFIDENCE_CODE } from '../../../src/protocol';
import { formatPercent, stepLineText, type ReasoningDocument } from '../trace/reasoningDocument';

/** A Warning on every step whose confidence is below `warningThreshold`, with the numbers. */
export function lowConfidenceDiagnostics(document: ReasoningDocument, warningThreshold: number): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const step of document.steps) {
    if (!(step.confidence < warningThreshold)) continue;
    const line = document.lineOfStep(step.index);
    const weakest = step.weakestToken
      ? ` Weakest token ${JSON.stringify(step.weakestToken.text)} at ${formatPercent(step.weakestToken.prob)}.`
      : '';
    diagnostics.push({
      range: { start: { line, character: 0 }, end: { line, character: stepLineText(step.text).length } },
      severity: DiagnosticSeverity.Warning,
      source: DIAGNOSTIC_SOURCE,
      code: LOW_CONFIDENCE_CODE,
      message:
        `Step ${step.index + 1} has low confidence: ${formatPercent(step.confidence)} ` +
        `(${step.metric} score ${step.score.toFixed(4)}), below the warning threshold ${formatPercent(warningThreshold)}.${weakest}`,
    });
  }
  return diagnostics;
}

/** Pushes the diagnostics of reasoning documents as their steps arrive and when the threshold changes. */
export class DiagnosticsPublisher {
  constructor(
    private readonly send: (params: PublishDiagnosticsParams) => void,
    private readonly warningThreshold: () => number,
  ) {}

  publish(document: ReasoningDocument): void {
    this.send({ uri: document.uri, diagnostics: lowConfidenceDiagnostics(document, this.warningThreshold()) });
  }

  publishAll(documents: readonly ReasoningDocument[]): void {
    for (const document of documents) this.publish(document);
  }

  clear(uri: string): void {
    this.send({ uri, diagnostics: [] });
  }
}
