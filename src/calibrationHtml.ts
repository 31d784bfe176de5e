/**
 * The calibration webview's page: a static shell whose script (media/calibration.js) draws the
 * reliability diagram and the metrics from the data posted to it. No `vscode` import, so the
 * Content-Security-Policy is unit-tested in plain Node.
 */
import type { CalibrationResult } from './protocol';

/** Messages from the extension to the page. */
export type CalibrationPageMessage =
  | { type: 'loading'; problems: number; recompute: boolean }
  | { type: 'result'; result: CalibrationResult }
  | { type: 'error'; message: string; cancelled: boolean }
  /** The result shown was computed under settings that have changed since. */
  | { type: 'stale'; message: string };

/** Messages from the page to the extension. */
export type CalibrationViewMessage = { type: 'ready' } | { type: 'recompute' };

export interface CalibrationPageAssets {
  /** The webview's `cspSource` (the origin of its local resources). */
  cspSource: string;
  /** Allows the one script tag; new per page. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

/**
 * Nothing by default; styles, images and fonts from the webview's resource origin (its
 * localResourceRoots limit that to media/); the one script by nonce.
 */
export function calibrationContentSecurityPolicy(cspSource: string, nonce: string): string {
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(nonce)) throw new Error(`the webview nonce must be 16+ base64 characters, got ${JSON.stringify(nonce)}`);
  // VS Code's own source list, e.g. "'self' https://*.vscode-cdn.net": accepted as given, unless it
  // would open the policy to everything or to inline code.
  const sources = cspSource.trim().split(/\s+/);
  if (cspSource.trim() === '' || /[;,\n]/.test(cspSource) || sources.some((s) => s === '*' || /^'unsafe-|^(https?|data|blob):?$/.test(s))) {
    throw new Error(`unexpected webview cspSource ${JSON.stringify(cspSource)}`);
  }
  return [`default-src 'none'`, `style-src ${cspSource}`, `img-src ${cspSource}`, `font-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
}

export function calibrationHtml(assets: CalibrationPageAssets): string {
  const csp = calibrationContentSecurityPolicy(assets.cspSource, assets.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(assets.styleUri)}">
<title>CASPO Calibration</title>
</head>
<body>
<header>
  <div>
    <h1>Step-confidence calibration</h1>
    <p id="subtitle">Decoding the held-out problems…</p>
  </div>
  <button id="recompute" type="button" title="Decode the held-out problems again (ignores the cached result)">Recompute</button>
</header>
<div id="status" role="status" aria-live="polite"></div>
<main id="report" hidden>
  <figure>
    <svg id="diagram" viewBox="0 0 360 340" role="img" aria-labelledby="diagram-caption"></svg>
    <figcaption id="diagram-caption">Reliability diagram: steps binned by confidence (10 equal-width bins); bar height = the fraction the verifier found correct, orange line = the bin's mean confidence. Bars reaching the dashed diagonal are perfectly calibrated; hover a bar for its count.</figcaption>
  </figure>
  <table id="metrics" aria-label="Calibration metrics"><tbody></tbody></table>
</main>
<script nonce="${escapeAttribute(assets.nonce)}" src="${escapeAttribute(assets.scriptUri)}"></script>
</body>
</html>
`;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
