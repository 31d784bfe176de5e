import { Tensor } from 'onnxruntime-node';

/**
 * One layer's key or value tensor: [batch, kvHeads, past, headDim] float32, in CPU memory or, as a
 * WebGPU session returns it when the cache stays on the GPU, in a GPU buffer (`location`
 * 'gpu-buffer'; its `data` cannot be read).
 */
export interface KvTensor {
  readonly dims: readonly number[];
  readonly type?: string;
  readonly location?: string;
  readonly data: unknown;
  dispose?(): void;
}

export interface KvLayer {
  key: KvTensor;
  value: KvTensor;
}

/**
 * Row operations for a cache whose tensors are in device memory, run there (a WebGPU session's
 * GPU buffers cannot be read back in onnxruntime-node): see deviceKvOps.ts.
 */
export interface KvDeviceOps {
  /** For each tensor, rows `rows` of its batch axis in that order (rows may repeat). */
  gatherRows(tensors: readonly KvTensor[], rows: readonly number[]): Promise<KvTensor[]>;
  /** For each position i, groups[0][i], groups[1][i], … joined along the batch axis. */
  concatRows(groups: readonly (readonly KvTensor[])[]): Promise<KvTensor[]>;
}

export interface KvCacheShape {
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
}

/**
 * The past keys/values of a batch of sequences. One owner: whoever holds the object disposes it.
 * `forkRows`, `concat` and `trim` return new caches (copies) and leave this one valid, so branches
 * can be made from one prefix without re-prefilling it. A cache in CPU memory is copied there; a
 * cache a WebGPU session left on the GPU (its `device` ops given) is forked and joined on the GPU.
 */
export class KvCache {
  readonly batchSize: number;
  readonly pastLength: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Whether every tensor is in CPU memory (false: forkRows and concat run on the device, trim is not available). */
  readonly onHost: boolean;
  private layerTensors: KvLayer[] | null;

  /** `device`: the row operations for tensors in device memory (required when there are any). */
  constructor(
    layers: KvLayer[],
    readonly device: KvDeviceOps | null = null,
  ) {
    if (layers.length === 0) throw new Error('KvCache needs at least one layer');
    const [batch, heads, past, headDim] = checkedDims(layers[0].key, 'layer 0 key', device);
    for (let i = 0; i < layers.length; i++) {
      for (const [which, tensor] of [['key', layers[i].key], ['value', layers[i].value]] as const) {
        const dims = checkedDims(tensor, `layer ${i} ${which}`, device);
        if (dims[0] !== batch || dims[1] !== heads || dims[2] !== past || dims[3] !== headDim) {
          throw new Error(
            `KvCache: layer ${i} ${which} has dims [${dims}] but layer 0 key has [${batch},${heads},${past},${headDim}]`,
          );
        }
      }
    }
    this.batchSize = batch;
    this.numKeyValueHeads = heads;
    this.pastLength = past;
    this.headDim = headDim;
    this.onHost = layers.every((layer) => isOnHost(layer.key) && isOnHost(layer.value));
    this.layerTensors = layers;
  }

  /** A cache with past length 0, for the first forward. */
  static empty(shape: KvCacheShape, batchSize: number): KvCache {
    const dims = [batchSize, shape.numKeyValueHeads, 0, shape.headDim];
    const layers: KvLayer[] = [];
    for (let i = 0; i < shape.numLayers; i++) {
      layers.push({
        key: new Tensor('float32', new Float32Array(0), dims),
        value: new Tensor('float32', new Float32Array(0), dims),
      });
    }
    return new KvCache(layers);
  }

  get numLayers(): number {
    return this.layers.length;
  }

  get disposed(): boolean {
    return this.layerTensors === null;
  }

  /** The per-layer tensors, to feed as `past_key_values.{i}.key|value`. */
  get layers(): readonly KvLayer[] {
    if (this.layerTensors === null) throw new Error('KvCache was used after dispose()');
    return this.layerTensors;
  }

  /**
   * A new cache whose batch row j is row `rowIndices[j]` of this one. Rows may repeat:
   * `[0, 0, 0, 0]` makes four branches of one sequence.
   */
  async forkRows(rowIndices: readonly number[]): Promise<KvCache> {
    if (rowIndices.length === 0) throw new Error('KvCache.forkRows needs at least one row');
    for (const row of rowIndices) {
      if (!Number.isInteger(row) || row < 0 || row >= this.batchSize) {
        throw new Error(`KvCache.forkRows: row ${row} is out of range for a batch of ${this.batchSize}`);
      }
    }
    if (!this.onHost) {
      const device = this.device as KvDeviceOps;
      return fromFlat(await device.gatherRows(flatTensors(this), rowIndices), device);
    }
    const rowSize = this.numKeyValueHeads * this.pastLength * this.headDim;
    const dims = [rowIndices.length, this.numKeyValueHeads, this.pastLength, this.headDim];
    const copyRows = (source: KvTensor): Tensor => {
      const from = floatData(source);
      const to = new Float32Array(rowIndices.length * rowSize);
      for (let j = 0; j < rowIndices.length; j++) {
        const start = rowIndices[j] * rowSize;
        to.set(from.subarray(start, start + rowSize), j * rowSize);
      }
      return new Tensor('float32', to, dims);
    };
    return new KvCache(this.layers.map((layer) => ({ key: copyRows(layer.key), value: copyRows(layer.value) })));
  }

  /**
   * One cache holding the rows of `caches` in order (copies). All must have the same past length,
   * layer count, heads and head size: branches of equal length can then share one batched forward.
   */
  static async concat(caches: readonly KvCache[]): Promise<KvCache> {
    if (caches.length === 0) throw new Error('KvCache.concat needs at least one cache');
    const first = caches[0];
    for (const cache of caches) {
      if (
        cache.pastLength !== first.pastLength ||
        cache.numLayers !== first.numLayers ||
        cache.numKeyValueHeads !== first.numKeyValueHeads ||
        cache.headDim !== first.headDim
      ) {
        throw new Error(
          `KvCache.concat: shapes differ (past ${cache.pastLength} vs ${first.pastLength}, layers ${cache.numLayers} vs ` +
            `${first.numLayers}, heads ${cache.numKeyValueHeads} vs ${first.numKeyValueHeads}, head size ${cache.headDim} vs ${first.headDim})`,
        );
      }
    }
    if (!caches.every((cache) => cache.onHost)) {
      const device = caches.find((cache) => !cache.onHost)?.device as KvDeviceOps;
      return fromFlat(await device.concatRows(caches.map(flatTensors)), device);
    }
    const batch = caches.reduce((sum, cache) => sum + cache.batchSize, 0);
    const dims = [batch, first.numKeyValueHeads, first.pastLength, first.headDim];
    const join = (tensors: KvTensor[]): Tensor => {
      const to = new Float32Array(batch * first.numKeyValueHeads * first.pastLength * first.headDim);
      let offset = 0;
      for (const tensor of tensors) {
        const from = floatData(tensor);
        to.set(from, offset);
        offset += from.length;
      }
      return new Tensor('float32', to, dims);
    };
    const layers: KvLayer[] = [];
    for (let i = 0; i < first.numLayers; i++) {
      layers.push({ key: join(caches.map((c) => c.layers[i].key)), value: join(caches.map((c) => c.layers[i].value)) });
    }
    return new KvCache(layers);
  }

  /** A new cache holding only the first `length` positions of every row. */
  trim(length: number): KvCache {
    if (!Number.isInteger(length) || length < 0 || length > this.pastLength) {
      throw new Error(`KvCache.trim: length ${length} is outside [0, ${this.pastLength}]`);
    }
    const groups = this.batchSize * this.numKeyValueHeads; // contiguous [past, headDim] blocks
    const oldBlock = this.pastLength * this.headDim;
    const newBlock = length * this.headDim;
    const dims = [this.batchSize, this.numKeyValueHeads, length, this.headDim];
    const keepPrefix = (source: KvTensor): Tensor => {
      const from = floatData(source);
      const to = new Float32Array(groups * newBlock);
      for (let g = 0; g < groups; g++) {
        to.set(from.subarray(g * oldBlock, g * oldBlock + newBlock), g * newBlock);
      }
      return new Tensor('float32', to, dims);
    };
    return new KvCache(this.layers.map((layer) => ({ key: keepPrefix(layer.key), value: keepPrefix(layer.value) })));
  }

  /** Releases the tensors; any later use throws. Calling it twice is harmless. */
  dispose(): void {
    if (this.layerTensors === null) return;
    for (const layer of this.layerTensors) {
      layer.key.dispose?.();
      layer.value.dispose?.();
    }
    this.layerTensors = null;
  }
}

function checkedDims(tensor: KvTensor, what: string, device: KvDeviceOps | null): [number, number, number, number] {
  const dims = tensor.dims;
  if (dims.length !== 4) throw new Error(`KvCache: ${what} has ${dims.length} dims, expected [batch, kvHeads, past, headDim]`);
  // Validates the data type early (a device tensor's data cannot be read).
  if (isOnHost(tensor)) floatData(tensor);
  else if (tensor.type !== 'float32') throw new Error(`KvCache: ${what} is a ${tensor.type ?? 'untyped'} tensor in ${tensor.location} memory; expected float32`);
  else if (device === null) throw new Error(`KvCache: ${what} is in ${tensor.location} memory but the cache was given no device row operations`);
  return [dims[0], dims[1], dims[2], dims[3]];
}

/** key 0, value 0, key 1, value 1, …: the order of the device graphs' inputs and outputs. */
function flatTensors(cache: KvCache): KvTensor[] {
  return cache.layers.flatMap((layer) => [layer.key, layer.value]);
}

function fromFlat(tensors: readonly KvTensor[], device: KvDeviceOps): KvCache {
  const layers: KvLayer[] = [];
  for (let i = 0; i < tensors.length; i += 2) layers.push({ key: tensors[i], value: tensors[i + 1] });
  return new KvCache(layers, device);
}

/** CPU memory: a plain tensor (no location, or 'cpu' / 'cpu-pinned'). */
function isOnHost(tensor: KvTensor): boolean {
  return tensor.location === undefined || tensor.location === 'cpu' || tensor.location === 'cpu-pinned';
}

function floatData(tensor: KvTensor): Float32Array {
  if (!isOnHost(tensor)) {
    throw new Error(`KvCache: a tensor is in ${tensor.location} memory, where trim cannot read it`);
  }
  if (!(tensor.data instanceof Float32Array)) {
    throw new Error('KvCache holds float32 tensors on the CPU; got another data type or location');
  }
  return tensor.data;
}
