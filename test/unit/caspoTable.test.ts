/** The CASPO comparison table's pure parts: goal checks, markdown, reliability diagram (bench/caspo-table). */
import { strict as assert } from 'node:assert';
import { evaluateGoals, reportGoals, type GoalCheck } from '../../bench/caspo-table/goals';
import { renderMarkdown } from '../../bench/caspo-table/markdown';
import { reliabilitySvg } from '../../bench/caspo-table/reliabilitySvg';
import type { EvalNumbers, TableData, TableRun, TableStrategy } from '../../bench/caspo-table/types';
import { reliabilityPanels } from '../../bench/caspo-table/writeReport';
import type { ReliabilityBin } from '../../language-server/src/eval/metrics';

function bins(counts: number[]): ReliabilityBin[] {
  return counts.map((count, i) => ({
    lower: i / 10,
    upper: (i + 1) / 10,
    count,
    meanConfidence: count ? i / 10 + 0.05 : null,
    accuracy: count ? Math.min(1, i / 10 + 0.1) : null,
  }));
}

function report(accuracy: number, ece: number | null, stepAUROC: number | null): EvalNumbers {
  return {
    n: 200,
    accuracy,
    generatedTokens: 1000,
    wallMs: 12_345,
    stepAUROC,
    ece,
    brier: ece === null ? null : ece / 2,
    steps: 900,
    correctSteps: 850,
    platt: { ece: 0.01, brier: 0.02, stepAUROC },
    reliability: bins([0, 0, 1, 0, 3, 0, 0, 10, 0, 886]),
  };
}

function run(split: string, model: string, strategy: TableStrategy, r: EvalNumbers): TableRun {
  return { split, model, strategy, processMs: r.wallMs + 500, report: r };
}

/** Held-out: ECE −60 %, AUROC 0.9, accuracy equal, CaT equal. Hard: ECE −30 %, AUROC 0.8, accuracy lower, CaT higher. */
function table(overrides: Partial<TableData> = {}): TableData {
  return {
    generatedAt: '2026-01-01T00:00:00.000Z',
    command: 'npm run caspo:table',
    machine: { cpuModel: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20', onnxruntimeNode: '1.30.0', platform: 'linux-x64' },
    threads: null,
    limit: null,
    splits: [
      { name: 'heldout', file: 'training/data/heldout.jsonl', describe: 'Held-out problems', title: 'held-out' },
      { name: 'hard', file: 'training/data/hard.jsonl', describe: 'Hard problems', title: 'hard' },
    ],
    models: [
      { label: 'sft', dir: 'models/sft' },
      { label: 'iter1', dir: 'models/iter1' },
      { label: 'iter3', dir: 'models/iter3' },
    ],
    baseline: 'sft',
    final: 'iter3',
    strategies: ['greedy', 'cat'],
    runs: [
      run('heldout', 'sft', 'greedy', report(0.99, 0.05, 0.95)),
      run('heldout', 'sft', 'cat', report(0.99, 0.05, 0.95)),
      run('heldout', 'iter1', 'greedy', report(0.99, 0.04, 0.95)),
      run('heldout', 'iter1', 'cat', report(0.99, 0.04, 0.95)),
      run('heldout', 'iter3', 'greedy', report(0.99, 0.02, 0.9)),
      run('heldout', 'iter3', 'cat', report(0.99, 0.02, 0.9)),
      run('hard', 'sft', 'greedy', report(0.475, 0.1, 0.7)),
      run('hard', 'sft', 'cat', report(0.5, 0.1, 0.7)),
      run('hard', 'iter1', 'greedy', report(0.47, 0.09, 0.75)),
      run('hard', 'iter1', 'cat', report(0.52, 0.09, 0.75)),
      run('hard', 'iter3', 'greedy', report(0.46, 0.07, 0.8)),
      run('hard', 'iter3', 'cat', report(0.55, 0.07, 0.8)),
    ],
    ...overrides,
  };
}

const statuses = (goals: readonly GoalCheck[], split: string) => goals.filter((g) => g.split === split).map((g) => g.status);

describe('CASPO table goals', () => {
  it('checks ECE reduction, AUROC, accuracy and CaT per split from the numbers', () => {
    const goals = evaluateGoals(table());
    assert.equal(goals.length, 8);
    assert.deepEqual(statuses(goals, 'heldout'), ['met', 'met', 'met', 'not met']); // CaT must be strictly better
    assert.deepEqual(statuses(goals, 'hard'), ['not met', 'not met', 'not met', 'met']);
    assert.match(goals[0].goal, /ECE .* of iter3 at least 40 % below sft's/);
    assert.equal(goals[0].detail, '0.0500 → 0.0200 (−60.0 %)');
    assert.equal(goals[4].detail, '0.1000 → 0.0700 (−30.0 %)');
    assert.equal(goals[5].detail, 'AUROC 0.8000');
    assert.equal(goals[6].detail, '47.5 % → 46.0 %');
    assert.equal(goals[7].detail, '50.0 % → 55.0 %');
  });

  it('a 40 % reduction exactly and an AUROC of 0.85 exactly are met; an ECE rise is shown as +', () => {
    const data = table();
    data.runs = data.runs.map((r) => (r.split === 'heldout' && r.model === 'iter3' && r.strategy === 'greedy' ? { ...r, report: report(0.99, 0.03, 0.85) } : r));
    data.runs = data.runs.map((r) => (r.split === 'hard' && r.model === 'iter3' && r.strategy === 'greedy' ? { ...r, report: report(0.5, 0.12, 0.9) } : r));
    const goals = evaluateGoals(data);
    assert.deepEqual(statuses(goals, 'heldout').slice(0, 2), ['met', 'met']);
    assert.equal(goals[4].status, 'not met');
    assert.equal(goals[4].detail, '0.1000 → 0.1200 (+20.0 %)');
  });

  it('missing runs, undefined numbers and a final model that is the baseline are not evaluated, never met', () => {
    const data = table({ runs: table().runs.filter((r) => !(r.split === 'hard' && r.strategy === 'cat')) });
    data.runs = data.runs.map((r) => (r.split === 'hard' && r.model === 'iter3' ? { ...r, report: report(0.5, null, null) } : r));
    const hard = evaluateGoals(data).filter((g) => g.split === 'hard');
    assert.deepEqual(
      hard.map((g) => g.status),
      ['not evaluated', 'not evaluated', 'met', 'not evaluated'],
    );
    assert.match(hard[3].detail, /no cat run of sft on hard/);

    const alone = evaluateGoals(table({ final: 'sft' }));
    assert.deepEqual(statuses(alone, 'heldout'), ['not evaluated', 'met', 'not evaluated', 'not evaluated']);

    const zero = table();
    zero.runs = zero.runs.map((r) => (r.model === 'sft' ? { ...r, report: report(0.99, 0, 0.9) } : r));
    assert.equal(evaluateGoals(zero)[0].status, 'not evaluated');
  });
});

describe('CASPO table goals of the shipped model and of the last iteration', () => {
  it('checks the final model, and the last model too when the final one is an earlier iteration', () => {
    const shipped = table({ final: 'iter1' });
    const { goals, lastGoals } = reportGoals(shipped);
    assert.deepEqual(goals, evaluateGoals(shipped));
    assert.match(goals[0].goal, /of iter1 at least 40 % below sft's/);
    assert.equal(goals[0].detail, '0.0500 → 0.0400 (−20.0 %)');
    assert.ok(lastGoals, 'iter3 comes after the final model: its goals are listed too');
    assert.deepEqual(lastGoals, evaluateGoals(table()));

    const md = renderMarkdown(shipped, goals, 'reliability.png', lastGoals);
    assert.match(md, /The final CASPO model: iter1\./);
    const lastSection = md.slice(md.indexOf('### The same goals for the last iteration, iter3'));
    assert.ok(lastSection.length > 0 && md.includes('### The same goals for the last iteration, iter3'), md);
    assert.match(lastSection, /\| hard \| CaT accuracy on iter3 above CaT on sft \| \*\*met\*\* \| 50\.0 % → 55\.0 % \|/);
  });

  it('lists no second table when the final model is the last one, or the baseline is', () => {
    assert.equal(reportGoals(table()).lastGoals, undefined);
    const onlyBaseline = table({ models: [{ label: 'sft', dir: 'models/sft' }], final: 'sft' });
    assert.equal(reportGoals(onlyBaseline).lastGoals, undefined);
    assert.doesNotMatch(renderMarkdown(table(), evaluateGoals(table())), /### The same goals/);
  });
});

describe('CASPO table markdown', () => {
  const data = table();
  const md = renderMarkdown(data, evaluateGoals(data));

  it('has one table per split with a row per model × strategy, in order', () => {
    for (const split of ['Held-out problems', 'Hard problems']) assert.match(md, new RegExp(`^## ${split}$`, 'm'));
    const rows = md.split('\n').filter((line) => /^\| (sft|iter1|iter3) \| (greedy|CaT) \|/.test(line));
    assert.equal(rows.length, 2 * 3 * 2);
    assert.deepEqual(
      rows.slice(0, 6).map((line) => line.split(' | ').slice(0, 2).join(' ')),
      ['| sft greedy', '| sft CaT', '| iter1 greedy', '| iter1 CaT', '| iter3 greedy', '| iter3 CaT'],
    );
    // accuracy, raw ECE, Brier, AUROC, Platt ECE, Platt Brier, steps, wrong steps, tokens, wall s
    assert.ok(rows.includes('| iter3 | greedy | 46.0 % | 0.0700 | 0.0350 | 0.8000 | 0.0100 | 0.0200 | 900 | 50 | 1,000 | 12.3 |'), md);
  });

  it('says how it was made, and lists the goals with their verdicts', () => {
    assert.match(md, /Written by `npm run caspo:table` on 2026-01-01/);
    assert.match(md, /Machine: Test CPU, 2 cores/);
    assert.match(md, /4 of 8 met\./);
    assert.match(md, /\| hard \| CaT accuracy on iter3 above CaT on sft \| \*\*met\*\* \| 50\.0 % → 55\.0 % \|/);
    assert.match(md, /\| heldout \| CaT accuracy on iter3 above CaT on sft \| not met \|/);
    assert.doesNotMatch(md, /Partial run/);
    assert.match(renderMarkdown({ ...data, limit: 20 }, []), /Partial run: only the first 20 problems/);
  });
});

describe('CASPO reliability diagram', () => {
  it('one panel per split with the diagonal, the baseline and the final model, and the bin counts', () => {
    const panels = reliabilityPanels(table());
    assert.deepEqual(
      panels.map((p) => [p.title, p.series.map((s) => s.label)]),
      [
        ['held-out', ['sft', 'iter3']],
        ['hard', ['sft', 'iter3']],
      ],
    );
    const svg = reliabilitySvg(panels, 'heading & <title>');
    assert.equal(svg.match(/class="diagonal"/g)?.length, 2);
    assert.equal(svg.match(/<polyline/g)?.length, 4);
    assert.equal(svg.match(/<circle/g)?.length, 4 * 4); // 4 non-empty bins per series
    assert.equal(svg.match(/class="count"/g)?.length, 4 * 10);
    const labels = [...svg.matchAll(/class="count-label"[^>]*>(\d+)</g)].map((m) => Number(m[1]));
    assert.deepEqual(labels.slice(0, 4), [1, 3, 10, 886]); // empty bins get a bar of height 0 and no label
    assert.match(svg, /heading &amp; &lt;title&gt;/);
  });
});
