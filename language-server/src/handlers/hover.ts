import { HoverRequest, MarkupKind, type Hover, type HoverParams } from 'vscode-languageserver';
import { confidenceBand, type BandThresholds } from '../../../src/protocol';
import type { StepMetric } from '../decoding/stepConfidence';
import type { SolveRegistry } from '../host/solveRegistry';
import { formatPercent, stepLineText, type ReasoningDocument, type ShownStep } from '../trace/reasoningDocument';
import { pathConfidence, type ReasoningStep, type WeakestToken } from '../trace/reasoningStep';
import { checkPosition, requestedDocument } from './requestParams';

const METRIC_MEANING: Record<StepMetric, string> = {
  meanEntropy: 'minus the mean token entropy, in nats',
  geoMeanProb: 'geometric mean of the chosen tokens’ probabilities',
  minProb: 'lowest chosen-token probability',
  deepConf: 'DeepConf: mean −log-probability of the top-k tokens',
};

/** How many of the weakest token's alternatives a hover lists. */
const ALTERNATIVES_SHOWN = 5;

/** How many pruned siblings a hover names with their confidence. */
const PRUNED_SHOWN = 5;

/**
 * The hover of a step line: confidence, band, metric and raw score, weakest token, path confidence,
 * and how many sibling candidates CaT pruned there.
 */
export function stepHoverMarkdown(document: ReasoningDocument, step: ReasoningStep, bands: BandThresholds): string {
  const shown = document.shownStepOf(step);
  const where = shown?.alternative ? ` (alternative from step ${shown.alternative.fromStep + 1})` : '';
  const lines = [
    `**Step ${step.index + 1}${where}: ${formatPercent(step.confidence)} confidence (${confidenceBand(step.confidence, bands)})**`,
    '',
    `- Metric: \`${step.metric}\` (${METRIC_MEANING[step.metric]}): raw score ${step.score.toFixed(4)}, ` +
      `${step.calibrated ? 'calibrated by the model’s caspo.json' : 'default mapping (no calibration in caspo.json)'}`,
  ];
  if (step.cutOff) {
    lines.push(`- Cut off: decoding stopped inside this step (the token limit or a cancel); its text and confidence cover only the ${step.tokenCount} token(s) decoded`);
  }
  const weakest = step.weakestToken;
  if (weakest) {
    lines.push(`- Weakest token: ${codeSpan(weakest.text)} at ${formatPercent(weakest.prob)}${characterNote(weakest)}`);
    const alternatives = weakest.alternatives.slice(0, ALTERNATIVES_SHOWN).map((a) => `${codeSpan(a.text)} ${formatPercent(a.prob)}`);
    if (alternatives.length > 0) lines.push(`- Top alternatives there: ${alternatives.join(', ')}`);
  }
  const path = shown ? pathConfidence(shown.path) : document.pathConfidence(step.index);
  if (path !== null) {
    const through = step.index === 0 ? 'step 1' : `steps 1–${step.index + 1}`;
    lines.push(`- Path confidence: ${formatPercent(path)} (product of the step confidences of ${through}${where ? ' on this branch' : ''})`);
  }
  const drawn = shown && !shown.alternative ? drawnLine(shown) : null;
  if (drawn) lines.push(drawn);
  const pruned = shown ? prunedLine(shown) : null;
  if (pruned) lines.push(pruned);
  return lines.join('\n');
}

/**
 * "- CaT drew 3 candidates here: all 3 were this step" — how much the search looked at this boundary,
 * which a hover of a confident step otherwise cannot show (identical candidates merge into one node, and
 * `caspo.cat.branchBelow` or the budget can leave a step without alternatives). Null off CaT's search.
 */
function drawnLine(shown: ShownStep): string | null {
  const drawn = shown.branching?.drawn;
  if (!drawn || drawn.candidates < 1) return null;
  const { candidates, thisStep } = drawn;
  if (candidates === 1) return '- CaT drew 1 candidate here: this step alone (no alternative was decoded)';
  if (thisStep === candidates) return `- CaT drew ${candidates} candidates here: all ${candidates} were this step`;
  const others = candidates - thisStep;
  return `- CaT drew ${candidates} candidates here: ${thisStep} this step, ${others} other${others === 1 ? '' : 's'}`;
}

/** "- CaT pruned 2 sibling candidates here: `"…"` 41.2%, …" or null when none was pruned. */
function prunedLine(shown: ShownStep): string | null {
  const siblings = shown.branching?.prunedSiblings ?? [];
  if (siblings.length === 0) return null;
  const listed = [...siblings]
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, PRUNED_SHOWN)
    .map((s) => `${codeSpan(s.text)} ${formatPercent(s.confidence)}`);
  const more = siblings.length > PRUNED_SHOWN ? `, and ${siblings.length - PRUNED_SHOWN} more` : '';
  const count = siblings.length === 1 ? '1 sibling candidate' : `${siblings.length} sibling candidates`;
  return `- CaT pruned ${count} here: ${listed.join(', ')}${more} (re-expand from the code lens)`;
}

/** Where the token is one piece of a character split across tokens (byte-level BPE), which piece. */
function characterNote(weakest: WeakestToken): string {
  const held = weakest.completesAfter;
  if (held !== undefined) return ` (it completes a character begun by the ${held === 1 ? 'token' : `${held} tokens`} before it)`;
  if (weakest.partOf !== undefined) return ` (part of ${codeSpan(weakest.partOf)}, which a later token completes)`;
  return '';
}

/** A token as an inline code span, quoted so spaces and newlines are visible. */
function codeSpan(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.includes('`') ? `\`\` ${quoted} \`\`` : `\`${quoted}\``;
}

export function hoverAt(registry: SolveRegistry, params: HoverParams, bands: BandThresholds): Hover | null {
  const document = requestedDocument(registry, HoverRequest.method, params);
  const { line } = checkPosition(HoverRequest.method, 'position', params.position);
  const step = document?.stepAtLine(line);
  if (!document || !step) return null;
  return {
    contents: { kind: MarkupKind.Markdown, value: stepHoverMarkdown(document, step, bands) },
    range: { start: { line, character: 0 }, end: { line, character: stepLineText(step.text).length } },
  };
}
