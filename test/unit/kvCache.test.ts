import { strict as assert } from 'node:assert';
import { Tensor } from 'onnxruntime-node';
import { KvCache } from '../../language-server/src/model/kvCache';

/** A [B, H, T, D] tensor whose value encodes its coordinates: layer*10000 + b*1000 + h*100 + t*10 + d. */
function coordTensor(layer: number, dims: [number, number, number, number]): Tensor {
  const [B, H, T, D] = dims;
  const data = new Float32Array(B * H * T * D);
  let i = 0;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
    data[i++] = layer * 10000 + b * 1000 + h * 100 + t * 10 + d;
  }
  return new Tensor('float32', data, dims);
}

function cacheOf(dims: [number, number, number, number], layers = 2): KvCache {
  return new KvCache(Array.from({ length: layers }, (_, l) => ({ key: coordTensor(l, dims), value: coordTensor(l + 5, dims) })));
}

function at(tensor: { dims: readonly number[]; data: unknown }, b: number, h: number, t: number, d: number): number {
  const [, H, T, D] = tensor.dims;
  return (tensor.data as Float32Array)[((b * H + h) * T + t) * D + d];
}

describe('KvCache', () => {
  it('reports its shape', () => {
    const cache = cacheOf([2, 3, 4, 2]);
    assert.deepEqual([cache.batchSize, cache.numKeyValueHeads, cache.pastLength, cache.headDim, cache.numLayers], [2, 3, 4, 2, 2]);
  });

  it('empty() has past length 0 for the first forward', () => {
    const cache = KvCache.empty({ numLayers: 3, numKeyValueHeads: 2, headDim: 8 }, 4);
    assert.equal(cache.pastLength, 0);
    assert.equal(cache.layers.length, 3);
    assert.deepEqual(cache.layers[0].key.dims, [4, 2, 0, 8]);
  });

  it('forkRows picks rows, also repeated, and leaves the source intact', async () => {
    const source = cacheOf([2, 2, 3, 2]);
    const forked = await source.forkRows([1, 0, 1, 1]);
    assert.equal(forked.batchSize, 4);
    for (const [j, from] of [[0, 1], [1, 0], [2, 1], [3, 1]]) {
      for (let h = 0; h < 2; h++) for (let t = 0; t < 3; t++) for (let d = 0; d < 2; d++) {
        assert.equal(at(forked.layers[1].key, j, h, t, d), 10000 + from * 1000 + h * 100 + t * 10 + d);
        assert.equal(at(forked.layers[0].value, j, h, t, d), 50000 + from * 1000 + h * 100 + t * 10 + d);
      }
    }
    // Copies, not views: changing the fork does not touch the source.
    (forked.layers[0].key.data as Float32Array)[0] = -1;
    assert.equal(at(source.layers[0].key, 1, 0, 0, 0), 1000);
    const branches = await cacheOf([1, 2, 3, 2]).forkRows([0, 0, 0, 0]);
    assert.equal(branches.batchSize, 4);
    assert.equal(at(branches.layers[0].key, 3, 1, 2, 1), 121);
  });

  it('trim keeps the first positions of every row and head', () => {
    const trimmed = cacheOf([2, 2, 4, 3]).trim(2);
    assert.equal(trimmed.pastLength, 2);
    assert.deepEqual(trimmed.layers[0].key.dims, [2, 2, 2, 3]);
    for (let b = 0; b < 2; b++) for (let h = 0; h < 2; h++) for (let t = 0; t < 2; t++) for (let d = 0; d < 3; d++) {
      assert.equal(at(trimmed.layers[1].value, b, h, t, d), 60000 + b * 1000 + h * 100 + t * 10 + d);
    }
    assert.equal(cacheOf([1, 1, 4, 1]).trim(0).pastLength, 0);
    assert.equal(cacheOf([1, 1, 4, 1]).trim(4).pastLength, 4);
  });

  it('concat stacks the rows of caches of one length, in order, as copies', async () => {
    const a = cacheOf([2, 2, 3, 2]);
    const b = cacheOf([1, 2, 3, 2]);
    const joined = await KvCache.concat([a, b]);
    assert.deepEqual([joined.batchSize, joined.pastLength, joined.numLayers], [3, 3, 2]);
    for (const [j, source, row] of [[0, a, 0], [1, a, 1], [2, b, 0]] as const) {
      for (let h = 0; h < 2; h++) for (let t = 0; t < 3; t++) for (let d = 0; d < 2; d++) {
        assert.equal(at(joined.layers[1].value, j, h, t, d), at(source.layers[1].value, row, h, t, d));
        assert.equal(at(joined.layers[0].key, j, h, t, d), at(source.layers[0].key, row, h, t, d));
      }
    }
    (joined.layers[0].key.data as Float32Array)[0] = -1;
    assert.equal(at(a.layers[0].key, 0, 0, 0, 0), 0);
    await assert.rejects(KvCache.concat([a, cacheOf([1, 2, 4, 2])]), /KvCache.concat: shapes differ \(past 4 vs 3/);
    await assert.rejects(KvCache.concat([]), /at least one cache/);
  });

  it('dispose releases every tensor once and any later use throws', async () => {
    let disposed = 0;
    const counted = (t: Tensor) => Object.assign(t, { dispose: () => void disposed++ });
    const cache = new KvCache([{ key: counted(coordTensor(0, [1, 1, 2, 1])), value: counted(coordTensor(1, [1, 1, 2, 1])) }]);
    cache.dispose();
    cache.dispose();
    assert.equal(disposed, 2);
    assert.equal(cache.disposed, true);
    assert.throws(() => cache.layers, /after dispose/);
    await assert.rejects(cache.forkRows([0]), /after dispose/);
    assert.throws(() => cache.trim(1), /after dispose/);
  });

  it('rejects bad rows, lengths and inconsistent layers', async () => {
    const cache = cacheOf([2, 1, 3, 1]);
    await assert.rejects(cache.forkRows([2]), /row 2 is out of range for a batch of 2/);
    await assert.rejects(cache.forkRows([]), /at least one row/);
    assert.throws(() => cache.trim(4), /outside \[0, 3\]/);
    assert.throws(
      () => new KvCache([{ key: coordTensor(0, [1, 1, 3, 1]), value: coordTensor(0, [1, 1, 2, 1]) }]),
      /layer 0 value has dims \[1,1,2,1\]/,
    );
    assert.throws(() => new KvCache([{ key: new Tensor('int32', new Int32Array(1), [1, 1, 1, 1]), value: coordTensor(0, [1, 1, 1, 1]) }]), /float32/);
  });

});
