import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type WorkDoneProgressReporter } from 'vscode-languageserver';
import {
  calibrationRequest,
  CALIBRATION_BINS,
  FEW_FIT_ERRORS,
  type CalibrationFitSummary,
  type CalibrationParams,
  type CalibrationResult,
  type ServerSettings,
} from '../../../src/protocol';
import { readProblemsFile, type ProblemRecord } from '../cli/input';
import { decodeAndLabel } from '../cli/sweep';
import type { StepMetric } from '../decoding/stepConfidence';
import { BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, metricIntervals, type Interval } from '../eval/bootstrap';
import { stepCalibration } from '../eval/stepCalibration';
import { problemScores } from '../cli/stepLabels';
import { calibrationInputs, type CalibrationCache } from '../host/calibrationCache';
import type { LoadedModel, ModelHost } from '../host/modelHost';
import { acquireLease } from './modelErrors';
import { checkWorkDoneToken, invalidParams } from './requestParams';
import { requestSignal } from './requestSignal';

export interface CalibrationServices {
  models: ModelHost;
  /** Aborts when the server shuts down. */
  shutdown: AbortSignal;
  settings(): ServerSettings;
  cache: CalibrationCache;
  /** The work-done progress of the request (a null reporter when the client sent no token). */
  progress(params: CalibrationParams): WorkDoneProgressReporter;
  log(message: string): void;
}

/**
 * `caspo/calibration`: greedy-decodes the first N held-out problems with the current model (the
 * same decoding and verifier labels as `caspo eval`), and answers with accuracy, step AUROC, ECE,
 * Brier and the reliability bins. Progress goes to `$/progress` per problem; `$/cancelRequest`
 * stops it between forwards and the request fails with RequestCancelled, as it does when the server shuts
 * down. Other requests are served between forwards; a solve running meanwhile shares the model (a calibration
 * does not wait for a turn of the decode queue: it would hold one for the whole run).
 */
export async function handleCalibration(params: CalibrationParams, token: CancellationToken, services: CalibrationServices): Promise<CalibrationResult> {
  const { problemsFile, problems } = checkParams(params);
  const settings = services.settings(); // one snapshot for the whole run
  const inputs = calibrationInputs(settings, problemsFile, problems);
  const cached = params.recompute ? undefined : services.cache.get(inputs);
  if (cached) return { ...cached, cached: true };
  const records = readProblems(problemsFile, problems);

  const progress = services.progress(params);
  progress.begin('CASPO calibration', 0, 'loading the model…', true);
  const cancellation = requestSignal(token, services.shutdown);
  const { signal } = cancellation;
  const lease = await acquireLease(services.models, signal, 'The calibration was cancelled while the model was loading.').catch((error: unknown) => {
    cancellation.dispose();
    progress.done();
    throw error;
  });
  try {
    const result = await calibrate(lease.loaded, records, settings, signal, (done, correct) =>
      progress.report(Math.round((100 * done) / records.length), `${done}/${records.length} problems, ${correct} right`),
    );
    services.log(`calibration of ${result.model} on ${result.problems} problems: ECE ${result.ece?.toFixed(4)} in ${result.wallMs} ms`);
    // Settings may have changed meanwhile: file the result under the model that decoded it.
    const { model } = lease.loaded;
    services.cache.set({ ...inputs, modelDir: model.dir, executionProvider: model.executionProvider.requested }, result);
    return result;
  } finally {
    cancellation.dispose();
    progress.done();
    void lease.release();
  }
}

async function calibrate(
  loaded: LoadedModel,
  records: readonly ProblemRecord[],
  settings: ServerSettings,
  signal: AbortSignal,
  onProblem: (done: number, correct: number) => void,
): Promise<CalibrationResult> {
  const { model, calibration } = loaded;
  const metric: StepMetric = settings.metric === 'modelDefault' ? calibration.defaultMetric : settings.metric;
  if (signal.aborted) throw cancelled();
  let correct = 0;
  let sweep;
  try {
    sweep = await decodeAndLabel(records, {
      model,
      calibration,
      metric,
      sampling: { kind: 'greedy' },
      samples: 1,
      maxTokens: settings.maxTokens,
      source: 'the held-out problems',
      signal,
      onProblem: (done, solutions) => {
        correct += solutions.filter((s) => s.answerCorrect).length;
        onProblem(done, correct);
      },
    });
  } catch (error) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `Calibration failed: ${(error as Error).message}`);
  }
  if (sweep.cancelled) throw cancelled();
  const solutions = sweep.solutions.flat();
  const stats = stepCalibration(solutions.flatMap((s) => s.steps), CALIBRATION_BINS);
  const unlabelled = solutions.filter((s) => s.status !== 'labelled').length;
  const calibrated = calibration.isFitted(metric);
  const fit = calibrated ? calibration.fit : null;
  const notes = [
    unlabelled > 0 ? `${unlabelled} solution(s) could not be labelled by the verifier; their steps are left out.` : null,
    fewFitErrorsNote(fit, metric),
  ].filter((note): note is string => note !== null);
  const intervals = metricIntervals(problemScores(sweep.solutions, (step) => step.confidence));
  const ends = (interval: Interval | null) => interval && { low: interval.low, high: interval.high };
  return {
    model: loaded.name,
    modelDir: model.dir,
    executionProvider: loaded.activeProvider,
    problems: records.length,
    accuracy: solutions.length > 0 ? correct / solutions.length : 0,
    steps: stats.steps,
    wrongSteps: stats.steps - stats.correctSteps,
    stepAUROC: stats.stepAUROC,
    ece: stats.ece,
    brier: stats.brier,
    metric,
    calibrated,
    fit,
    bins: stats.bins,
    intervals: {
      level: BOOTSTRAP_LEVEL,
      resamples: BOOTSTRAP_RESAMPLES,
      accuracy: ends(intervals.accuracy),
      stepAUROC: ends(intervals.stepAUROC),
      ece: ends(intervals.ece),
      brier: ends(intervals.brier),
    },
    generatedTokens: sweep.generatedTokens,
    wallMs: Math.round(sweep.wallMs),
    computedAt: new Date().toISOString(),
    cached: false,
    ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
  };
}

/** A caution when the metric's Platt map was fitted on few wrong steps (null otherwise). */
export function fewFitErrorsNote(fit: CalibrationFitSummary | null, metric: StepMetric): string | null {
  if (fit === null || fit.wrongSteps >= FEW_FIT_ERRORS) return null;
  return (
    `The model's ${metric} Platt map was fitted on only ${fit.wrongSteps} wrong steps (of ${fit.steps}), so its confidence is roughly mapped: ` +
    `run caspo calibrate on more problems, until ${FEW_FIT_ERRORS} or more steps are wrong.`
  );
}

function cancelled(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, 'The calibration was cancelled.');
}

function checkParams(params: CalibrationParams): { problemsFile: string; problems: number } {
  const invalid = (field: string, expected: string, value: unknown) => invalidParams(calibrationRequest.method, field, expected, value);
  if (typeof params?.problemsFile !== 'string' || !isAbsolute(params.problemsFile)) throw invalid('problemsFile', 'an absolute path', params?.problemsFile);
  if (typeof params.problems !== 'number' || !Number.isInteger(params.problems) || params.problems < 1) {
    throw invalid('problems', 'a positive integer', params.problems);
  }
  if (params.recompute !== undefined && typeof params.recompute !== 'boolean') throw invalid('recompute', 'a boolean when set', params.recompute);
  checkWorkDoneToken(calibrationRequest.method, params);
  return { problemsFile: params.problemsFile, problems: params.problems };
}

/** The first `count` problems of the file; a missing or malformed file, or too few problems, fails the request. */
function readProblems(file: string, count: number): ProblemRecord[] {
  let records: ProblemRecord[];
  if (!existsSync(file)) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `The held-out problems that ship with CASPO are missing (${file}). Reinstall CASPO.`);
  }
  try {
    records = readProblemsFile(file);
  } catch (error) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `The held-out problems cannot be read: ${(error as Error).message} Reinstall CASPO.`);
  }
  if (records.length < count) {
    throw new ResponseError(
      ErrorCodes.InvalidParams,
      `${file} holds ${records.length} problems, fewer than the ${count} asked for. Lower caspo.calibration.problems to ${records.length} or less.`,
    );
  }
  return records.slice(0, count);
}
