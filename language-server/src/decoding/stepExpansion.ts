import { KvCache } from '../model/kvCache';
import type { DecoderModel } from './generate';
import type { RowDecoder } from './rowDecoder';
import type { TokenSampler } from './sampling';

/**
 * A step boundary to branch from. Its path's ids are split between `cache` (already fed) and
 * `pending` (not yet fed): a node reached by the search keeps every id but its last in its cache
 * (the last was chosen from logits and never fed); a node rebuilt from a tree has no cache and the
 * whole prompt + path pending.
 */
export interface BranchPoint {
  /** One row of keys/values, or null for none. The caller keeps ownership. */
  cache: KvCache | null;
  /** Ids to feed before the first candidate token is chosen; at least one. */
  pending: readonly number[];
  /** Decoding state at the boundary; each candidate continues a clone of it. */
  decoder: RowDecoder;
  /** One sampler per candidate to draw from this point (its own random stream). */
  samplers: readonly TokenSampler[];
}

/** One candidate, decoded from its branch point to its next step boundary or the end of its row. */
export interface ExpandedCandidate {
  /** Index of its branch point. */
  point: number;
  /** Index of its sampler in the point's samplers. */
  candidate: number;
  decoder: RowDecoder;
  /** Index in `decoder.tokens` of the candidate's first token. */
  start: number;
  /**
   * Keys/values of its whole path but the last token (one row, owned by the caller from now on), so
   * it can become the next branch point; null when its row stopped.
   */
  cache: KvCache | null;
}

/** Work done, accumulated over calls. */
export interface ExpansionCounters {
  forwardPasses: number;
  forwardMs: number;
}

type Row = { kind: 'feed'; point: number } | { kind: 'decode'; candidate: ExpandedCandidate };

/** Rows of equal past length that feed equally many ids in the next forward. */
interface Batch {
  cache: KvCache;
  /** False while the cache is the caller's (a branch point's own cache, not copied). */
  owned: boolean;
  rows: Row[];
  inputLength: number;
}

/**
 * Decodes every candidate of every branch point to its next step boundary, batching all rows of
 * equal length into one forward: a point's candidates start as one row (its pending ids are fed
 * once) that is forked into one KV row per candidate when the first token is chosen, never
 * re-prefilled. Candidates that close their step leave the batch with a one-row copy of their cache.
 * Points at different lengths run as separate batches, shortest first, and merge once they reach the
 * same length, so each forward carries every row that can share it.
 *
 * A candidate ends when a token closes a step (the step delimiter) or its row stops. Cancellation is
 * checked between forwards: rows then finish as 'cancelled' and points not yet fed draw no candidates.
 */
export async function expandCandidates(
  model: DecoderModel,
  points: readonly BranchPoint[],
  counters: ExpansionCounters,
  signal?: AbortSignal,
): Promise<ExpandedCandidate[]> {
  const done: ExpandedCandidate[] = [];
  let batches = await initialBatches(model, points);
  /** The batch being run: out of `batches`, so an error inside its forward must dispose it here. */
  let running: Batch | null = null;
  let finished = false;
  try {
    while (batches.length > 0) {
      if (signal?.aborted) {
        for (const batch of batches) {
          for (const row of batch.rows) {
            if (row.kind === 'decode') {
              row.candidate.decoder.finish('cancelled');
              done.push(row.candidate);
            }
          }
        }
        break;
      }
      const [batch, rest] = await takeShortest(batches);
      batches = rest;
      running = batch;
      const next = await runBatch(model, points, batch, counters, done);
      running = null;
      if (next !== null) batches.push(next);
    }
    finished = true;
  } finally {
    for (const batch of batches) if (batch.owned) batch.cache.dispose();
    if (!finished) {
      // A forward or a token choice threw: nobody will receive the candidates, so free their rows too.
      if (running?.owned) running.cache.dispose();
      for (const candidate of done) candidate.cache?.dispose();
    }
  }
  return done.sort((a, b) => a.point - b.point || a.candidate - b.candidate);
}

async function initialBatches(model: DecoderModel, points: readonly BranchPoint[]): Promise<Batch[]> {
  const groups = new Map<string, number[]>();
  points.forEach((point, index) => {
    if (point.samplers.length === 0) return;
    if (point.pending.length === 0) throw new Error('a branch point needs at least one pending id (its last token)');
    if (point.cache !== null && point.cache.batchSize !== 1) throw new Error(`a branch point's cache must hold one row, got ${point.cache.batchSize}`);
    const key = `${point.cache?.pastLength ?? 0}:${point.pending.length}`;
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  });
  const batches: Batch[] = [];
  for (const members of groups.values()) {
    const rows: Row[] = members.map((point) => ({ kind: 'feed', point }));
    const inputLength = points[members[0]].pending.length;
    if (members.length === 1 && points[members[0]].cache !== null) {
      batches.push({ cache: points[members[0]].cache as KvCache, owned: false, rows, inputLength });
      continue;
    }
    const empties: KvCache[] = [];
    const caches = members.map((i) => points[i].cache ?? pushed(empties, model.emptyCache(1)));
    const cache = caches.length === 1 ? caches[0] : await KvCache.concat(caches);
    if (caches.length > 1) for (const empty of empties) empty.dispose();
    batches.push({ cache, owned: true, rows, inputLength });
  }
  return batches;
}

function pushed(list: KvCache[], cache: KvCache): KvCache {
  list.push(cache);
  return cache;
}

/** The batch of least past length, merged with every batch at that length feeding as many ids. */
async function takeShortest(batches: Batch[]): Promise<[Batch, Batch[]]> {
  let first = batches[0];
  for (const b of batches) if (b.cache.pastLength < first.cache.pastLength) first = b;
  const same = batches.filter((b) => b.cache.pastLength === first.cache.pastLength && b.inputLength === first.inputLength);
  const rest = batches.filter((b) => !same.includes(b));
  if (same.length === 1) return [first, rest];
  const merged: Batch = { cache: await KvCache.concat(same.map((b) => b.cache)), owned: true, rows: same.flatMap((b) => b.rows), inputLength: first.inputLength };
  for (const b of same) if (b.owned) b.cache.dispose();
  return [merged, rest];
}

/** One forward over a batch; returns the batch of rows still decoding, or null. */
async function runBatch(
  model: DecoderModel,
  points: readonly BranchPoint[],
  batch: Batch,
  counters: ExpansionCounters,
  done: ExpandedCandidate[],
): Promise<Batch | null> {
  const inputs = batch.rows.map((row) => (row.kind === 'feed' ? points[row.point].pending : [row.candidate.decoder.lastTokenId]));
  const started = performance.now();
  const result = await model.forward(inputs, batch.cache);
  counters.forwardMs += performance.now() - started;
  counters.forwardPasses += 1;
  if (batch.owned) batch.cache.dispose();
  try {
    return await continueBatch(points, batch, result, done);
  } catch (err) {
    result.cache.dispose();
    throw err;
  }
}

/** Chooses each row's next token from a forward's logits; returns the batch of rows still decoding, or null. */
async function continueBatch(
  points: readonly BranchPoint[],
  batch: Batch,
  result: { lastLogits: Float32Array[]; cache: KvCache },
  done: ExpandedCandidate[],
): Promise<Batch | null> {
  const continuing: Row[] = [];
  const sourceRows: number[] = [];
  const closing: { candidate: ExpandedCandidate; row: number }[] = [];
  const advance = (candidate: ExpandedCandidate, j: number) => {
    const step = candidate.decoder.accept(result.lastLogits[j]);
    if (step.stopReason !== null) done.push(candidate);
    else if (step.closedSteps.length > 0) {
      closing.push({ candidate, row: j });
      done.push(candidate);
    } else {
      continuing.push({ kind: 'decode', candidate });
      sourceRows.push(j);
    }
  };
  batch.rows.forEach((row, j) => {
    if (row.kind === 'decode') return advance(row.candidate, j);
    const point = points[row.point];
    point.samplers.forEach((sampler, k) => {
      advance({ point: row.point, candidate: k, decoder: point.decoder.clone(sampler), start: point.decoder.tokens.length, cache: null }, j);
    });
  });

  for (const { candidate, row } of closing) candidate.cache = await result.cache.forkRows([row]);
  if (continuing.length === 0) {
    result.cache.dispose();
    return null;
  }
  const identity = sourceRows.length === batch.rows.length && sourceRows.every((row, j) => row === j);
  const cache = identity ? result.cache : await result.cache.forkRows(sourceRows);
  if (cache !== result.cache) result.cache.dispose();
  return { cache, owned: true, rows: continuing, inputLength: 1 };
}
