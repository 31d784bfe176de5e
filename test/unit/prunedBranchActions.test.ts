import { strict as assert } from 'node:assert';
import { DiagnosticSeverity, type CodeActionParams, type Diagnostic } from 'vscode-languageserver';
import { codeActionsFor } from '../../language-server/src/handlers/codeActions';
import { codeLensesFor } from '../../language-server/src/handlers/codeLens';
import { SolveRegistry } from '../../language-server/src/host/solveRegistry';
import { FIRST_STEP_LINE } from '../../language-server/src/trace/reasoningDocument';
import { LOW_CONFIDENCE_CODE, RE_EXPAND_COMMAND, type ReExpandArguments } from '../../src/protocol';
import { documentWith, step } from './helpers/reasoningFixtures';

const URI = 'caspo-reasoning:/solve-3/47x38-12.caspo';
const PRUNED = [
  { nodeId: '0.2', text: '1786 - 12 = 1774', confidence: 0.05 },
  { nodeId: '0.0', text: '1786 + 13 = 1799', confidence: 0.412 },
  { nodeId: '0.3', text: '1786 * 12 = 21432', confidence: 0.2 },
  { nodeId: '0.4', text: '12 + 1786 = 1798', confidence: 0.3 },
];

function registryWith(finished: boolean) {
  const document = documentWith([]);
  document.addStep(step(0, '47 * 38 = 1786', 0.99), { nodeId: '0', prunedSiblings: [] });
  document.addStep(step(1, '1786 + 12 = 1798', 0.3), { nodeId: '0.1', prunedSiblings: PRUNED });
  document.addStep(step(2, 'Answer: 1798', 0.98), { nodeId: '0.1.0', prunedSiblings: [] });
  if (finished) document.finish({ stopReason: 'answer', answer: '1798', generatedTokens: 45, wallMs: 220 });
  const registry = new SolveRegistry();
  registry.add(document);
  return { registry, document };
}

function warningOn(line: number, code: string = LOW_CONFIDENCE_CODE): Diagnostic {
  return { range: { start: { line, character: 0 }, end: { line, character: 5 } }, severity: DiagnosticSeverity.Warning, source: 'caspo', code, message: 'low' };
}

function actionParams(diagnostics: Diagnostic[]): CodeActionParams {
  return { textDocument: { uri: URI }, range: diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics } };
}

describe('code lens and quick fix on pruned branches', () => {
  it('puts "N pruned branches — re-expand" on the step whose siblings were pruned, with each sibling for the quick pick', () => {
    const { registry } = registryWith(true);
    const lenses = codeLensesFor(registry, { textDocument: { uri: URI } });
    assert.equal(lenses.length, 1);
    const [lens] = lenses;
    assert.equal(lens.range.start.line, FIRST_STEP_LINE + 1);
    assert.equal(lens.command?.title, '4 pruned branches — re-expand');
    assert.equal(lens.command?.command, RE_EXPAND_COMMAND);
    const args = lens.command?.arguments?.[0] as ReExpandArguments;
    assert.equal(args.solveId, '3');
    assert.equal(args.uri, URI);
    assert.equal(args.stepIndex, 1);
    assert.deepEqual(
      args.candidates.map((c) => [c.nodeId, c.confidence, c.expanded]),
      [
        ['0.0', 0.412, false],
        ['0.4', 0.3, false],
        ['0.3', 0.2, false],
        ['0.2', 0.05, false],
      ],
      'most confident first',
    );
  });

  it('has no lens while the solve runs, nor for another document', () => {
    assert.deepEqual(codeLensesFor(registryWith(false).registry, { textDocument: { uri: URI } }), []);
    assert.deepEqual(codeLensesFor(registryWith(true).registry, { textDocument: { uri: 'caspo-reasoning:/solve-9/x.caspo' } }), []);
  });

  it('counts the branches already shown below', () => {
    const { registry, document } = registryWith(true);
    document.addAlternative({
      nodeId: '0.0',
      fromStep: 1,
      prunedConfidence: 0.412,
      steps: [{ step: step(1, '1786 + 13 = 1799', 0.412), branching: { nodeId: '0.0', prunedSiblings: [] } }],
      answer: null,
      stopReason: 'eos',
    });
    const [lens] = codeLensesFor(registry, { textDocument: { uri: URI } });
    assert.equal(lens.command?.title, '4 pruned branches — re-expand (1 shown below)');
    assert.equal((lens.command?.arguments?.[0] as ReExpandArguments).candidates[0].expanded, true);
  });

  it('offers a quick fix per pruned alternative on the low-confidence warning of that step, and a pick for the rest', () => {
    const { registry } = registryWith(true);
    const warning = warningOn(FIRST_STEP_LINE + 1);
    const actions = codeActionsFor(registry, actionParams([warning]));
    assert.deepEqual(
      actions.map((a) => a.title),
      [
        'Re-expand the pruned alternative "1786 + 13 = 1799" (41.2%) at step 2',
        'Re-expand the pruned alternative "12 + 1786 = 1798" (30.0%) at step 2',
        'Re-expand the pruned alternative "1786 * 12 = 21432" (20.0%) at step 2',
        'Re-expand one of the 4 pruned alternatives at step 2…',
      ],
    );
    for (const action of actions) {
      assert.equal(action.kind, 'quickfix');
      assert.deepEqual(action.diagnostics, [warning]);
      assert.equal(action.command?.command, RE_EXPAND_COMMAND);
    }
    assert.equal(actions[0].command?.arguments?.[1], '0.0', 'the direct fix names its node');
    assert.equal(actions[3].command?.arguments?.length, 1, 'the last one asks which');
  });

  it('offers nothing on other diagnostics, on steps without pruned siblings, or while the solve runs', () => {
    const { registry } = registryWith(true);
    assert.deepEqual(codeActionsFor(registry, actionParams([warningOn(FIRST_STEP_LINE)])), []);
    assert.deepEqual(codeActionsFor(registry, actionParams([warningOn(FIRST_STEP_LINE + 1, 'other')])), []);
    assert.deepEqual(codeActionsFor(registryWith(false).registry, actionParams([warningOn(FIRST_STEP_LINE + 1)])), []);
  });
});
