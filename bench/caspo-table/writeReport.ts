/** Writes calibration.md, calibration.json and reliability.png from the table data. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProblemScore } from '../../language-server/src/eval/bootstrap';
import { reportGoals, type GoalCheck } from './goals';
import { renderMarkdown } from './markdown';
import { reliabilitySvg, svgToPng, type ReliabilityPanel } from './reliabilitySvg';
import type { TableData } from './types';

export const OUTPUT_FILES = {
  markdown: 'calibration.md',
  json: 'calibration.json',
  png: 'reliability.png',
  /** The runs' per-problem records (one compact JSON line per run), kept out of the readable JSON. */
  problems: 'calibration-problems.jsonl',
} as const;

interface ProblemsLine {
  /** The generatedAt of the table the line belongs to: a stale file is not read. */
  table: string;
  split: string;
  model: string;
  strategy: string;
  problems: ProblemScore[];
}

/** A calibration.json with its runs' per-problem records put back from the .jsonl beside it (when there is one). */
export function readTableData(file: string): TableData & { goals?: unknown; lastGoals?: unknown } {
  const data = JSON.parse(readFileSync(file, 'utf8')) as TableData & { goals?: unknown; lastGoals?: unknown };
  const sidecar = join(dirname(file), OUTPUT_FILES.problems);
  if (!existsSync(sidecar)) return data;
  for (const line of readFileSync(sidecar, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as ProblemsLine;
    const run = data.runs.find((r) => r.split === entry.split && r.model === entry.model && r.strategy === entry.strategy);
    if (entry.table === data.generatedAt && run && run.report.n === entry.problems.length) run.report = { ...run.report, problems: entry.problems };
  }
  return data;
}

/** One panel per split: the baseline's and the final model's greedy bins (one series when they are the same model). */
export function reliabilityPanels(data: TableData): ReliabilityPanel[] {
  const models = [...new Set([data.baseline, data.final])];
  return data.splits.map((split) => ({
    title: split.title ?? split.name,
    series: models.flatMap((model) => {
      const bins = data.runs.find((r) => r.split === split.name && r.model === model && r.strategy === 'greedy')?.report.reliability;
      return bins ? [{ label: model, bins }] : [];
    }),
  }));
}

export function writeReport(data: TableData, outDir: string): { goals: GoalCheck[]; files: string[] } {
  mkdirSync(outDir, { recursive: true });
  const { goals, lastGoals } = reportGoals(data);
  const files = [join(outDir, OUTPUT_FILES.json), join(outDir, OUTPUT_FILES.markdown), join(outDir, OUTPUT_FILES.png)];
  const withRecords = data.runs.filter((r) => r.report.problems !== undefined);
  const runs = data.runs.map(({ report: { problems: _problems, ...report }, ...run }) => ({ ...run, report }));
  writeFileSync(files[0], `${JSON.stringify({ ...data, runs, goals, ...(lastGoals ? { lastGoals } : {}) }, null, 2)}\n`);
  if (withRecords.length > 0) {
    files.push(join(outDir, OUTPUT_FILES.problems));
    const lines = withRecords.map((r) => JSON.stringify({ table: data.generatedAt, split: r.split, model: r.model, strategy: r.strategy, problems: r.report.problems }));
    writeFileSync(files[files.length - 1], `${lines.join('\n')}\n`);
  } else rmSync(join(outDir, OUTPUT_FILES.problems), { force: true });
  writeFileSync(files[1], renderMarkdown(data, goals, OUTPUT_FILES.png, lastGoals));
  const heading = `Reliability of the raw step confidence, greedy: ${[...new Set([data.baseline, data.final])].join(' vs ')}`;
  svgToPng(reliabilitySvg(reliabilityPanels(data), heading), files[2]);
  return { goals, files };
}
