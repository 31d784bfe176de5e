// `caspo/calibration` over the real language server process and the embedded model: the numbers
// agree with each other and with `caspo eval` on the same problems, progress is reported, results
// are cached per model, provider and N, and a cancel ends the request promptly while the server keeps working.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  LSPErrorCodes,
  ResponseError,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol';
import { CALIBRATION_BINS, calibrationRequest, solveRequest, type CalibrationResult } from '../../src/protocol';
import { runCaspo } from '../cli/helpers';
import { EMBEDDED_MODEL_DIR, LanguageServerProcess, REPO_ROOT, testSettings } from './helpers/languageServerProcess';

const HELDOUT = join(REPO_ROOT, 'training', 'data', 'heldout.jsonl');

/** ECE recomputed from the bins alone: Σ count/steps · |accuracy − mean confidence|. */
function eceFromBins(result: CalibrationResult): number {
  return result.bins.reduce((sum, bin) => (bin.count ? sum + (bin.count / result.steps) * Math.abs(bin.accuracy! - bin.meanConfidence!) : sum), 0);
}

function assertConsistent(result: CalibrationResult, problems: number): void {
  assert.equal(result.problems, problems);
  assert.equal(result.model, 'caspo-arith');
  assert.ok(result.accuracy >= 0 && result.accuracy <= 1, `accuracy ${result.accuracy}`);
  assert.equal(result.bins.length, CALIBRATION_BINS);
  assert.ok(result.steps > 0);
  assert.equal(result.bins.reduce((sum, bin) => sum + bin.count, 0), result.steps, 'every step is in one bin');
  result.bins.forEach((bin, i) => {
    assert.ok(Math.abs(bin.lower - i / CALIBRATION_BINS) < 1e-12 && Math.abs(bin.upper - (i + 1) / CALIBRATION_BINS) < 1e-12);
    if (bin.count === 0) assert.deepEqual([bin.meanConfidence, bin.accuracy], [null, null]);
    else {
      assert.ok(bin.meanConfidence! >= bin.lower && (bin.meanConfidence! < bin.upper || i === CALIBRATION_BINS - 1), `bin ${i} mean ${bin.meanConfidence}`);
      assert.ok(bin.accuracy! >= 0 && bin.accuracy! <= 1);
    }
  });
  const correctFromBins = result.bins.reduce((sum, bin) => sum + (bin.count ? bin.count * bin.accuracy! : 0), 0);
  assert.ok(Math.abs(correctFromBins - (result.steps - result.wrongSteps)) < 1e-9, 'the bins hold the right steps');
  assert.ok(Math.abs(result.ece! - eceFromBins(result)) < 1e-12, `ECE ${result.ece} vs ${eceFromBins(result)} from the bins`);
  assert.ok(result.brier! >= 0 && result.brier! <= 1);
  const oneClass = result.wrongSteps === 0 || result.wrongSteps === result.steps;
  assert.equal(result.stepAUROC === null, oneClass, `stepAUROC ${result.stepAUROC} with ${result.wrongSteps} wrong of ${result.steps}`);
  if (result.stepAUROC !== null) assert.ok(result.stepAUROC >= 0 && result.stepAUROC <= 1);
  assert.ok(result.generatedTokens > 0 && result.wallMs > 0);
  assert.ok(!Number.isNaN(Date.parse(result.computedAt)));
  // Bootstrap intervals over the problems: ordered, in range; the one of a share holds the share itself.
  assert.deepEqual([result.intervals.level, result.intervals.resamples], [0.95, 2000]);
  const { accuracy, ece, brier, stepAUROC } = result.intervals;
  for (const [name, interval] of Object.entries({ accuracy, ece, brier, stepAUROC })) {
    if (interval) assert.ok(interval.low >= 0 && interval.low <= interval.high && interval.high <= 1, `${name} ${JSON.stringify(interval)}`);
  }
  assert.ok(accuracy && accuracy.low <= result.accuracy && result.accuracy <= accuracy.high, JSON.stringify(accuracy));
  assert.ok(ece && brier, 'ECE and Brier are defined in every draw');
  if (result.stepAUROC === null) assert.equal(stepAUROC, null, 'no AUROC, no interval');
}

describe('caspo/calibration (real language server, embedded model)', function () {
  this.timeout(180_000);
  let server: LanguageServerProcess;
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'caspo-calibration-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(async () => {
    server = await LanguageServerProcess.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('reports consistent numbers, the same as caspo eval, with $/progress per problem, then answers from its cache', async () => {
    const problems = 12;
    const progress: (WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' })[] = [];
    const workDoneToken = 'calibration-1';
    const listening = server.connection.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      progress.push(value);
    });
    const result = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems, workDoneToken });
    listening.dispose();
    assertConsistent(result, problems);
    assert.equal(result.cached, false);
    const caspo = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, 'caspo.json'), 'utf8')) as {
      defaultMetric: string;
      fit: { problems: number; samples: number; steps: number; negatives: number };
    };
    assert.equal(result.metric, caspo.defaultMetric, "the metric the model's caspo.json names");
    assert.equal(result.calibrated, true, "caspo.json has a Platt map for that metric");
    const { problems: fitProblems, samples, steps, negatives } = caspo.fit;
    assert.deepEqual(result.fit, { problems: fitProblems, samples, steps, wrongSteps: negatives }, 'what the map was fitted on');
    assert.equal(result.note, undefined, `the embedded model's map rests on ${negatives} wrong steps: no caution`);

    assert.equal(progress[0].kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    const reports = progress.filter((p): p is WorkDoneProgressReport => p.kind === 'report' && /problems/.test(p.message ?? ''));
    assert.equal(reports.length, problems, 'one report per problem');
    assert.match(reports.at(-1)!.message!, new RegExp(`^${problems}/${problems} problems`));
    assert.equal(reports.at(-1)!.percentage, 100);

    // The CLI decodes the same problems greedily with the same calibration: same numbers (it rounds to 1e-4).
    const cli = await runCaspo(['eval', '--json', '--input', HELDOUT, '--limit', String(problems), '--ep', 'cpu']);
    assert.equal(cli.code, 0, cli.stderr);
    const report = JSON.parse(cli.stdout);
    assert.equal(report.n, problems);
    assert.equal(report.steps, result.steps);
    assert.equal(report.correctSteps, result.steps - result.wrongSteps);
    assert.ok(Math.abs(report.accuracy - result.accuracy) < 1e-4);
    assert.ok(Math.abs(report.ece - result.ece!) < 1e-4, `eval ECE ${report.ece}, server ${result.ece}`);
    assert.ok(Math.abs(report.brier - result.brier!) < 1e-4, `eval Brier ${report.brier}, server ${result.brier}`);
    assert.equal(report.stepAUROC === null, result.stepAUROC === null);

    const again = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems });
    assert.equal(again.cached, true);
    assert.deepEqual({ ...again, cached: false }, result);
    const recomputed = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems, recompute: true });
    assert.equal(recomputed.cached, false);
    assert.deepEqual(recomputed.bins, result.bins, 'greedy decoding: the same bins again');
    const fewer = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 10 });
    assert.equal(fewer.cached, false, 'another problem count is another entry');
    assert.equal(fewer.problems, 10);
    // Providers round differently: what one computed is not shown, relabelled, as another's.
    await server.connection.sendNotification('workspace/didChangeConfiguration', { settings: testSettings({ executionProvider: 'auto' }) });
    const onAuto = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 10 });
    assert.equal(onAuto.cached, false, 'another execution provider is another entry');
  });

  it('reports wrong steps and a step AUROC on problems the model gets wrong', async () => {
    // Five and more operations, beyond the 2–4 the embedded model was trained on: it loses track.
    const file = join(scratch, 'hard.jsonl');
    const hard = [
      ['174 * 570 + 26 * 6 - 27 * 28', 174 * 570 + 26 * 6 - 27 * 28],
      ['38 * 47 + 12 * 95 - 64 * 23 + 7', 38 * 47 + 12 * 95 - 64 * 23 + 7],
      ['Work out 2*715 + (81 - 4).', 1507],
      ['913 * 84 - 56 * 72 + 38 * 19 - 411', 913 * 84 - 56 * 72 + 38 * 19 - 411],
    ];
    writeFileSync(file, hard.map(([problem, answer]) => JSON.stringify({ problem, answer })).join('\n'));
    const result = await server.connection.sendRequest(calibrationRequest, { problemsFile: file, problems: hard.length });
    assertConsistent(result, hard.length);
    assert.ok(result.wrongSteps > 0 && result.wrongSteps < result.steps, `${result.wrongSteps} wrong of ${result.steps}`);
    assert.equal(typeof result.stepAUROC, 'number');
    assert.ok(result.intervals.stepAUROC, 'most draws of these problems hold a wrong and a right step');
  });

  it('stops promptly on cancel with RequestCancelled, and the server keeps answering', async () => {
    const source = new CancellationTokenSource();
    const workDoneToken = 'calibration-cancel';
    let reported = 0;
    let firstProblem!: () => void;
    const started = new Promise<void>((resolve) => (firstProblem = resolve));
    const listening = server.connection.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'report' && /problems/.test(value.message ?? '') && ++reported === 2) firstProblem();
    });
    const running = server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 500, workDoneToken }, source.token);
    await started;
    const cancelledAt = performance.now();
    source.cancel();
    const error = await running.then(
      () => assert.fail('the cancelled calibration answered with a result'),
      (e: unknown) => e,
    );
    const latencyMs = performance.now() - cancelledAt;
    listening.dispose();
    assert.ok(error instanceof ResponseError, String(error));
    assert.equal(error.code, LSPErrorCodes.RequestCancelled);
    assert.ok(latencyMs < 1000, `cancel took ${latencyMs.toFixed(0)} ms`);
    assert.ok(reported < 500);

    // Still serving: a solve, then a small calibration.
    const solved = await server.connection.sendRequest(solveRequest, { solveId: 'after-cancel', problem: '47*38 + 12' });
    assert.equal(solved.answer, '1798');
    const small = await server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 3 });
    assert.equal(small.cached, false);
    assertConsistent(small, 3);
  });

  it('rejects bad params with a message that says what to do', async () => {
    await assert.rejects(server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 501 }), /holds 500 problems.*caspo\.calibration\.problems/);
    await assert.rejects(server.connection.sendRequest(calibrationRequest, { problemsFile: 'heldout.jsonl', problems: 10 }), /absolute path/);
    await assert.rejects(server.connection.sendRequest(calibrationRequest, { problemsFile: HELDOUT, problems: 0 }), /positive integer/);
    await assert.rejects(
      server.connection.sendRequest(calibrationRequest, { problemsFile: '/no/such/heldout.jsonl', problems: 10 }),
      /^Error: The held-out problems that ship with CASPO are missing \(\/no\/such\/heldout\.jsonl\)\. Reinstall CASPO\.$/,
    );
  });
});
