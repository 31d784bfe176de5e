import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { listSupportedBackends, type InferenceSession } from 'onnxruntime-node';
import { parseModelConfig } from '../../language-server/src/model/config';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { checkGraphAgainstConfig } from '../../language-server/src/model/graphContract';
import { ModelError, type ModelErrorCode } from '../../language-server/src/model/modelError';
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, makeModelFolder, validConfigJson } from './helpers/modelFolder';

function expectModelError(action: () => unknown, code: ModelErrorCode, message: RegExp) {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

async function expectLoadError(dir: string, code: ModelErrorCode, message: RegExp) {
  await assert.rejects(CausalLM.load(dir, { executionProvider: 'cpu' }), (error: unknown) => {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('config.json validation', () => {
  it('reads the fields and fills defaults', () => {
    const config = parseModelConfig(validConfigJson({ num_key_value_heads: undefined, head_dim: undefined, eos_token_id: [258, 256] }));
    assert.equal(config.numKeyValueHeads, 4);
    assert.equal(config.headDim, 16);
    assert.deepEqual(config.eosTokenIds, [258, 256]);
    assert.equal(config.bosTokenId, 257);
    assert.equal(config.maxPositionEmbeddings, 512);
    assert.equal(config.modelType, 'llama');
  });

  it("reads GPT-2's field names, and leaves a missing EOS id to the loader (generation_config.json, the tokenizer's eos_token)", () => {
    const gpt2 = parseModelConfig(
      validConfigJson({ num_hidden_layers: undefined, num_attention_heads: undefined, hidden_size: undefined, n_layer: 3, n_head: 4, n_embd: 64, head_dim: undefined }),
    );
    assert.deepEqual([gpt2.numHiddenLayers, gpt2.numAttentionHeads, gpt2.hiddenSize, gpt2.headDim], [3, 4, 64, 16]);
    assert.deepEqual(parseModelConfig(validConfigJson({ eos_token_id: undefined })).eosTokenIds, []);
  });

  it('names the file and the field of every problem', () => {
    const bad = (overrides: Record<string, unknown>, message: RegExp) =>
      expectModelError(() => parseModelConfig(validConfigJson(overrides), '/m/config.json'), 'configInvalid', message);
    bad({ vocab_size: undefined }, /\/m\/config\.json: field "vocab_size" is missing/);
    bad({ hidden_size: -3 }, /field "hidden_size" must be a positive integer, got -3/);
    bad({ num_hidden_layers: 2.5 }, /field "num_hidden_layers" must be a positive integer/);
    bad({ num_key_value_heads: 3 }, /field "num_key_value_heads" is 3, which does not divide num_attention_heads=4/);
    bad({ head_dim: undefined, hidden_size: 66 }, /field "head_dim" is missing and hidden_size=66/);
    bad({ num_hidden_layers: undefined }, /field "num_hidden_layers" is missing \(and so is "n_layer"\)/);
    bad({ eos_token_id: 300 }, /field "eos_token_id" must be a token id in \[0, 259\)/);
    bad({ bos_token_id: 'x' }, /field "bos_token_id"/);
    expectModelError(() => parseModelConfig([1, 2], 'c.json'), 'configInvalid', /c\.json: field "\(root\)" is not a JSON object/);
  });
});

describe('model folder loading errors', () => {
  const goodFiles = () => ({
    'config.json': validConfigJson(),
    'tokenizer.json': byteLevelTokenizerJson(),
    'tokenizer_config.json': byteLevelTokenizerConfig(),
    'onnx/model.onnx': 'this is not a protobuf',
  });

  it('a missing folder says what the folder must hold', async () => {
    await expectLoadError('/nonexistent/caspo-model', 'modelFolderMissing', /\/nonexistent\/caspo-model does not exist.*config\.json/);
  });

  it('a missing file is named', async () => {
    for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      const files: Record<string, unknown> = goodFiles();
      delete files[name];
      const dir = makeModelFolder(files);
      await expectLoadError(dir, 'modelFileMissing', new RegExp(`${join(dir, name).replace(/[.]/g, '\\.')} is missing`));
    }
  });

  it('unparsable JSON is named', async () => {
    const dir = makeModelFolder({ ...goodFiles(), 'config.json': '{"vocab_size": 259,' });
    await expectLoadError(dir, 'modelFileCorrupt', /config\.json is not valid JSON/);
  });

  it('a tokenizer.json without a model is rejected', async () => {
    const dir = makeModelFolder({ ...goodFiles(), 'tokenizer.json': { version: '1.0' } });
    await expectLoadError(dir, 'tokenizerInvalid', /tokenizer\.json has no "model" object/);
  });

  it('an explicitly requested provider that is not bundled is refused with the reason', async function () {
    if (listSupportedBackends().find((b) => b.name === 'cuda')?.bundled) this.skip(); // only where CUDA is absent
    const dir = makeModelFolder(goodFiles());
    await assert.rejects(CausalLM.load(dir, { executionProvider: 'cuda' }), (error: unknown) => {
      assert.ok(error instanceof ModelError && error.code === 'executionProviderUnavailable');
      assert.match(error.message, /cuda: not bundled.*Set the execution provider to "auto" or "cpu"/);
      return true;
    });
  });

  it('an unknown provider setting is refused', async () => {
    const dir = makeModelFolder(goodFiles());
    await assert.rejects(CausalLM.load(dir, { executionProvider: 'tpu' as never }), /Unknown execution provider "tpu"/);
  });

  it('a tokenizer with ids beyond vocab_size is refused at load, not mid-decode', async () => {
    const tokenizer = byteLevelTokenizerJson() as { added_tokens: { id: number; content: string }[] };
    tokenizer.added_tokens.push({ ...tokenizer.added_tokens[0], id: 5000, content: '<|extra|>' });
    const dir = makeModelFolder({ ...goodFiles(), 'tokenizer.json': tokenizer });
    await expectLoadError(dir, 'tokenizerInvalid', /tokenizer\.json has token id 5000, but .*config\.json says vocab_size=259: the tokenizer and the model come from different exports/);
  });

  it('an EOS id found nowhere is refused, naming an eos_token that is not in the vocabulary', async () => {
    const dir = makeModelFolder({
      ...goodFiles(),
      'config.json': validConfigJson({ eos_token_id: undefined }),
      'tokenizer_config.json': byteLevelTokenizerConfig({ eos_token: '<|no_such_eos|>' }),
    });
    await expectLoadError(dir, 'configInvalid', /field "eos_token_id" is missing.*the eos_token of .*tokenizer_config\.json, "<\|no_such_eos\|>", is not a token of/);
  });

  it('a corrupt ONNX file says to re-export', async () => {
    const dir = makeModelFolder(goodFiles());
    await expectLoadError(dir, 'modelFileCorrupt', /onnx\/model\.onnx could not be loaded by onnxruntime.*re-export/);
  });
});

describe('graph contract against config.json', () => {
  const tensor = (name: string, type: string, shape: (number | string)[]): InferenceSession.ValueMetadata => ({ name, isTensor: true, type: type as never, shape });
  function graph(layers: number, kvHeads: number, headDim: number, vocab: number, withPositions = true) {
    const inputs = [tensor('input_ids', 'int64', ['b', 's']), tensor('attention_mask', 'int64', ['b', 't'])];
    if (withPositions) inputs.push(tensor('position_ids', 'int64', ['b', 's']));
    const outputs = [tensor('logits', 'float32', ['b', 's', vocab])];
    for (let i = 0; i < layers; i++) {
      for (const kind of ['key', 'value']) {
        inputs.push(tensor(`past_key_values.${i}.${kind}`, 'float32', ['b', kvHeads, 'p', headDim]));
        outputs.push(tensor(`present.${i}.${kind}`, 'float32', ['b', kvHeads, 't', headDim]));
      }
    }
    return { inputs, outputs };
  }
  const config = parseModelConfig(validConfigJson());

  it('accepts a matching graph and notes whether position_ids exist', () => {
    const g = graph(2, 2, 16, 259);
    const layout = checkGraphAgainstConfig(g.inputs, g.outputs, config);
    assert.equal(layout.hasPositionIds, true);
    assert.deepEqual(layout.presentValueNames, ['present.0.value', 'present.1.value']);
    const noPositions = graph(2, 2, 16, 259, false);
    assert.equal(checkGraphAgainstConfig(noPositions.inputs, noPositions.outputs, config).hasPositionIds, false);
  });

  it('names the mismatching field and graph input', () => {
    const mismatch = (g: ReturnType<typeof graph>, message: RegExp) =>
      expectModelError(() => checkGraphAgainstConfig(g.inputs, g.outputs, config, 'onnx/model.onnx', 'config.json'), 'graphMismatch', message);
    mismatch(graph(2, 4, 16, 259), /config\.json says num_key_value_heads=2 but onnx\/model\.onnx input past_key_values\.0\.key has 4 heads/);
    mismatch(graph(3, 2, 16, 259), /config\.json says num_hidden_layers=2 but onnx\/model\.onnx has 3 past_key_values/);
    mismatch(graph(2, 2, 8, 259), /says head_dim=16 but onnx\/model\.onnx input past_key_values\.0\.key has head size 8/);
    mismatch(graph(2, 2, 16, 300), /says vocab_size=259 but onnx\/model\.onnx output logits has 300/);
    const noMask = graph(2, 2, 16, 259);
    noMask.inputs.splice(1, 1);
    mismatch(noMask, /has no input "attention_mask"/);
    const half = graph(2, 2, 16, 259);
    half.inputs[3] = tensor('past_key_values.0.key', 'float16', ['b', 2, 'p', 16]);
    mismatch(half, /input "past_key_values\.0\.key" is float16: the engine runs float32 graphs/);
    const extra = graph(2, 2, 16, 259);
    extra.inputs.push(tensor('num_logits_to_keep', 'int64', []));
    mismatch(extra, /onnx\/model\.onnx has input "num_logits_to_keep", which the engine does not feed/);
  });
});
