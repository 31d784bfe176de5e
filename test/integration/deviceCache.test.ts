/**
 * A KV cache left in device memory between steps (what a WebGPU session returns when present.* stay
 * in GPU buffers, which onnxruntime-node cannot read back): the row operations run as ONNX graphs
 * (model/deviceKvOps.ts), and every strategy must decode exactly as with a cache on the host and
 * release every device tensor it was handed.
 *
 * Here the graphs run in real onnxruntime sessions on the CPU. The engine is handed the model's
 * present.* outputs as onnxruntime gpu-buffer tensors (data unreadable), so its own code takes the
 * device path; the tensors are opened again only to run the CPU sessions. The GPU itself is
 * checked on a GPU machine (docs/bench/gpu.md).
 */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { expandBranch } from '../../language-server/src/decoding/expandBranch';
import type { DecoderModel } from '../../language-server/src/decoding/generate';
import { loadConfidenceCalibration } from '../../language-server/src/decoding/stepConfidence';
import { runStrategy } from '../../language-server/src/decoding/strategies';
import type { StrategyResult } from '../../language-server/src/decoding/strategyResult';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { SessionKvOps } from '../../language-server/src/model/deviceKvOps';
import { KvCache, type KvDeviceOps, type KvTensor } from '../../language-server/src/model/kvCache';

const MODEL_DIR = join(resolve(__dirname, '..', '..'), 'models', 'caspo-arith');
/** The model hesitates at the first step here: CaT's candidates differ and some are pruned. */
const PROBLEM = 'Evaluate 763+(869 * 81 + (74+76)).';

interface DeviceLog {
  made: number;
  disposed: number;
}

/** A host tensor's values as a gpu-buffer tensor (what a WebGPU session returns), counted. */
function toDevice(tensor: KvTensor, log: DeviceLog): Tensor {
  const values = (tensor.data as Float32Array).slice();
  log.made++;
  return Tensor.fromGpuBuffer({ size: values.byteLength, mapState: 'unmapped' } as Tensor.GpuBufferType, {
    dataType: 'float32',
    dims: tensor.dims,
    download: async () => values,
    dispose: () => void log.disposed++,
  });
}

/** The values behind a tensor of toDevice (the test's side door; the engine cannot read them). */
async function opened(tensor: KvTensor): Promise<Tensor> {
  return tensor.location === 'gpu-buffer' ? new Tensor('float32', (await (tensor as Tensor).getData()) as Float32Array, tensor.dims) : (tensor as Tensor);
}

/** SessionKvOps on the CPU behind device tensors: its results go back to the engine as device tensors. */
function deviceOps(ops: SessionKvOps, log: DeviceLog): KvDeviceOps {
  return {
    gatherRows: async (tensors, rows) => (await ops.gatherRows(await Promise.all(tensors.map(opened)), rows)).map((t) => toDevice(t, log)),
    concatRows: async (groups) =>
      (await ops.concatRows(await Promise.all(groups.map((g) => Promise.all(g.map(opened)))))).map((t) => toDevice(t, log)),
  };
}

/** The model with its caches handed out in device memory. */
function deviceResident(model: CausalLM, ops: KvDeviceOps, log: DeviceLog): DecoderModel {
  return {
    config: model.config,
    eosTokenIds: model.eosTokenIds,
    tokenizer: model.tokenizer,
    emptyCache: (b) => model.emptyCache(b),
    forward: async (ids, cache) => {
      const fed = new KvCache(await Promise.all(cache.layers.map(async (l) => ({ key: await opened(l.key), value: await opened(l.value) }))));
      const result = await model.forward(ids, fed);
      const out = new KvCache(result.cache.layers.map((l) => ({ key: toDevice(l.key, log), value: toDevice(l.value, log) })), ops);
      result.cache.dispose();
      return { lastLogits: result.lastLogits, cache: out };
    },
  };
}

/** A [B, H, T, D] tensor of distinct values. */
function tensorOf(dims: [number, number, number, number], offset: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('float32', Float32Array.from({ length: n }, (_, i) => offset + i), dims);
}

/** What must not depend on where the cache lives: the answer, every path's tokens and the tree. */
function outcome(result: StrategyResult) {
  return {
    answer: result.answer,
    tokens: result.path.tokens.map((t) => [t.id, t.logProb]),
    tree: result.tree.nodes.map((n) => [n.id, n.status, n.tokenIds.join(','), n.confidence]),
    forwards: result.stats.forwardPasses,
    generated: result.stats.generatedTokens,
  };
}

describe('KV-cache row operations as ONNX graphs (model/deviceKvOps.ts), on onnxruntime CPU sessions', () => {
  const ops = new SessionKvOps(4, { executionProviders: ['cpu'] });
  after(() => ops.release());
  const cache = (batch: number, offset: number) =>
    new KvCache([0, 1].map((l) => ({ key: tensorOf([batch, 2, 3, 2], offset + 1000 * l), value: tensorOf([batch, 2, 3, 2], offset + 1000 * l + 500) })));

  it('gather and concat give what the host copies give', async () => {
    const a = cache(2, 0);
    const b = cache(3, 10_000);
    const flat = (c: KvCache) => c.layers.flatMap((l) => [l.key, l.value]);
    const gathered = await ops.gatherRows(flat(a), [1, 0, 1]);
    const forked = await a.forkRows([1, 0, 1]);
    assert.deepEqual(gathered.map((t) => [t.dims, Array.from(t.data as Float32Array)]), flat(forked).map((t) => [t.dims, Array.from(t.data as Float32Array)]));
    const joined = await ops.concatRows([flat(a), flat(b), flat(a)]);
    const host = await KvCache.concat([a, b, a]);
    assert.deepEqual(joined.map((t) => [t.dims, Array.from(t.data as Float32Array)]), flat(host).map((t) => [t.dims, Array.from(t.data as Float32Array)]));
    await assert.rejects(ops.gatherRows(flat(a).slice(1), [0]), /4 tensors per cache, got 3/);
  });

  it('check() runs both graphs at load, so a provider that cannot fails before a solve', async () => {
    await ops.check();
    const closed = new SessionKvOps(4, { executionProviders: ['cpu'] });
    await closed.release();
    await assert.rejects(closed.check(), /used after the model was disposed/);
  });

  it('a cache in device memory needs device operations; trim cannot read it', async () => {
    const log: DeviceLog = { made: 0, disposed: 0 };
    const device = [0, 1].map(() => ({ key: toDevice(tensorOf([1, 1, 2, 1], 0), log), value: toDevice(tensorOf([1, 1, 2, 1], 0), log) }));
    assert.throws(() => new KvCache(device), /layer 0 key is in gpu-buffer memory but the cache was given no device row operations/);
    const onDevice = new KvCache(device, deviceOps(ops, log));
    assert.equal(onDevice.onHost, false);
    assert.throws(() => onDevice.trim(1), /in gpu-buffer memory, where trim cannot read it/);
    const forked = await onDevice.forkRows([0, 0]);
    assert.deepEqual([forked.onHost, forked.batchSize], [false, 2]);
    forked.dispose();
    onDevice.dispose();
    assert.equal(log.disposed, log.made);
  });
});

describe('engine with the KV cache in device memory (WebGPU keeps present.* on the GPU)', function () {
  this.timeout(120_000);
  let model: CausalLM;
  let ops: SessionKvOps;
  let calibration: ReturnType<typeof loadConfidenceCalibration>;
  let promptIds: number[];

  before(async () => {
    model = await CausalLM.load(MODEL_DIR, { executionProvider: 'cpu', intraOpNumThreads: 1 });
    ops = new SessionKvOps(2 * model.config.numHiddenLayers, { executionProviders: ['cpu'] });
    calibration = loadConfidenceCalibration(MODEL_DIR, model.config.vocabSize, 5);
    promptIds = model.tokenizer.encodePrompt(PROBLEM);
  });
  after(async () => {
    await ops?.release();
    await model?.dispose();
  });

  const cases = [
    { strategy: 'greedy', settings: {}, forks: false },
    { strategy: 'sc', settings: { samples: 4, seed: 3 }, forks: true },
    { strategy: 'cat', settings: { branches: 3, width: 2, seed: 1 }, forks: true },
    { strategy: 'beam', settings: { branches: 3, width: 2, seed: 1 }, forks: true },
  ] as const;
  for (const c of cases) {
    it(`${c.strategy}: the same tokens, tree and forwards; every device tensor released`, async () => {
      const request = { promptIds, maxNewTokens: 96, calibration };
      const onHost = await runStrategy(model, c.strategy, request, c.settings);
      const log: DeviceLog = { made: 0, disposed: 0 };
      let rowOps = 0;
      const counted: KvDeviceOps = {
        gatherRows: (t, r) => (rowOps++, deviceOps(ops, log).gatherRows(t, r)),
        concatRows: (g) => (rowOps++, deviceOps(ops, log).concatRows(g)),
      };
      const onDevice = await runStrategy(deviceResident(model, counted, log), c.strategy, request, c.settings);
      assert.deepEqual(outcome(onDevice), outcome(onHost));
      assert.ok(log.made > 0);
      assert.equal(log.disposed, log.made, 'every device tensor handed to the engine was released');
      if (c.forks) assert.ok(rowOps > 0, 'rows were forked on the device');
      else assert.equal(rowOps, 0, 'greedy only feeds the cache back');
    });
  }

  it('re-expanding a pruned CaT branch gives the same continuation', async () => {
    const request = { promptIds, maxNewTokens: 96, calibration };
    const log: DeviceLog = { made: 0, disposed: 0 };
    const device = deviceResident(model, deviceOps(ops, log), log);
    const [onHost, onDevice] = [await runStrategy(model, 'cat', request, { seed: 1 }), await runStrategy(device, 'cat', request, { seed: 1 })];
    const pruned = onHost.tree.nodes.find((n) => n.status === 'pruned');
    assert.ok(pruned, 'the problem prunes a candidate');
    const hostLeaf = await expandBranch(model, onHost.tree, pruned.id, { calibration });
    const deviceLeaf = await expandBranch(device, onDevice.tree, pruned.id, { calibration });
    assert.deepEqual(deviceLeaf.pathNodeIds, hostLeaf.pathNodeIds);
    assert.deepEqual(
      deviceLeaf.added.map((n) => n.tokenIds),
      hostLeaf.added.map((n) => n.tokenIds),
    );
    assert.equal(log.disposed, log.made);
  });
});
