import { ReasoningDocument } from '../../../language-server/src/trace/reasoningDocument';
import type { ReasoningStep } from '../../../language-server/src/trace/reasoningStep';

/** A step with plausible evidence; `extra` overrides any field. */
export function step(index: number, text: string, confidence: number, extra: Partial<ReasoningStep> = {}): ReasoningStep {
  return {
    index,
    text,
    confidence,
    metric: 'meanEntropy',
    score: Math.log(confidence),
    calibrated: false,
    tokenCount: text.length,
    cutOff: false,
    weakestToken: { text: '7', prob: 0.6, alternatives: [{ text: '7', prob: 0.6 }, { text: '1', prob: 0.3 }] },
    ...extra,
  };
}

/** The document of solve 3 ("47*38 + 12") holding `steps`. */
export function documentWith(steps: ReasoningStep[], caution?: string): ReasoningDocument {
  const document = new ReasoningDocument('3', 'caspo-reasoning:/solve-3/47x38-12.caspo', {
    problem: '  47*38 + 12 ',
    model: 'caspo-arith-sft',
    executionProvider: 'cpu, 1 thread(s)',
    metric: 'meanEntropy',
    calibrated: false,
    ...(caution === undefined ? {} : { caution }),
  });
  for (const s of steps) document.addStep(s);
  return document;
}
