import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAT_DEFAULTS } from '../../language-server/src/decoding/cat';
import { DEFAULT_WARMUP_STEPS } from '../../language-server/src/decoding/threshold';
import { engineSettings } from '../../language-server/src/handlers/catSolve';
import type { CatSettings as CatSettingsSetting } from '../../src/protocol';

const properties: Record<string, { default: unknown }> = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).contributes
  .configuration.properties;
const defaultOf = (key: string) => properties[`caspo.${key}`].default;

describe('CaT settings', () => {
  it("default to CaT with the engine's own search settings (as `caspo solve --strategy cat` runs it)", () => {
    assert.equal(defaultOf('strategy'), 'cat');
    assert.deepEqual(
      {
        branches: defaultOf('cat.branches'),
        width: defaultOf('cat.width'),
        threshold: { kind: 'fixed', value: defaultOf('cat.threshold') },
        budget: defaultOf('cat.budget'),
        temperature: defaultOf('cat.temperature'),
        greedyFirst: defaultOf('cat.firstCandidate') === 'greedy',
        branchBelow: defaultOf('cat.branchBelow'),
      },
      {
        branches: CAT_DEFAULTS.branches,
        width: CAT_DEFAULTS.width,
        threshold: CAT_DEFAULTS.threshold,
        budget: CAT_DEFAULTS.budget,
        temperature: CAT_DEFAULTS.temperature,
        greedyFirst: CAT_DEFAULTS.greedyFirst,
        branchBelow: CAT_DEFAULTS.branchBelow,
      },
    );
    assert.equal(defaultOf('cat.thresholdPercentile'), null, 'the fixed threshold unless a percentile is set');
  });

  it('reach the engine as a fixed or an adaptive threshold', () => {
    const setting = { branches: 4, width: 1, threshold: 0.3, thresholdPercentile: null, budget: 12, temperature: 0.7, firstCandidate: 'sampled', branchBelow: null } satisfies CatSettingsSetting;
    assert.deepEqual(engineSettings(setting), {
      branches: 4,
      width: 1,
      budget: 12,
      temperature: 0.7,
      greedyFirst: false,
      branchBelow: null,
      threshold: { kind: 'fixed', value: 0.3 },
    });
    assert.equal(engineSettings({ ...setting, firstCandidate: 'greedy' }).greedyFirst, true);
    assert.equal(engineSettings({ ...setting, branchBelow: 0.9 }).branchBelow, 0.9);
    assert.deepEqual(engineSettings({ ...setting, thresholdPercentile: 10 }).threshold, { kind: 'percentile', percentile: 10, warmupSteps: DEFAULT_WARMUP_STEPS });
  });
});
