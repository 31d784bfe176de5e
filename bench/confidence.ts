/**
 * Micro-benchmark of the one-pass confidence scan (`scanLogits`) against a plain argmax over the
 * same rows (the floor any O(V) pass pays), at V = 259, 32k and 152k.
 *
 *   node --import tsx bench/confidence.ts [--json out.json] [--runs 7]
 *
 * Rows look like LM logits: Gaussian noise (σ = 2.5) with a handful of peaks; several different
 * rows are cycled so the branch predictor cannot learn one. Implementations are interleaved within
 * every run and the median over runs of the CPU time is reported. `legacy` is the scan as first committed (kept in
 * bench/legacy for before/after numbers).
 */
import { writeFileSync } from 'node:fs';
import { createLogitStats, scanLogits } from '../language-server/src/decoding/confidence';
import { createLogitStats as createLegacyStats, scanLogits as scanLegacy } from './legacy/confidence-v0';
import { median, parseArgs } from './util';

export interface ConfidenceBenchRow {
  vocab: number;
  argmaxNsPerElement: number;
  scanNsPerElement: number;
  legacyScanNsPerElement: number;
  /** scan / argmax. */
  scanVsArgmax: number;
  legacyVsArgmax: number;
  scanMsPerRow: number;
  legacyScanMsPerRow: number;
}

function gaussianRows(vocab: number, count: number, seed: number): Float32Array[] {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const rows: Float32Array[] = [];
  for (let r = 0; r < count; r++) {
    const row = new Float32Array(vocab);
    for (let i = 0; i < vocab; i++) {
      row[i] = 2.5 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    }
    for (let p = 0; p < 4; p++) row[Math.floor(uniform() * vocab)] += 8 + 4 * uniform();
    rows.push(row);
  }
  return rows;
}

function argmax(row: Float32Array): number {
  let best = 0;
  let max = row[0];
  for (let i = 1; i < row.length; i++) {
    const x = row[i];
    if (x > max) {
      max = x;
      best = i;
    }
  }
  return best;
}

let sink = 0;

/**
 * CPU milliseconds per row. Process CPU time, not wall time: the machine is shared and a wall clock
 * counts the time other processes hold the core; this loop is single-threaded, so the two agree on
 * an idle machine.
 */
function timePerRow(rows: Float32Array[], reps: number, fn: (row: Float32Array) => number): number {
  const t0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) sink += fn(rows[r % rows.length]);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / 1000 / reps;
}

export function benchConfidence(vocabs: number[], runs: number, log: (line: string) => void = console.log): ConfidenceBenchRow[] {
  const stats = createLogitStats(5);
  const legacyStats = createLegacyStats(5);
  const impls: Record<string, (row: Float32Array) => number> = {
    argmax: (row) => argmax(row),
    scan: (row) => scanLogits(row, stats).entropy,
    legacy: (row) => scanLegacy(row, legacyStats).entropy,
  };
  const out: ConfidenceBenchRow[] = [];
  for (const vocab of vocabs) {
    const rows = gaussianRows(vocab, 8, vocab);
    const reps = Math.max(16, Math.round(4e7 / vocab / 4)); // ≈ 10M elements per timing
    for (const fn of Object.values(impls)) timePerRow(rows, reps, fn); // warm-up / JIT
    const samples: Record<string, number[]> = { argmax: [], scan: [], legacy: [] };
    for (let run = 0; run < runs; run++) {
      for (const [name, fn] of Object.entries(impls)) samples[name].push(timePerRow(rows, reps, fn));
    }
    const ms = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    const ns = (name: string) => (ms[name] * 1e6) / vocab;
    const row: ConfidenceBenchRow = {
      vocab,
      argmaxNsPerElement: ns('argmax'),
      scanNsPerElement: ns('scan'),
      legacyScanNsPerElement: ns('legacy'),
      scanVsArgmax: ms.scan / ms.argmax,
      legacyVsArgmax: ms.legacy / ms.argmax,
      scanMsPerRow: ms.scan,
      legacyScanMsPerRow: ms.legacy,
    };
    out.push(row);
    log(
      `V=${String(vocab).padStart(6)}  argmax ${row.argmaxNsPerElement.toFixed(2)} ns/el  ` +
        `scan ${row.scanNsPerElement.toFixed(2)} ns/el (${row.scanVsArgmax.toFixed(1)}× argmax, ${row.scanMsPerRow.toFixed(3)} ms/row)  ` +
        `legacy ${row.legacyScanNsPerElement.toFixed(2)} ns/el (${row.legacyVsArgmax.toFixed(1)}×, ${row.legacyScanMsPerRow.toFixed(3)} ms/row)`,
    );
  }
  if (sink === 42) log('');
  return out;
}

function formatTable(rows: ConfidenceBenchRow[]): string {
  const lines = [
    '| V | argmax ns/elem | scan ns/elem | scan / argmax | scan ms/row | first version ns/elem | first version / argmax |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.vocab} | ${r.argmaxNsPerElement.toFixed(2)} | ${r.scanNsPerElement.toFixed(2)} | ${r.scanVsArgmax.toFixed(2)}× | ` +
        `${r.scanMsPerRow.toFixed(3)} | ${r.legacyScanNsPerElement.toFixed(2)} | ${r.legacyVsArgmax.toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

export { formatTable as formatConfidenceTable };

if (/bench[\\/]confidence\.ts$/.test(process.argv[1] ?? '')) {
  const args = parseArgs(process.argv.slice(2));
  const runs = Number(args.runs ?? 7);
  const rows = benchConfidence([259, 32768, 151936], runs);
  console.log(`\n${formatTable(rows)}`);
  if (args.json) writeFileSync(String(args.json), `${JSON.stringify(rows, null, 2)}\n`);
}
