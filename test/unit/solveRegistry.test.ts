import { strict as assert } from 'node:assert';
import { SolveRegistry } from '../../language-server/src/host/solveRegistry';
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
});
