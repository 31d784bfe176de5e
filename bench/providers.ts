/**
 * Execution-provider benchmark: the same engine token loop (`generate`) on the same model under
 * several onnxruntime execution providers, side by side in one process. The reference is the
 * product's default CPU setting (cpu, 1 intra-op thread); every other configuration is reported as
 * a ratio against it, measured in the same rounds (configurations rotate which goes first).
 *
 *   node --import tsx bench/providers.ts [--providers cpu:1,cpu:8,webgpu] [--tokens 64] [--runs 5]
 *                                        [--models caspo-arith,qwen3-gqa,bench/qwen3-h512] [--out docs/bench] [--no-write]
 *   node --import tsx bench/providers.ts --render docs/bench/providers.json
 *
 * Per model, configuration and batch size B ∈ {1, 4}: session load time, wall time for N new tokens
 * and for 1 (prefill + first token), decode tokens/s, and agreement with the reference: the greedy
 * tokens of row 0 and the largest difference in a chosen token's log-probability (the quantity every
 * confidence metric is built from). A provider that cannot run here is listed with the reason
 * onnxruntime gave. The report also says which provider the `auto` setting picks on this machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { generate } from '../language-server/src/decoding/generate';
import { CausalLM } from '../language-server/src/model/causalLM';
import { describeExecutionProviders, type ExecutionProviderName } from '../language-server/src/model/executionProvider';
import { graphSizeBytes } from '../language-server/src/model/session';
import { ensureModel, FIXTURES, H896_ARGS, machine, makeWideFixture, modelSpecs, QWEN3_PROBLEM, root, writeReport } from './engine/environment';
import { RunTimer, runEngine, timedNoEos } from './engine/measure';
import type { EngineSample, ModelSpec } from './engine/types';
import { median, parseArgs } from './util';

interface ProviderConfig {
  label: string;
  provider: ExecutionProviderName;
  threads: number;
  /** webgpu:host: the KV cache comes back to the CPU after every step (the engine's behaviour before it stayed on the GPU). */
  kvOnHost?: boolean;
}

interface ConfigResult {
  config: string;
  /** Why it did not run (null: it ran). */
  unavailable: string | null;
  loadMs?: number;
  tokensPerSecond?: number;
  decodeTokensPerSecond?: number;
  decodeMsPerStep?: number;
  firstTokenMs?: number;
  /** Reference wall / this wall, median over rounds, with the lowest and highest round. */
  ratio?: number;
  ratioRange?: [number, number];
  /** Greedy tokens of row 0 equal to the reference's (of N). */
  tokensEqual?: number;
  /** Largest |Δ log p| of the chosen tokens against the reference, over the equal prefix. */
  maxLogProbDiff?: number;
}

interface ProvidersRow {
  model: string;
  onnxMB: number;
  vocab: number;
  batch: number;
  newTokens: number;
  /** What the `auto` setting runs this model on, and why it skipped the others. */
  auto: string;
  results: ConfigResult[];
}

interface ProvidersReport {
  date: string;
  machine: ReturnType<typeof machine> & { gpu: string | null };
  loadAverage: { start: number[]; end: number[] };
  settings: { tokens: number; runs: number; providers: string[]; reference: string };
  rows: ProvidersRow[];
  skipped: string[];
}

const REFERENCE: ProviderConfig = { label: 'cpu:1', provider: 'cpu', threads: 1 };

function parseConfigs(text: string): ProviderConfig[] {
  const configs = text.split(',').map((part): ProviderConfig => {
    const [name, threadText] = part.trim().split(':');
    if (name !== 'cpu' && name !== 'webgpu' && name !== 'cuda') {
      throw new Error(`--providers: "${part}" is not cpu[:threads], webgpu[:host] or cuda`);
    }
    if (name === 'webgpu' && threadText === 'host') return { label: 'webgpu:host', provider: name, threads: 1, kvOnHost: true };
    const threads = threadText === undefined ? 1 : Number(threadText);
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`--providers: "${part}" needs a whole number of threads ≥ 1`);
    return { label: name === 'cpu' ? `cpu:${threads}` : name, provider: name, threads };
  });
  return [REFERENCE, ...configs.filter((c) => c.label !== REFERENCE.label)];
}

function gpuName(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** The engine benchmark's models with the embedded default in place of its SFT baseline, plus a 1.26 GB one. */
function specs(): (ModelSpec & { optional?: boolean })[] {
  const [, ...fixtures] = modelSpecs(true);
  return [
    { name: 'caspo-arith', dir: join(root, 'models', 'caspo-arith'), problem: 'Work out 2*715 + (81 - 4).', make: null },
    ...fixtures,
    // 315 M parameters: benched when present or named in --models (making it takes minutes on 2 cores).
    {
      name: 'bench/qwen3-h896',
      dir: join(FIXTURES, 'bench', 'qwen3-h896'),
      problem: QWEN3_PROBLEM,
      make: () => makeWideFixture(join(FIXTURES, 'bench', 'qwen3-h896'), H896_ARGS),
      optional: true,
    },
  ];
}

async function rowTokens(model: CausalLM, promptIds: number[], tokens: number) {
  const out = await generate(timedNoEos(model, []), { promptIds, maxNewTokens: tokens, numRows: 1, stopAtAnswerLine: false });
  return out.rows[0].tokens.map((t) => ({ id: t.id, logProb: t.logProb }));
}

async function benchModel(spec: ModelSpec, configs: ProviderConfig[], tokens: number, runs: number): Promise<ProvidersRow[]> {
  const loaded: { config: ProviderConfig; model: CausalLM | null; timer: RunTimer | null; loadMs: number; why: string | null }[] = [];
  for (const config of configs) {
    const t0 = performance.now();
    try {
      const model = await CausalLM.load(spec.dir, { executionProvider: config.provider, intraOpNumThreads: config.threads, keepOutputsOnDevice: !config.kvOnHost });
      const timer = new RunTimer(model.session as unknown as { run: (...args: never[]) => Promise<unknown> });
      loaded.push({ config, model, timer, loadMs: performance.now() - t0, why: null });
    } catch (error) {
      loaded.push({ config, model: null, timer: null, loadMs: 0, why: (error as Error).message });
    }
  }
  const auto = await CausalLM.load(spec.dir, { executionProvider: 'auto' });
  const autoPick = describeExecutionProviders(auto.executionProvider);
  await auto.dispose();
  const reference = loaded[0];
  if (reference.model === null) throw new Error(`${spec.name}: the reference (cpu:1) did not load: ${reference.why}`);
  const promptIds = reference.model.tokenizer.encodePrompt(spec.problem);
  const referenceTokens = await rowTokens(reference.model, promptIds, tokens);
  // Greedy agreement with the reference (one row): the equal prefix and its largest |Δ log p|.
  const agreement = new Map<string, { tokensEqual: number; maxLogProbDiff: number }>();
  for (const l of loaded) {
    if (l.model === null || l === reference) continue;
    const mine = await rowTokens(l.model, promptIds, tokens);
    let equal = 0;
    let maxDiff = 0;
    while (equal < mine.length && mine[equal].id === referenceTokens[equal].id) {
      maxDiff = Math.max(maxDiff, Math.abs(mine[equal].logProb - referenceTokens[equal].logProb));
      equal++;
    }
    agreement.set(l.config.label, { tokensEqual: equal, maxLogProbDiff: maxDiff });
  }
  agreement.set(REFERENCE.label, { tokensEqual: referenceTokens.length, maxLogProbDiff: 0 });
  const rows: ProvidersRow[] = [];
  try {
    for (const batch of [1, 4]) {
      const running = loaded.filter((l) => l.model !== null);
      for (const l of running) await runEngine(l.model!, l.timer!, promptIds, batch, tokens); // warm-up, excluded
      const samples = new Map<string, EngineSample[]>(running.map((l) => [l.config.label, []]));
      for (let run = 0; run < runs; run++) {
        for (let k = 0; k < running.length; k++) {
          const l = running[(k + run) % running.length];
          samples.get(l.config.label)!.push(await runEngine(l.model!, l.timer!, promptIds, batch, tokens));
        }
      }
      const referenceSamples = samples.get(REFERENCE.label)!;
      const results: ConfigResult[] = [];
      for (const l of loaded) {
        if (l.model === null) {
          results.push({ config: l.config.label, unavailable: l.why });
          continue;
        }
        const s = samples.get(l.config.label)!;
        const wall = median(s.map((x) => x.wallMs));
        const wall1 = median(s.map((x) => x.wall1Ms));
        const perRound = s.map((x, i) => referenceSamples[i].wallMs / x.wallMs);
        results.push({
          config: l.config.label,
          unavailable: null,
          loadMs: l.loadMs,
          tokensPerSecond: (batch * tokens) / (wall / 1000),
          decodeTokensPerSecond: (batch * (tokens - 1)) / ((wall - wall1) / 1000),
          decodeMsPerStep: (wall - wall1) / (tokens - 1),
          firstTokenMs: wall1,
          ratio: median(perRound),
          ratioRange: [Math.min(...perRound), Math.max(...perRound)],
          ...(batch === 1 ? agreement.get(l.config.label) : {}),
        });
      }
      const row: ProvidersRow = {
        model: spec.name,
        onnxMB: graphSizeBytes(join(spec.dir, 'onnx', 'model.onnx')) / 1e6,
        vocab: reference.model.config.vocabSize,
        batch,
        newTokens: tokens,
        auto: autoPick,
        results,
      };
      console.log(
        `${spec.name} B=${batch}: ` +
          results.map((r) => (r.unavailable ? `${r.config} unavailable` : `${r.config} ${r.tokensPerSecond!.toFixed(1)} tok/s (${r.ratio!.toFixed(2)}×)`)).join(' · '),
      );
      rows.push(row);
    }
  } finally {
    for (const l of loaded) await l.model?.dispose();
  }
  return rows;
}

/** "No execution provider could run <path>: webgpu: <why>. Set …" → "<why>". */
function shortReason(text: string, config: string): string {
  const own = text.split(`${config}: `).slice(1).join(`${config}: `) || text;
  return own.replace(/\. Set the execution provider to .*$/, '').replace(/\|/g, '\\|');
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '—' : x.toFixed(digits));

export function markdown(report: ProvidersReport): string {
  const m = report.machine;
  const lines = [
    '# Execution-provider benchmark',
    '',
    `Written by \`npm run bench:providers\` (\`node --import tsx bench/providers.ts\`) on ${report.date}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; GPU: ${m.gpu ?? 'none found (nvidia-smi)'}; ` +
      `Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}. Load average at start / end: ${report.loadAverage.start.map((x) => x.toFixed(2)).join(' ')} / ` +
      `${report.loadAverage.end.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `Settings: the engine's own token loop (\`generate\`), greedy, ${report.settings.tokens} new tokens per row forced (no EOS), ` +
      `one warm-up round excluded, median of ${report.settings.runs} rounds; configurations rotate their order each round. ` +
      `Reference: ${report.settings.reference} (one intra-op thread: the engine's default on hosts with up to 3 cores). \`cpu:N\` = CPU provider with N intra-op threads. ` +
      'B = 4: one prefill forked into 4 rows, as CaT does.',
    '',
    `Command: \`npm run bench:providers -- --providers ${report.settings.providers.filter((p) => p !== report.settings.reference).join(',')} ` +
      `--tokens ${report.settings.tokens} --runs ${report.settings.runs} --models ${[...new Set(report.rows.map((r) => r.model))].join(',')}\``,
    '',
    'What the `auto` setting picked for each model in this run:',
    '',
    ...[...new Map(report.rows.map((r) => [r.model, r.auto])).entries()].map(([model, auto]) => `- ${model}: ${auto}`),
    '',
    'Fastest per model (B = 1, tokens/s against the reference in the same rounds):',
    '',
    ...report.rows.filter((r) => r.batch === 1).map((row) => {
      const ran = row.results.filter((r) => r.unavailable === null);
      const best = ran.reduce((a, b) => (b.ratio! > a.ratio! ? b : a));
      const others = ran.filter((r) => r !== best && r.config !== report.settings.reference).map((r) => `${r.config} ${r.ratio!.toFixed(2)}×`);
      return `- ${row.model} (${row.onnxMB.toFixed(0)} MB): ${best.config} ${best.ratio!.toFixed(2)}×${others.length ? `; ${others.join(', ')}` : ''}`;
    }),
    '',
    '| model | ONNX MB | V | B | provider | load ms | tok/s | decode ms/step | first token ms | ratio vs reference (range) | greedy tokens equal | max \\|Δ log p\\| |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of report.rows) {
    for (const r of row.results) {
      const head = `| ${row.model} | ${row.onnxMB.toFixed(1)} | ${row.vocab} | ${row.batch} | ${r.config}`;
      if (r.unavailable) {
        lines.push(`${head} | unavailable: ${shortReason(r.unavailable, r.config)}${' | —'.repeat(6)} |`);
        continue;
      }
      lines.push(
        `${head} | ${fmt(r.loadMs, 0)} | ${fmt(r.tokensPerSecond)} | ${fmt(r.decodeMsPerStep, 2)} | ${fmt(r.firstTokenMs, 1)} | ` +
          `${r.ratio!.toFixed(2)}× (${r.ratioRange![0].toFixed(2)}–${r.ratioRange![1].toFixed(2)}) | ` +
          `${r.tokensEqual === undefined ? '—' : `${r.tokensEqual}/${row.newTokens}`} | ${r.maxLogProbDiff === undefined ? '—' : r.maxLogProbDiff.toExponential(1)} |`,
      );
    }
  }
  if (report.skipped.length > 0) lines.push('', ...report.skipped.map((s) => `- skipped: ${s}`));
  return `${lines.join('\n')}\n`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const outDir = resolve(root, typeof args.out === 'string' ? args.out : join('docs', 'bench'));
  if (typeof args.render === 'string') {
    const saved = JSON.parse(readFileSync(resolve(args.render), 'utf8')) as ProvidersReport;
    writeFileSync(join(outDir, 'providers.md'), markdown(saved));
    console.log(`wrote ${join(outDir, 'providers.md')} from ${args.render}`);
    return;
  }
  const tokens = Number(args.tokens ?? 64);
  const runs = Number(args.runs ?? 5);
  if (!(tokens >= 2) || !(runs >= 1)) throw new Error('--tokens ≥ 2, --runs ≥ 1');
  const configs = parseConfigs(typeof args.providers === 'string' ? args.providers : 'cpu:1,webgpu');
  const only = typeof args.models === 'string' ? args.models.split(',') : null;

  const report: ProvidersReport = {
    date: new Date().toISOString(),
    machine: { ...machine(), gpu: gpuName() },
    loadAverage: { start: loadavg(), end: [] },
    settings: { tokens, runs, providers: configs.map((c) => c.label), reference: REFERENCE.label },
    rows: [],
    skipped: [],
  };
  console.log(`${report.machine.cpuModel}, ${report.machine.cores} cores; GPU: ${report.machine.gpu ?? 'none'}`);
  for (const spec of specs()) {
    if (only ? !only.includes(spec.name) : spec.optional && !existsSync(spec.dir)) continue;
    const missing = ensureModel(spec);
    if (missing !== null) {
      report.skipped.push(missing);
      continue;
    }
    report.rows.push(...(await benchModel(spec, configs, tokens, runs)));
  }
  report.loadAverage.end = loadavg();
  const md = markdown(report);
  console.log(`\n${md}`);
  if (!args['no-write']) writeReport(outDir, 'providers', report, md);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
