import { strict as assert } from 'node:assert';
import { linesByBand } from '../../src/gutterLines';
import { bandThresholdProblem, confidenceBand, problemSlug, reasoningDocumentUri, solveIdFromUri } from '../../src/protocol';

const BANDS = { high: 0.8, medium: 0.5 };

describe('confidence bands', () => {
  it('classifies with inclusive lower bounds', () => {
    assert.equal(confidenceBand(1, BANDS), 'high');
    assert.equal(confidenceBand(0.8, BANDS), 'high');
    assert.equal(confidenceBand(0.7999, BANDS), 'medium');
    assert.equal(confidenceBand(0.5, BANDS), 'medium');
    assert.equal(confidenceBand(0.4999, BANDS), 'low');
    assert.equal(confidenceBand(0, BANDS), 'low');
    assert.equal(confidenceBand(0.6, { high: 0.5, medium: 0.5 }), 'high');
  });

  it('rejects thresholds outside [0, 1] or in the wrong order', () => {
    assert.equal(bandThresholdProblem(BANDS), null);
    assert.match(bandThresholdProblem({ high: 0.4, medium: 0.5 })!, /must not exceed the high one/);
    assert.match(bandThresholdProblem({ high: 1.2, medium: 0.5 })!, /high band threshold must be a number from 0 to 1, got 1\.2/);
    assert.match(bandThresholdProblem({ high: 0.8, medium: Number.NaN })!, /medium band threshold/);
  });

  it('groups step lines by band for the gutter, skipping lines the document does not show yet', () => {
    const steps = [
      { index: 0, line: 3, confidence: 0.95, text: 'a' },
      { index: 1, line: 4, confidence: 0.6, text: 'b' },
      { index: 2, line: 5, confidence: 0.1, text: 'c' },
      { index: 3, line: 6, confidence: 0.99, text: 'd' },
    ];
    assert.deepEqual(linesByBand(steps, BANDS, 100), { high: [3, 6], medium: [4], low: [5] });
    assert.deepEqual(linesByBand(steps, BANDS, 6), { high: [3], medium: [4], low: [5] });
    assert.deepEqual(linesByBand(steps, { high: 0.05, medium: 0 }, 100), { high: [3, 4, 5, 6], medium: [], low: [] });
  });
});

describe('reasoning document URIs', () => {
  it('names each solve by id and a short, URI-safe form of its problem', () => {
    assert.equal(reasoningDocumentUri('3', '47*38 + 12'), 'caspo-reasoning:/solve-3/47x38-12.caspo');
    assert.equal(problemSlug('  (1/3) + 2  '), '1-3-2');
    assert.equal(problemSlug('∑ ∫ ?'), 'problem');
    assert.equal(problemSlug('a'.repeat(100)).length, 40);
    assert.match(problemSlug('word '.repeat(20)), /^[A-Za-z0-9-]+[A-Za-z0-9]$/);
  });

  it('reads the solve id back, and nothing from other URIs', () => {
    assert.equal(solveIdFromUri('caspo-reasoning:/solve-42/x.caspo'), '42');
    assert.equal(solveIdFromUri('caspo-reasoning:/solve-a_b-1/x.caspo'), 'a_b-1');
    assert.equal(solveIdFromUri('file:///solve-42/x.caspo'), null);
    assert.equal(solveIdFromUri('caspo-reasoning:/other/x.caspo'), null);
  });
});
