import { Tensor } from 'onnxruntime-node';
import type { DecoderModel } from '../../../language-server/src/decoding/generate';
import { KvCache } from '../../../language-server/src/model/kvCache';
import { TextTokenizer } from '../../../language-server/src/model/tokenizer';
import { byteLevelTokenizerConfig, byteLevelTokenizerJson } from './modelFolder';

export const EOS = 258;
const VOCAB = 259;
const IMPOSSIBLE = -1e9;

/** One possible next step and its probability (the alternatives at a boundary should sum to 1). */
export interface StepAlternative {
  text: string;
  prob: number;
}

/**
 * The next steps a scripted model may write after `steps` (the step lines so far, without "\n");
 * none: it ends with EOS.
 */
export type StepScript = (steps: readonly string[]) => readonly StepAlternative[];

/**
 * A deterministic stand-in for an ONNX model that writes whole steps from a script. The KV cache
 * stores the ids fed so far (one layer, one head, size 1), so every row's logits are a function of
 * its own history read back from its cache row — forked rows, concatenated batches and re-fed
 * prompts behave as with a real model.
 *
 * Within a step the alternatives consistent with the text so far form a trie: the next character's
 * probability is the share of their probability mass that continues with it (a step's last
 * character is followed by "\n"). So a step's probability is its alternative's `prob`, and with a
 * lone alternative every token has probability 1. All other tokens get logit −1e9 (probability 0).
 */
export class ScriptedStepModel implements DecoderModel {
  readonly config = { vocabSize: VOCAB };
  readonly eosTokenIds = [EOS];
  readonly tokenizer = TextTokenizer.fromJson(byteLevelTokenizerJson(), byteLevelTokenizerConfig());
  /** Rows of every forward, in order. */
  readonly batchSizes: number[] = [];
  /** Ids fed per row of every forward (for checking that nothing is re-prefilled). */
  fedTokens = 0;
  readonly promptIds: number[];

  constructor(private readonly script: StepScript, problem = 'q') {
    this.promptIds = this.tokenizer.encodePrompt(problem);
  }

  get forwardPasses(): number {
    return this.batchSizes.length;
  }

  emptyCache(batchSize = 1): KvCache {
    return KvCache.empty({ numLayers: 1, numKeyValueHeads: 1, headDim: 1 }, batchSize);
  }

  async forward(inputIds: readonly (readonly number[])[], cache: KvCache) {
    if (inputIds.length !== cache.batchSize) throw new Error(`forward got ${inputIds.length} rows for a cache of ${cache.batchSize}`);
    this.batchSizes.push(inputIds.length);
    const past = cache.pastLength;
    const seq = inputIds[0].length;
    const total = past + seq;
    const history = new Float32Array(inputIds.length * total);
    const lastLogits: Float32Array[] = [];
    inputIds.forEach((row, b) => {
      if (row.length !== seq) throw new Error('rows of one forward must have the same length');
      this.fedTokens += row.length;
      const old = (cache.layers[0].key.data as Float32Array).subarray(b * past, (b + 1) * past);
      const ids = [...Array.from(old), ...row];
      history.set(ids, b * total);
      lastLogits.push(this.nextLogits(ids));
    });
    const tensor = () => new Tensor('float32', history.slice(), [inputIds.length, 1, total, 1]);
    return { lastLogits, cache: new KvCache([{ key: tensor(), value: tensor() }]) };
  }

  /** The next-token distribution after `ids` (prompt included), as probabilities by token id. */
  distribution(ids: readonly number[]): Map<number, number> {
    const promptLength = this.promptIds.length;
    if (ids.length < promptLength || ids.slice(0, promptLength).some((id, i) => id !== this.promptIds[i])) {
      throw new Error('the scripted model only continues its own prompt');
    }
    const text = String.fromCharCode(...ids.slice(promptLength));
    const lines = text.split('\n');
    const partial = lines.pop() as string;
    const alternatives = this.script(lines).filter((alt) => alt.text.startsWith(partial));
    const out = new Map<number, number>();
    if (alternatives.length === 0) {
      if (partial !== '') throw new Error(`the script has no step starting with ${JSON.stringify(partial)} after ${JSON.stringify(lines)}`);
      out.set(EOS, 1);
      return out;
    }
    const mass = alternatives.reduce((sum, alt) => sum + alt.prob, 0);
    for (const alt of alternatives) {
      const next = alt.text.length > partial.length ? alt.text.charCodeAt(partial.length) : 10;
      out.set(next, (out.get(next) ?? 0) + alt.prob / mass);
    }
    return out;
  }

  private nextLogits(ids: readonly number[]): Float32Array {
    const logits = new Float32Array(VOCAB).fill(IMPOSSIBLE);
    for (const [id, prob] of this.distribution(ids)) logits[id] = Math.log(prob);
    return logits;
  }
}

/** A script from a table: steps so far joined by " / " (root: "") → alternatives. Unlisted: EOS. */
export function tableScript(table: Record<string, readonly StepAlternative[]>): StepScript {
  return (steps) => table[steps.join(' / ')] ?? [];
}

/** Alternatives at every step, so a branch's continuation depends on its random stream. */
export const BRANCHING_SCRIPT = tableScript({
  '': [
    { text: 'A1', prob: 0.6 },
    { text: 'B1', prob: 0.3 },
    { text: 'C1', prob: 0.1 },
  ],
  A1: [{ text: 'Answer: 1', prob: 1 }],
  B1: [
    { text: 'B2', prob: 0.5 },
    { text: 'X2', prob: 0.5 },
  ],
  'B1 / B2': [
    { text: 'B3', prob: 0.5 },
    { text: 'Y3', prob: 0.5 },
  ],
  'B1 / B2 / B3': [{ text: 'Answer: 2', prob: 1 }],
  'B1 / B2 / Y3': [{ text: 'Answer: 7', prob: 1 }],
  'B1 / X2': [
    { text: 'X3', prob: 0.6 },
    { text: 'Z3', prob: 0.4 },
  ],
  'B1 / X2 / X3': [{ text: 'Answer: 8', prob: 1 }],
  'B1 / X2 / Z3': [{ text: 'Answer: 9', prob: 1 }],
  C1: [{ text: 'Answer: 3', prob: 1 }],
});
