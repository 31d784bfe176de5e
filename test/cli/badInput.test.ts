/**
 * Bad input gives one clear paragraph on stderr, exit 2 (usage) or 1 (runtime), and no stack
 * trace. Broken model folders are copies of the embedded model with one thing broken each.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyEmbeddedModel, EMBEDDED_MODEL, JS_STACK_FRAME, runCaspo, SFT_MODEL, singleJsonLine, tempDir, type CaspoRun } from './helpers';

function assertClean(run: CaspoRun, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit ${run.code}, stderr:\n${run.stderr}`);
  assert.match(run.stderr, message);
  assert.match(run.stderr, /^caspo: /);
  assert.doesNotMatch(run.stderr, JS_STACK_FRAME);
  assert.doesNotMatch(run.stderr, /internal error/);
  assert.equal(run.stdout, '');
}

describe('caspo: bad input', function () {
  this.timeout(60_000);
  const scratch = tempDir('caspo-cli-bad-');
  after(() => scratch.remove());

  describe('model folders', () => {
    let missingOnnx: string;
    let truncatedOnnx: string;
    let wrongKvHeads: string;
    let malformedConfig: string;
    let malformedCaspo: string;

    before(() => {
      missingOnnx = copyEmbeddedModel(scratch.dir, 'missing-onnx');
      rmSync(join(missingOnnx, 'onnx', 'model.onnx'));

      truncatedOnnx = copyEmbeddedModel(scratch.dir, 'truncated-onnx');
      truncateSync(join(truncatedOnnx, 'onnx', 'model.onnx'), 1000);

      wrongKvHeads = copyEmbeddedModel(scratch.dir, 'wrong-kv-heads');
      const config = JSON.parse(readFileSync(join(wrongKvHeads, 'config.json'), 'utf8')) as Record<string, unknown>;
      config.num_key_value_heads = 2; // the graph has 4; 2 still divides the 8 attention heads
      writeFileSync(join(wrongKvHeads, 'config.json'), JSON.stringify(config));

      malformedConfig = copyEmbeddedModel(scratch.dir, 'malformed-config');
      writeFileSync(join(malformedConfig, 'config.json'), '{"vocab_size": 259, "hidden_size": ');

      malformedCaspo = copyEmbeddedModel(scratch.dir, 'malformed-caspo');
      writeFileSync(join(malformedCaspo, 'caspo.json'), JSON.stringify({ defaultMetric: 'vibes' }));
    });

    it('a missing model folder', async () => {
      const dir = join(scratch.dir, 'no-such-model');
      assertClean(await runCaspo(['solve', '--model', dir, '2+3']), 1, new RegExp(`Model folder ${dir} does not exist`));
      const file = join(EMBEDDED_MODEL, 'config.json');
      assertClean(await runCaspo(['solve', '--model', file, '2+3']), 1, new RegExp(`${file} is a file, not a model folder\\. Give the folder that holds it`));
    });

    it('a deleted onnx/model.onnx', async () => {
      assertClean(await runCaspo(['solve', '--model', missingOnnx, '2+3']), 1, /onnx\/model\.onnx is missing/);
    });

    it('a truncated onnx/model.onnx', async () => {
      assertClean(await runCaspo(['solve', '--ep', 'cpu', '--model', truncatedOnnx, '2+3']), 1, /could not be loaded by onnxruntime.*corrupt/s);
    });

    it('num_key_value_heads in config.json that does not match the graph', async () => {
      assertClean(await runCaspo(['solve', '--ep', 'cpu', '--model', wrongKvHeads, '2+3']), 1, /num_key_value_heads/);
    });

    it('a config.json that is not JSON', async () => {
      assertClean(await runCaspo(['solve', '--model', malformedConfig, '2+3']), 1, /config\.json is not valid JSON/);
    });

    it('a caspo.json with an unknown metric', async () => {
      assertClean(await runCaspo(['solve', '--ep', 'cpu', '--model', malformedCaspo, '2+3']), 1, /caspo\.json: field "defaultMetric" must be one of/);
    });

    it('calibrate into a folder where caspo.json cannot be written fails before it decodes anything', async () => {
      const blocked = copyEmbeddedModel(scratch.dir, 'caspo-json-blocked');
      mkdirSync(join(blocked, 'caspo.json.tmp'));
      const run = await runCaspo(['calibrate', '--model', blocked, '--input', 'training/data/calibration.jsonl', '--limit', '50']);
      assertClean(run, 1, /cannot write .*caspo\.json: .*caspo\.json\.tmp is a folder\. Remove it, then run calibrate again\./);
    });

    it('CASPO_DEBUG=1 adds the stack trace', async () => {
      const run = await runCaspo(['solve', '--model', missingOnnx, '2+3'], { env: { CASPO_DEBUG: '1' } });
      assert.equal(run.code, 1);
      assert.match(run.stderr, JS_STACK_FRAME);
    });
  });

  describe('problems', () => {
    it('an empty problem', async () => {
      assertClean(await runCaspo(['solve', '']), 2, /the problem is empty/);
      assertClean(await runCaspo(['solve', ' \t ']), 2, /the problem is empty/);
    });

    it('no problem at all', async () => {
      assertClean(await runCaspo(['solve', '--json']), 2, /no problem given/);
      assertClean(await runCaspo(['solve', '-', '12+3*4']), 2, /give the problem either as arguments or as "-" \(read from stdin\), not both/);
    });

    it('a 1 MB problem: too many tokens for the context, with the count and the limit', async () => {
      const problem = `${'1+'.repeat(512 * 1024 - 1)}1`;
      const run = await runCaspo(['solve', '--ep', 'cpu', '-'], { input: problem });
      assertClean(run, 1, /its prompt is 1,048,\d{3} tokens, and the model's context holds 512 tokens.*max_position_embeddings/s);
    });

    it("a problem outside the model's domain: what the model solves, what is wrong, what to do", async () => {
      assertClean(
        await runCaspo(['solve', 'What is the capital of France?']),
        1,
        /caspo-arith is an arithmetic model: it solves expressions of whole numbers .*; this problem has no such expression\. Rewrite the problem, or pass --model DIR/,
      );
      assertClean(await runCaspo(['solve', '--json', '144 / 12']), 1, /this problem divides \("144 \/ 12"\)/);
      // Read by the verifier, but never written in its training problems: the model got 0 of 60 such problems right.
      assertClean(
        await runCaspo(['solve', 'What is 7 × 8 + 6?']),
        1,
        /this problem writes multiplication as "×" \("7 × 8"\); write it as "\*".*\. Rewrite the problem \(caspo solve "7 \* 8 \+ 6"\), or pass --model DIR/,
      );
    });

    it('a problem outside the training range is solved, after a warning that says why', async () => {
      const run = await runCaspo(['solve', '--ep', 'cpu', '100*100']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stderr,
        'caspo: warning: the problem is outside caspo-arith\'s training range: "100 * 100" has both factors above 99 ' +
          '(its training products: one factor up to 99, the other up to 999). Expect confident mistakes.\n',
      );
      assert.match(run.stdout, /^Problem: 100\*100\n/);
      assert.equal((await runCaspo(['solve', '--ep', 'cpu', '99*999 + 1'])).stderr, '', 'inside the range: no warning');
    });

    it('a problem with more operations than the model was trained on (the count its config.json declares: caspo-arith 5, the SFT model 4), or fewer than 2', async () => {
      // Both models drop an operation here (3+4+5+6+7+8+9 = 42; they answer 34 or 44), at 100 %.
      const six = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', '3+4+5+6+7+8+9']);
      assert.equal(six.code, 0, six.stderr);
      assert.equal(six.stderr, "caspo: warning: the problem is outside caspo-arith's training range: it has 6 operations, and its training problems at most 5. Expect confident mistakes.\n");
      const one = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', '2*3 = ?']);
      assert.match(one.stderr, /training range: it has 1 operation, and its training problems at least 2\./);
      const five = '12+23*4-5+6*7';
      assert.equal((await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', five])).stderr, '', 'five operations: inside caspo-arith\'s range');
      const sft = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', '--model', SFT_MODEL, five]);
      assert.match(sft.stderr, /outside caspo-arith-sft's training range: it has 5 operations, and its training problems at most 4\./);
    });

    it('a model whose config.json declares no domain is given any problem', async () => {
      const anyProblem = copyEmbeddedModel(scratch.dir, 'no-domain');
      const config = JSON.parse(readFileSync(join(anyProblem, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config.caspo_problem_domain, 'arithmetic');
      delete config.caspo_problem_domain;
      writeFileSync(join(anyProblem, 'config.json'), JSON.stringify(config));
      const run = await runCaspo(['solve', '--json', '--model', anyProblem, '--max-tokens', '24', 'What is the capital of France?']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(singleJsonLine(run.stdout).problem, 'What is the capital of France?');
    });

    it('a problem argument too long for onnxruntime to start under: refused before the model loads, pointing at stdin', async () => {
      // onnxruntime-node crashes (SIGSEGV, nothing printed) creating a session under ~30 KB of arguments.
      const run = await runCaspo(['solve', `${'1+'.repeat(16_000)}1`]);
      assertClean(run, 2, /the command line is 32,\d{3} bytes long, and onnxruntime crashes .* Pass a long problem on standard input instead: caspo solve - < problem\.txt/);
    });

    it('output that cannot be written (a full disk) says so, without a stack trace', async () => {
      for (const args of [['solve', '12*3 + 4 - 5'], ['--help']]) {
        const run = await runCaspo(args, { stdoutPath: '/dev/full' });
        assertClean(run, 1, /^caspo: cannot write the output: ENOSPC: no space left on device/);
      }
    });

    it('invalid UTF-8 in the problem argument', async () => {
      const bytes = Buffer.concat([Buffer.from('47*38 + 12 '), Buffer.from([0xff, 0xfe])]);
      assertClean(await runCaspo(['solve', bytes]), 2, /argument 2 is not valid UTF-8/);
    });

    it('standard input that is a folder', async () => {
      assertClean(await runCaspo(['solve', '-'], { stdinPath: scratch.dir }), 1, /standard input is a folder, not text\. Pipe the problem in/);
    });

    it('invalid UTF-8 on stdin', async () => {
      const run = await runCaspo(['solve', '-'], { input: Buffer.from([0x32, 0x2b, 0xc3, 0x28]) });
      assertClean(run, 1, /standard input is not valid UTF-8 \(line 1/);
    });
  });

  describe('flags and commands', () => {
    it('an unknown flag lists the valid ones', async () => {
      assertClean(await runCaspo(['solve', '--temprature', '1', '2+3']), 2, /unknown flag --temprature\. Valid flags: --json, --model, .*--metric, --help/);
    });

    it('an unknown value lists the valid ones', async () => {
      assertClean(await runCaspo(['solve', '--ep', 'gpu', '2+3']), 2, /--ep must be one of auto, webgpu, cuda, cpu; got "gpu"\.\nRun `caspo solve --help` for usage\.\n$/);
      assertClean(await runCaspo(['eval', '--input', 'x.jsonl', '--ep', 'gpu']), 2, /Run `caspo eval --help` for usage\.\n$/);
      assertClean(await runCaspo(['solve', '--strategy', 'mcts', '2+3']), 2, /--strategy must be one of greedy, sample, sc, bok, beam, cat; got "mcts"/);
      assertClean(await runCaspo(['solve', '--metric', 'vibes', '2+3']), 2, /--metric must be one of meanEntropy, geoMeanProb, minProb, deepConf/);
    });

    it('numbers out of range or not numbers', async () => {
      assertClean(await runCaspo(['solve', '--strategy', 'sample', '--temperature', '0', '2+3']), 2, /--temperature must be a number >= 0.0001; got "0"/);
      assertClean(await runCaspo(['solve', '--strategy', 'sample', '--top-p', '1.5', '2+3']), 2, /--top-p must be a number in \(0, 1\]/);
      assertClean(await runCaspo(['solve', '--max-tokens', 'ten', '2+3']), 2, /--max-tokens must be an integer >= 1; got "ten"/);
      assertClean(await runCaspo(['solve', '--threads', '1.5', '2+3']), 2, /--threads must be an integer in \[0, 64\]/);
      // Upper bounds, so that a typo fails at once instead of filling the memory before anything is printed.
      assertClean(await runCaspo(['solve', '--threads', '1000', '2+3']), 2, /--threads must be an integer in \[0, 64\]; got "1000"/);
      assertClean(await runCaspo(['solve', '--strategy', 'sc', '--samples', '20000', '2+3']), 2, /--samples must be an integer in \[1, 256\]; got "20000"/);
      assertClean(await runCaspo(['solve', '--strategy', 'cat', '--branches', '1000', '2+3']), 2, /--branches must be an integer in \[1, 256\]/);
    });

    it('a flag without its value', async () => {
      assertClean(await runCaspo(['solve', '2+3', '--model']), 2, /--model needs a value/);
    });

    it('an unknown command', async () => {
      assertClean(await runCaspo(['solv', '2+3']), 2, /unknown command "solv"\. Commands: solve, eval, calibrate/);
    });
  });

  describe('eval --input files', () => {
    const write = (name: string, content: string | Buffer) => {
      const path = join(scratch.dir, name);
      writeFileSync(path, content);
      return path;
    };

    it('no --input', async () => {
      assertClean(await runCaspo(['eval', '--json']), 2, /eval needs --input FILE\.jsonl/);
    });

    it('a missing file', async () => {
      const path = join(scratch.dir, 'nope.jsonl');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, new RegExp(`input file ${path} does not exist`));
    });

    it('a malformed JSONL line names its line number', async () => {
      const path = write('malformed.jsonl', '{"problem": "2+3", "answer": "5"}\n\n{"problem": "2+4", "answer": \n');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /line 3: not valid JSON/);
    });

    it('an empty answer key', async () => {
      const path = write('empty-answer.jsonl', '{"problem": "2+3", "answer": "5"}\n{"problem": "12+3*4", "answer": " "}\n');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /line 2: field "answer" is empty/);
    });

    it('a line without "problem"', async () => {
      const path = write('no-problem.jsonl', '{"question": "2+3", "answer": "5"}\n');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /line 1: field "problem" is missing/);
    });

    it('invalid UTF-8 names the line', async () => {
      const path = write(
        'latin1.jsonl',
        Buffer.concat([Buffer.from('{"problem": "2+3", "answer": "5"}\n{"problem": "2+4", "answer": "6"}\n{"problem": "caf'), Buffer.from([0xe9]), Buffer.from('", "answer": "1"}\n')]),
      );
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /is not valid UTF-8 \(line 3/);
    });

    it('a numeric answer too large to read exactly asks for a string', async () => {
      const path = write('big.jsonl', '{"problem": "99999999 * 99999999 + 1", "answer": 9999999800000000002}\n');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /line 1: field "answer" is a number too large to read exactly .*write it as a string/);
    });

    it('an empty file', async () => {
      const path = write('empty.jsonl', '\n\n');
      assertClean(await runCaspo(['eval', '--json', '--input', path]), 1, /holds no problems/);
    });

    it('a problem too long for the context names its line', async () => {
      const path = write('long.jsonl', `{"problem": "2+3", "answer": "5"}\n${JSON.stringify({ problem: '1+'.repeat(400) + '1', answer: '401' })}\n`);
      assertClean(await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', path]), 1, /line 2 is too long for the model: its prompt is \d+ tokens/);
    });

    it("problems with operations the verifier cannot check are counted out of its domain, not scored step by step", async () => {
      // Read as "2 + 3" before, its right steps were labelled wrong and scored with the rest.
      const path = write('division.jsonl', '{"problem": "What is 10/2 + 3?", "answer": "8"}\n{"problem": "12 + 7*3", "answer": "33"}\n');
      const run = await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', path]);
      assert.equal(run.code, 0, run.stderr);
      const report = singleJsonLine(run.stdout);
      assert.equal(report.outOfDomain, 1);
      assert.deepEqual([report.steps, report.correctSteps], [3, 3], 'only the second problem\'s steps are labelled');
    });

    it('"-" reads the problems from standard input, and names it in errors', async () => {
      const ok = await runCaspo(['eval', '--json', '--input', '-'], { input: '{"problem": "12 + 7*3", "answer": "33"}\n' });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(singleJsonLine(ok.stdout).n, 1);
      assertClean(await runCaspo(['eval', '--json', '--input', '-'], { input: '{"problem": 1}\n' }), 1, /^caspo: standard input line 1: field "problem" is missing/);
    });

    it('--per-problem without --json', async () => {
      const path = write('one-pp.jsonl', '{"problem": "2+3", "answer": "5"}\n');
      assertClean(await runCaspo(['eval', '--per-problem', '--input', path]), 2, /--per-problem adds to the JSON report: give --json too/);
    });

    it('--samples > 1 with greedy decoding', async () => {
      const path = write('one.jsonl', '{"problem": "2+3", "answer": "5"}\n');
      assertClean(await runCaspo(['eval', '--json', '--input', path, '--samples', '3']), 2, /--samples 3 needs --strategy sample/);
    });
  });
});
