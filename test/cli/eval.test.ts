/** `caspo eval` on small JSONL files with the embedded model. */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STEP_METRICS } from '../../language-server/src/decoding/stepConfidence';
import { auroc, expectedCalibrationError } from '../../language-server/src/eval/metrics';
import { ROOT, runCaspo, singleJsonLine, tempDir } from './helpers';

const EASY = [
  { problem: '47*38 + 12', answer: '1798' },
  { problem: 'What is 12*(40-3)?', answer: '444' },
  { problem: 'Work out 3 + 45+87.', answer: '135' },
  { problem: 'Evaluate 716 + 280-5.', answer: '991' },
];

const inRange = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;

describe('caspo eval', function () {
  this.timeout(120_000);
  const scratch = tempDir('caspo-cli-eval-');
  after(() => scratch.remove());
  const jsonl = (name: string, rows: readonly object[]) => {
    const path = join(scratch.dir, name);
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return path;
  };

  it('prints one JSON line with accuracy 1 on easy problems and every field in range', async () => {
    const run = await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', jsonl('easy.jsonl', EASY)]);
    assert.equal(run.code, 0, run.stderr);
    const report = singleJsonLine(run.stdout);
    assert.deepEqual(Object.keys(report).slice(0, 7), ['n', 'accuracy', 'generatedTokens', 'wallMs', 'stepAUROC', 'ece', 'brier']);
    assert.equal(report.n, 4);
    assert.equal(report.accuracy, 1);
    assert.equal(report.stepAccuracy, 1);
    assert.equal(report.steps, 4 * 3); // two operations and the answer line each
    assert.ok((report.generatedTokens as number) > 0 && (report.wallMs as number) > 0);
    assert.ok(inRange(report.ece) && inRange(report.brier));
    // Every step is correct: AUROC has no negatives to rank, so it is null and the note says why.
    assert.equal(report.stepAUROC, null);
    assert.match(report.note as string, /AUROC is undefined/);
    assert.deepEqual(Object.keys(report.aurocByMetric as object), [...STEP_METRICS]);
    assert.equal(report.outOfDomain, 0);
  });

  it('counts a wrong expected answer as wrong (accuracy 0.5)', async () => {
    const rows = [EASY[0], { problem: 'Work out 3 + 45+87.', answer: '136' }];
    const input = jsonl('wrong.jsonl', rows);
    const run = await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', input]);
    assert.equal(singleJsonLine(run.stdout).accuracy, 0.5);
    // The key is not the expression's value (135): said on stderr, scored as given.
    assert.equal(run.stderr, `caspo: warning: input file ${input} line 2: the answer 136 is not the value of "3 + 45+87" (135); it is scored as given\n`);
  });

  it('--limit, --samples with sampling, and the majority vote', async () => {
    const args = ['eval', '--json', '--ep', 'cpu', '--input', jsonl('sampled.jsonl', EASY), '--limit', '3'];
    const run = await runCaspo([...args, '--strategy', 'sample', '--temperature', '1.5', '--samples', '3', '--seed', '1']);
    assert.equal(run.code, 0, run.stderr);
    const report = singleJsonLine(run.stdout);
    assert.equal(report.n, 3);
    assert.equal(report.solutions, 9);
    assert.equal(report.strategy, 'sample');
    assert.ok(inRange(report.accuracy) && inRange(report.voteAccuracy) && inRange(report.ece) && inRange(report.brier));
    assert.ok(report.stepAUROC === null || inRange(report.stepAUROC));
    for (const value of Object.values(report.aurocByMetric as object)) assert.ok(value === null || inRange(value));
  });

  it("--per-problem adds each problem's answers and scored steps, and they add up to the report's numbers", async () => {
    const rows = [EASY[0], { problem: 'Work out 3 + 45+87.', answer: '136' }, EASY[1]];
    const args = ['eval', '--json', '--ep', 'cpu', '--input', jsonl('records.jsonl', rows), '--confidence', 'raw'];
    const sampled = [...args, '--strategy', 'sample', '--samples', '2', '--temperature', '1.5', '--seed', '3'];
    const run = await runCaspo([...sampled, '--per-problem']);
    assert.equal(run.code, 0, run.stderr);
    const report = singleJsonLine(run.stdout);
    const problems = report.problems as { answers: number[]; steps: [number, number][] }[];
    assert.deepEqual(
      problems.map((p) => p.answers.length),
      [2, 2, 2],
    );
    assert.deepEqual(problems[1].answers, [0, 0], 'the expected answer 136 is wrong, so neither solution is right');
    const answers = problems.flatMap((p) => p.answers);
    assert.equal(report.accuracy, Math.round((1e4 * answers.filter((a) => a === 1).length) / answers.length) / 1e4);
    const steps = problems.flatMap((p) => p.steps);
    assert.equal(steps.length, report.steps);
    assert.equal(steps.filter(([, label]) => label === 1).length, report.correctSteps);
    // The records hold the scored (here raw) confidence: they give back the report's ECE.
    const ece = expectedCalibrationError(steps.map(([c]) => c), steps.map(([, label]) => label === 1));
    assert.ok(Math.abs(ece - (report.ece as number)) < 1e-4, `${ece} vs ${report.ece}`);
    const plain = singleJsonLine((await runCaspo(sampled)).stdout);
    assert.equal(plain.problems, undefined, 'without the flag the report has no records');

    // The SFT model's raw geoMeanProb on these hard problems sits within 1e-6 of 1 for many steps, right and
    // wrong: the records keep the confidences whole (rounded to 6 digits they tie, and AUROC moves from
    // 0.527 to 0.604), so the report's AUROC comes back exactly.
    const hardRows = readFileSync(join(ROOT, 'training', 'data', 'hard.jsonl'), 'utf8').trim().split('\n').slice(100, 120);
    const hard = join(scratch.dir, 'hard-100-119.jsonl');
    writeFileSync(hard, `${hardRows.join('\n')}\n`);
    const sft = join(ROOT, 'models', 'caspo-arith-sft');
    const greedy = singleJsonLine((await runCaspo(['eval', '--json', '--ep', 'cpu', '--model', sft, '--input', hard, '--confidence', 'raw', '--per-problem'])).stdout);
    const hardSteps = (greedy.problems as { steps: [number, number][] }[]).flatMap((p) => p.steps);
    assert.ok(hardSteps.some(([, label]) => label === 0) && greedy.stepAUROC !== null, 'the hard problems have wrong steps');
    const recomputed = auroc(hardSteps.map(([c]) => c), hardSteps.map(([, label]) => label === 1))!;
    assert.equal(Math.round(recomputed * 1e4) / 1e4, greedy.stepAUROC);
  });

  it('problems outside the arithmetic domain: answer accuracy only, said in a field', async () => {
    const rows = [EASY[0], { problem: 'What is the capital of France?', answer: 'Paris' }];
    const run = await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', jsonl('words.jsonl', rows)]);
    assert.equal(run.code, 0, run.stderr);
    const report = singleJsonLine(run.stdout);
    assert.equal(report.n, 2);
    assert.equal(report.outOfDomain, 1);
    assert.match(report.note as string, /1 problem\(s\) are outside the arithmetic verifier's domain/);
    assert.equal(report.accuracy, 0.5);
    assert.equal(report.steps, 3); // only the arithmetic problem's steps are labelled
  });

  it('without --json prints a readable summary', async () => {
    const run = await runCaspo(['eval', '--ep', 'cpu', '--input', jsonl('plain.jsonl', EASY.slice(0, 2))]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^answer accuracy 100\.0%$/m);
    assert.match(run.stdout, /AUROC by metric: meanEntropy/);
  });
});
