/** `caspo calibrate` into a copy of the embedded model, then solve/eval with what it wrote. */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STEP_METRICS } from '../../language-server/src/decoding/stepConfidence';
import { FEW_FIT_ERRORS } from '../../src/protocol';
import { copyEmbeddedModel, JS_STACK_FRAME, ROOT, runCaspo, singleJsonLine, tempDir } from './helpers';

interface CaspoJson {
  defaultMetric: string;
  calibration: Record<string, { type: string; a: number; b: number }>;
  auroc: Record<string, number>;
  aurocOperationLines: Record<string, number | null>;
  fit: { steps: number; positives: number; negatives: number; problems: number; samples: number; input: string; date: string };
}

describe('caspo calibrate', function () {
  this.timeout(180_000);
  const scratch = tempDir('caspo-cli-calibrate-');
  after(() => scratch.remove());

  it('fits every metric, picks the best AUROC as default, and solve/eval use the maps', async () => {
    const model = copyEmbeddedModel(scratch.dir, 'model');
    const input = join(ROOT, 'training', 'data', 'calibration.jsonl');
    // temperature 2: about 100 wrong steps of 390, enough for every metric's fit to mean something (at 1.5 the embedded
    // model makes about 6, whose fitted slopes are noise: deepConf's came out negative)
    const run = await runCaspo(['calibrate', '--ep', 'cpu', '--model', model, '--input', input, '--limit', '25', '--samples', '4', '--temperature', '2']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^metric\s+AUROC\s+AUROC ops\s+a\s+b/m);
    for (const metric of STEP_METRICS) assert.match(run.stdout, new RegExp(`^${metric}\\s+0\\.\\d{4}`, 'm'));

    const settings = JSON.parse(readFileSync(join(model, 'caspo.json'), 'utf8')) as CaspoJson;
    assert.deepEqual(Object.keys(settings.calibration).sort(), [...STEP_METRICS].sort());
    for (const map of Object.values(settings.calibration)) {
      assert.equal(map.type, 'platt');
      assert.ok(Number.isFinite(map.a) && Number.isFinite(map.b));
      assert.ok(map.a > 0, 'every metric is "higher = more confident", so its fitted slope is positive');
    }
    assert.deepEqual(Object.keys(settings.aurocOperationLines).sort(), [...STEP_METRICS].sort());
    const best = Math.max(...Object.values(settings.auroc));
    assert.equal(settings.auroc[settings.defaultMetric], best);
    assert.equal(settings.fit.problems, 25);
    assert.equal(settings.fit.samples, 4);
    assert.equal(settings.fit.positives + settings.fit.negatives, settings.fit.steps);
    assert.ok(settings.fit.negatives > 0 && settings.fit.positives > 0);
    // the warning says exactly when the fit rests on few wrong steps
    const warned = /warning: only (\d+) of the (\d+) steps are wrong/.exec(run.stderr);
    assert.equal(warned !== null, settings.fit.negatives < FEW_FIT_ERRORS, run.stderr);
    if (warned) assert.deepEqual([Number(warned[1]), Number(warned[2])], [settings.fit.negatives, settings.fit.steps]);
    assert.match(settings.fit.input, /calibration\.jsonl$/);
    assert.ok(!Number.isNaN(Date.parse(settings.fit.date)));

    const solved = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '--model', model, '47*38 + 12'])).stdout);
    assert.equal(solved.metric, settings.defaultMetric);
    assert.equal(solved.calibrated, true);
    const { a, b } = settings.calibration[settings.defaultMetric];
    for (const step of solved.steps as { confidence: number; rawScore: number }[]) {
      assert.ok(Math.abs(step.confidence - 1 / (1 + Math.exp(-(a * step.rawScore + b)))) < 1e-5);
    }
    const evalPath = join(scratch.dir, 'two.jsonl');
    writeFileSync(evalPath, '{"problem": "Evaluate 716 + 280-5.", "answer": "991"}\n{"problem": "47*38 + 12", "answer": "1798"}\n');
    const report = singleJsonLine((await runCaspo(['eval', '--json', '--ep', 'cpu', '--model', model, '--input', evalPath])).stdout);
    assert.equal(report.calibrated, true);
    assert.equal(report.metric, settings.defaultMetric);
  });

  it('warns of few wrong steps only below the threshold', async () => {
    // at temperature 3 most sampled steps are wrong: well above the threshold on 12 problems
    const model = copyEmbeddedModel(scratch.dir, 'many-wrong');
    const input = join(ROOT, 'training', 'data', 'calibration.jsonl');
    const run = await runCaspo(['calibrate', '--ep', 'cpu', '--model', model, '--input', input, '--limit', '12', '--samples', '4', '--temperature', '3']);
    assert.equal(run.code, 0, run.stderr);
    const settings = JSON.parse(readFileSync(join(model, 'caspo.json'), 'utf8')) as CaspoJson;
    assert.ok(settings.fit.negatives >= FEW_FIT_ERRORS, `${settings.fit.negatives} wrong steps`);
    assert.doesNotMatch(run.stderr, /warning/);
  });

  it('refuses to fit when every step is correct, and leaves no caspo.json', async () => {
    const model = copyEmbeddedModel(scratch.dir, 'too-easy');
    const input = join(scratch.dir, 'easy.jsonl');
    writeFileSync(input, '{"problem": "Work out 3 + 45+87.", "answer": "135"}\n{"problem": "47*38 + 12", "answer": "1798"}\n');
    const run = await runCaspo(['calibrate', '--ep', 'cpu', '--model', model, '--input', input, '--temperature', '0.05']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot fit: all \d+ labelled steps are correct/);
    assert.doesNotMatch(run.stderr, JS_STACK_FRAME);
    assert.ok(!existsSync(join(model, 'caspo.json')));
  });

  it('needs --model and --input', async () => {
    const run = await runCaspo(['calibrate', '--input', 'x.jsonl']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /calibrate needs --model DIR/);
    const noStrategy = await runCaspo(['calibrate', '--model', 'm', '--input', 'x', '--strategy', 'greedy']);
    assert.equal(noStrategy.code, 2);
    assert.match(noStrategy.stderr, /unknown flag --strategy/);
  });
});
