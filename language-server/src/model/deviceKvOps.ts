import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { KvDeviceOps, KvTensor } from './kvCache';
import { encodeModel, type GraphValue } from './onnxGraph';

/**
 * KV-cache row operations that run where the cache lives: small ONNX graphs (Gather and Concat
 * along the batch axis) in sessions of the model's execution provider, their outputs left in the
 * same memory. A WebGPU session can leave the KV cache in GPU buffers between steps, but
 * onnxruntime-node cannot download such a buffer (its `getData()` is not implemented), so forking
 * and joining rows for CaT's branches happens on the GPU too, never through the CPU.
 *
 * One gather session per ops object (all of a cache's 2·layers tensors in one run) and one concat
 * session per number of caches joined, each made on first use.
 */
export class SessionKvOps implements KvDeviceOps {
  private gatherSession: Promise<InferenceSession> | null = null;
  private readonly concatSessions = new Map<number, Promise<InferenceSession>>();
  private released = false;

  /**
   * @param tensorsPerCache tensors in one cache (2 per layer), the arity of every graph
   * @param sessionOptions the options of the helper sessions: the model's execution provider and,
   *   on a GPU, preferredOutputLocation 'gpu-buffer' so results stay there
   */
  constructor(
    private readonly tensorsPerCache: number,
    private readonly sessionOptions: InferenceSession.SessionOptions,
  ) {}

  async gatherRows(tensors: readonly KvTensor[], rows: readonly number[]): Promise<KvTensor[]> {
    this.checkArity(tensors.length);
    const session = await (this.gatherSession ??= this.createSession(gatherGraph(this.tensorsPerCache)));
    const feeds: Record<string, Tensor> = { rows: new Tensor('int64', BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length]) };
    tensors.forEach((tensor, i) => (feeds[`x${i}`] = tensor as Tensor));
    const out = await session.run(feeds);
    return tensors.map((_, i) => out[`y${i}`] as Tensor);
  }

  async concatRows(groups: readonly (readonly KvTensor[])[]): Promise<KvTensor[]> {
    for (const group of groups) this.checkArity(group.length);
    const k = groups.length;
    let session = this.concatSessions.get(k);
    if (session === undefined) {
      session = this.createSession(concatGraph(this.tensorsPerCache, k));
      this.concatSessions.set(k, session);
    }
    const feeds: Record<string, Tensor> = {};
    groups.forEach((group, c) => group.forEach((tensor, i) => (feeds[`x${c}_${i}`] = tensor as Tensor)));
    const out = await (await session).run(feeds);
    return groups[0].map((_, i) => out[`y${i}`] as Tensor);
  }

  /**
   * Runs both graphs once on tiny inputs (outputs released), so a provider that cannot run them
   * fails here, at load, rather than at a solve's first fork.
   */
  async check(): Promise<void> {
    const tiny = () => Array.from({ length: this.tensorsPerCache }, () => new Tensor('float32', new Float32Array(1), [1, 1, 1, 1]));
    const outputs = [...(await this.gatherRows(tiny(), [0, 0])), ...(await this.concatRows([tiny(), tiny()]))];
    for (const tensor of outputs) tensor.dispose?.();
  }

  /** Releases the helper sessions (the model's dispose calls it). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const sessions = [this.gatherSession, ...this.concatSessions.values()].filter((s): s is Promise<InferenceSession> => s !== null);
    await Promise.all(sessions.map(async (s) => (await s).release()));
  }

  private createSession(model: Uint8Array): Promise<InferenceSession> {
    if (this.released) throw new Error('KV-cache row operations used after the model was disposed');
    return InferenceSession.create(model, this.sessionOptions);
  }

  private checkArity(n: number): void {
    if (n !== this.tensorsPerCache) throw new Error(`KV-cache row operations take ${this.tensorsPerCache} tensors per cache, got ${n}`);
  }
}

/** A cache tensor [batch, heads, past, head_dim]; each value its own symbols (a join's inputs differ in batch). */
const cacheTensor = (name: string): GraphValue => ({ name, type: 'float32', dims: ['batch', 'heads', 'past', 'head_dim'].map((d) => `${name}_${d}`) });

/** y_i = x_i[rows] along axis 0, for i < n. */
export function gatherGraph(n: number): Uint8Array {
  const index = Array.from({ length: n }, (_, i) => i);
  return encodeModel({
    name: 'kv_gather_rows',
    inputs: [...index.map((i) => cacheTensor(`x${i}`)), { name: 'rows', type: 'int64', dims: ['picked'] }],
    outputs: index.map((i) => cacheTensor(`y${i}`)),
    nodes: index.map((i) => ({ opType: 'Gather', inputs: [`x${i}`, 'rows'], outputs: [`y${i}`], intAttributes: { axis: 0 } })),
  });
}

/** y_i = concat(x0_i, …, x{k−1}_i) along axis 0, for i < n. */
export function concatGraph(n: number, k: number): Uint8Array {
  const index = Array.from({ length: n }, (_, i) => i);
  const caches = Array.from({ length: k }, (_, c) => c);
  return encodeModel({
    name: `kv_concat_${k}`,
    inputs: caches.flatMap((c) => index.map((i) => cacheTensor(`x${c}_${i}`))),
    outputs: index.map((i) => cacheTensor(`y${i}`)),
    nodes: index.map((i) => ({ opType: 'Concat', inputs: caches.map((c) => `x${c}_${i}`), outputs: [`y${i}`], intAttributes: { axis: 0 } })),
  });
}
