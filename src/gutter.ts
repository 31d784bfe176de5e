/**
 * The confidence gutter: one icon per step line in three bands. One decoration type per band,
 * created once and disposed with the extension; icons for light and dark themes from media/, the
 * overview-ruler marks in the theme colours of `contributes.colors` (caspo.confidence.*). Updates
 * are debounced: a burst of streamed steps repaints once.
 */
import * as vscode from 'vscode';
import { linesByBand, type LinesByBand } from './gutterLines';
import { CONFIDENCE_BANDS, REASONING_SCHEME, type BandThresholds, type ConfidenceBand } from './protocol';
import type { ReasoningDocumentStore } from './reasoningDocuments';

const REPAINT_DELAY_MS = 50;

export class ConfidenceGutter implements vscode.Disposable {
  private readonly types: Record<ConfidenceBand, vscode.TextEditorDecorationType>;
  private readonly applied = new Map<string, LinesByBand>();
  private readonly subscriptions: vscode.Disposable[];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly store: ReasoningDocumentStore,
    private readonly thresholds: () => BandThresholds | undefined,
  ) {
    this.types = Object.fromEntries(CONFIDENCE_BANDS.map((band) => [band, decorationType(extensionUri, band)])) as Record<
      ConfidenceBand,
      vscode.TextEditorDecorationType
    >;
    this.subscriptions = [
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.scheme === REASONING_SCHEME) this.schedule();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.schedule()),
    ];
  }

  /** Repaints soon (settings change, new steps); several calls in a burst repaint once. */
  schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.repaint();
    }, REPAINT_DELAY_MS);
  }

  /** Repaints now; the lines painted per band in a visible document (tests, via caspo.debug.gutter). */
  paintedLines(uri: string): LinesByBand | undefined {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.repaint();
    return this.applied.get(vscode.Uri.parse(uri).toString());
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const subscription of this.subscriptions) subscription.dispose();
    for (const type of Object.values(this.types)) type.dispose();
  }

  private repaint(): void {
    const thresholds = this.thresholds();
    if (!thresholds) return; // settings invalid: the user has been told; keep the last icons
    this.applied.clear();
    for (const editor of vscode.window.visibleTextEditors) {
      const document = editor.document;
      if (document.uri.scheme !== REASONING_SCHEME) continue;
      const lines = linesByBand(this.store.stepsOf(document.uri), thresholds, document.lineCount);
      for (const band of CONFIDENCE_BANDS) {
        editor.setDecorations(
          this.types[band],
          lines[band].map((line) => new vscode.Range(line, 0, line, 0)),
        );
      }
      this.applied.set(document.uri.toString(), lines);
    }
  }
}

function decorationType(extensionUri: vscode.Uri, band: ConfidenceBand): vscode.TextEditorDecorationType {
  const icon = (theme: 'light' | 'dark') => vscode.Uri.joinPath(extensionUri, 'media', `confidence-${band}-${theme}.svg`);
  return vscode.window.createTextEditorDecorationType({
    light: { gutterIconPath: icon('light') },
    dark: { gutterIconPath: icon('dark') },
    gutterIconSize: 'contain',
    overviewRulerColor: new vscode.ThemeColor(`caspo.confidence.${band}`),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
}
