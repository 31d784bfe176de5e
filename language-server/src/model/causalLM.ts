import { basename, relative, sep } from 'node:path';
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { loadModelConfig, type ModelConfig } from './config';
import { summarizeProviderError, type ExecutionProviderReport } from './executionProvider';
import { checkGraphAgainstConfig, presentOutputName, type GraphLayout } from './graphContract';
import { SessionKvOps } from './deviceKvOps';
import { KvCache, type KvLayer } from './kvCache';
import { ModelError } from './modelError';
import { GRAPH_FILES, modelFilesIn, readOptionalModelJson, requireGraphFile, requireModelFolder } from './modelFiles';
import { createModelSession, sessionOptionsFor, type ModelSessionOptions } from './session';
import { TextTokenizer } from './tokenizer';

export type CausalLMOptions = ModelSessionOptions;

export interface ForwardOptions {
  /** Also return the logits of every position (parity tests); default only the last. */
  allPositions?: boolean;
}

export interface ForwardResult {
  /** Row b's logits at its last position: a view [V] into the output tensor. */
  lastLogits: Float32Array[];
  /** All logits [B, S, V] flattened, when `allPositions` was asked for. */
  allLogits?: Float32Array;
  /** The cache after this forward (a new object; the input cache is left to its owner). */
  cache: KvCache;
}

/** A loaded causal LM: config, tokenizer and ONNX session of one model folder. */
export class CausalLM {
  private released = false;
  // Grown on demand; an all-ones mask of any shorter length is a view of it.
  private onesMask = new BigInt64Array(0);

  private constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly tokenizer: TextTokenizer,
    readonly session: InferenceSession,
    readonly executionProvider: ExecutionProviderReport,
    readonly graph: GraphLayout,
    /** EOS ids from config.json and generation_config.json together. */
    readonly eosTokenIds: number[],
    /** Row operations on the device, when the session leaves the KV cache there (WebGPU). */
    private readonly kvOps: SessionKvOps | null,
    /** The graph file it runs, relative to `dir` (onnx/model.onnx, or another of GRAPH_FILES). */
    readonly graphFile: string,
  ) {}

  /** The model folder's name, with the graph file when it is not the usual onnx/model.onnx (a quantized one, say). */
  get displayName(): string {
    return this.graphFile === GRAPH_FILES[0] ? basename(this.dir) : `${basename(this.dir)} (${this.graphFile})`;
  }

  /** Loads a model folder (config.json, tokenizer files, onnx/model.onnx); ModelError says what is wrong. */
  static async load(dir: string, options: CausalLMOptions = {}): Promise<CausalLM> {
    requireModelFolder(dir);
    const files = modelFilesIn(dir);
    const config = loadModelConfig(dir);
    const tokenizer = TextTokenizer.load(dir);
    if (tokenizer.highestTokenId >= config.vocabSize) {
      throw new ModelError(
        'tokenizerInvalid',
        `${files.tokenizer} has token id ${tokenizer.highestTokenId}, but ${files.config} says vocab_size=${config.vocabSize}: ` +
          'the tokenizer and the model come from different exports. Put the tokenizer files of this very model in the folder.',
      );
    }
    const eosTokenIds = eosIdsOf(config, readOptionalModelJson(files.generationConfig, 'generation settings'), tokenizer);
    if (eosTokenIds.length === 0) {
      const fromTokenizer =
        tokenizer.eosToken === null
          ? `nor does ${files.tokenizerConfig} name an eos_token`
          : `and the eos_token of ${files.tokenizerConfig}, ${JSON.stringify(tokenizer.eosToken)}, is not a token of ${files.tokenizer} below vocab_size`;
      throw new ModelError(
        'configInvalid',
        `${files.config}: field "eos_token_id" is missing, as it is in ${files.generationConfig}, ${fromTokenizer}. ` +
          'Add the end-of-sequence token id (a number or a list of numbers).',
      );
    }
    requireGraphFile(dir, files.onnx);
    // The KV cache may stay in GPU memory between steps (WebGPU): each step's present.* is fed back as past.
    const presentNames = Array.from({ length: config.numHiddenLayers }, (_, i) => [presentOutputName(i, 'key'), presentOutputName(i, 'value')]).flat();
    let { session, report } = await createModelSession(files.onnx, { deviceOutputs: presentNames, ...options });
    /** False between releasing the first session and creating its replacement, so an error then releases nothing twice. */
    let sessionOpen = true;
    let kvOps: SessionKvOps | null = null;
    try {
      let graph = checkGraphAgainstConfig(session.inputMetadata, session.outputMetadata, config, files.onnx, files.config);
      if (report.outputsOnDevice) {
        kvOps = new SessionKvOps(presentNames.length, sessionOptionsFor(report.active, report.intraOpNumThreads, 'all'));
        const failure = await kvOps.check().then(
          () => null,
          (error: unknown) => summarizeProviderError(error),
        );
        if (failure !== null) {
          // Forking rows on the device does not work here: keep the cache on the CPU instead.
          await kvOps.release();
          kvOps = null;
          sessionOpen = false;
          await session.release();
          ({ session, report } = await createModelSession(files.onnx, { ...options, keepOutputsOnDevice: false }));
          sessionOpen = true;
          report.kvCacheOnHostBecause = failure;
          graph = checkGraphAgainstConfig(session.inputMetadata, session.outputMetadata, config, files.onnx, files.config);
        }
      }
      return new CausalLM(dir, config, tokenizer, session, report, graph, eosTokenIds, kvOps, relative(dir, files.onnx).split(sep).join('/'));
    } catch (error) {
      await kvOps?.release();
      if (sessionOpen) await session.release();
      throw error;
    }
  }

  /** A cache with nothing in it, for the first forward of `batchSize` rows. */
  emptyCache(batchSize = 1): KvCache {
    return KvCache.empty(
      { numLayers: this.config.numHiddenLayers, numKeyValueHeads: this.config.numKeyValueHeads, headDim: this.config.headDim },
      batchSize,
    );
  }

  /**
   * Runs B rows of S new tokens on top of `cache` (B rows of past length P).
   * attention_mask = ones [B, P+S]; position_ids = P .. P+S−1.
   */
  async forward(inputIds: readonly (readonly number[])[], cache: KvCache, options: ForwardOptions = {}): Promise<ForwardResult> {
    if (this.released) throw new Error('CausalLM.forward called after dispose()');
    const batch = inputIds.length;
    if (batch === 0) throw new Error('forward needs at least one row');
    const seq = inputIds[0].length;
    if (seq === 0) throw new Error('forward needs at least one token per row');
    if (batch !== cache.batchSize) throw new Error(`forward got ${batch} rows but the cache holds ${cache.batchSize}`);
    const past = cache.pastLength;
    const total = past + seq;
    const { vocabSize, maxPositionEmbeddings } = this.config;
    if (maxPositionEmbeddings !== null && total > maxPositionEmbeddings) {
      throw new Error(`sequence length ${total} exceeds max_position_embeddings=${maxPositionEmbeddings} of ${this.dir}`);
    }

    const ids = new BigInt64Array(batch * seq);
    const positions = new BigInt64Array(batch * seq);
    for (let b = 0; b < batch; b++) {
      const row = inputIds[b];
      if (row.length !== seq) throw new Error(`forward rows must have the same length (row 0: ${seq}, row ${b}: ${row.length})`);
      for (let s = 0; s < seq; s++) {
        const id = row[s];
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`token id ${id} is outside the vocabulary (${vocabSize})`);
        ids[b * seq + s] = BigInt(id);
        positions[b * seq + s] = BigInt(past + s);
      }
    }

    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', ids, [batch, seq]),
      attention_mask: new Tensor('int64', this.onesOfLength(batch * total), [batch, total]),
    };
    if (this.graph.hasPositionIds) feeds.position_ids = new Tensor('int64', positions, [batch, seq]);
    // Optimum's merged decoder runs its first-step branch (no past) until there is a past to read.
    if (this.graph.hasUseCacheBranch) feeds.use_cache_branch = new Tensor('bool', [past > 0], [1]);
    const layers = cache.layers;
    for (let i = 0; i < layers.length; i++) {
      feeds[this.graph.pastKeyNames[i]] = layers[i].key as Tensor;
      feeds[this.graph.pastValueNames[i]] = layers[i].value as Tensor;
    }

    const outputs = await this.session.run(feeds);
    const presentLayers: KvLayer[] = [];
    for (let i = 0; i < layers.length; i++) {
      presentLayers.push({
        key: outputs[this.graph.presentKeyNames[i]] as Tensor,
        value: outputs[this.graph.presentValueNames[i]] as Tensor,
      });
    }
    const logitsTensor = outputs.logits as Tensor;
    const logits = logitsTensor.data as Float32Array;
    if (logits.length !== batch * seq * vocabSize) {
      throw new ModelError(
        'graphMismatch',
        `${this.dir}: logits have ${logits.length} values, expected batch ${batch} × sequence ${seq} × vocab_size ${vocabSize}. ` +
          'config.json does not match the exported graph: re-export the model.',
      );
    }
    const lastLogits: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const start = (b * seq + seq - 1) * vocabSize;
      lastLogits.push(logits.subarray(start, start + vocabSize));
    }
    return { lastLogits, allLogits: options.allPositions ? logits : undefined, cache: new KvCache(presentLayers, this.kvOps) };
  }

  /** Releases the ONNX session; later forwards throw. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.kvOps?.release();
    await this.session.release();
  }

  private onesOfLength(length: number): BigInt64Array {
    if (this.onesMask.length < length) this.onesMask = new BigInt64Array(Math.max(length, 2 * this.onesMask.length)).fill(1n);
    return this.onesMask.subarray(0, length);
  }
}

/**
 * config.json and generation_config.json may each name EOS ids; generation stops on any of them. Where neither does,
 * the tokenizer's eos_token (tokenizer_config.json) is the one.
 */
function eosIdsOf(config: ModelConfig, generationConfig: unknown, tokenizer: TextTokenizer): number[] {
  const ids = new Set(config.eosTokenIds);
  if (typeof generationConfig === 'object' && generationConfig !== null) {
    const raw = (generationConfig as Record<string, unknown>).eos_token_id;
    for (const id of Array.isArray(raw) ? raw : [raw]) {
      if (Number.isInteger(id) && (id as number) >= 0 && (id as number) < config.vocabSize) ids.add(id as number);
    }
  }
  const fromTokenizer = ids.size === 0 && tokenizer.eosToken !== null ? tokenizer.tokenToId(tokenizer.eosToken) : undefined;
  if (fromTokenizer !== undefined && fromTokenizer < config.vocabSize) ids.add(fromTokenizer);
  return [...ids];
}
