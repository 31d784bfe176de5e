import { strict as assert } from 'node:assert';
import { DiagnosticSeverity } from 'vscode-languageserver';
import { cautionDiagnostics, DiagnosticsPublisher, lowConfidenceDiagnostics } from '../../language-server/src/handlers/diagnostics';
import { CAUTION_LINE, FIRST_STEP_LINE } from '../../language-server/src/trace/reasoningDocument';
import { LOW_CONFIDENCE_CODE, OUTSIDE_TRAINING_RANGE_CODE } from '../../src/protocol';
import { documentWith, step } from './helpers/reasoningFixtures';

describe('low-confidence diagnostics', () => {
  const document = documentWith([
    step(0, '47 * 38 = 1786', 0.95),
    step(1, '1786 + 12 = 1799', 0.42, { metric: 'minProb', score: 0.42 }),
    step(2, 'Answer: 1799', 0.5),
  ]);

  it('warns on each step strictly below the threshold, on its line, with the numbers', () => {
    const diagnostics = lowConfidenceDiagnostics(document, 0.5);
    assert.equal(diagnostics.length, 1);
    const [warning] = diagnostics;
    assert.deepEqual(warning.range, { start: { line: FIRST_STEP_LINE + 1, character: 0 }, end: { line: FIRST_STEP_LINE + 1, character: 16 } });
    assert.equal(warning.severity, DiagnosticSeverity.Warning);
    assert.equal(warning.code, LOW_CONFIDENCE_CODE);
    assert.equal(warning.source, 'caspo');
    assert.equal(
      warning.message,
      'Step 2 has low confidence: 42.0% (minProb score 0.4200), below the warning threshold 50.0%. Weakest token "7" at 60.0%.',
    );
  });

  it('follows the threshold: none at 0, every step at 1', () => {
    assert.deepEqual(lowConfidenceDiagnostics(document, 0), []);
    assert.deepEqual(
      lowConfidenceDiagnostics(document, 1).map((d) => d.range.start.line),
      [FIRST_STEP_LINE, FIRST_STEP_LINE + 1, FIRST_STEP_LINE + 2],
    );
  });

  it('names only lines the editor already has, and nothing before it opens the document', () => {
    const sent: number[][] = [];
    let editorText: string | undefined;
    const publisher = new DiagnosticsPublisher(
      (params) => sent.push(params.diagnostics.map((d) => d.range.start.line)),
      () => 1,
      () => editorText,
    );
    publisher.publish(document);
    assert.deepEqual(sent, [], 'not open in the editor yet: nothing to anchor a diagnostic to');
    const lines = document.text().split('\n');
    editorText = lines.slice(0, FIRST_STEP_LINE + 1).join('\n'); // the editor has only the first step so far
    publisher.publish(document);
    editorText = document.text();
    publisher.publish(document);
    assert.deepEqual(sent, [[FIRST_STEP_LINE], [FIRST_STEP_LINE, FIRST_STEP_LINE + 1, FIRST_STEP_LINE + 2]]);
  });

  it('publishes per document with the current threshold, and clears', () => {
    const sent: { uri: string; lines: number[] }[] = [];
    let threshold = 0.5;
    const publisher = new DiagnosticsPublisher(
      (params) => sent.push({ uri: params.uri, lines: params.diagnostics.map((d) => d.range.start.line) }),
      () => threshold,
      () => document.text(),
    );
    publisher.publish(document);
    threshold = 0.96;
    publisher.publishAll([document]);
    publisher.clear(document.uri);
    assert.deepEqual(sent, [
      { uri: document.uri, lines: [FIRST_STEP_LINE + 1] },
      { uri: document.uri, lines: [FIRST_STEP_LINE, FIRST_STEP_LINE + 1, FIRST_STEP_LINE + 2] },
      { uri: document.uri, lines: [] },
    ]);
  });

  it('a problem outside the training range: a Warning on the caution line, and the step warnings one line lower', () => {
    const caution = 'outside caspo-arith\'s training range: "100 * 100" has both factors above 99. Expect confident mistakes.';
    const cautioned = documentWith([step(0, '100 * 100 = 1000', 0.99), step(1, 'Answer: 1000', 0.3)], caution);
    const lines = cautioned.text().split('\n');
    assert.equal(lines[CAUTION_LINE], `Caution: ${caution}`);
    assert.equal(lines[CAUTION_LINE + 1], '');
    assert.deepEqual(cautioned.summaries().map((s) => [s.line, lines[s.line]]), [[FIRST_STEP_LINE + 1, '100 * 100 = 1000'], [FIRST_STEP_LINE + 2, 'Answer: 1000']]);
    const [warning] = cautionDiagnostics(cautioned);
    assert.deepEqual(warning.range, { start: { line: CAUTION_LINE, character: 0 }, end: { line: CAUTION_LINE, character: lines[CAUTION_LINE].length } });
    assert.equal(warning.code, OUTSIDE_TRAINING_RANGE_CODE);
    assert.equal(warning.severity, DiagnosticSeverity.Warning);
    assert.equal(warning.message, `The problem is ${caution}`);
    assert.deepEqual(lowConfidenceDiagnostics(cautioned, 0.5).map((d) => d.range.start.line), [FIRST_STEP_LINE + 2]);
    const sent: number[][] = [];
    new DiagnosticsPublisher((params) => sent.push(params.diagnostics.map((d) => d.range.start.line)), () => 0.5, () => cautioned.text()).publish(cautioned);
    assert.deepEqual(sent, [[CAUTION_LINE, FIRST_STEP_LINE + 2]]);
    assert.deepEqual(cautionDiagnostics(document), [], 'no caution, no warning');
  });
});
