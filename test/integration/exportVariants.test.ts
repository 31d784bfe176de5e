/**
 * Model folders in the layouts other exporters write, built from the qwen3-gqa fixture (random weights, real Qwen3
 * tokenizer): each loads and gives the fixture's own greedy tokens, or is refused with a message that says what the
 * folder has and what to do. The graphs are rewritten by helpers/export_variants.py (onnx, in the fixtures' Python).
 *
 *   npx mocha --import=tsx test/integration/exportVariants.test.ts
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { generate } from '../../language-server/src/decoding/generate';
import { CausalLM } from '../../language-server/src/model/causalLM';
import { ModelError } from '../../language-server/src/model/modelError';
import { graphSizeBytes } from '../../language-server/src/model/session';

const root = resolve(__dirname, '..', '..');
const base = join(root, 'test', 'fixtures', 'generated', 'qwen3-gqa');
const PROBLEM = 'What is 47*38 + 12?';
const run = promisify(execFile);

async function greedyTokens(dir: string): Promise<number[]> {
  const model = await CausalLM.load(dir, { executionProvider: 'cpu' });
  try {
    const result = await generate(model, { promptIds: model.tokenizer.encodePrompt(PROBLEM), maxNewTokens: 12, stopAtAnswerLine: false });
    return result.rows[0].tokens.map((token) => token.id);
  } finally {
    await model.dispose();
  }
}

async function loadError(dir: string): Promise<ModelError> {
  const error = await CausalLM.load(dir, { executionProvider: 'cpu' }).then(
    async (model) => {
      await model.dispose();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
  return error;
}

describe('model folders as other exporters write them (merged decoder, transformers.js names, external data, float16)', function () {
  this.timeout(120_000);
  let scratch: string;
  let graphs: string;
  let expected: number[];
  let folders = 0;

  /** The fixture's JSON files and `files` (path in the folder → file to copy, or JSON to write). */
  function folder(files: Record<string, string | object>): string {
    const dir = join(scratch, `model-${++folders}`);
    mkdirSync(dir);
    for (const name of readdirSync(base).filter((n) => n.endsWith('.json'))) copyFileSync(join(base, name), join(dir, name));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      if (typeof content === 'string') copyFileSync(content, join(dir, name));
      else writeFileSync(join(dir, name), JSON.stringify(content));
    }
    return dir;
  }

  before(async function () {
    this.timeout(900_000); // first run: exports the fixture with PyTorch
    const fixtures = join(root, 'scripts', 'make-fixtures.mjs');
    await run(process.execPath, [fixtures, 'qwen3-gqa'], { cwd: root });
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { findTorchPython } from ${JSON.stringify(pathToFileURL(fixtures).href)}; console.log(findTorchPython());`,
    ]);
    scratch = mkdtempSync(join(tmpdir(), 'caspo-export-variants-'));
    graphs = join(scratch, 'graphs');
    await run(stdout.trim(), [join(__dirname, 'helpers', 'export_variants.py'), join(base, 'onnx', 'model.onnx'), graphs]);
    expected = await greedyTokens(base);
    assert.ok(new Set(expected).size > 5, `a degenerate reference: ${expected}`);
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("Optimum's merged decoder (onnx/decoder_model_merged.onnx, use_cache_branch): the same tokens", async () => {
    // Its first-step branch reads no past: fed false after the prompt, the model would forget it.
    assert.deepEqual(await greedyTokens(folder({ 'onnx/decoder_model_merged.onnx': join(graphs, 'merged', 'decoder_model_merged.onnx') })), expected);
  });

  // (The quantized names hold the float32 graph here: the test is of the names; onnxruntime runs the quantized operators.)
  it('a transformers.js folder with only quantized-name graphs, and an optimum-cli folder (model.onnx at the top): the same tokens', async () => {
    const graph = join(base, 'onnx', 'model.onnx');
    const quantized = folder({ 'onnx/model_quantized.onnx': graph, 'onnx/model_fp16.onnx': join(graphs, 'fp16', 'model.onnx') });
    assert.deepEqual(await greedyTokens(quantized), expected);
    const model = await CausalLM.load(quantized, { executionProvider: 'cpu' });
    await model.dispose();
    assert.match(model.displayName, /^model-\d+ \(onnx\/model_quantized\.onnx\)$/, 'the name shown says which graph runs');
    assert.deepEqual(await greedyTokens(folder({ 'model.onnx': graph })), expected);
  });

  it('weights in external data: the same tokens, sized with their data; a missing data file is named', async () => {
    const dir = folder({ 'onnx/model.onnx': join(graphs, 'external', 'model.onnx'), 'onnx/model.onnx_data': join(graphs, 'external', 'model.onnx_data') });
    assert.deepEqual(await greedyTokens(dir), expected);
    assert.ok(graphSizeBytes(join(dir, 'onnx', 'model.onnx')) > 1e6, 'the weights count towards the size auto weighs');
    const missing = await loadError(folder({ 'onnx/model.onnx': join(graphs, 'external', 'model.onnx') }));
    assert.equal(missing.code, 'modelFileMissing');
    assert.match(missing.message, /keeps its weights in external data, and .*model\.onnx_data is missing/);
    // A Git LFS pointer (a clone without `git lfs pull`) in place of the data file
    const pointer = folder({ 'onnx/model.onnx': join(graphs, 'external', 'model.onnx') });
    writeFileSync(join(pointer, 'onnx', 'model.onnx_data'), 'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1000000\n');
    const short = await loadError(pointer);
    assert.equal(short.code, 'modelFileCorrupt');
    assert.match(short.message, /external data that is shorter than the graph says.*git lfs pull/);
  });

  it('float16 graphs are refused with what to use instead, whether named model.onnx or model_fp16.onnx alone', async () => {
    const named = await loadError(folder({ 'onnx/model.onnx': join(graphs, 'fp16', 'model.onnx') }));
    assert.match(named.message, /input "past_key_values\.0\.key" is float16: the engine runs float32 graphs.*onnx\/model_quantized\.onnx/);
    const alone = await loadError(folder({ 'onnx/model_fp16.onnx': join(graphs, 'fp16', 'model.onnx') }));
    assert.equal(alone.code, 'modelFileMissing');
    assert.match(alone.message, /the folder has onnx\/model_fp16\.onnx.*Float16 graphs are not run/);
  });

  it('the chat template in chat_template.jinja (newer transformers) or as named templates: the same prompt', async () => {
    const config = JSON.parse(readFileSync(join(base, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    const template = config.chat_template as string;
    const { chat_template: _, ...withoutTemplate } = config;
    const graph = join(base, 'onnx', 'model.onnx');
    const jinja = folder({ 'onnx/model.onnx': graph, 'tokenizer_config.json': withoutTemplate });
    writeFileSync(join(jinja, 'chat_template.jinja'), template);
    assert.deepEqual(await greedyTokens(jinja), expected);
    const named = folder({ 'onnx/model.onnx': graph, 'tokenizer_config.json': { ...config, chat_template: [{ name: 'tool_use', template: '{{ x' }, { name: 'default', template }] } });
    assert.deepEqual(await greedyTokens(named), expected);
    // As in transformers, the .jinja file wins over the config's field (here a template that does not parse)
    const both = folder({ 'onnx/model.onnx': graph, 'tokenizer_config.json': { ...config, chat_template: '{{ broken' } });
    writeFileSync(join(both, 'chat_template.jinja'), template);
    assert.deepEqual(await greedyTokens(both), expected);
  });

  it('GPT-2 field names in config.json and an EOS id only in tokenizer_config.json load', async () => {
    const config = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as Record<string, unknown>;
    const { num_hidden_layers, num_attention_heads, hidden_size, max_position_embeddings, eos_token_id: _, ...rest } = config;
    const gpt2 = { ...rest, n_layer: num_hidden_layers, n_head: num_attention_heads, n_embd: hidden_size, n_positions: max_position_embeddings };
    const dir = folder({ 'onnx/model.onnx': join(base, 'onnx', 'model.onnx'), 'config.json': gpt2, 'generation_config.json': {} });
    const model = await CausalLM.load(dir, { executionProvider: 'cpu' });
    try {
      assert.equal(model.config.numHiddenLayers, num_hidden_layers);
      assert.deepEqual(model.eosTokenIds, [model.tokenizer.tokenToId(model.tokenizer.eosToken!)]);
    } finally {
      await model.dispose();
    }
  });
});
