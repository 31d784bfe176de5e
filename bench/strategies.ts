/**
 * Strategy benchmark: every decoding strategy of the engine on the same problems, side by side in
 * one run, at equal budget.
 *
 *   npm run bench:strategies
 *   node --import tsx bench/strategies.ts [--model DIR] [--heldout 500] [--hard 200] [--threads 1] [--out docs/bench] [--no-write]
 *   node --import tsx bench/strategies.ts --from-json docs/bench/strategies.json   (re-render the markdown only)
 *
 * --model: default models/caspo-arith-sft (written to strategies.md); another model writes
 * strategies-<folder name>.md/.json, e.g. `npm run bench:strategies -- --model models/caspo-arith`.
 *
 * Sets: the held-out split (training/data/heldout.jsonl, in the training domain, where the SFT model
 * is 99 % right greedily) and training/data/hard.jsonl (python3 -m caspo_train.hard: the domain's hard
 * corner, 5 operations, and products of two 3-digit numbers), each truncated to the first N problems.
 *
 * Budget: the sampling strategies draw K = 10 solutions. For each problem, sc@10 runs first and the
 * number of steps it decoded (10 × its solutions' length) becomes the step budget of beam search and
 * CaT on that problem, so no tree search may expand more candidate steps than self-consistency did;
 * b · w = 10 candidates per round for the main rows, as sc decodes 10 rows per step. A light CaT row
 * (b = 3, w = 2) tests the token goal. The SFT model is so peaked that T = 1 samples mostly repeat
 * greedy's steps, so sc and CaT also run at T = 2 (CaT's budget then from sc@10 at T = 2). All
 * strategies run on problem i before any runs on problem i+1, so load from other processes falls on
 * all of them alike; problem i gets seed perProblemSeed(0, i).
 *
 * Columns: accuracy of the strategy's answer (CaT: best path; its confidence-weighted vote beside
 * it), generated tokens (every row and candidate, pruned and duplicate ones included), forward
 * passes, candidate steps expanded, wall time, and the share of time in the confidence pass
 * (per-token scan + choice + scoring candidate steps).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { loadConfidenceCalibration } from '../language-server/src/decoding/stepConfidence';
import { runStrategy } from '../language-server/src/decoding/strategies';
import type { StrategyName, StrategySettings } from '../language-server/src/decoding/strategyResult';
import { answersMatch } from '../language-server/src/cli/stepLabels';
import { perProblemSeed } from '../language-server/src/cli/sweep';
import { BOOTSTRAP_RESAMPLES, certainty, pairedDifference } from '../language-server/src/eval/bootstrap';
import { CausalLM } from '../language-server/src/model/causalLM';
import { machine } from './engine/environment';
import { parseArgs, pct, readProblems, signedPoints, type BenchProblem } from './util';

const root = resolve(__dirname, '..');
const DEFAULT_MODEL_DIR = join(root, 'models', 'caspo-arith-sft');
const HELDOUT_FILE = 'training/data/heldout.jsonl';
const HARD_FILE = 'training/data/hard.jsonl';
const SET_NOTES: Record<string, string> = {
  [HELDOUT_FILE]: "In the SFT model's training domain (and the CASPO pool's); the greedy row is this model's own accuracy.",
  [HARD_FILE]:
    'edge: products of 80-99 by 800-999 in 3-4 operations (in the domain, held-out hash); ops5: five operations (SFT training has 2-4; the CASPO pool samples other problems of this kind); bigmul: a product of two 3-digit numbers (outside the domain of both).',
};
const MODEL_NOTES: Record<string, string> = {
  'models/caspo-arith-sft': ' (the SFT model, no CASPO alignment)',
  'models/caspo-arith': ' (the embedded default: the SFT model after CASPO alignment, docs/caspo/calibration.md)',
};
let MODEL_DIR = DEFAULT_MODEL_DIR;
const K = 10;
const MAX_NEW_TOKENS = 256;


interface Row {
  label: string;
  strategy: StrategyName;
  /** Settings for a problem; `budget` is the step count of the row named by `budgetFrom` on it. */
  settings: (seed: number, budget: number) => StrategySettings;
  /** The sc row whose decoded steps set this row's budget (it runs first on each problem). */
  budgetFrom?: string;
  describe: string;
}

const fixed = (value: number) => ({ kind: 'fixed', value }) as const;
const tree =
  (branches: number, threshold: StrategySettings['threshold'], temperature: number, extra: Pick<StrategySettings, 'greedyFirst' | 'branchBelow'> = {}) =>
  (seed: number, budget: number) => ({
    branches,
    width: 2,
    budget,
    temperature,
    seed,
    ...(threshold ? { threshold } : {}),
    ...extra,
  });
/** CaT rows that draw every candidate (greedyFirst off; CaT's default makes candidate 0 the greedy step). */
const DRAWN = { greedyFirst: false } as const;
const ROWS: Row[] = [
  { label: 'greedy', strategy: 'greedy', settings: () => ({}), describe: 'one row, argmax' },
  { label: 'sc@10', strategy: 'sc', settings: (seed) => ({ samples: K, temperature: 1, seed }), describe: 'K = 10 rows at T = 1, majority vote' },
  { label: 'bok@10', strategy: 'bok', settings: (seed) => ({ samples: K, temperature: 1, seed }), describe: 'K = 10 rows at T = 1, highest log-likelihood' },
  { label: 'beam b5 w2', strategy: 'beam', settings: tree(5, undefined, 1), budgetFrom: 'sc@10', describe: "b = 5, w = 2 by cumulative log-prob, T = 1, budget = sc@10's steps" },
  { label: 'cat b5 w2 τ0.5', strategy: 'cat', settings: tree(5, fixed(0.5), 1, DRAWN), budgetFrom: 'sc@10', describe: "b = 5, w = 2, τ = 0.5, T = 1, every candidate drawn, budget = sc@10's steps" },
  {
    label: 'cat b5 w2 p10',
    strategy: 'cat',
    settings: tree(5, { kind: 'percentile', percentile: 10, warmupSteps: 8 }, 1, DRAWN),
    budgetFrom: 'sc@10',
    describe: "b = 5, w = 2, adaptive τ = 10th percentile of an 8-step warm-up, T = 1, every candidate drawn, budget = sc@10's steps",
  },
  { label: 'cat b3 w2 τ0.5', strategy: 'cat', settings: tree(3, fixed(0.5), 1, DRAWN), budgetFrom: 'sc@10', describe: "b = 3, w = 2, τ = 0.5, T = 1, every candidate drawn (--first-candidate sampled), budget = sc@10's steps" },
  {
    label: 'cat b3 w2 τ0.5 g',
    strategy: 'cat',
    settings: tree(3, fixed(0.5), 1, { greedyFirst: true }),
    budgetFrom: 'sc@10',
    describe: "b = 3, w = 2, τ = 0.5, T = 1, candidate 0 greedy and 2 drawn (CaT's default settings), budget = sc@10's steps",
  },
  {
    label: 'cat b6 w2 τ0.5 g σ0.99',
    strategy: 'cat',
    settings: tree(6, fixed(0.5), 1, { greedyFirst: true, branchBelow: 0.99 }),
    budgetFrom: 'sc@10',
    describe: "b = 6, w = 2, τ = 0.5, T = 1, candidate 0 greedy, the other 5 drawn only where its confidence is below σ = 0.99 (--branch-below 0.99), budget = sc@10's steps",
  },
  // T = 2: more diverse samples (the SFT model is so peaked that T = 1 samples mostly repeat greedy's steps).
  { label: 'sc@10 T2', strategy: 'sc', settings: (seed) => ({ samples: K, temperature: 2, seed }), describe: 'K = 10 rows at T = 2, majority vote' },
  { label: 'cat b5 w2 τ0.5 T2', strategy: 'cat', settings: tree(5, fixed(0.5), 2, DRAWN), budgetFrom: 'sc@10 T2', describe: "b = 5, w = 2, τ = 0.5, T = 2, every candidate drawn, budget = sc@10 T2's steps" },
  { label: 'cat b3 w2 τ0.5 T2', strategy: 'cat', settings: tree(3, fixed(0.5), 2, DRAWN), budgetFrom: 'sc@10 T2', describe: "b = 3, w = 2, τ = 0.5, T = 2, every candidate drawn, budget = sc@10 T2's steps" },
];

interface Totals {
  label: string;
  strategy: StrategyName;
  describe: string;
  problems: number;
  correct: number;
  voteCorrect: number;
  noAnswer: number;
  generatedTokens: number;
  forwardPasses: number;
  expandedSteps: number;
  wallMs: number;
  confidenceMs: number;
  byKind: Record<string, { n: number; correct: number }>;
  /** 1/0 per problem: the answer was right. */
  perProblem: number[];
}

async function benchSet(model: CausalLM, name: string, problems: BenchProblem[]): Promise<Totals[]> {
  const calibration = loadConfidenceCalibration(MODEL_DIR, model.config.vocabSize, 5);
  const totals: Totals[] = ROWS.map((row) => ({
    label: row.label,
    strategy: row.strategy,
    describe: row.describe,
    problems: 0,
    correct: 0,
    voteCorrect: 0,
    noAnswer: 0,
    generatedTokens: 0,
    forwardPasses: 0,
    expandedSteps: 0,
    wallMs: 0,
    confidenceMs: 0,
    byKind: {},
    perProblem: [],
  }));
  // Rows that set a budget run before the rows that take it.
  const order = ROWS.map((_, i) => i).sort((a, b) => Number(ROWS[a].budgetFrom !== undefined) - Number(ROWS[b].budgetFrom !== undefined));
  const started = performance.now();
  for (let p = 0; p < problems.length; p++) {
    const { problem, answer, kind } = problems[p];
    const promptIds = model.tokenizer.encodePrompt(problem);
    const seed = perProblemSeed(0, p);
    const steps = new Map<string, number>();
    for (const r of order) {
      const row = ROWS[r];
      const budget = row.budgetFrom === undefined ? 0 : (steps.get(row.budgetFrom) as number);
      const result = await runStrategy(model, row.strategy, { promptIds, maxNewTokens: MAX_NEW_TOKENS, calibration }, row.settings(seed, budget));
      steps.set(row.label, result.stats.expandedSteps);
      const t = totals[r];
      const ok = answersMatch(result.answer, answer);
      t.problems += 1;
      t.correct += Number(ok);
      t.voteCorrect += Number(result.vote ? answersMatch(result.vote.answer, answer) : ok);
      t.noAnswer += Number(result.answer === null);
      t.generatedTokens += result.stats.generatedTokens;
      t.forwardPasses += result.stats.forwardPasses;
      t.expandedSteps += result.stats.expandedSteps;
      t.wallMs += result.stats.wallMs;
      t.confidenceMs += result.stats.confidenceMs;
      t.perProblem.push(Number(ok));
      const bucket = (t.byKind[kind ?? 'all'] ??= { n: 0, correct: 0 });
      bucket.n += 1;
      bucket.correct += Number(ok);
    }
    if ((p + 1) % 25 === 0 || p + 1 === problems.length) {
      const summary = totals.map((t) => `${t.label} ${((100 * t.correct) / t.problems).toFixed(1)}%`).join(' · ');
      process.stderr.write(`${name} ${p + 1}/${problems.length} (${((performance.now() - started) / 1000).toFixed(0)} s): ${summary}\n`);
    }
  }
  return totals;
}



function table(totals: Totals[], kinds: string[]): string {
  const sc = totals.find((t) => t.strategy === 'sc') as Totals;
  const head = ['strategy', 'accuracy', 'CaT vote', ...kinds.map((k) => `acc. ${k}`), 'no answer', 'tokens', 'tokens / sc@10', 'forwards', 'candidate steps', 'wall s', 'ms / problem', 'confidence share'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const t of totals) {
    lines.push(
      `| ${[
        t.label,
        pct(t.correct, t.problems),
        t.strategy === 'cat' ? pct(t.voteCorrect, t.problems) : '',
        ...kinds.map((k) => (t.byKind[k] ? pct(t.byKind[k].correct, t.byKind[k].n) : '')),
        String(t.noAnswer),
        t.generatedTokens.toLocaleString('en-US'),
        (t.generatedTokens / sc.generatedTokens).toFixed(3),
        t.forwardPasses.toLocaleString('en-US'),
        t.expandedSteps.toLocaleString('en-US'),
        (t.wallMs / 1000).toFixed(1),
        (t.wallMs / t.problems).toFixed(1),
        pct(t.confidenceMs, t.wallMs),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function goals(totals: Totals[]): string[] {
  const greedy = totals.find((t) => t.strategy === 'greedy') as Totals;
  return totals
    .filter((t) => t.strategy === 'cat')
    .map((t) => {
      // Against self-consistency at the same temperature (the row that set its budget).
      const scLabel = ROWS.find((row) => row.label === t.label)?.budgetFrom as string;
      const sc = totals.find((x) => x.label === scLabel) as Totals;
      const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
      const tokens = t.generatedTokens / sc.generatedTokens;
      return (
        `- ${t.label}: accuracy ≥ ${sc.label} (${pct(t.correct, t.problems)} vs ${pct(sc.correct, sc.problems)}): ${verdict(t.correct >= sc.correct)}` +
        `${pairedInterval(t, sc, false)}; ` +
        `tokens ≤ 1/3 of ${sc.label}'s (${tokens.toFixed(3)}×): ${verdict(tokens <= 1 / 3)}; ` +
        `accuracy > greedy (${pct(greedy.correct, greedy.problems)}): ${verdict(t.correct > greedy.correct)}${pairedInterval(t, greedy, true)}.`
      );
    });
}

/**
 * " (difference −0.4 … +0.6 pt, straddles the goal)": the 95 % paired bootstrap interval over problems of
 * `row`'s accuracy minus `other`'s (the same draws for both), and where it lies with respect to the goal
 * "≥" (or "> " when `strict`); empty when the rows lack per-problem results.
 */
function pairedInterval(row: Totals, other: Totals, strict: boolean): string {
  if (row.perProblem.length === 0 || other.perProblem.length !== row.perProblem.length) return '';
  const interval = pairedDifference(row.perProblem, other.perProblem);
  if (!interval) return '';
  return ` (difference ${signedPoints(interval.low)} … ${signedPoints(interval.high)} pt, ${certainty(interval, 0, strict)})`;
}

/** Per strategy: problems it got right where greedy did not, and the reverse. */
function flips(totals: Totals[]): string[] {
  const greedy = totals.find((t) => t.strategy === 'greedy') as Totals;
  return totals
    .filter((t) => t !== greedy)
    .map((t) => {
      const gained = t.perProblem.filter((ok, i) => ok === 1 && greedy.perProblem[i] === 0).length;
      const lost = t.perProblem.filter((ok, i) => ok === 0 && greedy.perProblem[i] === 1).length;
      return `- ${t.label}: right where greedy was wrong on ${gained} problem(s), wrong where greedy was right on ${lost}.`;
    });
}

function markdown(report: Report): string {
  const m = report.machine;
  const model = report.model ?? relative(root, MODEL_DIR);
  const out = [
    '# Decoding strategies: CaT against its baselines',
    '',
    `Written by \`npm run bench:strategies\` (\`node --import tsx bench/strategies.ts\`) on ${report.date}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}, CPU execution provider, ${report.threads} intra-op thread(s). ` +
      `Load average at start / end: ${report.loadAverage.start.map((x) => x.toFixed(2)).join(' ')} / ${report.loadAverage.end.map((x) => x.toFixed(2)).join(' ')} (a shared machine: other processes ran too).`,
    '',
    `Model: \`${model}\`${MODEL_NOTES[model] ?? ''}, confidence ${report.metric} with the Platt map of its caspo.json, at most ${MAX_NEW_TOKENS} tokens per path.`,
    '',
    'Budget: the sampling strategies draw K = 10 solutions; on each problem sc@10 runs first and the number of steps it decoded becomes the candidate-step budget of beam search and CaT there (the T = 2 rows take sc@10 T2\'s), so a tree search never expands more steps than self-consistency did. b · w = 10 for the main tree rows (10 rows per step, as sc). All strategies run on a problem before the next problem starts; problem i uses seed perProblemSeed(0, i). Tokens ratios in the table are against sc@10 (T = 1); the goal lines compare each CaT row with sc@10 at its own temperature.',
    '',
    'Columns: accuracy of the answer each strategy gives (CaT: the completed path of best path score; "CaT vote": its confidence-weighted vote); "no answer": problems where the strategy gave none (the budget ran out first); tokens: every token generated, in all rows and candidates (pruned and duplicate ones included); forwards: model forward calls (each carries all rows of one length); candidate steps: steps expanded (sc/bok/greedy: steps decoded in all rows); confidence share: time in the per-token confidence pass and token choice plus scoring candidate steps, over wall time.',
    '',
    'Rows:',
    ...ROWS.map((r) => `- ${r.label}: ${r.describe}`),
    '',
    "How much any choice among sampled solutions could gain over greedy on these problems, and whether the model's step confidence favours the right solution where one was sampled (the bound on CaT's gain over greedy): `npm run bench:headroom`, docs/bench/headroom.md.",
  ];
  for (const set of report.sets) {
    out.push(
      '',
      `## ${set.title}`,
      '',
      `\`${set.file}\`, ${set.problems} problems${set.kinds.length > 1 ? ` (${set.kinds.map((k) => `${set.kindCounts[k]} ${k}`).join(', ')})` : ''}. ${SET_NOTES[set.file] ?? ''}`,
      '',
      table(set.totals, set.kinds.length > 1 ? set.kinds : []),
      '',
      'Goals (CaT accuracy ≥ sc@10 with at most a third of its tokens, and above greedy). In brackets: the 95 % interval of the ' +
        `accuracy difference in a paired bootstrap over the problems (${BOOTSTRAP_RESAMPLES} draws with replacement, the same draws for both rows), ` +
        'and whether all of it clears the goal, all of it misses it, or it straddles it (the verdict then rests on a few problems):',
      '',
      ...goals(set.totals),
      '',
      'Against greedy, problem by problem:',
      '',
      ...flips(set.totals),
    );
  }
  out.push('');
  return out.join('\n');
}

interface SetReport {
  title: string;
  file: string;
  problems: number;
  kinds: string[];
  kindCounts: Record<string, number>;
  totals: Totals[];
}

interface Report {
  date: string;
  machine: ReturnType<typeof machine>;
  threads: number;
  /** Model folder, relative to the repository (older runs: absent, then --model or the default). */
  model?: string;
  metric: string;
  loadAverage: { start: number[]; end: number[] };
  sets: SetReport[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args['from-json'] === 'string') {
    const report = JSON.parse(readFileSync(resolve(root, args['from-json']), 'utf8')) as Report;
    report.model ??= relative(root, typeof args.model === 'string' ? resolve(root, args.model) : DEFAULT_MODEL_DIR);
    const file = resolve(root, args['from-json']).replace(/\.json$/, '.md');
    writeFileSync(file, markdown(report));
    process.stderr.write(`wrote ${relative(root, file)} from ${args['from-json']}\n`);
    return;
  }
  const heldoutLimit = Number(args.heldout ?? 500);
  const hardLimit = Number(args.hard ?? 200);
  const threads = Number(args.threads ?? 1);
  if (typeof args.model === 'string') MODEL_DIR = resolve(root, args.model);
  const baseName = MODEL_DIR === DEFAULT_MODEL_DIR ? 'strategies' : `strategies-${basename(MODEL_DIR)}`;
  const outDir = resolve(root, typeof args.out === 'string' ? args.out : join('docs', 'bench'));
  const start = loadavg();
  const model = await CausalLM.load(MODEL_DIR, { executionProvider: 'cpu', intraOpNumThreads: threads });
  const sets: SetReport[] = [];
  try {
    const plan = [
      { title: 'Held-out problems (in the training domain)', file: HELDOUT_FILE, limit: heldoutLimit },
      { title: 'Hard problems (hard corner of the domain, and outside it)', file: HARD_FILE, limit: hardLimit },
    ];
    for (const item of plan) {
      if (item.limit <= 0) continue;
      const problems = readProblems(join(root, item.file), item.limit);
      const kinds = [...new Set(problems.map((p) => p.kind ?? 'all'))];
      const kindCounts = Object.fromEntries(kinds.map((k) => [k, problems.filter((p) => (p.kind ?? 'all') === k).length]));
      const totals = await benchSet(model, item.file, problems);
      sets.push({ title: item.title, file: item.file, problems: problems.length, kinds, kindCounts, totals });
    }
  } finally {
    await model.dispose();
  }
  const report: Report = {
    date: new Date().toISOString(),
    machine: machine(),
    threads,
    model: relative(root, MODEL_DIR),
    metric: loadConfidenceCalibration(MODEL_DIR, 259, 5).defaultMetric,
    loadAverage: { start, end: loadavg() },
    sets,
  };
  const text = markdown(report);
  process.stdout.write(`${text}\n`);
  if (args['no-write'] !== true) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${baseName}.md`), text);
    writeFileSync(join(outDir, `${baseName}.json`), `${JSON.stringify(report, null, 1)}\n`);
    process.stderr.write(`wrote ${relative(root, join(outDir, `${baseName}.md`))} and ${baseName}.json\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
