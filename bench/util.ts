/** Small helpers shared by the benchmarks. */
import { existsSync, readFileSync } from 'node:fs';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A share as signed percentage points with a typographic minus: 0.015 -> "+1.5", -0.004 -> "−0.4", 0 -> "0.0". */
export function signedPoints(x: number): string {
  return `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(100 * x).toFixed(1)}`;
}

/** `--key value` and `--flag` pairs. */
export function parseArgs(argv: readonly string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[arg.slice(2)] = next;
      i++;
    } else out[arg.slice(2)] = true;
  }
  return out;
}

/** One problem of a JSONL problem file (training/data/*.jsonl). */
export interface BenchProblem {
  problem: string;
  answer: string;
  kind?: string;
}

/** The first `limit` problems of a JSONL file (blank lines skipped). */
export function readProblems(path: string, limit: number): BenchProblem[] {
  if (!existsSync(path)) throw new Error(`${path} is missing (the hard set: cd training && python3 -m caspo_train.hard)`);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .slice(0, limit)
    .map((line) => JSON.parse(line) as BenchProblem);
}

/** `part` of `whole` as "12.3 %" ("n/a" for an empty whole). */
export const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : 'n/a');
