/** Timed runs of the engine and of the transformers.js reference, GC and CPU accounting. */
import { basename, dirname, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { generate, type DecoderModel } from '../../language-server/src/decoding/generate';
import { createLogitStats, scanLogits } from '../../language-server/src/decoding/confidence';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { createLogitStats as createLegacyStats, scanLogits as scanLegacy } from '../legacy/confidence-v0';
import { median } from '../util';
import type { EngineSample, ReferenceSample } from './types';

/** Every GC pause (start, duration in ms) since the observer started; attributed to runs by time. */
export const gcPauses: { start: number; duration: number }[] = [];
export const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push({ start: entry.startTime, duration: entry.duration });
});

/** GC pause time inside [from, to] (call after an await so the observer has delivered). */
export function gcMsBetween(from: number, to: number): number {
  let total = 0;
  for (const p of gcPauses) if (p.start >= from && p.start <= to) total += p.duration;
  return total;
}

export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * Times every `session.run` of one onnxruntime InferenceSession (an own-property wrapper around
 * the instance's method), so that both engines report the same thing: time inside onnxruntime.
 */
export class RunTimer {
  times: number[] = [];
  constructor(session: { run: (...args: never[]) => Promise<unknown> }) {
    const original = session.run.bind(session) as (...args: unknown[]) => Promise<unknown>;
    const times = () => this.times;
    (session as { run: unknown }).run = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return await original(...args);
      } finally {
        times().push(performance.now() - t0);
      }
    };
  }
  /** The run times since the last call (first = prefill). */
  take(): number[] {
    const out = this.times;
    this.times = [];
    return out;
  }
}

export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The loaded model, seen through the DecoderModel interface with EOS off and every forward timed. */
export function timedNoEos(model: CausalLM, forwardTimes: number[]): DecoderModel {
  return {
    config: model.config,
    eosTokenIds: [],
    tokenizer: model.tokenizer,
    emptyCache: (batchSize) => model.emptyCache(batchSize),
    forward: async (ids, cache) => {
      const t0 = performance.now();
      const result = await model.forward(ids, cache);
      forwardTimes.push(performance.now() - t0);
      return result;
    },
  };
}

export async function runEngine(model: CausalLM, timer: RunTimer, promptIds: number[], batch: number, tokens: number): Promise<EngineSample> {
  const forwardTimes: number[] = [];
  timer.take();
  const decoder = timedNoEos(model, forwardTimes);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const full = await generate(decoder, { promptIds, maxNewTokens: tokens, numRows: batch, stopAtAnswerLine: false });
  const t1 = performance.now();
  const cpuMs = cpuMsSince(cpu0);
  const prefillMs = forwardTimes[0];
  const runs = timer.take();
  const one = await generate(timedNoEos(model, []), { promptIds, maxNewTokens: 1, numRows: batch, stopAtAnswerLine: false });
  if (full.stats.generatedTokens !== batch * tokens) {
    throw new Error(`engine generated ${full.stats.generatedTokens} tokens, expected ${batch * tokens}`);
  }
  await new Promise((done) => setImmediate(done)); // let the GC observer deliver
  return {
    wallMs: full.stats.wallMs,
    prefillRunMs: runs[0],
    decodeRunMs: sum(runs.slice(1)),
    cpuMs,
    gcMs: gcMsBetween(t0, t1),
    wall1Ms: one.stats.wallMs,
    prefillMs,
    forwardMs: full.stats.forwardMs,
    confidenceMs: full.stats.confidenceMs,
    generated: full.stats.generatedTokens,
    ids: full.rows[0].tokens.map((t) => t.id),
  };
}

// transformers.js is ESM with its own types; only the few members used here are typed.
export interface TjsTensor {
  dims: number[];
  data: BigInt64Array;
}
export interface TjsModel {
  sessions: Record<string, { run: (...args: never[]) => Promise<unknown> }>;
  generate(options: Record<string, unknown>): Promise<TjsTensor>;
  dispose(): Promise<unknown>;
}
export interface Tjs {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
  AutoModelForCausalLM: { from_pretrained(name: string, options: Record<string, unknown>): Promise<TjsModel> };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => TjsTensor;
}

export async function loadReference(tjs: Tjs, dir: string, threads: number): Promise<TjsModel> {
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${dirname(resolve(dir))}/`;
  return tjs.AutoModelForCausalLM.from_pretrained(basename(dir), {
    dtype: 'fp32',
    device: 'cpu',
    // The same session options the engine uses (language-server/src/model/session.ts).
    session_options: { intraOpNumThreads: threads, graphOptimizationLevel: 'all', logSeverityLevel: 3 },
  });
}

export async function runReference(
  tjs: Tjs,
  model: TjsModel,
  timer: RunTimer,
  promptIds: number[],
  batch: number,
  tokens: number,
): Promise<ReferenceSample> {
  const seq = promptIds.length;
  const ids = new BigInt64Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let s = 0; s < seq; s++) ids[b * seq + s] = BigInt(promptIds[s]);
  const inputs = () => ({
    input_ids: new tjs.Tensor('int64', ids, [batch, seq]),
    attention_mask: new tjs.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), [batch, seq]),
  });
  const gen = async (n: number) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await model.generate({ ...inputs(), max_new_tokens: n, min_new_tokens: n, do_sample: false, num_beams: 1 });
    const ms = performance.now() - t0;
    const cpuMs = cpuMsSince(cpu0);
    if (out.dims[0] !== batch || out.dims[1] !== seq + n) {
      throw new Error(`reference returned dims [${out.dims}], expected [${batch}, ${seq + n}]`);
    }
    return { ms, cpuMs, t0, out };
  };
  timer.take();
  const full = await gen(tokens);
  const runs = timer.take();
  if (runs.length !== tokens) throw new Error(`reference ran ${runs.length} forwards for ${tokens} tokens`);
  const one = await gen(1);
  await new Promise((done) => setImmediate(done));
  return {
    wallMs: full.ms,
    prefillRunMs: runs[0],
    decodeRunMs: sum(runs.slice(1)),
    cpuMs: full.cpuMs,
    gcMs: gcMsBetween(full.t0, full.t0 + full.ms),
    wall1Ms: one.ms,
    ids: Array.from(full.out.data.subarray(seq, seq + tokens), Number),
  };
}

export function agreement(engineIds: number[], referenceIds: number[], eos: readonly number[]) {
  let compared = 0;
  let equal = 0;
  for (let i = 0; i < Math.min(engineIds.length, referenceIds.length); i++) {
    if (eos.includes(engineIds[i])) break; // the reference masks EOS (min_new_tokens); the engine does not
    compared++;
    if (engineIds[i] !== referenceIds[i]) break;
    equal++;
  }
  return { equal, compared };
}

/** CPU ms per row of the current and the first-version scan over the model's prefill logits. */
export async function timeScanOnModel(model: CausalLM, promptIds: number[], runs: number) {
  const cache = model.emptyCache(1);
  const { lastLogits, cache: filled } = await model.forward([promptIds], cache);
  cache.dispose();
  filled.dispose();
  const row = lastLogits[0].slice();
  const stats = createLogitStats(5);
  const legacyStats = createLegacyStats(5);
  const reps = Math.max(20, Math.round(3e6 / row.length));
  const time = (fn: () => unknown) => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) fn();
    return cpuMsSince(t0) / reps;
  };
  const current: number[] = [];
  const first: number[] = [];
  time(() => scanLogits(row, stats));
  time(() => scanLegacy(row, legacyStats));
  for (let run = 0; run < Math.max(5, runs); run++) {
    current.push(time(() => scanLogits(row, stats)));
    first.push(time(() => scanLegacy(row, legacyStats)));
  }
  return { currentMsPerRow: median(current), firstVersionMsPerRow: median(first) };
}

