import type { KvCache } from '../model/kvCache';
import type { IncrementalDetokenizer } from '../model/tokenizer';
import { DEFAULT_TOP_K } from './confidence';
import { RowDecoder, type GeneratedStep, type GeneratedToken } from './rowDecoder';
import { GREEDY, TokenSampler, type SamplingOptions } from './sampling';
import { ConfidenceCalibration, type StepMetric } from './stepConfidence';
import { DEFAULT_STEP_DELIMITER, StepSegmenter } from './steps';
import { standardStoppingCriteria, type StopReason } from './stopping';

/** The parts of CausalLM the token loop needs (a fake can stand in for it in tests). */
export interface DecoderModel {
  readonly config: { readonly vocabSize: number };
  readonly eosTokenIds: readonly number[];
  readonly tokenizer: { createDetokenizer(): IncrementalDetokenizer };
  emptyCache(batchSize?: number): KvCache;
  forward(inputIds: readonly (readonly number[])[], cache: KvCache): Promise<{ lastLogits: Float32Array[]; cache: KvCache }>;
}

export interface GenerateOptions {
  promptIds: readonly number[];
  maxNewTokens: number;
  /** Rows decoded side by side from one prefill (forked KV rows); default 1. */
  numRows?: number;
  /** Greedy by default. Sampled rows get independent streams derived from the seed. */
  sampling?: SamplingOptions;
  stepDelimiter?: string;
  /** Stop a row once its "Answer: ..." line is complete (default true). */
  stopAtAnswerLine?: boolean;
  calibration?: ConfidenceCalibration;
  /** Metric behind each step's `confidence`; default: the calibration's default metric. */
  metric?: StepMetric;
  signal?: AbortSignal;
  /** Called as soon as a step closes, while decoding goes on. */
  onStep?: (event: { row: number; step: GeneratedStep }) => void;
  onToken?: (event: { row: number; token: GeneratedToken }) => void;
  /**
   * A cache already holding the first `pastLength` prompt ids (one row). Only the rest of the
   * prompt is fed. The caller keeps ownership: generate never disposes it.
   */
  prefixCache?: KvCache;
}

export interface GeneratedRow {
  row: number;
  tokens: GeneratedToken[];
  text: string;
  steps: GeneratedStep[];
  stopReason: StopReason;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  wallMs: number;
  /** Time inside the per-token confidence pass and token choice. */
  confidenceMs: number;
  forwardMs: number;
}

export interface GenerateResult {
  rows: GeneratedRow[];
  stats: GenerationStats;
}

/**
 * The token loop: prefill the prompt once, fork it into `numRows` rows, then repeat
 * forward → per-row confidence pass → choose token → stopping check, feeding only the rows still
 * running (finished rows are dropped from the cache with forkRows). Cancellation is checked
 * between forwards; a cancelled run returns what it has with reason 'cancelled'.
 */
export async function generate(model: DecoderModel, options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const numRows = options.numRows ?? 1;
  if (!Number.isInteger(numRows) || numRows < 1) throw new Error(`numRows must be a positive integer, got ${numRows}`);
  const sampling = options.sampling ?? GREEDY;
  const calibration = options.calibration ?? new ConfidenceCalibration(model.config.vocabSize, DEFAULT_TOP_K);
  const metric = options.metric ?? calibration.defaultMetric;
  const criteria = standardStoppingCriteria({
    eosTokenIds: model.eosTokenIds,
    maxNewTokens: options.maxNewTokens,
    stopAtAnswerLine: options.stopAtAnswerLine,
    signal: options.signal,
  });
  const rows = Array.from(
    { length: numRows },
    (_, row) =>
      new RowDecoder({
        sampler: TokenSampler.forRow(sampling, row),
        detokenizer: model.tokenizer.createDetokenizer(),
        segmenter: new StepSegmenter(options.stepDelimiter ?? DEFAULT_STEP_DELIMITER),
        criteria,
        calibration,
        metric,
        topK: DEFAULT_TOP_K,
      }),
  );
  let forwardMs = 0;
  const timedForward = async (ids: number[][], cache: KvCache) => {
    const t0 = performance.now();
    const result = await model.forward(ids, cache);
    forwardMs += performance.now() - t0;
    return result;
  };

  const prefix = options.prefixCache;
  const fedFrom = prefix?.pastLength ?? 0;
  if (prefix && prefix.batchSize !== 1) throw new Error(`prefixCache must hold one row, got ${prefix.batchSize}`);
  if (fedFrom >= options.promptIds.length) {
    throw new Error(`the prompt (${options.promptIds.length} ids) must extend past the prefix cache (${fedFrom} positions)`);
  }

  let cache: KvCache | null = null; // owned by this loop
  try {
    if (!options.signal?.aborted) {
      if (!prefix) cache = model.emptyCache(1);
      const prefill = await timedForward([options.promptIds.slice(fedFrom)], prefix ?? (cache as KvCache));
      cache?.dispose();
      cache = prefill.cache;
      if (numRows > 1) cache = replaceCache(cache, await cache.forkRows(new Array<number>(numRows).fill(0)));
      let active = rows.map((_, row) => row);
      let logits = active.map(() => prefill.lastLogits[0]);

      for (;;) {
        for (let j = 0; j < active.length; j++) {
          const row = active[j];
          const advance = rows[row].accept(logits[j]);
          options.onToken?.({ row, token: advance.token });
          for (const step of advance.closedSteps) options.onStep?.({ row, step });
        }
        const running = active.map((row, j) => ({ row, j })).filter(({ row }) => !rows[row].finished);
        if (running.length === 0) break;
        if (options.signal?.aborted) break;
        if (running.length < active.length) cache = replaceCache(cache, await cache.forkRows(running.map(({ j }) => j)));
        active = running.map(({ row }) => row);
        const result = await timedForward(active.map((row) => [rows[row].lastTokenId]), cache);
        cache = replaceCache(cache, result.cache);
        logits = result.lastLogits;
      }
    }
  } finally {
    cache?.dispose();
  }

  // Rows still open here were cancelled before or between forwards.
  for (let row = 0; row < rows.length; row++) {
    for (const step of rows[row].finish('cancelled')) options.onStep?.({ row, step });
  }
  let confidenceMs = 0;
  let generatedTokens = 0;
  for (const row of rows) {
    confidenceMs += row.confidenceMs;
    generatedTokens += row.tokens.length;
  }
  return {
    rows: rows.map((decoder, row) => ({
      row,
      tokens: decoder.tokens,
      text: decoder.text,
      steps: decoder.steps,
      stopReason: decoder.stopReason as StopReason,
    })),
    stats: {
      promptTokens: options.promptIds.length,
      generatedTokens,
      wallMs: performance.now() - started,
      confidenceMs,
      forwardMs,
    },
  };
}

/** Disposes `old` and returns `next` (the loop owns exactly one cache at a time). */
function replaceCache(old: KvCache, next: KvCache): KvCache {
  if (old !== next) old.dispose();
  return next;
}
