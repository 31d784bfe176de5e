import { isAbsolute } from 'node:path';
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
} from '../../../src/protocol';

/** The client sent settings the server cannot use; the message names the setting. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/**
 * Checks the settings the client sends (initialize and didChangeConfiguration). The client resolves
 * them from the user's settings, so a failure here names the user-facing setting to fix.
 */
export function parseServerSettings(raw: unknown): ServerSettings {
  if (typeof raw !== 'object' || raw === null) {
    throw new SettingsError('the client sent no CASPO settings (initializationOptions.settings); update the CASPO extension');
  }
  const s = raw as Record<string, unknown>;
  const bad = (setting: string, expected: string, value: unknown) =>
    new SettingsError(`caspo.${setting} must be ${expected}, got ${JSON.stringify(value)}. Fix it in Settings.`);

  if (typeof s.modelDir !== 'string' || !isAbsolute(s.modelDir)) throw bad('modelPath', 'an absolute folder path', s.modelDir);
  if (!(EXECUTION_PROVIDERS as readonly unknown[]).includes(s.executionProvider)) {
    throw bad('executionProvider', `one of ${EXECUTION_PROVIDERS.join(', ')}`, s.executionProvider);
  }
  if (typeof s.cpuThreads !== 'number' || !Number.isInteger(s.cpuThreads) || s.cpuThreads < 0 || s.cpuThreads > MAX_CPU_THREADS) {
    throw bad('cpuThreads', `an integer from 0 (automatic) to ${MAX_CPU_THREADS}`, s.cpuThreads);
  }
  const bands = s.bands as BandThresholds | undefined;
  const bandProblem = typeof bands === 'object' && bands !== null ? bandThresholdProblem(bands) : 'they are missing';
  if (bandProblem) throw new SettingsError(`caspo.confidenceBands: ${bandProblem}. Fix it in Settings.`);
  if (!isUnitNumber(s.warningThreshold)) throw bad('warningThreshold', 'a number from 0 to 1', s.warningThreshold);
  if (typeof s.maxTokens !== 'number' || !Number.isInteger(s.maxTokens) || s.maxTokens < 1) {
    throw bad('maxTokens', 'a positive integer', s.maxTokens);
  }
  if (s.temperature !== 0 && !isSamplingTemperature(s.temperature)) {
    throw bad('temperature', `0 (greedy) or a number of at least ${MIN_TEMPERATURE}`, s.temperature);
  }
  if (!(CONFIDENCE_METRICS as readonly unknown[]).includes(s.metric)) throw bad('confidenceMetric', `one of ${CONFIDENCE_METRICS.join(', ')}`, s.metric);
  if (typeof s.stepDelimiter !== 'string' || s.stepDelimiter.length === 0) throw bad('stepDelimiter', 'a non-empty string', s.stepDelimiter);
  if (!(SEARCH_STRATEGIES as readonly unknown[]).includes(s.strategy)) throw bad('strategy', `one of ${SEARCH_STRATEGIES.join(', ')}`, s.strategy);
  const cat = parseCatSettings(s.cat, bad);

  return {
    modelDir: s.modelDir,
    executionProvider: s.executionProvider as ServerSettings['executionProvider'],
    cpuThreads: s.cpuThreads,
    bands: { high: bands!.high, medium: bands!.medium },
    warningThreshold: s.warningThreshold,
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    metric: s.metric as ServerSettings['metric'],
    stepDelimiter: s.stepDelimiter,
    strategy: s.strategy as ServerSettings['strategy'],
    cat,
  };
}

function parseCatSettings(raw: unknown, bad: (setting: string, expected: string, value: unknown) => SettingsError): CatSettings {
  if (typeof raw !== 'object' || raw === null) throw bad('cat', 'an object of CaT settings (branches, width, threshold, thresholdPercentile, budget, temperature, firstCandidate, branchBelow)', raw);
  const c = raw as Record<string, unknown>;
  const integer = (key: 'branches' | 'width' | 'budget', max = Infinity): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      throw bad(`cat.${key}`, max === Infinity ? 'an integer ≥ 1' : `an integer from 1 to ${max}`, v);
    }
    return v;
  };
  if (!isUnitNumber(c.threshold)) throw bad('cat.threshold', 'a number from 0 to 1', c.threshold);
  if (!isSamplingTemperature(c.temperature)) {
    throw bad('cat.temperature', `a number of at least ${MIN_TEMPERATURE} (CaT samples its candidates)`, c.temperature);
  }
  if (!(FIRST_CANDIDATES as readonly unknown[]).includes(c.firstCandidate)) {
    throw bad('cat.firstCandidate', `one of ${FIRST_CANDIDATES.join(', ')}`, c.firstCandidate);
  }
  const branchBelow = c.branchBelow;
  if (branchBelow !== null && !isUnitNumber(branchBelow)) throw bad('cat.branchBelow', 'a number from 0 to 1, or null to branch at every step', branchBelow);
  const percentile = c.thresholdPercentile;
  if (percentile !== null && !(typeof percentile === 'number' && percentile >= 0 && percentile <= 100)) {
    throw bad('cat.thresholdPercentile', 'a number from 0 to 100, or null for the fixed threshold', percentile);
  }
  return {
    branches: integer('branches', MAX_CAT_BRANCHES),
    width: integer('width', MAX_CAT_WIDTH),
    threshold: c.threshold,
    thresholdPercentile: percentile as number | null,
    budget: integer('budget'),
    temperature: c.temperature,
    firstCandidate: c.firstCandidate as FirstCandidate,
    branchBelow: branchBelow as number | null,
  };
}

function isUnitNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

/** The part of the settings that decides which model is loaded: changing it means a reload. */
export function modelSpecOf(settings: ServerSettings): ModelSpec {
  return { modelDir: settings.modelDir, executionProvider: settings.executionProvider, cpuThreads: settings.cpuThreads };
}

export interface ModelSpec {
  modelDir: string;
  executionProvider: ServerSettings['executionProvider'];
  cpuThreads: number;
}

export function sameModelSpec(a: ModelSpec, b: ModelSpec): boolean {
  return a.modelDir === b.modelDir && a.executionProvider === b.executionProvider && a.cpuThreads === b.cpuThreads;
}
