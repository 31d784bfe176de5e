import { strict as assert } from 'node:assert';
import { Tensor } from 'onnxruntime-node';
import { generate, type DecoderModel } from '../../language-server/src/decoding/generate';
import { KvCache } from '../../language-server/src/model/kvCache';
import { TextTokenizer } from '../../language-server/src/model/tokenizer';
import { answerOf, traceFromRow, toJSON, parseAnswer } from '../../language-server/src/trace/types';
import { byteLevelTokenizerConfig, byteLevelTokenizerJson } from './helpers/modelFolder';

const EOS = 258;
const SCRIPTS: Record<string, string> = {
  A: 'A\nAnswer: 1\nnever reached',
  B: 'B one\n\nB two\nB three\nB four\nB five\nB six\nB seven\n',
};

/**
 * A stateful stand-in for the ONNX model: the KV cache stores the ids fed so far (one head, size 1),
 * so each row's next token depends on its own history read back from its cache row. The first
 * generated token is 'A' or 'B' with equal probability; then the row follows that letter's script.
 */
class ScriptedModel implements DecoderModel {
  readonly config = { vocabSize: 259 };
  readonly eosTokenIds = [EOS];
  readonly tokenizer = TextTokenizer.fromJson(byteLevelTokenizerJson(), byteLevelTokenizerConfig());
  readonly batchSizes: number[] = [];
  constructor(private readonly promptLength: number) {}

  emptyCache(batchSize = 1): KvCache {
    return KvCache.empty({ numLayers: 1, numKeyValueHeads: 1, headDim: 1 }, batchSize);
  }

  async forward(inputIds: readonly (readonly number[])[], cache: KvCache) {
    await new Promise((resolve) => setImmediate(resolve));
    this.batchSizes.push(inputIds.length);
    const past = cache.pastLength;
    const total = past + inputIds[0].length;
    const history = new Float32Array(inputIds.length * total);
    const lastLogits: Float32Array[] = [];
    inputIds.forEach((row, b) => {
      const old = (cache.layers[0].key.data as Float32Array).subarray(b * past, (b + 1) * past);
      const ids = [...Array.from(old), ...row];
      history.set(ids, b * total);
      lastLogits.push(this.nextLogits(ids.slice(this.promptLength)));
    });
    const tensor = () => new Tensor('float32', history.slice(), [inputIds.length, 1, total, 1]);
    return { lastLogits, cache: new KvCache([{ key: tensor(), value: tensor() }]) };
  }

  private nextLogits(generated: number[]): Float32Array {
    const logits = new Float32Array(259).fill(-1e9);
    if (generated.length === 0) {
      logits['A'.charCodeAt(0)] = 0;
      logits['B'.charCodeAt(0)] = 0;
      return logits;
    }
    const script = SCRIPTS[String.fromCharCode(generated[0])];
    const next = generated.length < script.length ? script.charCodeAt(generated.length) : EOS;
    logits[next] = 5;
    logits[32] = 2; // a runner-up so entropies are not all zero
    return logits;
  }
}

const prompt = (model: ScriptedModel) => model.tokenizer.encodePrompt('1=?');

describe('generate: the token loop', () => {
  it('decodes greedily, streams steps, and stops at the answer line', async () => {
    const model = new ScriptedModel(prompt(new ScriptedModel(0)).length);
    const streamed: string[] = [];
    const result = await generate(model, { promptIds: prompt(model), maxNewTokens: 50, onStep: ({ step }) => streamed.push(step.text) });
    const [row] = result.rows;
    assert.equal(row.text, 'A\nAnswer: 1\n', 'greedy tie between A and B goes to the lower id');
    assert.equal(row.stopReason, 'answer');
    assert.deepEqual(row.steps.map((s) => s.text), ['A', 'Answer: 1']);
    assert.deepEqual(streamed, ['A', 'Answer: 1']);
    assert.equal(parseAnswer(row.text), '1');
    assert.equal(row.tokens[0].prob, 0.5);
    assert.ok(Math.abs(row.tokens[0].entropy - Math.log(2)) < 1e-9);
    assert.deepEqual(row.tokens[0].topK.slice(0, 2).map((t) => t.id), [65, 66]);
    const step = row.steps[1];
    assert.equal(step.metric, 'meanEntropy');
    assert.ok(step.confidence > 0 && step.confidence <= 1);
    assert.deepEqual(Object.keys(step.confidences).sort(), ['deepConf', 'geoMeanProb', 'meanEntropy', 'minProb']);
    assert.equal(result.stats.promptTokens, prompt(model).length);
    assert.equal(result.stats.generatedTokens, row.tokens.length);
    assert.ok(result.stats.forwardMs > 0 && result.stats.wallMs >= result.stats.forwardMs);
  });

  it('runs sampled rows from one prefill, each following its own cache row, and drops finished rows', async () => {
    const model = new ScriptedModel(prompt(new ScriptedModel(0)).length);
    // topP 0.9 keeps both first letters (0.5 each) but cuts the 5% runner-up inside a script.
    const options = { promptIds: prompt(model), maxNewTokens: 30, numRows: 6, sampling: { kind: 'sample' as const, temperature: 1, topP: 0.9, seed: 4 } };
    const result = await generate(model, options);
    const letters = result.rows.map((r) => r.text[0]);
    assert.ok(letters.includes('A') && letters.includes('B'), `both branches expected, got ${letters.join('')}`);
    for (const row of result.rows) {
      const script = SCRIPTS[row.text[0]];
      assert.equal(row.text, script.slice(0, row.text.length), `row ${row.row} must follow its own history`);
      assert.equal(row.stopReason, row.text[0] === 'A' ? 'answer' : 'maxTokens');
    }
    assert.equal(model.batchSizes[0], 1, 'the prompt is prefilled once');
    assert.equal(Math.max(...model.batchSizes), 6);
    assert.equal(model.batchSizes[model.batchSizes.length - 1], letters.filter((l) => l === 'B').length, 'finished rows leave the batch');
    assert.ok(result.rows.find((r) => r.text[0] === 'B')!.steps.every((s) => s.text.length > 0), 'blank lines dropped');

    const again = await generate(new ScriptedModel(options.promptIds.length), options);
    assert.deepEqual(again.rows.map((r) => r.text), result.rows.map((r) => r.text), 'same seed, same result');
  });

  it('stops promptly when cancelled and returns what it has', async () => {
    const model = new ScriptedModel(prompt(new ScriptedModel(0)).length);
    const controller = new AbortController();
    const sampling = { kind: 'sample' as const, temperature: 1, topP: 1, seed: 4 };
    const result = await generate(model, {
      promptIds: prompt(model), maxNewTokens: 200, numRows: 2, sampling, signal: controller.signal,
      onStep: ({ step }) => { if (step.index === 1) controller.abort(); },
    });
    assert.ok(result.rows.every((r) => r.stopReason === 'cancelled'));
    assert.ok(result.rows.some((r) => r.steps.length >= 2));
    assert.ok(model.batchSizes.length < 20, `stopped after ${model.batchSizes.length} forwards`);

    const early = new AbortController();
    early.abort();
    const none = await generate(model, { promptIds: prompt(model), maxNewTokens: 5, signal: early.signal });
    assert.equal(none.rows[0].stopReason, 'cancelled');
    assert.equal(none.rows[0].tokens.length, 0);
  });

  it('serializes a row as a trace', async () => {
    const model = new ScriptedModel(prompt(new ScriptedModel(0)).length);
    const result = await generate(model, { promptIds: prompt(model), maxNewTokens: 50 });
    const trace = toJSON(traceFromRow(result.rows[0], { problem: '1=?', strategy: 'greedy', model: 'scripted', executionProvider: 'cpu', stats: result.stats }));
    assert.equal(trace.answer, '1');
    assert.deepEqual(trace.steps.map((s) => s.text), ['A', 'Answer: 1']);
    assert.deepEqual(trace.steps[0].tokens.map((t) => t.text), ['A', '\n']);
    assert.deepEqual(Object.keys(trace.stats), ['promptTokens', 'generatedTokens', 'wallMs', 'confidenceMs']);
    assert.deepEqual(JSON.parse(JSON.stringify(trace)), trace);
  });

  it('parses the answer line', () => {
    assert.equal(parseAnswer('Step 1: 2+2=4\nAnswer: 4\n'), '4');
    assert.equal(parseAnswer('Answer: 3\nAnswer:  -12 \n'), '-12');
    assert.equal(parseAnswer('no answer here'), null);
    assert.equal(parseAnswer('Answer:\n'), null);
  });

  it('takes no answer from a line the token limit or a cancel cut short', () => {
    const text = '47 * 38 = 1786\n1786 + 12 = 1798\nAnswer: 1'; // "Answer: 1798", cut after 41 tokens
    assert.equal(answerOf({ text, stopReason: 'answer' }), '1', 'an answer line the model ended itself (EOS) is whole');
    assert.equal(answerOf({ text, stopReason: 'eos' }), '1');
    for (const stopReason of ['maxTokens', 'cancelled', 'budget'] as const) {
      assert.equal(answerOf({ text, stopReason }), null, stopReason);
      assert.equal(answerOf({ text: `${text}798\n`, stopReason }), '1798', `${stopReason}: a line its newline ended is whole`);
      assert.equal(answerOf({ text: 'Answer: 5\nmore tex', stopReason }), '5', `${stopReason}: an earlier whole answer line still counts`);
    }
  });
});
