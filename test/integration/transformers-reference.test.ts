/**
 * An independent runtime agrees with our export: @huggingface/transformers (transformers.js) loads
 * each model folder offline (AutoTokenizer + AutoModelForCausalLM, fp32, cpu), renders the chat
 * template, and its greedy `generate` gives the same 20 tokens as PyTorch (parity.json).
 *
 * Folders: test/fixtures/generated/qwen3-gqa (random-weight GQA model, real Qwen3 tokenizer),
 * test/fixtures/generated/tiny-arith (2-step SFT smoke run) and the embedded models/caspo-arith-sft.
 * The generated ones are built by scripts/make-fixtures.mjs when missing or stale (needs a Python
 * with torch + onnx; see that script).
 *
 *   npx mocha --import=tsx test/integration/transformers-reference.test.ts
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env } from '@huggingface/transformers';

const root = resolve(__dirname, '..', '..');
const FIXTURES_DIR = join(root, 'test', 'fixtures', 'generated');
/** The user message every parity.json prompt was rendered from (caspo_train.sft.PARITY_PROBLEM). */
const PARITY_PROBLEM = 'What is 47*38 + 12?';
const NEW_TOKENS = 20;
/** Prefill logits: transformers.js (onnxruntime) vs PyTorch, at parity.json's logit_indices. */
const LOGIT_TOLERANCE = 1e-3;

/**
 * The Qwen2/Qwen3 ids of "<|im_start|>user\nWhat is 47*38 + 12?<|im_end|>\n<|im_start|>assistant\n"
 * (digits are single tokens 15..24, "Ġ" = 220, "user" = 872, "assistant" = 77091): pins the
 * tokenizer files and the chat template rendering to the real Qwen3 ones.
 */
const QWEN3_PROMPT_IDS = [151644, 872, 198, 3838, 374, 220, 19, 22, 9, 18, 23, 488, 220, 16, 17, 30, 151645, 198, 151644, 77091, 198];

interface Parity {
  prompt_ids: number[];
  generated_ids: number[];
  logit_indices: number[] | null;
  logits: number[][];
}

interface Case {
  name: string;
  dir: string;
  /** Checks on the fixture itself, so that a degenerate reference cannot pass trivially. */
  expectPromptIds?: number[];
  minDistinct: number;
}

const cases: Case[] = [
  { name: 'qwen3-gqa (GQA, Qwen3 tokenizer)', dir: join(FIXTURES_DIR, 'qwen3-gqa'), expectPromptIds: QWEN3_PROMPT_IDS, minDistinct: 15 },
  { name: 'tiny-arith (2-step SFT smoke run)', dir: join(FIXTURES_DIR, 'tiny-arith'), minDistinct: 1 },
  { name: 'models/caspo-arith-sft (embedded)', dir: join(root, 'models', 'caspo-arith-sft'), minDistinct: 8 },
];

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** parity.generated_ids cut after NEW_TOKENS, or after eos (generate stops there). */
function expectedTokens(parity: Parity, eos: number | number[] | null): number[] {
  const eosIds = eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  const ids = parity.generated_ids.slice(0, NEW_TOKENS);
  const stop = ids.findIndex((id) => eosIds.includes(id));
  return stop < 0 ? ids : ids.slice(0, stop + 1);
}

describe('transformers.js reference: greedy tokens equal PyTorch (parity.json)', function () {
  this.timeout(180_000);

  before(async function () {
    this.timeout(900_000); // first run: exports the fixtures with PyTorch
    const script = join(root, 'scripts', 'make-fixtures.mjs');
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [script, 'qwen3-gqa', 'tiny-arith'], { cwd: root });
      console.log(`      ${stdout.trim()}`);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`scripts/make-fixtures.mjs failed: ${e.stderr?.trim() || e.message}`);
    }
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
  });

  for (const c of cases) {
    it(c.name, async function () {
      const parity = readJson<Parity>(join(c.dir, 'parity.json'));
      const generation = readJson<{ eos_token_id: number | number[] | null }>(join(c.dir, 'generation_config.json'));
      const expected = expectedTokens(parity, generation.eos_token_id);
      assert.ok(expected.length > 0, 'parity.json has no generated_ids');
      assert.ok(
        new Set(expected).size >= c.minDistinct,
        `degenerate reference: the first ${expected.length} greedy ids have only ${new Set(expected).size} distinct values`,
      );

      const t0 = performance.now();
      const tokenizer = await AutoTokenizer.from_pretrained(c.dir, { local_files_only: true });
      const model = await AutoModelForCausalLM.from_pretrained(c.dir, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
      const loadMs = performance.now() - t0;
      try {
        const promptIds = tokenizer.apply_chat_template([{ role: 'user', content: PARITY_PROBLEM }], {
          add_generation_prompt: true,
          tokenize: true,
          return_tensor: false,
          return_dict: false,
        }) as number[];
        assert.deepEqual(promptIds, parity.prompt_ids, 'chat template + tokenizer: prompt ids differ from parity.json');
        if (c.expectPromptIds) assert.deepEqual(promptIds, c.expectPromptIds, 'prompt ids differ from the pinned Qwen3 ids');

        const n = promptIds.length;
        const inputIds = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, n]);
        const attentionMask = new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);

        // Prefill logits (no cache) against PyTorch's first row.
        const { logits } = (await model({ input_ids: inputIds, attention_mask: attentionMask })) as { logits: Tensor };
        const vocab = logits.dims[2];
        const last = (logits.data as Float32Array).subarray((n - 1) * vocab, n * vocab);
        const indices = parity.logit_indices ?? parity.logits[0].map((_, i) => i);
        let maxDiff = 0;
        indices.forEach((id, j) => {
          const diff = Math.abs(last[id] - parity.logits[0][j]);
          if (!(diff <= maxDiff)) maxDiff = diff; // NaN fails below
        });
        assert.ok(maxDiff <= LOGIT_TOLERANCE, `prefill logits differ from PyTorch by ${maxDiff} (> ${LOGIT_TOLERANCE})`);

        // Greedy generation through transformers.js's own KV-cache loop.
        const t1 = performance.now();
        const output = (await model.generate({
          input_ids: inputIds,
          attention_mask: attentionMask,
          max_new_tokens: NEW_TOKENS,
          do_sample: false,
        })) as Tensor;
        const generateMs = performance.now() - t1;
        const all = Array.from(output.data as BigInt64Array, Number);
        assert.deepEqual(all.slice(0, n), promptIds, 'generate() changed the prompt');
        const got = all.slice(n);
        assert.deepEqual(got, expected, `transformers.js greedy ids differ from PyTorch (parity.json generated_ids)`);

        console.log(
          `      ${c.name}: load ${loadMs.toFixed(0)} ms, generate ${got.length} tokens ${generateMs.toFixed(0)} ms, ` +
            `prefill max |Δlogit| ${maxDiff.toExponential(1)} over ${indices.length} ids`,
        );
      } finally {
        await model.dispose();
      }
    });
  }
});
