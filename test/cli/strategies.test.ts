/** `caspo solve/eval --strategy cat|sc|bok|beam` with the embedded model, run as a real process. */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeFromJSON } from '../../language-server/src/trace/treeJson';
import { JS_STACK_FRAME, runCaspo, SFT_MODEL, singleJsonLine, tempDir } from './helpers';

/** The SFT model hesitates over 869 * 81 (70489 at 0.788, 70389 at 0.760 through its caspo.json): CaT's candidates differ there. */
const TAU = '0.775'; // between the two
const UNSURE = 'Evaluate 763+(869 * 81 + (74+76)).';

interface JsonStep {
  index: number;
  text: string;
  confidence: number;
  nodeId: string;
  pruned: { id: string; text: string; confidence: number }[];
}

describe('caspo solve/eval with tree and sampling strategies', function () {
  this.timeout(120_000);

  it('solve --json --strategy cat: the chosen path, each step\'s pruned siblings, and the whole tree', async () => {
    const run = await runCaspo(['solve', '--json', '--ep', 'cpu', '--model', SFT_MODEL, '--strategy', 'cat', '--threshold', TAU, UNSURE]);
    assert.equal(run.code, 0, run.stderr);
    const json = singleJsonLine(run.stdout);
    for (const key of ['problem', 'answer', 'strategy', 'model', 'executionProvider', 'steps', 'stats', 'stopReason', 'sampling', 'settings', 'vote', 'tree']) {
      assert.ok(key in json, `missing ${key}`);
    }
    assert.equal(json.strategy, 'cat');
    assert.deepEqual(json.settings, {
      branches: 3,
      width: 2,
      threshold: { kind: 'fixed', value: Number(TAU) },
      budget: 40,
      temperature: 1,
      topP: 1,
      seed: 0,
      greedyFirst: true,
      branchBelow: null,
    });
    const steps = json.steps as JsonStep[];
    const tree = treeFromJSON(json.tree);
    assert.deepEqual(steps.map((s) => s.nodeId), json.pathNodeIds);
    assert.deepEqual(
      steps.map((s) => s.text),
      (json.pathNodeIds as string[]).map((id) => tree.get(id).text),
    );
    // Below τ, the 70389 candidate beside the first step is pruned (and listed with it).
    assert.equal(steps[0].text, '869 * 81 = 70489');
    assert.deepEqual(steps[0].pruned.map((p) => [p.text, tree.get(p.id).status, tree.get(p.id).prunedBy]), [['869 * 81 = 70389', 'pruned', 'threshold']]);
    assert.ok(steps[0].pruned[0].confidence < Number(TAU));
    assert.ok(steps.slice(1).every((s) => s.pruned.length === 0));
    const stats = json.stats as Record<string, number>;
    assert.deepEqual(Object.keys(stats), ['promptTokens', 'generatedTokens', 'wallMs', 'confidenceMs', 'forwardPasses', 'expandedSteps']);
    assert.ok(stats.expandedSteps <= 40 && stats.forwardPasses < stats.generatedTokens);
    assert.equal((json.vote as { kind: string }).kind, 'confidence');
  });

  it('prints the chosen path with its pruned counts and a line on the search', async () => {
    const cat = await runCaspo(['solve', '--ep', 'cpu', '--model', SFT_MODEL, '--strategy', 'cat', '--threshold', TAU, UNSURE]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.match(cat.stdout, /^\s+1 .*869 \* 81 = 70489 {2}\(1 pruned\)$/m);
    assert.match(cat.stdout, /^cat b=3 w=2 τ=0\.775: \d+ candidate steps \(budget 40\), 1 pruned \(1 below τ\), 0 flagged; confidence-weighted vote: 71402/m);
    const drawn = await runCaspo(['solve', '--ep', 'cpu', '--model', SFT_MODEL, '--strategy', 'cat', '--threshold', TAU, '--first-candidate', 'sampled', UNSURE]);
    assert.match(drawn.stdout, /^cat b=3 w=2 τ=0\.775, every candidate drawn: \d+ candidate steps/m);
    // Greedy's first step (70489, 0.788) is below σ = 0.9: only there are the other candidates drawn.
    const gated = await runCaspo(['solve', '--ep', 'cpu', '--model', SFT_MODEL, '--strategy', 'cat', '--branch-below', '0.9', UNSURE]);
    assert.equal(gated.code, 0, gated.stderr);
    const work = gated.stdout.match(/^cat b=3 w=2 τ=0\.5, branching below 0\.9: (\d+) candidate steps/m);
    assert.ok(work, gated.stdout);
    const steps = gated.stdout.match(/^\s+\d+ /gm)?.length ?? 0;
    assert.ok(Number(work[1]) < 3 * steps, `${work[1]} candidate steps for ${steps} steps: not every boundary branched`);
    const sc = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'sc', '--samples', '4', '47*38 + 12']);
    assert.match(sc.stdout, /^self-consistency@4 \(T=1\): answers 1798 ×4; majority 1798$/m);
    assert.match(sc.stdout, /^Answer: 1798$/m);
    const budget = await runCaspo(['solve', '--ep', 'cpu', '--strategy', 'beam', '--budget', '2', '47*38 + 12']);
    assert.equal(budget.code, 0);
    assert.match(budget.stdout, /^Answer: \(none\)$/m);
    assert.match(budget.stdout, /the step budget ran out before any path finished \(raise --budget\)/);
    assert.doesNotMatch(budget.stderr, JS_STACK_FRAME);
  });

  it('eval reports the strategy\'s accuracy, CaT\'s vote accuracy, and the work done', async () => {
    const scratch = tempDir('caspo-cli-strategies-');
    try {
      const input = join(scratch.dir, 'easy.jsonl');
      writeFileSync(input, [{ problem: '47*38 + 12', answer: '1798' }, { problem: 'What is 12*(40-3)?', answer: '444' }].map((r) => JSON.stringify(r)).join('\n'));
      const cat = singleJsonLine((await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', input, '--strategy', 'cat', '--branches', '2'])).stdout);
      assert.equal(cat.strategy, 'cat');
      assert.equal(cat.accuracy, 1);
      assert.equal(cat.voteAccuracy, 1);
      assert.equal(cat.solutions, 2);
      assert.equal((cat.settings as { branches: number }).branches, 2);
      assert.ok((cat.forwardPasses as number) > 0 && (cat.expandedSteps as number) >= 2 * 2 * 3);
      const bok = singleJsonLine((await runCaspo(['eval', '--json', '--ep', 'cpu', '--input', input, '--strategy', 'bok', '--samples', '3'])).stdout);
      assert.equal(bok.accuracy, 1);
      assert.equal(bok.samples, 3);
      assert.ok(!('voteAccuracy' in bok));
      const text = await runCaspo(['eval', '--ep', 'cpu', '--input', input, '--strategy', 'cat']);
      assert.match(text.stdout, /^answer accuracy 100\.0% \(best path\), confidence-weighted vote 100\.0%$/m);
      assert.match(text.stdout, /^work: \d+ forwards, \d+ candidate steps, confidence \d+\.\d% of the time/m);
    } finally {
      scratch.remove();
    }
  });

  it('rejects knobs that do not apply to the strategy, and conflicting thresholds', async () => {
    const cases: [string[], RegExp][] = [
      [['--strategy', 'sc', '--branches', '3'], /--branches only applies with --strategy beam or cat\./],
      [['--strategy', 'beam', '--threshold', '0.5'], /--threshold only applies with --strategy cat\./],
      [['--strategy', 'cat', '--samples', '3'], /--samples only applies with --strategy sc or bok\./],
      [['--seed', '3'], /--seed only applies with --strategy sample, sc, bok, beam or cat \(greedy decoding has no randomness\)\./],
      [['--strategy', 'cat', '--threshold', '0.5', '--threshold-percentile', '10'], /either --threshold .* or --threshold-percentile/],
      [['--strategy', 'cat', '--warmup', '4'], /--warmup .* give --threshold-percentile P with it/],
      [['--strategy', 'cat', '--threshold-percentile', '101'], /--threshold-percentile must be a number in \[0, 100\]; got "101"/],
      [['--strategy', 'cat', '--width', '0'], /--width must be an integer in \[1, 256\]; got "0"/],
      [['--strategy', 'beam', '--first-candidate', 'greedy'], /--first-candidate only applies with --strategy cat\./],
      [['--strategy', 'cat', '--first-candidate', 'best'], /--first-candidate must be one of greedy, sampled; got "best"/],
      [['--strategy', 'sc', '--branch-below', '0.9'], /--branch-below only applies with --strategy cat\./],
      [['--strategy', 'cat', '--branch-below', '2'], /--branch-below must be a number in \[0, 1\]; got "2"/],
    ];
    for (const [flags, message] of cases) {
      const run = await runCaspo(['solve', ...flags, '2+3']);
      assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, JS_STACK_FRAME);
    }
  });
});
