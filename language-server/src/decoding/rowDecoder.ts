import type { IncrementalDetokenizer } from '../model/tokenizer';
import { confidenceOfChosen, createLogitStats, DEFAULT_TOP_K, scanLogits, type LogitStats, type TokenConfidence } from './confidence';
import type { TokenSampler } from './sampling';
import { scoreStep, type ConfidenceCalibration, type StepConfidenceReport, type StepMetric } from './stepConfidence';
import type { StepSegmenter } from './steps';
import { firstStopReason, stoppedFromOutside, type StopReason, type StoppingCriterion } from './stopping';

/** One generated token with the confidence evidence of the distribution it came from. */
export interface GeneratedToken extends Omit<TokenConfidence, 'logSumExp'> {
  /** Its text in the stream ("" while a UTF-8 character is incomplete). */
  text: string;
}

/** A closed reasoning step with its confidence (under the selected metric and all metrics). */
export interface GeneratedStep extends StepConfidenceReport {
  /** 0-based index of the step within its row. */
  index: number;
  text: string;
  /** Indices into the row's tokens. */
  tokenIndices: number[];
  /** True when decoding stopped inside the step (the token limit, a cancel): it ends where the tokens did. */
  cutOff?: boolean;
}

/** What happened when the row accepted one logits row. */
export interface RowAdvance {
  token: GeneratedToken;
  /** Steps closed by this token (and, when the row stopped, the final unterminated one). */
  closedSteps: GeneratedStep[];
  stopReason: StopReason | null;
}

export interface RowDecoderParts {
  sampler: TokenSampler;
  detokenizer: IncrementalDetokenizer;
  segmenter: StepSegmenter;
  criteria: readonly StoppingCriterion[];
  calibration: ConfidenceCalibration;
  metric: StepMetric;
  topK?: number;
}

/**
 * The decoding state of one sequence: choose a token from its logits (one confidence pass), turn it
 * into text, segment steps, and check the stopping criteria. Batching lives in generate.ts.
 */
export class RowDecoder {
  readonly tokens: GeneratedToken[] = [];
  readonly steps: GeneratedStep[] = [];
  text = '';
  stopReason: StopReason | null = null;
  /** Milliseconds spent in the confidence pass and sampling. */
  confidenceMs = 0;
  private readonly stats: LogitStats;

  constructor(private readonly parts: RowDecoderParts) {
    this.stats = createLogitStats(parts.topK ?? DEFAULT_TOP_K);
  }

  get finished(): boolean {
    return this.stopReason !== null;
  }

  get lastTokenId(): number {
    if (this.tokens.length === 0) throw new Error('RowDecoder has no tokens yet');
    return this.tokens[this.tokens.length - 1].id;
  }

  /** Chooses the next token from this row's logits and updates text, steps and stop state. */
  accept(logits: Float32Array): RowAdvance {
    if (this.finished) throw new Error(`RowDecoder.accept after the row stopped (${this.stopReason})`);
    const started = performance.now();
    scanLogits(logits, this.stats);
    const id = this.parts.sampler.choose(logits, this.stats);
    const { logSumExp: _unused, ...confidence } = confidenceOfChosen(logits, this.stats, id);
    this.confidenceMs += performance.now() - started;
    return this.append(confidence);
  }

  /**
   * Appends a token chosen earlier, with its recorded evidence (no logits): rebuilds the state of a
   * recorded path, e.g. to continue a pruned branch of a reasoning tree.
   */
  replay(token: Omit<GeneratedToken, 'text'>): RowAdvance {
    if (this.finished) throw new Error(`RowDecoder.replay after the row stopped (${this.stopReason})`);
    const { id, prob, logProb, entropy, maxProb, topK } = token;
    return this.append({ id, prob, logProb, entropy, maxProb, topK: topK.slice() });
  }

  private append(confidence: Omit<GeneratedToken, 'text'>): RowAdvance {
    const id = confidence.id;
    const token: GeneratedToken = { ...confidence, text: this.parts.detokenizer.push(id) };
    const tokenIndex = this.tokens.push(token) - 1;
    this.text += token.text;
    const closedSteps: GeneratedStep[] = [];
    for (const closed of this.parts.segmenter.push(tokenIndex, token.text)) closedSteps.push(this.addStep(closed.text, closed.tokenIndices));

    const stopReason = firstStopReason(this.parts.criteria, {
      lastTokenId: id,
      lastTokenText: token.text,
      text: this.text,
      generatedCount: this.tokens.length,
    });
    if (stopReason !== null) closedSteps.push(...this.finish(stopReason));
    return { token, closedSteps, stopReason };
  }

  /** Stops the row (e.g. cancelled between forwards) and returns the final step, if any. */
  finish(reason: StopReason): GeneratedStep[] {
    if (this.finished) return [];
    this.stopReason = reason;
    const heldBack = this.parts.detokenizer.flush();
    const closedSteps: GeneratedStep[] = [];
    if (heldBack.length > 0 && this.tokens.length > 0) {
      this.tokens[this.tokens.length - 1].text += heldBack;
      this.text += heldBack;
      for (const closed of this.parts.segmenter.appendText(this.tokens.length - 1, heldBack)) {
        closedSteps.push(this.addStep(closed.text, closed.tokenIndices));
      }
    }
    const last = this.parts.segmenter.flush();
    // The row's own end (EOS, a whole answer line) closes its last step; the token limit or a cancel cuts it.
    if (last) closedSteps.push(this.addStep(last.text, last.tokenIndices, stoppedFromOutside(reason)));
    return closedSteps;
  }

  /**
   * An independent copy (same tokens, steps and sampler/detokenizer state) for a forked branch;
   * with `sampler`, the copy chooses its tokens with that one instead (a branch's own stream).
   */
  clone(sampler?: TokenSampler): RowDecoder {
    const copy = new RowDecoder({
      ...this.parts,
      sampler: sampler ?? this.parts.sampler.clone(),
      detokenizer: this.parts.detokenizer.clone(),
      segmenter: this.parts.segmenter.clone(),
    });
    copy.tokens.push(...this.tokens.map((t) => ({ ...t, topK: t.topK.slice() })));
    copy.steps.push(...this.steps.map((s) => ({ ...s, tokenIndices: s.tokenIndices.slice() })));
    copy.text = this.text;
    copy.stopReason = this.stopReason;
    return copy;
  }

  private addStep(text: string, tokenIndices: number[], cutOff = false): GeneratedStep {
    const report = scoreStep(
      tokenIndices.map((i) => this.tokens[i]),
      this.parts.calibration,
      this.parts.metric,
    );
    const step: GeneratedStep = { index: this.steps.length, text, tokenIndices, ...report, ...(cutOff ? { cutOff } : {}) };
    this.steps.push(step);
    return step;
  }
}
