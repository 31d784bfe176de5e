import { strict as assert } from 'node:assert';
import { SolveRegistry } from '../../language-server/src/host/solveRegistry';
import { KEPT_FINISHED_SOLVES } from '../../src/protocol';
import { ReasoningDocument } from '../../language-server/src/trace/reasoningDocument';
import { documentWith, step } from './helpers/reasoningFixtures';

describe('solve registry', () => {
  it('finds a document by its exact URI, not by a URI that only shares its solve id', () => {
    // Solve ids restart with the extension host: a document kept open from before, solve-3 of another
    // problem, must not get this session's solve 3 (its confidences and lines) in hovers and hints.
    const document = documentWith([step(0, '47 * 38 = 1786', 0.9)]);
    const registry = new SolveRegistry();
    registry.add(document);
    assert.equal(registry.byUri('caspo-reasoning:/solve-3/47x38-12.caspo'), document);
    assert.equal(registry.byUri('caspo-reasoning:/solve-3/915-27x31.caspo'), undefined);
    assert.equal(registry.byUri('caspo-reasoning:/solve-4/47x38-12.caspo'), undefined);
    assert.equal(registry.byUri('file:///tmp/47x38-12.caspo'), undefined);
  });

  it('drops the finished solves updated longest ago, as the extension drops its documents, not those started first', () => {
    const registry = new SolveRegistry();
    const solve = (id: string) => {
      const document = new ReasoningDocument(id, `caspo-reasoning:/solve-${id}/p.caspo`, { problem: 'p', model: 'm', executionProvider: 'cpu', metric: 'minProb', calibrated: false });
      registry.add(document);
      return document;
    };
    const end = (document: ReasoningDocument) => {
      document.finish({ stopReason: 'eos', answer: '1', generatedTokens: 1, wallMs: 1 });
      registry.touch(document.solveId);
      return registry.evictFinished();
    };
    const long = solve('long'); // started first, finishes last
    const others = Array.from({ length: KEPT_FINISHED_SOLVES }, (_, i) => solve(`s${i}`));
    for (const document of others) assert.deepEqual(end(document), []);
    assert.deepEqual(end(long), ['caspo-reasoning:/solve-s0/p.caspo'], 'the one updated longest ago goes');
    assert.ok(registry.has('long'));
    registry.touch('s1'); // a re-expansion updates it
    solve('new');
    assert.deepEqual(end(registry.get('new')!), ['caspo-reasoning:/solve-s2/p.caspo']);
  });
});
