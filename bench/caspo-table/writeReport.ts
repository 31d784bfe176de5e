/** Writes calibration.md, calibration.json and reliability.png from the table data. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportGoals, type GoalCheck } from './goals';
import { renderMarkdown } from './markdown';
import { reliabilitySvg, svgToPng, type ReliabilityPanel } from './reliabilitySvg';
import type { TableData } from './types';

export const OUTPUT_FILES = { markdown: 'calibration.md', json: 'calibration.json', png: 'reliability.png' } as const;

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
  writeFileSync(files[0], `${JSON.stringify({ ...data, goals, ...(lastGoals ? { lastGoals } : {}) }, null, 2)}\n`);
  writeFileSync(files[1], renderMarkdown(data, goals, OUTPUT_FILES.png, lastGoals));
  const heading = `Reliability of the raw step confidence, greedy: ${[...new Set([data.baseline, data.final])].join(' vs ')}`;
  svgToPng(reliabilitySvg(reliabilityPanels(data), heading), files[2]);
  return { goals, files };
}
