import { existsSync, statSync } from 'node:fs';
import type { CalibrationResult, ServerSettings } from '../../../src/protocol';
import { modelFilesIn } from '../model/modelFiles';

/** How many calibration results the server keeps (a few models × problem counts). */
export const KEPT_CALIBRATIONS = 8;

/** What a calibration result depends on. */
export interface CalibrationInputs {
  modelDir: string;
  problemsFile: string;
  problems: number;
  /** The metric setting as sent (`modelDefault` resolves through caspo.json, whose mtime is in the key). */
  metric: string;
  maxTokens: number;
  /**
   * The execution provider setting the model was loaded with: providers round differently, which can change a greedy
   * token and so the numbers. The setting, not the provider it resolved to, so that a cached result is found before
   * the model is loaded; it resolves the same way each time in one server.
   */
  executionProvider: string;
}

/** The inputs of a calibration of `problems` problems from `problemsFile` under `settings`. */
export function calibrationInputs(settings: ServerSettings, problemsFile: string, problems: number): CalibrationInputs {
  const { modelDir, metric, maxTokens, executionProvider } = settings;
  return { modelDir, problemsFile, problems, metric, maxTokens, executionProvider };
}

/**
 * Calibration results by model (folder + mtimes of its graph and caspo.json), problems file (+ mtime),
 * problem count, metric, token limit and execution provider: re-opening the view is instant, and a re-exported or
 * re-calibrated model is decoded again. Oldest entries go first beyond KEPT_CALIBRATIONS.
 */
export class CalibrationCache {
  private readonly results = new Map<string, CalibrationResult>();

  get(inputs: CalibrationInputs): CalibrationResult | undefined {
    return this.results.get(calibrationKey(inputs));
  }

  set(inputs: CalibrationInputs, result: CalibrationResult): void {
    const key = calibrationKey(inputs);
    this.results.delete(key);
    this.results.set(key, result);
    for (const oldest of this.results.keys()) {
      if (this.results.size <= KEPT_CALIBRATIONS) break;
      this.results.delete(oldest);
    }
  }
}

export function calibrationKey(inputs: CalibrationInputs): string {
  const files = modelFilesIn(inputs.modelDir);
  return JSON.stringify({
    ...inputs,
    graph: mtimeOf(files.onnx),
    caspoJson: mtimeOf(files.caspoSettings),
    problemsFileMtime: mtimeOf(inputs.problemsFile),
  });
}

function mtimeOf(path: string): number | null {
  return existsSync(path) ? statSync(path).mtimeMs : null;
}
