/** `caspo solve` on the embedded model, run as a real process. */
import { strict as assert } from 'node:assert';
import { JS_STACK_FRAME, runCaspo, singleJsonLine } from './helpers';

const ANSI = /\x1b\[/;

interface JsonToken {
  text: string;
  prob: number;
  entropy: number;
}
interface JsonStep {
  index: number;
  text: string;
  confidence: number;
  tokens: JsonToken[];
}

function assertTraceShape(json: Record<string, unknown>): void {
  for (const key of ['problem', 'answer', 'strategy', 'model', 'executionProvider', 'steps', 'stats']) {
    assert.ok(key in json, `missing field ${key}`);
  }
  assert.equal(typeof json.problem, 'string');
  assert.equal(json.model, 'caspo-arith');
  assert.ok(['cpu', 'webgpu', 'cuda'].includes(json.executionProvider as string), String(json.executionProvider));
  const steps = json.steps as JsonStep[];
  assert.ok(steps.length >= 2);
  steps.forEach((step, i) => {
    assert.deepEqual(Object.keys(step).slice(0, 4), ['index', 'text', 'confidence', 'tokens']);
    assert.equal(step.index, i);
    assert.ok(step.text.length > 0);
    assert.ok(step.confidence >= 0 && step.confidence <= 1, `confidence ${step.confidence}`);
    assert.ok(step.tokens.length > 0);
    for (const token of step.tokens) {
      assert.deepEqual(Object.keys(token), ['text', 'prob', 'entropy']);
      assert.ok(token.prob >= 0 && token.prob <= 1);
      assert.ok(token.entropy >= 0);
    }
  });
  const stats = json.stats as Record<string, number>;
  // The trace's four stats first, then the strategy's work (every strategy reports both).
  assert.deepEqual(Object.keys(stats), ['promptTokens', 'generatedTokens', 'wallMs', 'confidenceMs', 'forwardPasses', 'expandedSteps']);
  assert.ok(stats.promptTokens > 0);
  const stepTokens = steps.reduce((sum, s) => sum + s.tokens.length, 0);
  assert.ok(stats.generatedTokens >= stepTokens, `${stats.generatedTokens} generated < ${stepTokens} in steps`);
  assert.ok(stats.wallMs > 0 && stats.confidenceMs >= 0 && stats.confidenceMs <= stats.wallMs);
}

describe('caspo solve', function () {
  this.timeout(60_000);

  it('--json gives the trace schema and 1798 for "47*38 + 12"', async () => {
    const run = await runCaspo(['solve', '--json', '--ep', 'cpu', '47*38 + 12']);
    assert.equal(run.code, 0, run.stderr);
    const json = singleJsonLine(run.stdout);
    assertTraceShape(json);
    assert.equal(json.problem, '47*38 + 12');
    assert.equal(json.answer, '1798');
    assert.equal(json.strategy, 'greedy');
    assert.equal(json.stopReason, 'answer');
    const steps = json.steps as JsonStep[];
    assert.deepEqual(
      steps.map((s) => s.text),
      ['47 * 38 = 1786', '1786 + 12 = 1798', 'Answer: 1798'],
    );
  });

  it('--json answers 444 for "What is 12*(40-3)?"', async () => {
    const run = await runCaspo(['solve', '--json', '--ep', 'cpu', 'What is 12*(40-3)?']);
    assert.equal(run.code, 0, run.stderr);
    const json = singleJsonLine(run.stdout);
    assertTraceShape(json);
    assert.equal(json.answer, '444');
  });

  it('prints each step with its band, the answer and a footer (no colour when stdout is not a terminal)', async () => {
    const run = await runCaspo(['solve', '47*38 + 12']);
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /^Problem: 47\*38 \+ 12$/m);
    assert.match(out, /^\s+1 .*\b(high|medium|low)\s+47 \* 38 = 1786$/m);
    assert.match(out, /^\s+2 .*\b(high|medium|low)\s+1786 \+ 12 = 1798$/m);
    assert.match(out, /^Answer: 1798$/m);
    assert.match(out, /model caspo-arith · (cpu|webgpu|cuda)\b.* tokens\/s/);
    assert.doesNotMatch(out, ANSI);
    assert.doesNotMatch(run.stderr, JS_STACK_FRAME);
  });

  it('the footer says why auto skipped providers (when it fell back to cpu)', async () => {
    const json = singleJsonLine((await runCaspo(['solve', '--json', '2+3'])).stdout);
    const rejected = json.rejectedProviders as { name: string; reason: string }[];
    const run = await runCaspo(['solve', '2+3']);
    for (const r of rejected) assert.ok(run.stdout.includes(`${r.name}: `), `footer misses ${r.name}:\n${run.stdout}`);
    if (json.executionProvider === 'cpu') assert.ok(rejected.length > 0, 'auto chose cpu without saying why the GPUs were skipped');
  });

  it('reads the problem from stdin with "-" and joins unquoted words', async () => {
    const fromStdin = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '-'], { input: '47*38 + 12\n' })).stdout);
    assert.equal(fromStdin.answer, '1798');
    const words = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '47*38', '+', '12'])).stdout);
    assert.equal(words.answer, '1798');
    assert.equal(words.caution, null, 'inside the training range');
    const minus = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '50', '-', '3', '*', '4'])).stdout);
    assert.equal(minus.answer, '38', 'an unquoted "-" is a subtraction');
  });

  it('puts the training-range caution in the JSON too', async () => {
    const run = await runCaspo(['solve', '--json', '--ep', 'cpu', '--strategy', 'greedy', '1234+5678+1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(singleJsonLine(run.stdout).caution, "outside caspo-arith's training range: 1234 is above 999, the largest number in its training problems. Expect confident mistakes.");
    assert.equal(run.stderr, `caspo: warning: the problem is ${singleJsonLine(run.stdout).caution}\n`);
  });

  it('samples with a seed reproducibly, and rejects sampling knobs under greedy', async () => {
    const args = ['solve', '--json', '--ep', 'cpu', '--strategy', 'sample', '--temperature', '1.5', '--seed', '7', '123*45 + 67*8'];
    const a = singleJsonLine((await runCaspo(args)).stdout);
    const b = singleJsonLine((await runCaspo(args)).stdout);
    assert.equal(a.strategy, 'sample');
    assert.deepEqual(a.steps, b.steps);
    const greedyKnob = await runCaspo(['solve', '--temperature', '0.7', '2+3']);
    assert.equal(greedyKnob.code, 2);
    assert.match(greedyKnob.stderr, /--temperature only appl(y|ies) with --strategy sample/);
  });

  it('Ctrl-C stops decoding, prints the steps decoded so far and exits 130', async () => {
    // 60 additions (the model was trained on at most 4): it writes until the context is full,
    // about 370 tokens, far longer than the signal takes to arrive.
    const problem = Array.from({ length: 60 }, () => '1').join('+');
    let sent = false;
    const run = await runCaspo(['solve', '--ep', 'cpu', '--max-tokens', '100000', problem], {
      onStdout: (text, child) => {
        // Steps stream: the first one is on stdout while decoding goes on.
        if (!sent && /^\s+1  \S+\s+\d+\.\d% (high|medium|low) /m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, `no step was streamed:\n${run.stdout}`);
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stdout, /cancelled \(Ctrl-C\)/);
    assert.match(run.stdout, /^Answer: \(none\)$/m);
    const generated = Number(/· (\d+) tokens in/.exec(run.stdout)?.[1]);
    assert.ok(generated > 0 && generated < 300, `generated ${generated} tokens`);
    assert.doesNotMatch(run.stderr, JS_STACK_FRAME);
  });

  it('--max-tokens stops the solution early and says so', async () => {
    const json = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '--max-tokens', '5', '47*38 + 12'])).stdout);
    assert.equal(json.stopReason, 'maxTokens');
    assert.equal(json.answer, null);
    assert.equal((json.stats as { generatedTokens: number }).generatedTokens, 5);
    const run = await runCaspo(['solve', '--ep', 'cpu', '--max-tokens', '5', '47*38 + 12']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /stopped at the token limit \(raise --max-tokens\)/);
    // Cut inside the answer line ("Answer: 1" of "Answer: 1798"): no answer, rather than a wrong one.
    const cut = singleJsonLine((await runCaspo(['solve', '--json', '--ep', 'cpu', '--strategy', 'greedy', '--max-tokens', '41', '47*38 + 12'])).stdout);
    const steps = cut.steps as { text: string; cutOff?: boolean }[];
    assert.equal(steps.at(-1)!.text, 'Answer: 1');
    assert.equal(steps.at(-1)!.cutOff, true, 'the step says it was cut off');
    assert.ok(steps.slice(0, -1).every((step) => step.cutOff === undefined), 'the whole steps do not');
    assert.equal(cut.answer, null);
    const shown = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', '--max-tokens', '41', '47*38 + 12']);
    assert.match(shown.stdout, /Answer: 1 {2}\(cut off\)\n/);
  });

  it("says when the model's context, not --max-tokens, stopped the solution", async () => {
    // About 320 prompt tokens: the 512-token context leaves fewer than the default 256 for the solution.
    const long = Array.from({ length: 100 }, (_, i) => String((i % 90) + 10)).join('+');
    const run = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'greedy', long]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stopped with the model's context full \(512 tokens, prompt and solution together\): shorten the problem/);
    assert.doesNotMatch(run.stdout, /raise --max-tokens/);
  });
});
