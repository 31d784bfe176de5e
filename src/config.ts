/**
 * Typed access to the `caspo.*` settings. Their defaults live only in package.json
 * (`contributes.configuration`); a missing or mistyped value is an error naming the setting.
 */
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import {
  bandThresholdProblem,
  CONFIDENCE_METRICS,
  EXECUTION_PROVIDERS,
  FIRST_CANDIDATES,
  isSamplingTemperature,
  MAX_CAT_BRANCHES,
  MAX_CAT_WIDTH,
  MAX_CPU_THREADS,
  MIN_TEMPERATURE,
  SEARCH_STRATEGIES,
  type BandThresholds,
  type CatSettings,
  type FirstCandidate,
  type ServerSettings,
} from './protocol';
import { chooseModelPath, resolveModelDir, type ModelPathChoice } from './modelPathRule';
import { workspaceModelPathFromFiles } from './restrictedWorkspaceSettings';

export const SECTION = 'caspo';

/** A setting the user must fix; the message names it, and `setting` (when there is one) is its id. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly setting?: string,
  ) {
    super(message);
  }
}

export interface ResolvedSettings {
  server: ServerSettings;
  modelPath: ModelPathChoice;
}

/**
 * What a relative model path is resolved against: the .code-workspace file's folder for a value set
 * in that file (a multi-root workspace's settings), else the first workspace folder.
 */
function relativeRoot(choice: ModelPathChoice): string | undefined {
  const workspaceFile = vscode.workspace.workspaceFile;
  if (choice.source === 'workspace' && workspaceFile?.scheme === 'file') return dirname(workspaceFile.fsPath);
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** Reads and checks every setting the server needs, applying the workspace-trust rule to the model path. */
export function readSettings(embeddedModelDir: string): ResolvedSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const trusted = vscode.workspace.isTrusted;
  const inspection = config.inspect<string>('modelPath') ?? {};
  // Untrusted: VS Code hides the workspace value; read it from the files only to say it is ignored.
  const modelPath = chooseModelPath(trusted ? inspection : { ...inspection, workspaceValue: workspaceModelPathFromFiles() }, trusted);
  let modelDir: string;
  try {
    modelDir = resolveModelDir(modelPath.value, { embeddedModelDir, workspaceRoot: relativeRoot(modelPath), trusted });
  } catch (error) {
    throw new ConfigError((error as Error).message, 'caspo.modelPath');
  }
  const bands = { high: number(config, 'confidenceBands.high'), medium: number(config, 'confidenceBands.medium') };
  const bandProblem = bandThresholdProblem(bands);
  if (bandProblem) {
    // The threshold to fix: high when it is itself out of range, else medium (out of range, or above high).
    const highValid = bands.high >= 0 && bands.high <= 1;
    throw new ConfigError(`caspo.confidenceBands: ${bandProblem}.`, `caspo.confidenceBands.${highValid ? 'medium' : 'high'}`);
  }
  const warningThreshold = number(config, 'warningThreshold');
  if (warningThreshold < 0 || warningThreshold > 1) throw invalid('warningThreshold', 'a number from 0 to 1', warningThreshold);
  const maxTokens = number(config, 'maxTokens');
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw invalid('maxTokens', 'a positive integer', maxTokens);
  const temperature = number(config, 'temperature');
  if (temperature !== 0 && !isSamplingTemperature(temperature)) {
    throw invalid('temperature', `0 (greedy) or a number of at least ${MIN_TEMPERATURE}`, temperature);
  }
  const cpuThreads = number(config, 'cpuThreads');
  if (!Number.isInteger(cpuThreads) || cpuThreads < 0 || cpuThreads > MAX_CPU_THREADS) {
    throw invalid('cpuThreads', `an integer from 0 (automatic) to ${MAX_CPU_THREADS}`, cpuThreads);
  }
  const stepDelimiter = unescapeDelimiter(string(config, 'stepDelimiter'));
  if (stepDelimiter.length === 0) throw invalid('stepDelimiter', 'a non-empty string', stepDelimiter);
  return {
    modelPath,
    server: {
      modelDir,
      executionProvider: choice(config, 'executionProvider', EXECUTION_PROVIDERS),
      cpuThreads,
      bands,
      warningThreshold,
      maxTokens,
      temperature,
      metric: choice(config, 'confidenceMetric', CONFIDENCE_METRICS),
      stepDelimiter,
      strategy: choice(config, 'strategy', SEARCH_STRATEGIES),
      cat: readCatSettings(config),
    },
  };
}

/** CaT's search settings (`caspo.cat.*`); the server checks them again against the engine's rules. */
function readCatSettings(config: vscode.WorkspaceConfiguration): CatSettings {
  const integer = (key: string, min: number, max = Infinity) => {
    const v = number(config, key);
    if (!Number.isInteger(v) || v < min || v > max) throw invalid(key, max === Infinity ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, v);
    return v;
  };
  const threshold = number(config, 'cat.threshold');
  if (threshold < 0 || threshold > 1) throw invalid('cat.threshold', 'a number from 0 to 1', threshold);
  const percentile = config.get<unknown>('cat.thresholdPercentile');
  const percentileOk = percentile === null || (typeof percentile === 'number' && percentile >= 0 && percentile <= 100);
  if (!percentileOk) throw invalid('cat.thresholdPercentile', 'a number from 0 to 100, or null for the fixed threshold', percentile);
  return {
    branches: integer('cat.branches', 1, MAX_CAT_BRANCHES),
    width: integer('cat.width', 1, MAX_CAT_WIDTH),
    threshold,
    thresholdPercentile: percentile as number | null,
    budget: integer('cat.budget', 1),
    temperature: catTemperature(number(config, 'cat.temperature')),
    firstCandidate: firstCandidate(config.get<unknown>('cat.firstCandidate')),
    branchBelow: branchBelow(config.get<unknown>('cat.branchBelow')),
  };
}

function firstCandidate(value: unknown): FirstCandidate {
  if (!(FIRST_CANDIDATES as readonly unknown[]).includes(value)) throw invalid('cat.firstCandidate', `one of ${FIRST_CANDIDATES.join(', ')}`, value);
  return value as FirstCandidate;
}

function branchBelow(value: unknown): number | null {
  if (value === null || (typeof value === 'number' && value >= 0 && value <= 1)) return value;
  throw invalid('cat.branchBelow', 'a number from 0 to 1, or null to branch at every step', value);
}

function catTemperature(value: number): number {
  if (!isSamplingTemperature(value)) throw invalid('cat.temperature', `a number of at least ${MIN_TEMPERATURE} (CaT samples its candidates)`, value);
  return value;
}

/** How many held-out problems "CASPO: Show Calibration" decodes (caspo.calibration.problems; 10–500 like its schema). */
export function readCalibrationProblems(): number {
  const v = number(vscode.workspace.getConfiguration(SECTION), 'calibration.problems');
  if (!Number.isInteger(v) || v < 10 || v > 500) throw invalid('calibration.problems', 'an integer from 10 to 500', v);
  return v;
}

/** The gutter's band thresholds, or undefined while they are invalid (the user is told elsewhere). */
export function readBandThresholds(): BandThresholds | undefined {
  const config = vscode.workspace.getConfiguration(SECTION);
  try {
    const bands = { high: number(config, 'confidenceBands.high'), medium: number(config, 'confidenceBands.medium') };
    return bandThresholdProblem(bands) ? undefined : bands;
  } catch {
    return undefined;
  }
}

/** caspo.warningThreshold, or undefined while it is invalid (the user is told elsewhere). */
export function readWarningThreshold(): number | undefined {
  const value = vscode.workspace.getConfiguration(SECTION).get<unknown>('warningThreshold');
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : undefined;
}

/** Whether a configuration change concerns CASPO at all. */
export function affectsCaspo(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(SECTION);
}

/** The Settings UI stores a typed "\n" as backslash + n: read the usual escapes as the characters. */
export function unescapeDelimiter(value: string): string {
  return value.replace(/\\(n|t|r|\\)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
}

function value(config: vscode.WorkspaceConfiguration, key: string): unknown {
  const v = config.get<unknown>(key);
  if (v === undefined) throw new ConfigError(`caspo.${key} has no value; the extension's package.json should define its default. Reinstall CASPO.`);
  return v;
}

function number(config: vscode.WorkspaceConfiguration, key: string): number {
  const v = value(config, key);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(key, 'a number', v);
  return v;
}

function string(config: vscode.WorkspaceConfiguration, key: string): string {
  const v = value(config, key);
  if (typeof v !== 'string') throw invalid(key, 'a string', v);
  return v;
}

function choice<T extends string>(config: vscode.WorkspaceConfiguration, key: string, options: readonly T[]): T {
  const v = value(config, key);
  if (!(options as readonly unknown[]).includes(v)) throw invalid(key, `one of ${options.join(', ')}`, v);
  return v as T;
}

function invalid(key: string, expected: string, got: unknown): ConfigError {
  return new ConfigError(`caspo.${key} must be ${expected}, got ${JSON.stringify(got)}. Fix it in Settings.`, `caspo.${key}`);
}
