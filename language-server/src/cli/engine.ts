import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_TOP_K } from '../decoding/confidence';
import type { SamplingOptions } from '../decoding/sampling';
import { ConfidenceCalibration, loadConfidenceCalibration } from '../decoding/stepConfidence';
import { STRATEGY_NAMES } from '../decoding/strategyResult';
import { CausalLM } from '../model/causalLM';
import type { ExecutionProviderSetting } from '../model/executionProvider';
import { RuntimeError, UsageError } from './errors';

/** The embedded model's folder name under `<package root>/models/`. */
export const EMBEDDED_MODEL_NAME = 'caspo-arith';

/**
 * The folder holding the package's package.json (the one whose `bin` names `caspo`), found by
 * walking up from this file, so the same code works bundled in dist/ and run from source.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin;
        if (bin && typeof bin === 'object' && 'caspo' in bin) return dir;
      } catch {
        // Not ours (or unreadable): keep walking up.
      }
    }
    if (dirname(dir) === dir) {
      throw new RuntimeError(
        `cannot find the caspo package root above ${from} (no package.json with a "caspo" bin), so the embedded ` +
          'model cannot be located. Pass --model DIR.',
      );
    }
  }
}

export function embeddedModelDir(): string {
  return join(packageRoot(), 'models', EMBEDDED_MODEL_NAME);
}

export interface OpenModelOptions {
  modelDir?: string;
  executionProvider?: ExecutionProviderSetting;
  threads?: number;
  /** Read caspo.json (default true); `caspo calibrate` ignores it, since it is about to replace it. */
  storedCalibration?: boolean;
}

/** A loaded model and the confidence calibration stored with it (caspo.json, or the defaults). */
export interface OpenedModel {
  model: CausalLM;
  calibration: ConfidenceCalibration;
  /** A short name for reports: the folder name. */
  name: string;
}

/** Loads the model folder (default: the embedded model). The engine's ModelError says what is wrong. */
export async function openModel(options: OpenModelOptions): Promise<OpenedModel> {
  const dir = resolve(options.modelDir ?? embeddedModelDir());
  const model = await CausalLM.load(dir, { executionProvider: options.executionProvider, intraOpNumThreads: options.threads });
  try {
    const calibration =
      options.storedCalibration === false
        ? new ConfidenceCalibration(model.config.vocabSize, DEFAULT_TOP_K)
        : loadConfidenceCalibration(dir, model.config.vocabSize, DEFAULT_TOP_K);
    return { model, calibration, name: model.displayName };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/** Where a problem came from, for error messages ("the problem", "line 12 of data.jsonl"). */
export type ProblemSource = string;

/** Rejects a blank problem (a usage error: nothing to solve). */
export function requireProblemText(problem: string, source: ProblemSource): void {
  if (problem.trim().length === 0) {
    throw new UsageError(`${source} is empty. Give the problem to solve, e.g. caspo solve "47*38 + 12".`);
  }
}

export interface EncodedProblem {
  promptIds: number[];
  /** The requested token budget, lowered so prompt + solution fit the model's context. */
  maxNewTokens: number;
}

/**
 * The prompt ids of a problem, checked against the model's context (max_position_embeddings):
 * at least one generated token must fit after the prompt.
 */
export function encodeProblem(model: CausalLM, problem: string, maxNewTokens: number, source: ProblemSource): EncodedProblem {
  const promptIds = model.tokenizer.encodePrompt(problem);
  const limit = model.config.maxPositionEmbeddings;
  if (limit === null) return { promptIds, maxNewTokens };
  const room = limit - promptIds.length;
  if (room < 1) {
    throw new RuntimeError(
      `${source} is too long for the model: its prompt is ${promptIds.length.toLocaleString('en-US')} tokens, ` +
        `and the model's context holds ${limit.toLocaleString('en-US')} tokens in all (max_position_embeddings in ` +
        `${join(model.dir, 'config.json')}), prompt and solution together. Shorten the problem.`,
    );
  }
  return { promptIds, maxNewTokens: Math.min(maxNewTokens, room) };
}

export interface SamplingFlags {
  strategy?: string;
  temperature?: number;
  'top-p'?: number;
  seed?: number;
}

/** What `--strategy` accepts: every engine strategy. */
export const STRATEGIES = STRATEGY_NAMES;

/**
 * The decoding settings from --strategy/--temperature/--top-p/--seed. Sampling knobs given with
 * greedy decoding are an error rather than silently ignored.
 */
export function samplingFromFlags(flags: SamplingFlags, defaultStrategy: 'greedy' | 'sample' = 'greedy'): SamplingOptions {
  const strategy = flags.strategy ?? defaultStrategy;
  if (strategy === 'greedy') {
    const knobs = (['temperature', 'top-p', 'seed'] as const).filter((name) => flags[name] !== undefined);
    if (knobs.length > 0) {
      throw new UsageError(`${knobs.map((k) => `--${k}`).join(', ')} only apply with --strategy sample (greedy decoding has no randomness).`);
    }
    return { kind: 'greedy' };
  }
  return { kind: 'sample', temperature: flags.temperature ?? 1, topP: flags['top-p'] ?? 1, seed: flags.seed ?? 0 };
}
