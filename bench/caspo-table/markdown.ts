/** docs/caspo/calibration.md from the table data (pure). */
import { BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES } from '../../language-server/src/eval/bootstrap';
import type { GoalCheck, GoalInterval } from './goals';
import type { TableData, TableRun } from './types';
import { signedPoints } from '../util';
import { STEP_METRICS, type StepMetric } from '../../language-server/src/decoding/stepConfidence';

const STRATEGY_LABEL: Record<string, string> = { greedy: 'greedy', cat: 'CaT' };

export function renderMarkdown(data: TableData, goals: readonly GoalCheck[], pngName = 'reliability.png', lastGoals?: readonly GoalCheck[]): string {
  const m = data.machine as Record<string, string | number>;
  const eps = [...new Set(data.runs.map((r) => r.report.executionProvider).filter(Boolean))].join(', ') || 'unknown';
  const catSettings = data.runs.find((r) => r.strategy === 'cat')?.report.settings;
  const perModel = data.models.map((model) => `${model.label}: ${data.runs.find((r) => r.model === model.label)?.report.metric ?? '?'}`);
  const metric = data.metric
    ? `${data.metric} for every model (\`--metric ${data.metric}\`)`
    : `each model's default metric from its caspo.json (${perModel.join(', ')})`;
  const lines = [
    '# CASPO: calibration and accuracy before and after alignment',
    '',
    `Written by \`${data.command}\` on ${data.generatedAt}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}, ` +
      `execution provider ${eps}, ${data.threads ?? 1} intra-op thread(s).`,
    '',
    `Models: ${data.models.map((model) => `\`${model.dir}\``).join(', ')}. Baseline: ${data.baseline}; final CASPO model: ${data.final}.`,
    '',
    'Each row is one `caspo eval --json --confidence raw --strategy greedy|cat` run: accuracy of the answer ' +
      '(CaT: its best path), and how well the step confidence predicts the exact verifier\'s step label. ' +
      `**ECE, Brier and AUROC score the raw confidence** — the model's own, ${metric}, through the default mapping ` +
      '(geoMeanProb = exp of the mean token log-prob, minProb = the lowest token probability, used as probabilities), no Platt map — since CASPO claims to calibrate the model itself. ' +
      '"ECE (Platt)" and "Brier (Platt)" score the same steps through the Platt map fitted on held-out data (the model\'s caspo.json), ' +
      'which is what the editor shows. ECE over 10 equal-width bins. ' +
      `CaT decodes with the calibrated confidence (its pruning threshold applies to it), default settings${
        catSettings ? ` (${JSON.stringify(catSettings)})` : ''
      }; its tokens count every candidate, pruned ones included. Wall time: the decoding, model load excluded.`,
    '',
  ];
  const reused = [...new Set(data.runs.map((r) => r.reusedFrom).filter(Boolean))];
  if (reused.length > 0) {
    lines.push(`† Row taken from an earlier run of this command (\`--reuse\`, generated ${reused.join(', ')}) with the same model folder and files, split, strategy, limit and metric (and, for CaT, the same settings).`, '');
  }
  if (data.limit !== null) lines.push(`**Partial run: only the first ${data.limit} problems of each split.**`, '');
  for (const split of data.splits) {
    const runs = data.runs.filter((r) => r.split === split.name);
    const n = runs[0]?.report.n;
    lines.push(`## ${split.describe}`, '', `\`${split.file}\`${n !== undefined ? `, ${n} problems` : ''}.`, '', ...splitTable(runs, data), '');
  }
  const goalTable = (checks: readonly GoalCheck[]) => {
    lines.push(`${checks.filter((g) => g.status === 'met').length} of ${checks.length} met.`, '');
    lines.push(`| split | goal | status | numbers | ${Math.round(100 * BOOTSTRAP_LEVEL)} % interval |`, '|---|---|---|---|---|');
    for (const g of checks) {
      lines.push(`| ${g.split} | ${g.goal} | ${g.status === 'met' ? '**met**' : g.status} | ${g.detail} | ${g.interval ? intervalText(g.interval) : 'n/a'} |`);
    }
  };
  lines.push(
    '## Goals',
    '',
    `The final CASPO model: ${data.final}.`,
    '',
    `Status compares the measured numbers. The interval is a paired bootstrap over problems (${BOOTSTRAP_RESAMPLES} resamples of the split's ` +
      'problems with replacement, the same draws for both models, from `caspo eval --per-problem`): the range of the goal\'s number ' +
      '(ECE reduction, AUROC, accuracy difference) another draw of problems of the same kind could give, and whether all of it ' +
      '*clears* the goal, all of it *misses* it, or it *straddles* the goal (then the verdict rests on a few problems). ' +
      'n/a: a row without per-problem records (reused from a table that predates them).',
    '',
  );
  goalTable(goals);
  if (lastGoals && lastGoals.length > 0) {
    const last = data.models[data.models.length - 1].label;
    lines.push('', `### The same goals for the last iteration, ${last}`, '');
    goalTable(lastGoals);
  }
  lines.push('', ...metricSection(data));
  lines.push(
    '',
    '## Reliability',
    '',
    `![Reliability diagram: raw step confidence bins against step accuracy, ${data.baseline} vs ${data.final}, greedy](${pngName})`,
    '',
    `Raw step confidence (greedy) in 10 bins against the fraction of those steps that are correct, ${data.baseline} and ${data.final}; ` +
      'points on the diagonal are calibrated. The bars below count the steps in each bin (log scale).',
    '',
  );
  return lines.join('\n');
}

/**
 * Every metric's raw ECE (greedy), so that the ECE goal, which compares each model's default metric,
 * can also be read with one metric for both models: how much of a reduction is the model and how much
 * the metric its calibration picked.
 */
function metricSection(data: TableData): string[] {
  const greedy = data.runs.filter((r) => r.strategy === 'greedy' && r.report.eceByMetric);
  if (greedy.length === 0) return [];
  const out = [
    '## ECE by confidence metric (greedy, raw)',
    '',
    'The goals score each model\'s default metric (its caspo.json picks the metric with the best AUROC on the calibration split). ' +
      'Every metric\'s raw ECE, from the same runs (`eceByMetric` of `caspo eval`; meanEntropy as exp(−mean entropy), deepConf through the engine\'s default map):',
    '',
  ];
  for (const split of data.splits) {
    const runs = greedy.filter((r) => r.split === split.name);
    if (runs.length === 0) continue;
    if (out[out.length - 1] !== '') out.push('');
    out.push(`**${split.name}**`, '', `| model | default metric | ${STEP_METRICS.join(' | ')} |`, `|---|---|${STEP_METRICS.map(() => '---:').join('|')}|`);
    for (const run of runs) {
      const by = run.report.eceByMetric!;
      out.push(`| ${run.model} | ${run.report.metric ?? '?'} | ${STEP_METRICS.map((m) => num(by[m] ?? null)).join(' | ')} |`);
    }
    const base = runs.find((r) => r.model === data.baseline)?.report;
    const final = runs.find((r) => r.model === data.final)?.report;
    if (base?.metric && final?.metric && base.metric !== final.metric) {
      const same = (metric: StepMetric) => {
        const a = base.eceByMetric?.[metric] ?? null;
        const b = final.eceByMetric?.[metric] ?? null;
        return a === null || b === null || a === 0 ? `${metric}: n/a` : `${metric} ${num(a)} → ${num(b)} (${signedPoints((b - a) / a)} %)`;
      };
      out.push('', `${data.final} vs ${data.baseline} with one metric for both: ${same(base.metric)}; ${same(final.metric)}.`);
    }
  }
  return out;
}

function intervalText(i: GoalInterval): string {
  const show = (x: number) =>
    i.unit === 'number' ? x.toFixed(3) : i.unit === 'percent' ? `${x < 0 ? '−' : ''}${Math.abs(100 * x).toFixed(1)} %` : `${signedPoints(x)} pt`;
  // Draws without a defined value (e.g. no wrong step drawn, for AUROC) are left out: say how many, since the
  // interval is then conditional on the others.
  const undefinedDraws = BOOTSTRAP_RESAMPLES - i.resamples;
  const note = undefinedDraws > 0 ? ` (${undefinedDraws} of ${BOOTSTRAP_RESAMPLES} draws undefined, left out)` : '';
  return `${i.of} ${show(i.low)} … ${show(i.high)}: ${i.certainty}${note}`;
}

function splitTable(runs: readonly TableRun[], data: TableData): string[] {
  const head = ['model', 'strategy', 'accuracy', 'ECE', 'Brier', 'AUROC', 'ECE (Platt)', 'Brier (Platt)', 'steps', 'wrong steps', 'tokens', 'wall s'];
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const model of data.models) {
    for (const strategy of data.strategies) {
      const run = runs.find((r) => r.model === model.label && r.strategy === strategy);
      if (!run) continue;
      const r = run.report;
      out.push(
        `| ${[
          model.label,
          STRATEGY_LABEL[strategy] ?? strategy,
          pct(r.accuracy),
          num(r.ece),
          num(r.brier),
          num(r.stepAUROC),
          num(r.platt?.ece ?? null),
          num(r.platt?.brier ?? null),
          r.steps.toLocaleString('en-US'),
          (r.steps - r.correctSteps).toLocaleString('en-US'),
          r.generatedTokens.toLocaleString('en-US'),
          `${(r.wallMs / 1000).toFixed(1)}${run.reusedFrom ? ' †' : ''}`,
        ].join(' | ')} |`,
      );
    }
  }
  return out;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

function num(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(4);
}
