import { strict as assert } from 'node:assert';
import { parseServerSettings, SettingsError } from '../../language-server/src/host/settings';
import type { ServerSettings } from '../../src/protocol';

const GOOD: ServerSettings = {
  modelDir: '/models/m',
  executionProvider: 'auto',
  cpuThreads: 0,
  bands: { high: 0.8, medium: 0.5 },
  warningThreshold: 0.5,
  maxTokens: 256,
  temperature: 0,
  metric: 'modelDefault',
  stepDelimiter: '\n',
  strategy: 'cat',
  cat: { branches: 3, width: 2, threshold: 0.5, thresholdPercentile: null, budget: 40, temperature: 1, firstCandidate: 'sampled', branchBelow: null },
};

describe('server settings from the client', () => {
  it('accepts well-formed settings', () => {
    assert.deepEqual(parseServerSettings({ ...GOOD, extra: 1 }), GOOD);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['relative model folder', { modelDir: 'models/m' }, /caspo\.modelPath must be an absolute folder path, got "models\/m"/],
    ['unknown execution provider', { executionProvider: 'tpu' }, /caspo\.executionProvider must be one of auto, webgpu, cuda, cpu, got "tpu"/],
    ['negative thread count', { cpuThreads: -1 }, /caspo\.cpuThreads must be an integer from 0 \(automatic\) to 64, got -1/],
    ['fractional thread count', { cpuThreads: 2.5 }, /caspo\.cpuThreads must be an integer from 0 \(automatic\) to 64, got 2\.5/],
    ['thread count that would hang the model load', { cpuThreads: 20000 }, /caspo\.cpuThreads must be an integer from 0 \(automatic\) to 64, got 20000/],
    ['bands in the wrong order', { bands: { high: 0.3, medium: 0.5 } }, /caspo\.confidenceBands: .*must not exceed/],
    ['threshold above 1', { warningThreshold: 2 }, /caspo\.warningThreshold must be a number from 0 to 1, got 2/],
    ['fractional token budget', { maxTokens: 1.5 }, /caspo\.maxTokens must be a positive integer/],
    ['negative temperature', { temperature: -1 }, /caspo\.temperature must be 0 \(greedy\) or a number of at least 0\.0001/],
    ['unknown metric', { metric: 'perplexity' }, /caspo\.confidenceMetric must be one of modelDefault, meanEntropy/],
    ['empty delimiter', { stepDelimiter: '' }, /caspo\.stepDelimiter must be a non-empty string/],
    ['unknown strategy', { strategy: 'mcts' }, /caspo\.strategy must be one of cat, greedy, got "mcts"/],
    ['missing CaT settings', { cat: undefined }, /caspo\.cat must be an object of CaT settings/],
    ['zero branches', { cat: { ...GOOD.cat, branches: 0 } }, /caspo\.cat\.branches must be an integer from 1 to 16, got 0/],
    ['branch count above the schema', { cat: { ...GOOD.cat, branches: 1000 } }, /caspo\.cat\.branches must be an integer from 1 to 16, got 1000/],
    ['width above the schema', { cat: { ...GOOD.cat, width: 99 } }, /caspo\.cat\.width must be an integer from 1 to 16, got 99/],
    ['CaT threshold above 1', { cat: { ...GOOD.cat, threshold: 1.5 } }, /caspo\.cat\.threshold must be a number from 0 to 1, got 1\.5/],
    ['zero CaT temperature', { cat: { ...GOOD.cat, temperature: 0 } }, /caspo\.cat\.temperature must be a number of at least 0\.0001/],
    ['a sampling temperature too cold to compute', { temperature: 1e-300 }, /caspo\.temperature must be 0 \(greedy\) or a number of at least 0\.0001/],
    ['unknown first candidate', { cat: { ...GOOD.cat, firstCandidate: 'best' } }, /caspo\.cat\.firstCandidate must be one of greedy, sampled, got "best"/],
    ['branching level above 1', { cat: { ...GOOD.cat, branchBelow: 2 } }, /caspo\.cat\.branchBelow must be a number from 0 to 1, or null to branch at every step, got 2/],
    ['percentile above 100', { cat: { ...GOOD.cat, thresholdPercentile: 120 } }, /caspo\.cat\.thresholdPercentile must be a number from 0 to 100, or null/],
  ];
  for (const [name, change, message] of cases) {
    it(`rejects a ${name}, naming the setting`, () => {
      assert.throws(
        () => parseServerSettings({ ...GOOD, ...change }),
        (error: Error) => error instanceof SettingsError && message.test(error.message),
      );
    });
  }

  it('says so when the client sent nothing', () => {
    assert.throws(() => parseServerSettings(undefined), /sent no CASPO settings/);
  });
});
