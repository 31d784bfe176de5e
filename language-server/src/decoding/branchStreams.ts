import { GREEDY, TokenSampler, type SamplingOptions } from './sampling';

/**
 * The sampler of candidate `candidate` of tree node `parentId`: the tree's settings with a seed
 * derived from (seed, parent id, candidate index). The stream depends on nothing else (not on the
 * order of expansion, the batch, or which other branches survived), so a pruned branch can be
 * continued later exactly as the search would have continued it. Greedy settings give greedy samplers,
 * and so does candidate 0 under `greedyFirst`.
 */
export function candidateSampler(sampling: SamplingOptions, parentId: string, candidate: number): TokenSampler {
  if (sampling.kind === 'greedy' || (candidate === 0 && sampling.greedyFirst === true)) return new TokenSampler(GREEDY);
  return new TokenSampler({ ...sampling, seed: candidateSeed(sampling.seed, parentId, candidate) });
}

/** A 32-bit seed mixed from the run's seed and the candidate's address (FNV-1a, then murmur3's finalizer). */
export function candidateSeed(seed: number, parentId: string, candidate: number): number {
  let hash = 0x811c9dc5;
  const key = `${parentId}#${candidate}`;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  let h = (seed ^ Math.imul(hash, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
