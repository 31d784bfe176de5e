import { MAX_CPU_THREADS, MIN_TEMPERATURE } from '../../../src/protocol';
import { STEP_METRICS } from '../decoding/stepConfidence';
import { defaultIntraOpThreads, EXECUTION_PROVIDER_SETTINGS } from '../model/executionProvider';
import type { FlagSpecs } from './args';
import { STRATEGIES } from './engine';

/** Default token budget of one solution (the context limit lowers it when the prompt is long). */
export const DEFAULT_MAX_TOKENS = 256;

/** Flags every command that loads a model takes. */
export const MODEL_FLAGS = {
  model: { kind: 'string', valueName: 'DIR', help: 'model folder (default: the embedded models/caspo-arith)' },
  ep: { kind: 'choice', choices: EXECUTION_PROVIDER_SETTINGS, help: 'execution provider (default auto: webgpu for a model of 1 GB or more, or of 200 MB or more when the CPU would get one thread, then cuda, then cpu)' },
  threads: { kind: 'number', valueName: 'N', integer: true, min: 0, max: MAX_CPU_THREADS, help: `CPU threads per operator (default: half the cores, at most 8 — ${defaultIntraOpThreads()} here; 0 = onnxruntime decides)` },
} as const satisfies FlagSpecs;

/** How tokens are chosen. */
export const SAMPLING_FLAGS = {
  strategy: {
    kind: 'choice',
    choices: STRATEGIES,
    help: 'greedy (default), sample, sc (self-consistency@K), bok (best-of-K), beam (step-level beam search) or cat (confidence-aware tree search)',
  },
  temperature: { kind: 'number', valueName: 'T', min: MIN_TEMPERATURE, help: 'sampling temperature (default 1.0; every strategy but greedy)' },
  'top-p': { kind: 'number', valueName: 'P', min: 0, minExclusive: true, max: 1, help: 'nucleus mass (default 1.0; every strategy but greedy)' },
  seed: { kind: 'number', valueName: 'N', integer: true, min: -2147483648, max: 2147483647, help: 'random seed (default 0; every strategy but greedy)' },
  'max-tokens': { kind: 'number', valueName: 'N', integer: true, min: 1, help: `token budget per solution (default ${DEFAULT_MAX_TOKENS})` },
} as const satisfies FlagSpecs;

export const METRIC_FLAG = {
  metric: { kind: 'choice', choices: STEP_METRICS, help: "step confidence metric (default: the model's caspo.json, else meanEntropy)" },
} as const satisfies FlagSpecs;
