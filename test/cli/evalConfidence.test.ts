/** `caspo eval --confidence raw|calibrated`: which step confidence the calibration numbers score. */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE } from '../../language-server/src/cli/errors';
import { copyEmbeddedModel, runCaspo, singleJsonLine, tempDir } from './helpers';

const EASY = [
  { problem: '47*38 + 12', answer: '1798' },
  { problem: 'What is 12*(40-3)?', answer: '444' },
  { problem: 'Work out 3 + 45+87.', answer: '135' },
];

interface Bin {
  lower: number;
  upper: number;
  count: number;
  meanConfidence: number | null;
  accuracy: number | null;
}

describe('caspo eval --confidence', function () {
  this.timeout(120_000);
  const scratch = tempDir('caspo-cli-eval-confidence-');
  after(() => scratch.remove());
  const input = join(scratch.dir, 'easy.jsonl');
  writeFileSync(input, EASY.map((r) => JSON.stringify(r)).join('\n') + '\n');

  // A Platt map that says every step is almost surely wrong (sigmoid(-10) ≈ 4.5e-5), on problems
  // the model gets right: the calibrated ECE is about 1, the model's own confidence is near 1.
  const pessimist = copyEmbeddedModel(scratch.dir, 'pessimist');
  writeFileSync(
    join(pessimist, 'caspo.json'),
    JSON.stringify({ defaultMetric: 'geoMeanProb', calibration: { geoMeanProb: { type: 'platt', a: 0, b: -10 } } }),
  );
  const unfitted = copyEmbeddedModel(scratch.dir, 'unfitted');
  const evalJson = async (model: string, ...extra: string[]) => {
    const run = await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', input, '--model', model, ...extra]);
    assert.equal(run.code, 0, run.stderr);
    return singleJsonLine(run.stdout);
  };

  it('calibrated (the default) scores the Platt-mapped confidence', async () => {
    const report = await evalJson(pessimist);
    assert.equal(report.accuracy, 1);
    assert.equal(report.metric, 'geoMeanProb');
    assert.equal(report.confidence, 'calibrated');
    assert.equal(report.calibrated, true);
    assert.ok((report.ece as number) > 0.99, `ece ${report.ece}`);
    assert.equal(report.platt, undefined);
    // every metric's ECE under the same kind of confidence: geoMeanProb's is the Platt map's; the
    // others have no fitted map here, so they go through the default mapping, near 1 on easy problems
    const byMetric = report.eceByMetric as Record<string, number>;
    assert.equal(byMetric.geoMeanProb, report.ece);
    assert.ok(byMetric.minProb < 0.1 && byMetric.meanEntropy < 0.1, JSON.stringify(byMetric));
    const bins = report.reliability as Bin[];
    assert.equal(bins.length, 10);
    assert.equal(bins[0].count, report.steps, 'every step sits in the lowest bin');
    assert.equal(bins[0].accuracy, 1);
  });

  it('raw scores the default mapping (geoMeanProb as a probability) and adds the Platt numbers', async () => {
    const raw = await evalJson(pessimist, '--confidence', 'raw');
    assert.equal(raw.confidence, 'raw');
    assert.equal(raw.calibrated, false);
    assert.ok((raw.ece as number) < 0.1, `raw ece ${raw.ece}`);
    assert.equal((raw.eceByMetric as Record<string, number>).geoMeanProb, raw.ece);
    const platt = raw.platt as { ece: number; brier: number; stepAUROC: number | null };
    assert.ok(platt.ece > 0.99, `platt ece ${platt.ece}`);
    const bins = raw.reliability as Bin[];
    assert.equal(
      bins.reduce((sum, b) => sum + b.count, 0),
      raw.steps,
    );
    assert.equal(bins[9].count, raw.steps, 'the model is sure of every step: all in [0.9, 1]');

    // The same numbers as a model without caspo.json, whose confidence is the default mapping
    // (its default metric is meanEntropy, so the metric is named).
    const plain = await evalJson(unfitted, '--metric', 'geoMeanProb');
    assert.equal(plain.calibrated, false);
    for (const key of ['ece', 'brier', 'stepAUROC', 'reliability', 'steps'] as const) assert.deepEqual(raw[key], plain[key], key);
    assert.equal(plain.platt, undefined, 'nothing fitted, so no Platt numbers');
  });

  it('rejects an unknown kind with a usage error', async () => {
    const run = await runCaspo(['eval', '--json', '--input', input, '--confidence', 'platt']);
    assert.equal(run.code, EXIT_USAGE);
    assert.match(run.stderr, /--confidence must be one of calibrated, raw/);
  });
});
