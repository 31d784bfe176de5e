import type { ExecutionProviderReport } from '../model/executionProvider';
import type { ConfidenceBand } from './bands';
import { confidenceBand } from './bands';

/** ANSI styling, switched off when the stream is not a terminal or NO_COLOR is set (no-color.org). */
export interface Palette {
  readonly enabled: boolean;
  band(band: ConfidenceBand, text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const BAND_CODES: Record<ConfidenceBand, string> = { high: '32', medium: '33', low: '31' }; // green, yellow, red

export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export function createPalette(enabled: boolean): Palette {
  const wrap = (code: string, text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    enabled,
    band: (band, text) => wrap(BAND_CODES[band], text),
    bold: (text) => wrap('1', text),
    dim: (text) => wrap('2', text),
  };
}

const BAR_WIDTH = 10;

/** "██████████ 99.9% high  " — a bar, the percentage and the band name, coloured by band. */
export function confidenceBadge(confidence: number, palette: Palette): string {
  const band = confidenceBand(confidence);
  const filled = Math.round(Math.min(1, Math.max(0, confidence)) * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const percent = `${(confidence * 100).toFixed(1)}%`.padStart(6);
  return palette.band(band, `${bar} ${percent} ${band.padEnd(6)}`);
}

/** One streamed step line: "  2  ██████░░░░  61.0% medium  1786 + 12 = 1798". */
export function formatStepLine(index: number, text: string, confidence: number, palette: Palette, cutOff = false): string {
  return `${String(index + 1).padStart(3)}  ${confidenceBadge(confidence, palette)} ${text}${cutOff ? palette.dim('  (cut off)') : ''}`;
}

/** Formats a duration for humans. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Tokens per second, or "n/a" when nothing was timed. */
export function tokensPerSecond(tokens: number, wallMs: number): string {
  return wallMs > 0 ? (tokens / (wallMs / 1000)).toFixed(1) : 'n/a';
}

/** The first clause of a provider's rejection reason ("not bundled: its libraries ..." -> "not bundled"). */
export function briefReason(reason: string): string {
  const cut = reason.search(/: | \(|\. /);
  const head = cut > 0 ? reason.slice(0, cut) : reason;
  return head.length > 60 ? `${head.slice(0, 57)}...` : head;
}

/** "cpu, 1 thread (webgpu: Failed to get a WebGPU adapter; cuda: not bundled)". */
export function formatProviders(report: ExecutionProviderReport): string {
  const threads = report.intraOpNumThreads;
  const head =
    report.active === 'cpu' ? `cpu, ${threads === 0 ? 'default' : threads} thread${threads === 1 ? '' : 's'}` : report.active;
  if (report.rejected.length === 0) return head;
  return `${head} (${report.rejected.map((r) => `${r.name}: ${briefReason(r.reason)}`).join('; ')})`;
}
