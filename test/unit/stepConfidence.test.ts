import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fewFitErrorsNote } from '../../language-server/src/handlers/calibration';
import { ModelError } from '../../language-server/src/model/modelError';
import {
  ConfidenceCalibration,
  deepConfTokenConfidence,
  fitSummary,
  loadConfidenceCalibration,
  parseCaspoSettings,
  scoreStep,
  STEP_METRICS,
  stepScores,
  type TokenEvidence,
} from '../../language-server/src/decoding/stepConfidence';

function token(prob: number, entropy: number, topProbs: number[]): TokenEvidence {
  return {
    prob,
    logProb: Math.log(prob),
    entropy,
    topK: topProbs.map((p, id) => ({ id, prob: p, logProb: Math.log(p) })),
  };
}

const tokens = [token(0.9, 0.4, [0.9, 0.05, 0.03]), token(0.5, 1.2, [0.5, 0.3, 0.1]), token(0.8, 0.7, [0.8, 0.1, 0.05])];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

describe('step confidence metrics', () => {
  it('lists the four metrics', () => {
    assert.deepEqual([...STEP_METRICS], ['meanEntropy', 'geoMeanProb', 'minProb', 'deepConf']);
  });

  it('computes raw scores from hand-made tokens', () => {
    const scores = stepScores(tokens);
    close(scores.meanEntropy, -(0.4 + 1.2 + 0.7) / 3, 'meanEntropy');
    close(scores.geoMeanProb, Math.cbrt(0.9 * 0.5 * 0.8), 'geoMeanProb');
    close(scores.minProb, 0.5, 'minProb');
    const deep = (ps: number[]) => -ps.reduce((a, p) => a + Math.log(p), 0) / ps.length;
    close(scores.deepConf, (deep([0.9, 0.05, 0.03]) + deep([0.5, 0.3, 0.1]) + deep([0.8, 0.1, 0.05])) / 3, 'deepConf');
    close(deepConfTokenConfidence(tokens[1]), deep([0.5, 0.3, 0.1]), 'token deepConf');
  });

  it('maps scores with the documented defaults', () => {
    const calibration = new ConfidenceCalibration(259, 5);
    const report = scoreStep(tokens, calibration);
    assert.equal(report.metric, 'meanEntropy');
    close(report.confidence, Math.exp(-(0.4 + 1.2 + 0.7) / 3), 'meanEntropy → exp(−H)');
    close(report.confidences.geoMeanProb, report.scores.geoMeanProb, 'geoMeanProb as is');
    close(report.confidences.minProb, 0.5, 'minProb as is');
    close(report.confidences.deepConf, 1 - Math.exp(-(report.scores.deepConf - Math.log(5)) / Math.log(259)), 'deepConf');
    assert.equal(calibration.toConfidence('deepConf', Math.log(5)), 0, 'uniform over the top-k → 0');
    assert.equal(calibration.toConfidence('meanEntropy', 0), 1);
  });

  it('default maps are monotone and stay in [0, 1]', () => {
    const calibration = new ConfidenceCalibration(151936, 5);
    for (const metric of STEP_METRICS) {
      let previous = -Infinity;
      for (let score = -20; score <= 40; score += 0.25) {
        const c = calibration.toConfidence(metric, metric === 'geoMeanProb' || metric === 'minProb' ? score / 40 : score);
        assert.ok(c >= 0 && c <= 1, `${metric} ${score} → ${c}`);
        assert.ok(c >= previous, `${metric} not monotone at ${score}`);
        previous = c;
      }
    }
  });

  it('uses a Platt map from caspo.json for the metrics it calibrates', () => {
    const calibration = parseCaspoSettings(
      { defaultMetric: 'minProb', calibration: { minProb: { type: 'platt', a: 4, b: -2 } } },
      'caspo.json',
      259,
      5,
    );
    assert.equal(calibration.defaultMetric, 'minProb');
    assert.ok(calibration.isFitted('minProb') && !calibration.isFitted('meanEntropy'));
    const report = scoreStep(tokens, calibration);
    assert.equal(report.metric, 'minProb');
    close(report.confidence, 1 / (1 + Math.exp(-(4 * 0.5 - 2))), 'sigmoid(a·score + b)');
    close(scoreStep(tokens, calibration, 'meanEntropy').confidence, Math.exp(-(0.4 + 1.2 + 0.7) / 3), 'default for others');
  });

  it('reads caspo.json from a model folder, or falls back to defaults without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caspo-cal-'));
    assert.equal(loadConfidenceCalibration(dir, 259, 5).isFitted('meanEntropy'), false);
    writeFileSync(join(dir, 'caspo.json'), JSON.stringify({ calibration: { meanEntropy: { type: 'platt', a: 2, b: 1 } } }));
    assert.equal(loadConfidenceCalibration(dir, 259, 5).isFitted('meanEntropy'), true);
    writeFileSync(join(dir, 'caspo.json'), '{ not json');
    assert.throws(() => loadConfidenceCalibration(dir, 259, 5), (e: unknown) => e instanceof ModelError && /caspo\.json is not valid JSON/.test(e.message));
    const folder = mkdtempSync(join(tmpdir(), 'caspo-cal-'));
    mkdirSync(join(folder, 'caspo.json'));
    assert.throws(
      () => loadConfidenceCalibration(folder, 259, 5),
      (e: unknown) => e instanceof ModelError && e.code === 'modelFileCorrupt' && /caspo\.json is a folder, not a file/.test(e.message),
    );
  });

  it('keeps what the Platt maps were fitted on, and says when that is few wrong steps', () => {
    const fit = { steps: 30096, positives: 29932, negatives: 164, problems: 2000, samples: 4, temperature: 1 };
    const maps = { calibration: { minProb: { type: 'platt', a: 15, b: -7 } } };
    assert.deepEqual(parseCaspoSettings({ ...maps, fit }, 'caspo.json', 259, 5).fit, { problems: 2000, samples: 4, steps: 30096, wrongSteps: 164 });
    assert.equal(parseCaspoSettings(maps, 'caspo.json', 259, 5).fit, null, 'a caspo.json without a fit record still loads');
    // a record that does not add up is left out, not an error: decoding never reads it
    for (const bad of [{ ...fit, negatives: 40000 }, { ...fit, problems: -1 }, { ...fit, samples: 1.5 }, { ...fit, steps: '30096' }, [1, 2], 'fit']) {
      assert.equal(fitSummary(bad), null, JSON.stringify(bad));
    }
    const ten = fitSummary({ ...fit, negatives: 10 });
    assert.match(fewFitErrorsNote(ten, 'minProb') ?? '', /minProb Platt map was fitted on only 10 wrong steps \(of 30096\).*caspo calibrate on more problems, until 50 or more/);
    assert.equal(fewFitErrorsNote(fitSummary({ ...fit, negatives: 50 }), 'minProb'), null);
    assert.equal(fewFitErrorsNote(null, 'minProb'), null, 'no map, no caution');
  });

  it('names the bad field of caspo.json', () => {
    const bad = (json: unknown, field: RegExp) =>
      assert.throws(() => parseCaspoSettings(json, '/m/caspo.json', 259, 5), (e: unknown) => e instanceof ModelError && field.test(e.message));
    bad({ defaultMetric: 'perplexity' }, /"defaultMetric" must be one of meanEntropy/);
    bad({ calibration: { perplexity: { type: 'platt', a: 1, b: 0 } } }, /"calibration.perplexity" is not a metric/);
    bad({ calibration: { minProb: { type: 'isotonic' } } }, /"calibration.minProb" must be/);
    bad({ calibration: { minProb: { type: 'platt', a: '1', b: 0 } } }, /"calibration.minProb.a" must be a finite number/);
  });

  it('refuses a step without tokens', () => {
    assert.throws(() => stepScores([]), /at least one token/);
  });
});
