import { strict as assert } from 'node:assert';
import { cat } from '../../language-server/src/decoding/cat';
import { expandBranch } from '../../language-server/src/decoding/expandBranch';
import { ConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import { runStrategy } from '../../language-server/src/decoding/strategies';
import { KvCache } from '../../language-server/src/model/kvCache';
import { BRANCHING_SCRIPT, ScriptedStepModel } from './helpers/scriptedStepModel';

/** Alternatives at every step, so the search keeps several rows alive at once. */
const SCRIPT = BRANCHING_SCRIPT;

const calibration = new ConfidenceCalibration(259, 5);
const request = (model: ScriptedStepModel, extra: object = {}) => ({ promptIds: model.promptIds, maxNewTokens: 60, calibration, metric: 'minProb' as const, ...extra });
const everyCandidate = { branches: 3, width: 2, seed: 1, greedyFirst: false, threshold: { kind: 'fixed', value: 0 } } as const;

/**
 * Every KV cache made while a test runs, until disposed: the scripted model's empty and forward
 * caches, and the forks and joins of the engine. On the GPU an undisposed cache is device memory
 * nothing frees, so the searches must dispose every one, also when they fail.
 */
const live = new Set<KvCache>();
function tracked(cache: KvCache): KvCache {
  live.add(cache);
  const dispose = cache.dispose.bind(cache);
  cache.dispose = () => {
    live.delete(cache);
    dispose();
  };
  return cache;
}

/** The scripted model with its caches tracked; its forward throws at pass `failAt` (0-based), if given. */
function model(failAt?: number): ScriptedStepModel {
  const m = new ScriptedStepModel(SCRIPT);
  const forward = m.forward.bind(m);
  const emptyCache = m.emptyCache.bind(m);
  m.emptyCache = (batchSize?: number) => tracked(emptyCache(batchSize));
  m.forward = async (ids, cache) => {
    if (m.forwardPasses === failAt) throw new Error('device lost');
    const result = await forward(ids, cache);
    tracked(result.cache);
    return result;
  };
  return m;
}

describe('tree searches that fail or are cancelled', () => {
  const forkRows = KvCache.prototype.forkRows;
  const concat = KvCache.concat;
  before(() => {
    KvCache.prototype.forkRows = async function (this: KvCache, rows: readonly number[]) {
      return tracked(await forkRows.call(this, rows));
    };
    KvCache.concat = async (caches: readonly KvCache[]) => tracked(await concat.call(KvCache, caches));
  });
  after(() => {
    KvCache.prototype.forkRows = forkRows;
    KvCache.concat = concat;
  });
  beforeEach(() => live.clear());

  it('free every KV row when a forward throws, whichever forward it is', async () => {
    const passes = (await cat(model(), request(model()), everyCandidate)).stats.forwardPasses;
    assert.equal(live.size, 0, 'a search that ends normally frees its rows');
    assert.ok(passes >= 6, `the search should take several forwards, took ${passes}`);
    for (const settings of [everyCandidate, { ...everyCandidate, greedyFirst: true, branchBelow: 0.9 }]) {
      for (let failAt = 0; failAt < passes; failAt++) {
        const m = model(failAt);
        await assert.rejects(cat(m, request(m), settings), /device lost/);
        assert.equal(live.size, 0, `forward ${failAt} threw (${JSON.stringify(settings)}): ${live.size} KV caches were left undisposed`);
      }
    }
  });

  it('free every KV row when a node callback throws', async () => {
    for (const at of [1, 2, 4]) {
      let seen = 0;
      const m = model();
      const onNode = () => {
        if (++seen === at) throw new Error('callback failed');
      };
      await assert.rejects(cat(m, request(m, { onNode }), everyCandidate), /callback failed/);
      assert.equal(live.size, 0, `onNode threw at node ${at}: ${live.size} KV caches left`);
    }
    const m = model();
    const search = await cat(m, request(m), { ...everyCandidate, width: 1 });
    const pruned = search.tree.nodes.find((node) => node.status === 'pruned' && node.stopReason === null);
    assert.ok(pruned, 'the search pruned an unfinished node');
    await assert.rejects(
      expandBranch(m, search.tree, pruned.id, {
        calibration,
        onNode: () => {
          throw new Error('callback failed');
        },
      }),
      /callback failed/,
    );
    assert.equal(live.size, 0, 'a re-expansion whose callback throws frees its row');
  });

  it('report a search cancelled after a path completed as cancelled, not as that path\'s answer', async () => {
    const abort = new AbortController();
    const m = model();
    const onNode = (node: { status: string }) => {
      if (node.status === 'completed') abort.abort();
    };
    const result = await cat(m, request(m, { signal: abort.signal, onNode }), { ...everyCandidate, width: 3 });
    assert.ok(result.tree.nodes.some((node) => node.status === 'completed'), 'a path completed before the cancel');
    assert.equal(result.stopReason, 'cancelled');
    assert.equal(live.size, 0);

    // sc: the rows that answered before the cancel must not make the run look finished.
    const scAbort = new AbortController();
    const sc = await runStrategy(model(), 'sc', request(model(), {
      signal: scAbort.signal,
      onStep: ({ step }: { step: { text: string } }) => {
        if (step.text.startsWith('Answer')) scAbort.abort();
      },
    }), { samples: 6, seed: 3 });
    assert.ok(sc.tree.nodes.some((node) => node.stopReason === 'answer'), 'a row answered before the cancel');
    assert.equal(sc.stopReason, 'cancelled');
  });

  it('with branchBelow, the budget reaches every frontier node before the unsure ones branch', async () => {
    // Root: A1 (0.6) is unsure at 0.7, so two more are drawn (seed 5: B1 and C1; 3 of the budget
    // of 6). Next round: A1, B1 and C1 (width 3) need one draw each, 6 of 6, and get them; B1's
    // B2 is unsure, but the budget is spent, so it is left for the budget. Reserving b = 3 per
    // node, as the search did before, pruned B1 and C1 for the budget and used only 4 draws.
    const m = model();
    const result = await cat(m, request(m), { branches: 3, width: 3, seed: 5, budget: 6, greedyFirst: true, branchBelow: 0.7, threshold: { kind: 'fixed', value: 0 } });
    const depth1 = result.tree.nodes.filter((node) => node.depth === 1);
    assert.deepEqual(depth1.map((node) => node.text).sort(), ['A1', 'B1', 'C1']);
    assert.deepEqual(result.tree.nodes.filter((node) => node.prunedBy === 'budget').map((node) => node.text), ['B2']);
    assert.deepEqual(result.tree.nodes.filter((node) => node.depth === 2).map((node) => node.text).sort(), ['Answer: 1', 'Answer: 3', 'B2']);
    assert.equal(result.stats.expandedSteps, 6);
  });

  it('a cancelled re-expansion keeps the steps it decoded in the tree, and expanding again resumes after them', async () => {
    const m = model();
    const search = await cat(m, request(m), { ...everyCandidate, width: 1 });
    const deep = search.tree.nodes.find((node) => node.status === 'pruned' && node.text === 'B1');
    assert.ok(deep, 'B1 was pruned');
    const reference = await expandBranch(model(), (await cat(model(), request(model()), { ...everyCandidate, width: 1 })).tree, deep.id, { calibration });

    const abort = new AbortController();
    const cancelled = await expandBranch(m, search.tree, deep.id, { calibration, signal: abort.signal, onNode: () => abort.abort() });
    assert.equal(cancelled.path.stopReason, 'cancelled');
    assert.equal(cancelled.added.length, 1);
    const resumed = await expandBranch(m, search.tree, deep.id, { calibration });
    assert.equal(resumed.added.length, reference.added.length - 1, 'the resumed expansion decodes only what is left');
    assert.deepEqual(resumed.pathNodeIds, reference.pathNodeIds);
    assert.equal(resumed.answer, reference.answer);
    assert.equal(live.size, 0);
  });
});
