/**
 * CASPO samples its training data in Python (training/caspo_train/sample.py) and must read every
 * token's confidence exactly as the engine does. Same model (the SFT checkpoint and its ONNX export),
 * same greedy problems: the steps, each token's probability and entropy, each step's raw
 * geoMeanProb score, and the calibrated confidence CASPO's pair filter compares with τ (the model's
 * caspo.json metric through its Platt map, which CaT prunes on) must agree between
 * `python3 -m caspo_train.sample` and `caspo solve --json`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
// @ts-expect-error plain .mjs helper without types
import { requireTorchPython } from '../../scripts/lib/python.mjs';
import { ROOT, runCaspo } from './helpers';

const CHECKPOINT = join(ROOT, 'training', 'checkpoints', 'caspo-arith-sft.pt');
const SFT_MODEL = join(ROOT, 'models', 'caspo-arith-sft'); // the checkpoint's ONNX export
// the last two: steps the model is unsure of (calibrated 0.76 and 0.98), where the Platt map matters
const PROBLEMS = ['What is 47*38 + 12?', '(905 - 88) * 7 + 6*54', '3 - 5 + 10', 'Calculate 52 * 691+106.', 'What is 347*829?'];

interface PyStep {
  text: string;
  scores: { geoMeanProb: number };
  engineConfidence: number;
  tokens: { text: string; logProb: number; entropy: number }[];
}
interface EngineStep {
  text: string;
  rawScore: number;
  confidence: number;
  tokens: { text: string; prob: number; entropy: number }[];
}

describe('CASPO sampling reads token confidence as the engine does', function () {
  this.timeout(120000);

  for (const problem of PROBLEMS) {
    it(`same steps, token probabilities, entropies and step scores: ${problem}`, async () => {
      const python = requireTorchPython() as string;
      const py = spawnSync(python, ['-m', 'caspo_train.sample', '--state', CHECKPOINT, '--engine-model', SFT_MODEL, '--problem', problem], {
        cwd: join(ROOT, 'training'),
        encoding: 'utf8',
      });
      assert.equal(py.status, 0, py.stderr);
      const pySteps = (JSON.parse(py.stdout.trim()) as { steps: PyStep[] }).steps;
      // no --metric: the engine's confidence is the model's default metric through its Platt map, as CaT's
      const run = await runCaspo(['solve', '--json', '--strategy', 'greedy', '--model', SFT_MODEL, problem]);
      assert.equal(run.code, 0, run.stderr);
      const engineSteps = (JSON.parse(run.stdout) as { steps: EngineStep[] }).steps;

      assert.deepEqual(engineSteps.map((s) => s.text), pySteps.map((s) => s.text));
      let tokens = 0;
      engineSteps.forEach((engine, i) => {
        const ours = pySteps[i];
        assert.deepEqual(engine.tokens.map((t) => t.text), ours.tokens.map((t) => t.text), `tokens of step ${i}`);
        engine.tokens.forEach((t, j) => {
          assert.ok(Math.abs(t.prob - Math.exp(ours.tokens[j].logProb)) < 2e-5, `step ${i} token ${j}: prob ${t.prob} vs ${Math.exp(ours.tokens[j].logProb)}`);
          assert.ok(Math.abs(t.entropy - ours.tokens[j].entropy) < 2e-5, `step ${i} token ${j}: entropy ${t.entropy} vs ${ours.tokens[j].entropy}`);
          tokens++;
        });
        assert.ok(Math.abs(engine.rawScore - ours.scores.geoMeanProb) < 2e-5, `step ${i}: ${engine.rawScore} vs ${ours.scores.geoMeanProb}`);
        // the Platt slope (about 130 on geoMeanProb) magnifies the raw scores' float32 differences
        assert.ok(Math.abs(engine.confidence - ours.engineConfidence) < 1e-3, `step ${i}: confidence ${engine.confidence} vs ${ours.engineConfidence}`);
      });
      assert.ok(tokens > 20);
    });
  }
});
