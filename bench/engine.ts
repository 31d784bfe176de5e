/**
 * Engine benchmark: the CASPO token loop (`generate`, onnxruntime-node) against
 * `@huggingface/transformers`' `generate` on the same model folder, in the same process, same
 * onnxruntime-node build, same intra-op thread count, same prompt, same number of new tokens.
 *
 *   node --import tsx bench/engine.ts [--tokens 64] [--runs 5] [--threads 1] [--no-wide]
 *                                     [--models a,b] [--out docs/bench] [--no-write] [--no-confidence]
 *   node --import tsx bench/engine.ts --render docs/bench/engine.json   (engine.md from saved results)
 *
 * Models: the embedded models/caspo-arith-sft (V = 259), the GQA test fixture with the real Qwen3
 * tokenizer (test/fixtures/generated/qwen3-gqa, V = 151,936, hidden 64; made with
 * scripts/make-fixtures.mjs when missing) and a wider bench-only fixture
 * (test/fixtures/generated/bench/qwen3-h512: hidden 512, 4 layers, 8 query / 2 KV heads, 87 M
 * parameters, made with caspo_train.fixture when missing and Python has torch; --no-wide skips it).
 *
 * Per model and batch size B ∈ {1, 4} (B = 4: one prefill forked into 4 rows for the engine; a
 * [4, P] batch of the same prompt for the reference, which has no fork):
 *   - wall time to generate N new tokens per row and to generate 1 (≈ prefill + first token);
 *   - decode tokens/s = B·(N−1) / (wall(N) − wall(1)); end-to-end tokens/s = B·N / wall(N);
 *   - engine only: the prefill forward, forward ms per decode step, the confidence pass
 *     (scan + choice + token record, RowDecoder's confidenceMs) per step, and its share of the
 *     decode step time (wall(N) − prefill forward).
 * Both sides are forced to N tokens: the engine through a DecoderModel with no EOS ids and
 * stopAtAnswerLine off, the reference with min_new_tokens = max_new_tokens = N (it masks EOS).
 * One warm-up round is excluded; each figure is the median over the runs; engine and reference
 * alternate which goes first in each round.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { CausalLM } from '../language-server/src/model/causalLM';
import { benchConfidence } from './confidence';
import { median, parseArgs } from './util';
import { ensureModel, machine, modelSpecs, root, writeReport } from './engine/environment';
import { agreement, gcObserver, loadReference, runEngine, runReference, RunTimer, timeScanOnModel, type Tjs } from './engine/measure';
import { formatLine, markdown } from './engine/report';
import type { BenchReport, EngineBenchRow, EngineSample, ModelSpec, ReferenceSample } from './engine/types';

async function benchModel(spec: ModelSpec, tjs: Tjs, opts: { tokens: number; runs: number; threads: number }): Promise<EngineBenchRow[]> {
  const engine = await CausalLM.load(spec.dir, { executionProvider: 'cpu', intraOpNumThreads: opts.threads });
  const reference = await loadReference(tjs, spec.dir, opts.threads);
  const promptIds = engine.tokenizer.encodePrompt(spec.problem);
  let parameters: number | null = null;
  try {
    parameters = (JSON.parse(readFileSync(join(spec.dir, 'fixture.json'), 'utf8')) as { parameters?: number }).parameters ?? null;
  } catch {
    try {
      const training = JSON.parse(readFileSync(join(spec.dir, 'training.json'), 'utf8')) as { recipe?: { parameters?: number } };
      parameters = training.recipe?.parameters ?? null;
    } catch {
      parameters = null;
    }
  }
  const engineTimer = new RunTimer(engine.session as unknown as { run: (...args: never[]) => Promise<unknown> });
  const referenceTimer = new RunTimer(reference.sessions.model);
  const scanOnModelLogits = await timeScanOnModel(engine, promptIds, opts.runs);
  const rows: EngineBenchRow[] = [];
  try {
    for (const batch of [1, 4]) {
      // Warm-up (excluded): JIT, onnxruntime's arena and shape-specific kernels.
      await runEngine(engine, engineTimer, promptIds, batch, opts.tokens);
      await runReference(tjs, reference, referenceTimer, promptIds, batch, opts.tokens);
      const engineSamples: EngineSample[] = [];
      const referenceSamples: ReferenceSample[] = [];
      for (let run = 0; run < opts.runs; run++) {
        if (run % 2 === 0) {
          engineSamples.push(await runEngine(engine, engineTimer, promptIds, batch, opts.tokens));
          referenceSamples.push(await runReference(tjs, reference, referenceTimer, promptIds, batch, opts.tokens));
        } else {
          referenceSamples.push(await runReference(tjs, reference, referenceTimer, promptIds, batch, opts.tokens));
          engineSamples.push(await runEngine(engine, engineTimer, promptIds, batch, opts.tokens));
        }
      }
      const m = <T>(samples: T[], f: (s: T) => number) => median(samples.map(f));
      const pairs = (f: (e: EngineSample, r: ReferenceSample) => number) => engineSamples.map((e, i) => f(e, referenceSamples[i]));
      const paired = (f: (e: EngineSample, r: ReferenceSample) => number) => median(pairs(f));
      const pairedRange = (f: (e: EngineSample, r: ReferenceSample) => number): [number, number] => [
        Math.min(...pairs(f)),
        Math.max(...pairs(f)),
      ];
      const n = opts.tokens;
      const steps = n - 1; // forwards after the prefill
      const eWall = m(engineSamples, (s) => s.wallMs);
      const eWall1 = m(engineSamples, (s) => s.wall1Ms);
      const ePrefill = m(engineSamples, (s) => s.prefillMs);
      const eDecodeWall = m(engineSamples, (s) => s.wallMs - s.prefillMs);
      const eForwardStep = m(engineSamples, (s) => (s.forwardMs - s.prefillMs) / steps);
      const eConfidence = m(engineSamples, (s) => s.confidenceMs);
      const eShare = m(engineSamples, (s) => s.confidenceMs / (s.wallMs - s.prefillMs));
      const rWall = m(referenceSamples, (s) => s.wallMs);
      const rWall1 = m(referenceSamples, (s) => s.wall1Ms);
      const eDecodeTps = (batch * steps) / ((eWall - eWall1) / 1000);
      const rDecodeTps = (batch * steps) / ((rWall - rWall1) / 1000);
      const row: EngineBenchRow = {
        model: spec.name,
        vocab: engine.config.vocabSize,
        parameters,
        promptTokens: promptIds.length,
        batch,
        newTokens: n,
        engine: {
          tokensPerSecond: (batch * n) / (eWall / 1000),
          decodeTokensPerSecond: eDecodeTps,
          firstTokenMs: eWall1,
          prefillForwardMs: ePrefill,
          prefillRunMs: m(engineSamples, (s) => s.prefillRunMs),
          forwardMsPerStep: eForwardStep,
          confidenceMsPerStep: eConfidence / n,
          confidenceMsPerRow: eConfidence / (n * batch),
          otherMsPerStep: eDecodeWall / n - eForwardStep * (steps / n) - eConfidence / n,
          runMsPerStep: m(engineSamples, (s) => s.decodeRunMs) / steps,
          outsideRunMsPerStep: m(engineSamples, (s) => s.wallMs - s.prefillRunMs - s.decodeRunMs) / steps,
          gcMsPerStep: m(engineSamples, (s) => s.gcMs) / n,
          confidenceShare: eShare,
          cpuMs: m(engineSamples, (s) => s.cpuMs),
        },
        reference: {
          tokensPerSecond: (batch * n) / (rWall / 1000),
          decodeTokensPerSecond: rDecodeTps,
          firstTokenMs: rWall1,
          prefillRunMs: m(referenceSamples, (s) => s.prefillRunMs),
          runMsPerStep: m(referenceSamples, (s) => s.decodeRunMs) / steps,
          outsideRunMsPerStep: m(referenceSamples, (s) => s.wallMs - s.prefillRunMs - s.decodeRunMs) / steps,
          gcMsPerStep: m(referenceSamples, (s) => s.gcMs) / n,
          cpuMs: m(referenceSamples, (s) => s.cpuMs),
        },
        ratio: {
          tokensPerSecond: paired((e, r) => r.wallMs / e.wallMs),
          tokensPerSecondRange: pairedRange((e, r) => r.wallMs / e.wallMs),
          decodeTokensPerSecond: paired((e, r) => (r.wallMs - r.wall1Ms) / (e.wallMs - e.wall1Ms)),
          firstTokenMs: paired((e, r) => r.wall1Ms / e.wall1Ms),
          cpuTime: paired((e, r) => r.cpuMs / e.cpuMs),
        },
        scanOnModelLogits,
        agreement: agreement(engineSamples[0].ids, referenceSamples[0].ids, engine.eosTokenIds),
        runs: opts.runs,
      };
      rows.push(row);
      console.log(formatLine(row));
    }
  } finally {
    await engine.dispose();
    await reference.dispose();
  }
  return rows;
}


async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tokens = Number(args.tokens ?? 64);
  const runs = Number(args.runs ?? 5);
  const threads = Number(args.threads ?? 1);
  if (!(tokens >= 2) || !(runs >= 1) || !(threads >= 1)) throw new Error('--tokens ≥ 2, --runs ≥ 1, --threads ≥ 1');
  const only = typeof args.models === 'string' ? args.models.split(',') : null;
  const outDir = resolve(root, typeof args.out === 'string' ? args.out : join('docs', 'bench'));
  if (typeof args.render === 'string') {
    // Re-render engine.md from a saved engine.json (no measuring).
    const saved = JSON.parse(readFileSync(resolve(args.render), 'utf8')) as BenchReport;
    writeFileSync(join(outDir, 'engine.md'), markdown(saved));
    console.log(`wrote ${join(outDir, 'engine.md')} from ${args.render}`);
    return;
  }
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machine(),
    loadAverage: { start: loadavg(), end: [] },
    settings: { tokens, runs, threads, executionProvider: 'cpu' },
    engine: [],
    confidence: [],
    skipped: [],
  };
  console.log(`${report.machine.cpuModel}, ${report.machine.cores} cores, Node ${report.machine.node}, onnxruntime-node ${report.machine.onnxruntimeNode}`);
  console.log(`${tokens} new tokens, ${runs} runs, ${threads} intra-op thread(s)\n`);

  if (!args['no-confidence']) {
    console.log('confidence pass (CPU ns per logit):');
    report.confidence = benchConfidence([259, 32768, 151936], Math.max(5, runs));
    console.log('');
  }

  gcObserver.observe({ entryTypes: ['gc'] });
  const tjs = (await import('@huggingface/transformers')) as unknown as Tjs;
  for (const spec of modelSpecs(!args['no-wide'])) {
    if (only && !only.includes(spec.name)) continue;
    const missing = ensureModel(spec);
    if (missing !== null) {
      report.skipped.push(missing);
      continue;
    }
    report.engine.push(...(await benchModel(spec, tjs, { tokens, runs, threads })));
  }
  report.loadAverage.end = loadavg();
  gcObserver.disconnect();

  const md = markdown(report);
  console.log(`\n${md}`);
  if (!args['no-write']) writeReport(outDir, 'engine', report, md);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

