/** The engine benchmark's terminal lines and markdown report. */
import { formatConfidenceTable } from '../confidence';
import type { BenchReport, EngineBenchRow } from './types';

export function formatLine(r: EngineBenchRow): string {
  return (
    `${r.model} B=${r.batch}: engine ${r.engine.tokensPerSecond.toFixed(1)} tok/s vs reference ${r.reference.tokensPerSecond.toFixed(1)} ` +
    `(${r.ratio.tokensPerSecond.toFixed(2)}×), decode ${r.engine.decodeTokensPerSecond.toFixed(1)} vs ${r.reference.decodeTokensPerSecond.toFixed(1)} ` +
    `(${r.ratio.decodeTokensPerSecond.toFixed(2)}×), prefill fwd ${r.engine.prefillForwardMs.toFixed(1)} ms, ` +
    `step: fwd ${r.engine.forwardMsPerStep.toFixed(2)} ms + confidence ${r.engine.confidenceMsPerStep.toFixed(2)} ms ` +
    `(${(100 * r.engine.confidenceShare).toFixed(1)} %), tokens agree ${r.agreement.equal}/${r.agreement.compared}`
  );
}

export function markdown(report: BenchReport): string {
  const mc = report.machine;
  const f = (x: number, d = 1) => x.toFixed(d);
  const lines = [
    '# Engine benchmark',
    '',
    `Written by \`npm run bench\` (\`node --import tsx bench/engine.ts\`) on ${report.date}.`,
    '',
    `Machine: ${mc.cpuModel}, ${mc.cores} cores, ${mc.memoryGiB} GiB, ${mc.platform}; Node ${mc.node}, ` +
      `onnxruntime-node ${mc.onnxruntimeNode}, @huggingface/transformers ${mc.transformersJs}. ` +
      `Load average at start / end: ${report.loadAverage.start.map((x) => f(x, 2)).join(' ')} / ` +
      `${report.loadAverage.end.map((x) => f(x, 2)).join(' ')} (a shared machine: other processes ran too).`,
    '',
    `Settings: CPU execution provider, intra-op threads = ${report.settings.threads} for both engines ` +
      `(transformers.js gets the same \`session_options\`), greedy, ${report.settings.tokens} new tokens per row forced on both ` +
      '(engine: no EOS ids and no answer-line stop; reference: `min_new_tokens = max_new_tokens`), ' +
      `one warm-up round excluded, median of ${report.settings.runs} interleaved runs.`,
    '',
    'Models: `caspo-arith-sft` (the embedded SFT model, byte tokenizer, V = 259, hidden 256, 6 layers); `qwen3-gqa` ' +
      '(the GQA test fixture: random weights, real Qwen3 tokenizer, V = 151,936, hidden 64, 2 layers, 4 query / 2 KV heads); ' +
      '`bench/qwen3-h512` (bench-only, same recipe with hidden 512, 4 layers, 8 query / 2 KV heads; made by this script with ' +
      '`caspo_train.fixture` when missing). Random-weight models are used for speed only; their logits are as wide as ' +
      'real ones (qwen3-gqa: −19 … +17).',
    '',
    '## Throughput: engine vs transformers.js `generate` (reference)',
    '',
    'tok/s = B·N / wall(N); decode tok/s = B·(N−1) / (wall(N) − wall(1)); first token = wall(1) ' +
      '(prefill + one token). Absolute figures are medians over the runs. Ratios (> 1: the engine is faster) are the median ' +
      'over rounds of the ratio within a round (the engine and the reference ran back to back, so they saw about the same ' +
      'load from other processes), with the lowest–highest round in brackets; CPU-time ratio = reference / engine process ' +
      'CPU ms for the N-token run. B = 4: the engine prefills once and forks 4 rows; the reference runs a batch of 4 prompts.',
    '',
    '| model | V | B | engine tok/s | reference tok/s | ratio (range) | engine decode tok/s | reference decode tok/s | ratio | engine first token ms | reference first token ms | ratio | CPU-time ratio | greedy tokens equal |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.engine) {
    lines.push(
      `| ${r.model} | ${r.vocab} | ${r.batch} | ${f(r.engine.tokensPerSecond)} | ${f(r.reference.tokensPerSecond)} | ` +
        `${f(r.ratio.tokensPerSecond, 2)}× (${r.ratio.tokensPerSecondRange.map((x) => f(x, 2)).join('–')}) | ` +
        `${f(r.engine.decodeTokensPerSecond)} | ${f(r.reference.decodeTokensPerSecond)} | ${f(r.ratio.decodeTokensPerSecond, 2)}× | ` +
        `${f(r.engine.firstTokenMs)} | ${f(r.reference.firstTokenMs)} | ${f(r.ratio.firstTokenMs, 2)}× | ${f(r.ratio.cpuTime, 2)}× | ` +
        `${r.agreement.equal}/${r.agreement.compared} |`,
    );
  }
  lines.push(
    '',
    '## Where a decode step goes',
    '',
    'Per decode step (one forward of B rows, then B tokens chosen). "run" = inside onnxruntime\'s `session.run` (timed ' +
      'the same way for both: a wrapper around the session\'s run method); "outside" = the rest of the decode wall time ' +
      '(engine: confidence pass, token loop, input tensors, KV cache objects; reference: transformers.js\' logits ' +
      'processing, argmax, tensor bookkeeping), GC pauses included wherever they land. Confidence = RowDecoder.confidenceMs ' +
      '(the one-pass scan, the token choice and the token record); share = confidence / (wall(N) − prefill forward). ' +
      '"Scan alone": CPU ms of `scanLogits` on this model\'s own logits row outside the loop, now and as first committed ' +
      '(Math.exp per element). Goal: confidence share ≤ 2 % at V ≈ 152k.',
    '',
    '| model | params | B | prefill run ms (engine / reference) | run ms/step (engine / reference) | outside ms/step (engine / reference) | engine confidence ms/step (per row) | GC ms/step (engine / reference) | confidence share | scan alone ms/row: now / first version |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of report.engine) {
    const e = r.engine;
    const ref = r.reference;
    lines.push(
      `| ${r.model} | ${r.parameters === null ? '?' : `${f(r.parameters / 1e6, 1)} M`} | ${r.batch} | ` +
        `${f(e.prefillRunMs, 2)} / ${f(ref.prefillRunMs, 2)} | ${f(e.runMsPerStep, 2)} / ${f(ref.runMsPerStep, 2)} | ` +
        `${f(e.outsideRunMsPerStep, 2)} / ${f(ref.outsideRunMsPerStep, 2)} | ${f(e.confidenceMsPerStep, 2)} (${f(e.confidenceMsPerRow, 3)}) | ` +
        `${f(e.gcMsPerStep, 2)} / ${f(ref.gcMsPerStep, 2)} | ${f(100 * e.confidenceShare, 1)} % | ` +
        `${f(r.scanOnModelLogits.currentMsPerRow, 3)} / ${f(r.scanOnModelLogits.firstVersionMsPerRow, 3)} |`,
    );
  }
  lines.push('', '## Goals', '');
  const big = report.engine.filter((r) => r.vocab >= 100000);
  if (big.length > 0) {
    const worst = Math.max(...big.map((r) => r.engine.confidenceShare));
    lines.push(
      `- Confidence pass ≤ 2 % of the step at V ≈ 152k: ${worst <= 0.02 ? 'met' : 'NOT met'} — ` +
        big.map((r) => `${r.model} B=${r.batch}: ${f(100 * r.engine.confidenceShare, 1)} %`).join(', ') +
        '. The pass costs a fixed ~V·7 ns per row, so its share falls as the model (the forward) grows.',
    );
  }
  const slower = report.engine.filter((r) => r.ratio.tokensPerSecond < 1);
  lines.push(
    `- Engine ≥ 1.0× the reference's tokens/s: ${slower.length === 0 ? 'met in every row' : `NOT met in ${slower.length} of ${report.engine.length} rows`}` +
      (slower.length > 0 ? ` (${slower.map((r) => `${r.model} B=${r.batch}: ${f(r.ratio.tokensPerSecond, 3)}×`).join(', ')})` : '') +
      '. Both run the same onnxruntime session per step; the difference is the work outside `session.run` (table above).',
  );
  if (report.confidence.length > 0) {
    lines.push(
      '',
      '## Confidence pass micro-benchmark (`bench/confidence.ts`)',
      '',
      'CPU time per logit of `scanLogits` (entropy, log-sum-exp, top-5 in one pass) vs a plain argmax over the same rows ' +
        '(Gaussian logits σ = 2.5 with a few peaks), median of interleaved runs; "first version" is the scan as first ' +
        'committed (Math.exp per element, online rescaling), kept in bench/legacy.',
      '',
      formatConfidenceTable(report.confidence),
    );
  }
  if (report.skipped.length > 0) lines.push('', '## Skipped', '', ...report.skipped.map((s) => `- ${s}`));
  return `${lines.join('\n')}\n`;
}

