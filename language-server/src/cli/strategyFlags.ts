import { SAMPLED_SOLUTIONS_DEFAULTS } from '../decoding/baselines';
import { CAT_DEFAULTS } from '../decoding/cat';
import { STRATEGY_SETTINGS, type StrategySettings } from '../decoding/strategies';
import { STRATEGY_NAMES, type StrategyName } from '../decoding/strategyResult';
import { DEFAULT_WARMUP_STEPS } from '../decoding/threshold';
import type { FlagSpecs } from './args';
import { UsageError } from './errors';

/**
 * The most rows a flag may ask to decode at once (--samples, --branches, --width): each row holds its own KV
 * cache, so far beyond this a typo (--samples 20000) fills the memory before anything is printed.
 */
export const MAX_ROWS_FLAG = 256;

/** The tree-search knobs (CaT and beam search). */
export const SEARCH_FLAGS = {
  branches: { kind: 'number', valueName: 'B', integer: true, min: 1, max: MAX_ROWS_FLAG, help: `candidate steps drawn per step boundary (cat, beam; default ${CAT_DEFAULTS.branches})` },
  width: { kind: 'number', valueName: 'W', integer: true, min: 1, max: MAX_ROWS_FLAG, help: `candidate steps kept per round (cat, beam; default ${CAT_DEFAULTS.width})` },
  threshold: {
    kind: 'number',
    valueName: 'TAU',
    min: 0,
    max: 1,
    help: `prune candidate steps whose confidence is below TAU (cat; default ${CAT_DEFAULTS.threshold.kind === 'fixed' ? CAT_DEFAULTS.threshold.value : 'adaptive'})`,
  },
  'threshold-percentile': {
    kind: 'number',
    valueName: 'P',
    min: 0,
    max: 100,
    help: "adaptive TAU: the P-th percentile of the step confidences seen in the search's warm-up (cat)",
  },
  warmup: {
    kind: 'number',
    valueName: 'N',
    integer: true,
    min: 1,
    help: `candidate steps in the warm-up of --threshold-percentile (default ${DEFAULT_WARMUP_STEPS})`,
  },
  budget: { kind: 'number', valueName: 'N', integer: true, min: 1, help: `most candidate steps expanded per problem (cat, beam; default ${CAT_DEFAULTS.budget})` },
  'first-candidate': {
    kind: 'choice',
    choices: ['greedy', 'sampled'],
    help: `candidate 0 at each step boundary: the greedy step, or drawn like the others (cat; default ${CAT_DEFAULTS.greedyFirst ? 'greedy' : 'sampled'})`,
  },
  'branch-below': {
    kind: 'number',
    valueName: 'S',
    min: 0,
    max: 1,
    help: 'branch only where unsure: decode candidate 0 first and draw the other B - 1 only when its step confidence is below S (cat; default: always B)',
  },
} as const satisfies FlagSpecs;

export const SAMPLES_HELP = `sampled solutions per problem (sc, bok: K, default ${SAMPLED_SOLUTIONS_DEFAULTS.samples}`;

export interface StrategyFlags {
  strategy?: string;
  temperature?: number;
  'top-p'?: number;
  seed?: number;
  samples?: number;
  branches?: number;
  width?: number;
  threshold?: number;
  'threshold-percentile'?: number;
  warmup?: number;
  budget?: number;
  'first-candidate'?: 'greedy' | 'sampled';
  'branch-below'?: number;
}

/** Which engine setting each flag sets. */
const FLAG_SETTING: Readonly<Record<Exclude<keyof StrategyFlags, 'strategy'>, keyof StrategySettings>> = {
  temperature: 'temperature',
  'top-p': 'topP',
  seed: 'seed',
  samples: 'samples',
  branches: 'branches',
  width: 'width',
  threshold: 'threshold',
  'threshold-percentile': 'threshold',
  warmup: 'threshold',
  budget: 'budget',
  'first-candidate': 'greedyFirst',
  'branch-below': 'branchBelow',
};

/** "sample, sc, bok, beam or cat". */
function strategiesTaking(setting: keyof StrategySettings): string {
  const names = STRATEGY_NAMES.filter((name) => STRATEGY_SETTINGS[name].includes(setting));
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/**
 * The strategy and its settings from the command line. A flag the strategy does not use is an
 * error that names the strategies it applies to. `samplesForSample` lets `eval --strategy sample`
 * keep `--samples` as its count of independent solutions.
 */
export function strategyFromFlags(
  flags: StrategyFlags,
  options: { samplesForSample?: boolean } = {},
): { strategy: StrategyName; settings: StrategySettings } {
  const strategy = (flags.strategy ?? 'greedy') as StrategyName;
  const settings: StrategySettings = {};
  for (const [flag, setting] of Object.entries(FLAG_SETTING) as [Exclude<keyof StrategyFlags, 'strategy'>, keyof StrategySettings][]) {
    if (flags[flag] === undefined) continue;
    if (flag === 'samples' && strategy === 'sample' && options.samplesForSample) continue;
    if (!STRATEGY_SETTINGS[strategy].includes(setting)) {
      const why = strategy === 'greedy' && ['temperature', 'topP', 'seed'].includes(setting) ? ' (greedy decoding has no randomness)' : '';
      throw new UsageError(`--${flag} only applies with --strategy ${strategiesTaking(setting)}${why}.`);
    }
  }
  if (flags.threshold !== undefined && flags['threshold-percentile'] !== undefined) {
    throw new UsageError('give either --threshold (a fixed TAU) or --threshold-percentile (an adaptive one), not both.');
  }
  if (flags.warmup !== undefined && flags['threshold-percentile'] === undefined) {
    throw new UsageError('--warmup sets the warm-up of an adaptive threshold: give --threshold-percentile P with it.');
  }
  if (flags.temperature !== undefined) settings.temperature = flags.temperature;
  if (flags['top-p'] !== undefined) settings.topP = flags['top-p'];
  if (flags.seed !== undefined) settings.seed = flags.seed;
  if (flags.samples !== undefined && strategy !== 'sample') settings.samples = flags.samples;
  if (flags.branches !== undefined) settings.branches = flags.branches;
  if (flags.width !== undefined) settings.width = flags.width;
  if (flags.budget !== undefined) settings.budget = flags.budget;
  if (flags['first-candidate'] !== undefined) settings.greedyFirst = flags['first-candidate'] === 'greedy';
  if (flags['branch-below'] !== undefined) settings.branchBelow = flags['branch-below'];
  if (flags.threshold !== undefined) settings.threshold = { kind: 'fixed', value: flags.threshold };
  if (flags['threshold-percentile'] !== undefined) {
    settings.threshold = { kind: 'percentile', percentile: flags['threshold-percentile'], warmupSteps: flags.warmup ?? DEFAULT_WARMUP_STEPS };
  }
  return { strategy, settings };
}
