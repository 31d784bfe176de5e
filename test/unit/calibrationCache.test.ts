import { strict as assert } from 'node:assert';
import { CalibrationCache, calibrationInputs } from '../../language-server/src/host/calibrationCache';
import type { CalibrationResult, ServerSettings } from '../../src/protocol';
import { testSettings } from '../integration/helpers/languageServerProcess';

const SETTINGS: ServerSettings = testSettings({ modelDir: '/models/m' });
const PROBLEMS_FILE = '/data/heldout.jsonl';
// The cache stores results as they are: only which one comes back matters here.
const RESULT = { model: 'm', cached: false } as CalibrationResult;

describe('calibration cache', () => {
  const cachedUnder = (change: Partial<ServerSettings>) => {
    const cache = new CalibrationCache();
    cache.set(calibrationInputs(SETTINGS, PROBLEMS_FILE, 40), RESULT);
    return cache.get(calibrationInputs({ ...SETTINGS, ...change }, PROBLEMS_FILE, 40));
  };

  it('computes afresh under settings that change the numbers: the execution provider (providers round differently), model, metric, token limit', () => {
    for (const change of [{ executionProvider: 'auto' }, { executionProvider: 'webgpu' }, { modelDir: '/models/other' }, { metric: 'minProb' }, { maxTokens: 128 }] as const) {
      assert.equal(cachedUnder(change), undefined, JSON.stringify(change));
    }
  });

  it('answers from the cache under settings the greedy decoding of a calibration does not read', () => {
    for (const change of [{}, { cpuThreads: 2 }, { strategy: 'greedy' }, { warningThreshold: 0.2 }, { bands: { high: 0.9, medium: 0.4 } }] as const) {
      assert.equal(cachedUnder(change), RESULT, JSON.stringify(change));
    }
  });
});
