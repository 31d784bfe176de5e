/**
 * Headroom benchmark: how much any answer-selection rule over K sampled solutions could gain over
 * greedy decoding, and whether the model's step confidence points at the right solution when one
 * was sampled. It asks why CaT does or does not beat greedy (issue 4's "above greedy" goal), with the
 * SFT model as the reference, side by side in one run.
 *
 *   npm run bench:headroom
 *   node --import tsx bench/headroom.ts [--models models/caspo-arith-sft,models/caspo-arith] [--samples 16]
 *        [--temperature 1] [--heldout 500] [--hard 200] [--threads 1] [--out docs/bench] [--no-write]
 *
 * Per problem and model: one greedy solution and K solutions sampled at T (one prefill, K forked
 * rows, seed perProblemSeed(0, i)), each step scored under every metric through the model's Platt
 * maps (caspo.json). Then:
 * - oracle: a sampled solution is right: the ceiling of any rule that picks among the K;
 * - each rule's answer (bench/headroom/analysis.ts): majority vote, best likelihood, the path of best
 *   CaT path score under each metric, CaT's confidence-weighted vote; right where greedy was wrong
 *   (fixes) and the reverse (breaks), with a paired bootstrap interval of the accuracy difference;
 * - forks: on problems greedy gets wrong and a sample gets right, the first step where the right
 *   sample parts from greedy, and whether that step (and the whole path) is more confident than
 *   greedy's.
 * Writes docs/bench/headroom.md and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { generate } from '../language-server/src/decoding/generate';
import type { GeneratedRow } from '../language-server/src/decoding/generate';
import { loadConfidenceCalibration, type StepMetric } from '../language-server/src/decoding/stepConfidence';
import { answersMatch } from '../language-server/src/cli/stepLabels';
import { perProblemSeed } from '../language-server/src/cli/sweep';
import { answerOf } from '../language-server/src/trace/types';
import { certainty, pairedDifference } from '../language-server/src/eval/bootstrap';
import { CausalLM } from '../language-server/src/model/causalLM';
import { machine } from './engine/environment';
import { forkFromGreedy, selectionRules, type Fork, type Solution } from './headroom/analysis';
import { parseArgs, pct, readProblems, signedPoints, type BenchProblem } from './util';

const root = resolve(__dirname, '..');
const MAX_NEW_TOKENS = 256;
const SETS = [
  { title: 'Held-out problems (in the training domain)', file: 'training/data/heldout.jsonl', arg: 'heldout', limit: 500 },
  { title: 'Hard problems (hard corner of the domain, and outside it)', file: 'training/data/hard.jsonl', arg: 'hard', limit: 200 },
];


interface RuleResult {
  id: string;
  describe: string;
  correct: number;
  fixes: number;
  breaks: number;
  /** 1/0 per problem. */
  perProblem: number[];
}

interface ForkRecord extends Fork {
  problem: string;
  kind?: string;
}

interface SetResult {
  title: string;
  file: string;
  problems: number;
  greedyCorrect: number;
  greedyPerProblem: number[];
  /** A sampled solution is right. */
  oracle: number;
  /** Greedy wrong and a sampled solution right. */
  recoverable: number;
  rules: RuleResult[];
  forks: ForkRecord[];
  sampledTokens: number;
  wallMs: number;
}

interface ModelResult {
  model: string;
  defaultMetric: StepMetric;
  sets: SetResult[];
}

function toSolution(row: GeneratedRow, expected: string): Solution {
  const answer = answerOf(row);
  return {
    answer,
    correct: answersMatch(answer, expected),
    logLikelihood: row.tokens.reduce((sum, token) => sum + token.logProb, 0),
    steps: row.steps.map((step) => ({ text: step.text, confidence: step.confidences })),
  };
}

async function runSet(model: CausalLM, modelDir: string, set: (typeof SETS)[number], problems: BenchProblem[], samples: number, temperature: number): Promise<SetResult> {
  const calibration = loadConfidenceCalibration(modelDir, model.config.vocabSize, 5);
  const metric = calibration.defaultMetric;
  const rules = selectionRules(metric);
  const results: RuleResult[] = rules.map((r) => ({ id: r.id, describe: r.describe, correct: 0, fixes: 0, breaks: 0, perProblem: [] }));
  const out: SetResult = { title: set.title, file: set.file, problems: problems.length, greedyCorrect: 0, greedyPerProblem: [], oracle: 0, recoverable: 0, rules: results, forks: [], sampledTokens: 0, wallMs: 0 };
  const started = performance.now();
  for (let i = 0; i < problems.length; i++) {
    const p = problems[i];
    const promptIds = model.tokenizer.encodePrompt(p.problem);
    const common = { promptIds, maxNewTokens: MAX_NEW_TOKENS, calibration, metric };
    const greedy = toSolution((await generate(model, common)).rows[0], p.answer);
    const sampled = await generate(model, { ...common, numRows: samples, sampling: { kind: 'sample', temperature, topP: 1, seed: perProblemSeed(0, i) } });
    out.sampledTokens += sampled.stats.generatedTokens;
    const solutions = sampled.rows.map((row) => toSolution(row, p.answer));
    out.greedyCorrect += Number(greedy.correct);
    out.greedyPerProblem.push(Number(greedy.correct));
    const anyRight = solutions.some((s) => s.correct);
    out.oracle += Number(anyRight);
    if (anyRight && !greedy.correct) {
      out.recoverable += 1;
      const fork = forkFromGreedy(greedy, solutions, metric);
      if (fork) out.forks.push({ problem: p.problem, ...(p.kind ? { kind: p.kind } : {}), ...fork });
    }
    rules.forEach((rule, r) => {
      const ok = answersMatch(rule.pick(solutions), p.answer);
      results[r].correct += Number(ok);
      results[r].fixes += Number(ok && !greedy.correct);
      results[r].breaks += Number(!ok && greedy.correct);
      results[r].perProblem.push(Number(ok));
    });
    if ((i + 1) % 50 === 0 || i + 1 === problems.length) {
      process.stderr.write(`${relative(root, modelDir)} ${set.file} ${i + 1}/${problems.length} (${((performance.now() - started) / 1000).toFixed(0)} s): greedy ${out.greedyCorrect}, oracle ${out.oracle}\n`);
    }
  }
  out.wallMs = performance.now() - started;
  return out;
}


const f3 = (x: number) => x.toFixed(3);

function intervalAgainstGreedy(rule: RuleResult, set: SetResult): string {
  const interval = pairedDifference(rule.perProblem, set.greedyPerProblem);
  if (!interval) return '';
  return `${signedPoints(interval.low)} … ${signedPoints(interval.high)} pt (${certainty(interval, 0, true).replace(' the goal', '')})`;
}

function setSection(models: ModelResult[], s: number): string[] {
  const first = models[0].sets[s];
  const lines = ['', `## ${first.title}`, '', `\`${first.file}\`, ${first.problems} problems.`, ''];
  const head = ['model', 'greedy', `oracle (a sample right)`, 'greedy wrong, a sample right', 'sampled tokens', 'wall s'];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const m of models) {
    const set = m.sets[s];
    lines.push(`| ${[m.model, pct(set.greedyCorrect, set.problems), pct(set.oracle, set.problems), String(set.recoverable), set.sampledTokens.toLocaleString('en-US'), (set.wallMs / 1000).toFixed(1)].join(' | ')} |`);
  }
  lines.push('', 'Each rule picks one answer from the same K sampled solutions. "Fixes": right where greedy was wrong; "breaks": wrong where greedy was right; the interval is the 95 % paired bootstrap interval of the accuracy difference against greedy, and whether all of it is above zero (clears), below or at it (misses), or both (straddles).', '');
  const ruleHead = ['rule', ...models.flatMap((m) => [`${m.model}: accuracy`, 'fixes', 'breaks', 'vs greedy'])];
  lines.push(`| ${ruleHead.join(' | ')} |`, `|${ruleHead.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (let r = 0; r < first.rules.length; r++) {
    const cells = models.flatMap((m) => {
      const set = m.sets[s];
      const rule = set.rules[r];
      return [pct(rule.correct, set.problems), String(rule.fixes), String(rule.breaks), intervalAgainstGreedy(rule, set)];
    });
    lines.push(`| ${[`${first.rules[r].id}: ${first.rules[r].describe}`, ...cells].join(' | ')} |`);
  }
  for (const m of models) {
    const set = m.sets[s];
    const forks = set.forks;
    lines.push('', `**Forks, ${m.model}** (confidence: ${m.defaultMetric} through its Platt map). Problems greedy gets wrong and a sample gets right: ${set.recoverable}; with a fork (the right sample of best path score parts from greedy at some step): ${forks.length}.`);
    if (forks.length === 0) continue;
    const stepWins = forks.filter((f) => f.rightConfidence > f.greedyConfidence).length;
    const pathWins = forks.filter((f) => f.rightPathScore > f.greedyPathScore).length;
    lines.push(
      `At the fork the right step is the more confident one in ${stepWins} of ${forks.length}; over the whole path the right solution scores higher in ${pathWins} of ${forks.length} (CaT can only prefer it in those).`,
      '',
      '| problem | fork step | right step (confidence) | greedy step (confidence) | path score right / greedy |',
      '|---|---:|---|---|---:|',
      ...forks.map((f) => `| ${f.problem}${f.kind ? ` (${f.kind})` : ''} | ${f.step + 1} | \`${f.rightText}\` (${f3(f.rightConfidence)}) | \`${f.greedyText}\` (${f3(f.greedyConfidence)}) | ${f.rightPathScore.toFixed(2)} / ${f.greedyPathScore.toFixed(2)} |`),
    );
  }
  return lines;
}

function markdown(report: Report): string {
  const m = report.machine;
  return [
    '# Headroom: what any selection over sampled solutions could gain over greedy',
    '',
    `Written by \`npm run bench:headroom\` (\`node --import tsx bench/headroom.ts\`) on ${report.date}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}, CPU execution provider, ${report.threads} intra-op thread(s). Load average at start / end: ${report.loadAverage.start.map((x) => x.toFixed(2)).join(' ')} / ${report.loadAverage.end.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `Per problem and model: a greedy solution and K = ${report.samples} solutions sampled at T = ${report.temperature} (problem i: seed perProblemSeed(0, i)), at most ${MAX_NEW_TOKENS} tokens each, every step scored under every metric through the model's Platt maps. CaT ranks paths by the same path score (Σ log step confidence under the model's default metric) over candidates drawn the same way, so a rule that never beats greedy here bounds what CaT can gain at this temperature; the oracle bounds any rule. Models: ${report.models.map((x) => `\`${x.model}\` (default metric ${x.defaultMetric})`).join(', ')}; the first is the reference.`,
    ...report.models[0].sets.flatMap((_, s) => setSection(report.models, s)),
    '',
  ].join('\n');
}

interface Report {
  date: string;
  machine: ReturnType<typeof machine>;
  threads: number;
  samples: number;
  temperature: number;
  loadAverage: { start: number[]; end: number[] };
  models: ModelResult[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const modelDirs = String(typeof args.models === 'string' ? args.models : 'models/caspo-arith-sft,models/caspo-arith')
    .split(',')
    .map((dir) => resolve(root, dir.trim()));
  const samples = Number(args.samples ?? 16);
  const temperature = Number(args.temperature ?? 1);
  const threads = Number(args.threads ?? 1);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples must be a positive integer, got ${args.samples}`);
  if (!(temperature > 0)) throw new Error(`--temperature must be above 0, got ${args.temperature}`);
  const start = loadavg();
  const models: ModelResult[] = [];
  for (const dir of modelDirs) {
    const model = await CausalLM.load(dir, { executionProvider: 'cpu', intraOpNumThreads: threads });
    try {
      const sets: SetResult[] = [];
      for (const set of SETS) {
        const limit = Number(args[set.arg] ?? set.limit);
        if (limit <= 0) continue;
        sets.push(await runSet(model, dir, set, readProblems(join(root, set.file), limit), samples, temperature));
      }
      models.push({ model: relative(root, dir), defaultMetric: loadConfidenceCalibration(dir, model.config.vocabSize, 5).defaultMetric, sets });
    } finally {
      await model.dispose();
    }
  }
  const report: Report = { date: new Date().toISOString(), machine: machine(), threads, samples, temperature, loadAverage: { start, end: loadavg() }, models };
  const text = markdown(report);
  process.stdout.write(`${text}\n`);
  if (args['no-write'] !== true) {
    const outDir = resolve(root, typeof args.out === 'string' ? args.out : join('docs', 'bench'));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'headroom.md'), text);
    writeFileSync(join(outDir, 'headroom.json'), `${JSON.stringify(report)}\n`);
    process.stderr.write(`wrote ${relative(root, join(outDir, 'headroom.md'))} and headroom.json\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
