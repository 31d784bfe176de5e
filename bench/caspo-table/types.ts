/** The data behind docs/caspo/calibration.{md,json,png}: one `caspo eval` report per split × model × strategy. */
import type { EvalReport } from '../../language-server/src/cli/eval';

/** The strategies the table compares: one chain, and CaT with its default settings. */
export const TABLE_STRATEGIES = ['greedy', 'cat'] as const;
export type TableStrategy = (typeof TABLE_STRATEGIES)[number];

export interface SplitSpec {
  /** Short name used in the tables and the JSON ("heldout", "hard"). */
  name: string;
  /** The problems, relative to the repository root. */
  file: string;
  /** One line for the markdown: what the split is. */
  describe: string;
  /** A short title for the reliability diagram's panel. */
  title: string;
  /**
   * The first 16 hex digits of the file's sha256 when the table was made: --reuse takes a row only
   * for the same problems (its per-problem records are paired by position with the new rows').
   */
  sha256?: string;
}

export interface ModelSpec {
  /** Row label: the folder name (or its path when two folders share a name). */
  label: string;
  /** The model folder, relative to the repository root when inside it. */
  dir: string;
  /** sha256 of the folder's onnx/ files, caspo.json and configs (what decides its rows): --reuse needs it to match. */
  fingerprint?: string;
}

/** The fields of a `caspo eval --json --confidence raw` report that the table reads (the JSON keeps all). */
export type EvalNumbers = Pick<
  EvalReport,
  'n' | 'accuracy' | 'generatedTokens' | 'wallMs' | 'stepAUROC' | 'ece' | 'brier' | 'steps' | 'correctSteps' | 'platt' | 'reliability'
> &
  Partial<EvalReport>;

export interface TableRun {
  split: string;
  model: string;
  strategy: TableStrategy;
  /** Wall time of the whole `caspo eval` process (model load included). */
  processMs: number;
  report: EvalNumbers;
  /** Set when the row was taken from an earlier table (--reuse): that table's generatedAt. */
  reusedFrom?: string;
}

export interface TableData {
  generatedAt: string;
  /** The command line that produced it. */
  command: string;
  machine: Record<string, unknown>;
  threads: number | null;
  /** The metric forced on every model (--metric), or null: each model's default. */
  metric?: string | null;
  limit: number | null;
  splits: SplitSpec[];
  models: ModelSpec[];
  /** Labels: the baseline (SFT) and the final CASPO model the goals compare (--final; the last model by default). */
  baseline: string;
  final: string;
  strategies: TableStrategy[];
  runs: TableRun[];
}
