import { ModelError } from '../model/modelError';
import { modelFilesIn, readOptionalModelJson } from '../model/modelFiles';
import type { CalibrationFitSummary } from '../../../src/protocol';
import type { TokenConfidence } from './confidence';

/** The step confidence metrics on offer (design §4). Every raw score is "higher = more confident". */
export const STEP_METRICS = ['meanEntropy', 'geoMeanProb', 'minProb', 'deepConf'] as const;
export type StepMetric = (typeof STEP_METRICS)[number];
export const DEFAULT_STEP_METRIC: StepMetric = 'meanEntropy';

export function isStepMetric(name: unknown): name is StepMetric {
  return typeof name === 'string' && (STEP_METRICS as readonly string[]).includes(name);
}

/** The token fields the metrics read. */
export type TokenEvidence = Pick<TokenConfidence, 'prob' | 'logProb' | 'entropy' | 'topK'>;

export type StepScores = Record<StepMetric, number>;

/**
 * Raw scores of a step from its tokens:
 * - meanEntropy: −mean token entropy (nats) — the paper's signal;
 * - geoMeanProb: exp(mean log-prob of the chosen tokens);
 * - minProb: the lowest chosen-token probability;
 * - deepConf: mean over tokens of DeepConf's token confidence −mean(log-prob of the top-k).
 */
export function stepScores(tokens: readonly TokenEvidence[]): StepScores {
  if (tokens.length === 0) throw new Error('stepScores: a step needs at least one token');
  let entropySum = 0;
  let logProbSum = 0;
  let minProb = Infinity;
  let deepConfSum = 0;
  for (const token of tokens) {
    entropySum += token.entropy;
    logProbSum += token.logProb;
    if (token.prob < minProb) minProb = token.prob;
    deepConfSum += deepConfTokenConfidence(token);
  }
  const n = tokens.length;
  return {
    meanEntropy: -entropySum / n,
    geoMeanProb: Math.exp(logProbSum / n),
    minProb,
    deepConf: deepConfSum / n,
  };
}

/** DeepConf (arXiv 2508.15260) token confidence: −(1/k) Σ log P(top-j). Large when peaked. */
export function deepConfTokenConfidence(token: Pick<TokenEvidence, 'topK'>): number {
  if (token.topK.length === 0) throw new Error('deepConf needs the top-k alternatives of each token');
  let sum = 0;
  for (const top of token.topK) sum += top.logProb;
  return -sum / token.topK.length;
}

export interface PlattMap {
  type: 'platt';
  a: number;
  b: number;
}

/**
 * Maps raw step scores to [0, 1]. With a fitted Platt map from caspo.json: sigmoid(a·score + b).
 * Without one, a fixed monotone default:
 * - meanEntropy: exp(score) = exp(−mean entropy), 1 for a sure step, → 0 as entropy grows;
 * - geoMeanProb, minProb: already probabilities, used as is;
 * - deepConf: 1 − exp(−(score − ln k)/ln V). Its floor is ln k (uniform over the top k, mapped to
 *   0); a score of ln V (about uniform over the vocabulary) maps to ≈ 0.5 for large V.
 */
export class ConfidenceCalibration {
  constructor(
    readonly vocabSize: number,
    readonly topK: number,
    readonly defaultMetric: StepMetric = DEFAULT_STEP_METRIC,
    readonly plattMaps: Partial<Record<StepMetric, PlattMap>> = {},
    /** What the maps were fitted on, when caspo.json records it. */
    readonly fit: CalibrationFitSummary | null = null,
  ) {}

  /** Whether `metric` uses a fitted map (true) or the fixed default (false). */
  isFitted(metric: StepMetric): boolean {
    return this.plattMaps[metric] !== undefined;
  }

  toConfidence(metric: StepMetric, score: number): number {
    const platt = this.plattMaps[metric];
    if (platt) return 1 / (1 + Math.exp(-(platt.a * score + platt.b)));
    switch (metric) {
      case 'meanEntropy':
        return Math.exp(Math.min(0, score));
      case 'geoMeanProb':
      case 'minProb':
        return clamp01(score);
      case 'deepConf': {
        const floor = Math.log(Math.max(1, this.topK));
        const scale = Math.log(Math.max(2, this.vocabSize));
        return clamp01(1 - Math.exp(-Math.max(0, score - floor) / scale));
      }
    }
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** A step's raw scores and calibrated confidences under every metric, plus the selected one. */
export interface StepConfidenceReport {
  metric: StepMetric;
  confidence: number;
  score: number;
  scores: StepScores;
  confidences: Record<StepMetric, number>;
}

export function scoreStep(
  tokens: readonly TokenEvidence[],
  calibration: ConfidenceCalibration,
  metric: StepMetric = calibration.defaultMetric,
): StepConfidenceReport {
  const scores = stepScores(tokens);
  const confidences = {} as Record<StepMetric, number>;
  for (const name of STEP_METRICS) confidences[name] = calibration.toConfidence(name, scores[name]);
  return { metric, confidence: confidences[metric], score: scores[metric], scores, confidences };
}

/**
 * Reads `<modelDir>/caspo.json` when present: {"defaultMetric": "...", "calibration":
 * {"<metric>": {"type": "platt", "a": number, "b": number}}}. Absent file → default mapping.
 */
export function loadConfidenceCalibration(modelDir: string, vocabSize: number, topK: number): ConfidenceCalibration {
  const path = modelFilesIn(modelDir).caspoSettings;
  const raw = readOptionalModelJson(path, 'the confidence calibration');
  return raw === undefined ? new ConfidenceCalibration(vocabSize, topK) : parseCaspoSettings(raw, path, vocabSize, topK);
}

export function parseCaspoSettings(raw: unknown, path: string, vocabSize: number, topK: number): ConfidenceCalibration {
  const invalid = (field: string, problem: string) =>
    new ModelError(
      'configInvalid',
      `${path}: field "${field}" ${problem}. Fix it or delete caspo.json to use the default confidence mapping.`,
    );
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('(root)', 'is not a JSON object');
  const json = raw as Record<string, unknown>;

  let defaultMetric: StepMetric = DEFAULT_STEP_METRIC;
  if (json.defaultMetric !== undefined) {
    if (!isStepMetric(json.defaultMetric)) {
      throw invalid('defaultMetric', `must be one of ${STEP_METRICS.join(', ')}, got ${JSON.stringify(json.defaultMetric)}`);
    }
    defaultMetric = json.defaultMetric;
  }

  const plattMaps: Partial<Record<StepMetric, PlattMap>> = {};
  const calibration = json.calibration ?? {};
  if (typeof calibration !== 'object' || calibration === null || Array.isArray(calibration)) {
    throw invalid('calibration', 'must be an object keyed by metric name');
  }
  for (const [metric, map] of Object.entries(calibration as Record<string, unknown>)) {
    if (!isStepMetric(metric)) throw invalid(`calibration.${metric}`, `is not a metric (${STEP_METRICS.join(', ')})`);
    const m = map as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null || m.type !== 'platt') {
      throw invalid(`calibration.${metric}`, 'must be {"type": "platt", "a": number, "b": number}');
    }
    if (typeof m.a !== 'number' || !Number.isFinite(m.a)) throw invalid(`calibration.${metric}.a`, 'must be a finite number');
    if (typeof m.b !== 'number' || !Number.isFinite(m.b)) throw invalid(`calibration.${metric}.b`, 'must be a finite number');
    plattMaps[metric] = { type: 'platt', a: m.a, b: m.b };
  }
  return new ConfidenceCalibration(vocabSize, topK, defaultMetric, plattMaps, fitSummary(json.fit));
}

/** caspo.json's `fit` (a record of the fit, not read by decoding): its counts, or null when they are missing or do not add up. */
export function fitSummary(raw: unknown): CalibrationFitSummary | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const fit = raw as Record<string, unknown>;
  const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null);
  const [problems, samples, steps, wrongSteps] = [fit.problems, fit.samples, fit.steps, fit.negatives].map(count);
  if (problems === null || samples === null || steps === null || wrongSteps === null || wrongSteps > steps) return null;
  return { problems, samples, steps, wrongSteps };
}
