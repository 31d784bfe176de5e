import { beam, bestOfK, greedy, sample, selfConsistency, type RowDecodeRequest } from './baselines';
import { cat } from './cat';
import type { DecoderModel } from './generate';
import type { StrategyName, StrategyResult, StrategySettings } from './strategyResult';

export type { StrategySettings } from './strategyResult';

const SAMPLING_KNOBS = ['temperature', 'topP', 'seed'] as const;

/** Which settings apply to which strategy (anything else given is an error, not silently ignored). */
export const STRATEGY_SETTINGS: Readonly<Record<StrategyName, readonly (keyof StrategySettings)[]>> = {
  greedy: [],
  sample: SAMPLING_KNOBS,
  sc: [...SAMPLING_KNOBS, 'samples'],
  bok: [...SAMPLING_KNOBS, 'samples'],
  beam: [...SAMPLING_KNOBS, 'branches', 'width', 'budget'],
  cat: [...SAMPLING_KNOBS, 'branches', 'width', 'budget', 'threshold', 'greedyFirst', 'branchBelow'],
};

/** Throws when `settings` holds a knob the strategy does not use, or a value out of range. */
export function validateStrategySettings(strategy: StrategyName, settings: StrategySettings): void {
  const allowed = STRATEGY_SETTINGS[strategy];
  const extra = (Object.keys(settings) as (keyof StrategySettings)[]).filter((key) => settings[key] !== undefined && !allowed.includes(key));
  if (extra.length > 0) {
    throw new Error(`${extra.join(', ')} do(es) not apply to strategy ${strategy} (it takes ${allowed.length > 0 ? allowed.join(', ') : 'none'})`);
  }
  for (const key of ['branches', 'width', 'budget', 'samples'] as const) {
    const value = settings[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new Error(`${key} must be a positive integer, got ${value}`);
  }
}

/** Runs one strategy on one prompt; every strategy returns the same shape (see StrategyResult). */
export async function runStrategy(
  model: DecoderModel,
  strategy: StrategyName,
  request: RowDecodeRequest,
  settings: StrategySettings = {},
): Promise<StrategyResult> {
  validateStrategySettings(strategy, settings);
  const { threshold, samples, branches, width, budget, greedyFirst, branchBelow, ...sampling } = settings;
  const knobs = Object.fromEntries(Object.entries(sampling).filter(([, v]) => v !== undefined));
  switch (strategy) {
    case 'greedy':
      return greedy(model, request);
    case 'sample':
      return sample(model, request, knobs);
    case 'sc':
      return selfConsistency(model, request, { ...knobs, ...defined({ samples }) });
    case 'bok':
      return bestOfK(model, request, { ...knobs, ...defined({ samples }) });
    case 'beam':
      return beam(model, request, { ...knobs, ...defined({ branches, width, budget }) });
    case 'cat':
      return cat(model, request, { ...knobs, ...defined({ branches, width, budget, threshold, greedyFirst, branchBelow }) });
  }
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
