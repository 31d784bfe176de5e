/**
 * The reliability diagram as SVG (pure), one panel per split: each model's bins at (mean confidence,
 * accuracy) against the diagonal, and below them the steps per bin on a log scale, with the counts.
 * `svgToPng` renders it with rsvg-convert (Debian librsvg2-bin).
 */
import { spawnSync } from 'node:child_process';
import type { ReliabilityBin } from '../../language-server/src/eval/metrics';

export interface ReliabilitySeries {
  label: string;
  bins: readonly ReliabilityBin[];
}

export interface ReliabilityPanel {
  title: string;
  series: readonly ReliabilitySeries[];
}

const COLORS = ['#0969da', '#e16f24', '#1a7f37', '#8250df'];
const PANEL_WIDTH = 560;
const PLOT = { left: 80, top: 70, size: 400 };
const STRIP = { gap: 50, height: 110 };
const HEIGHT = PLOT.top + PLOT.size + STRIP.gap + STRIP.height + 60;

export function reliabilitySvg(panels: readonly ReliabilityPanel[], heading: string): string {
  const width = PANEL_WIDTH * Math.max(1, panels.length);
  const body = panels.map((panel, i) => `<g transform="translate(${i * PANEL_WIDTH},0)">${panelSvg(panel)}</g>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="${width}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" font-size="17" text-anchor="middle" font-weight="bold">${escapeXml(heading)}</text>`,
    body,
    '</svg>',
  ].join('\n');
}

function panelSvg(panel: ReliabilityPanel): string {
  const { left, top, size } = PLOT;
  const x = (v: number) => left + v * size;
  const y = (v: number) => top + (1 - v) * size;
  const out: string[] = [`<text x="${left + size / 2}" y="${top - 20}" font-size="15" text-anchor="middle">${escapeXml(panel.title)}</text>`];
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    out.push(`<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${top + size}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${left}" y1="${y(v)}" x2="${left + size}" y2="${y(v)}" stroke="#e6e6e6"/>`);
    out.push(`<text x="${x(v)}" y="${top + size + 16}" font-size="11" text-anchor="middle">${v.toFixed(1)}</text>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#444"/>`);
  out.push(`<line class="diagonal" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#888" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${left + size / 2}" y="${top + size + 34}" font-size="12" text-anchor="middle">step confidence (raw)</text>`);
  out.push(`<text transform="translate(${left - 40},${top + size / 2}) rotate(-90)" font-size="12" text-anchor="middle">step accuracy</text>`);

  panel.series.forEach((series, s) => {
    const color = COLORS[s % COLORS.length];
    const points = series.bins.filter((b) => b.count > 0 && b.meanConfidence !== null && b.accuracy !== null);
    if (points.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((b) => `${r(x(b.meanConfidence!))},${r(y(b.accuracy!))}`).join(' ')}"/>`);
    }
    for (const b of points) out.push(`<circle cx="${r(x(b.meanConfidence!))}" cy="${r(y(b.accuracy!))}" r="4.5" fill="${color}"/>`);
    // Legend, inside the plot's upper left (the diagonal's empty side).
    out.push(`<rect x="${left + 12}" y="${top + 12 + 20 * s}" width="14" height="14" fill="${color}"/>`);
    out.push(`<text x="${left + 32}" y="${top + 24 + 20 * s}" font-size="12">${escapeXml(series.label)}</text>`);
  });

  // Steps per bin: side-by-side bars per bin, log scale, the count above each bar.
  const stripTop = top + size + STRIP.gap;
  const maxCount = Math.max(1, ...panel.series.flatMap((series) => series.bins.map((b) => b.count)));
  const barHeight = (count: number) => (count > 0 ? (STRIP.height * Math.log10(count + 1)) / Math.log10(maxCount + 1) : 0);
  const binWidth = size / Math.max(1, panel.series[0]?.bins.length ?? 10);
  const barWidth = (binWidth - 4) / Math.max(1, panel.series.length);
  out.push(`<line x1="${left}" y1="${stripTop + STRIP.height}" x2="${left + size}" y2="${stripTop + STRIP.height}" stroke="#444"/>`);
  out.push(`<text transform="translate(${left - 40},${stripTop + STRIP.height / 2}) rotate(-90)" font-size="12" text-anchor="middle">steps (log)</text>`);
  out.push(`<text x="${left + size / 2}" y="${stripTop + STRIP.height + 18}" font-size="12" text-anchor="middle">steps per confidence bin</text>`);
  panel.series.forEach((series, s) => {
    const color = COLORS[s % COLORS.length];
    series.bins.forEach((b, i) => {
      const h = barHeight(b.count);
      const bx = left + i * binWidth + 2 + s * barWidth;
      const by = stripTop + STRIP.height - h;
      out.push(`<rect class="count" x="${r(bx)}" y="${r(by)}" width="${r(barWidth)}" height="${r(h)}" fill="${color}" fill-opacity="0.75"/>`);
      if (b.count === 0) return;
      const tx = r(bx + barWidth / 2 + 3);
      out.push(`<text class="count-label" transform="translate(${tx},${r(by - 3)}) rotate(-90)" font-size="9">${b.count}</text>`);
    });
  });
  return out.join('\n');
}

function r(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders SVG text to a PNG file with rsvg-convert; throws with what to install when it is missing. */
export function svgToPng(svg: string, pngPath: string): void {
  const result = spawnSync('rsvg-convert', ['--format', 'png', '--output', pngPath], { input: svg });
  if (result.error) {
    throw new Error(`rsvg-convert could not run (${result.error.message}): install Debian's librsvg2-bin (.ci/install-system-deps does) to write ${pngPath}.`);
  }
  if (result.status !== 0) throw new Error(`rsvg-convert failed (exit ${result.status}): ${result.stderr.toString()}`);
}
