/** A reasoning step: the text between delimiters and the generated tokens that produced it. */
export interface SegmentedStep {
  /** Trimmed text of the step. */
  text: string;
  /** Indices (into the row's generated tokens) of the tokens that belong to this step. */
  tokenIndices: number[];
}

export const DEFAULT_STEP_DELIMITER = '\n';

/**
 * Splits generated tokens into steps as they arrive. A token whose text contains the delimiter
 * closes the current step and belongs to it; when text after the delimiter inside that token starts
 * the next step, the token belongs to that step as well (so no step is without tokens); a token holding
 * several delimiters closes a step at each. Steps whose text is blank (empty lines) are dropped.
 */
export class StepSegmenter {
  private text = '';
  private tokenIndices: number[] = [];

  constructor(private readonly delimiter: string = DEFAULT_STEP_DELIMITER) {
    if (delimiter.length === 0) throw new Error('The step delimiter must not be empty');
  }

  /** Adds the next token; returns the steps it closed, in order (a token may hold several delimiters). */
  push(tokenIndex: number, tokenText: string): SegmentedStep[] {
    this.tokenIndices.push(tokenIndex);
    return this.take(tokenIndex, tokenText);
  }

  /** Adds late text of an already pushed token (e.g. a held-back partial character at the end); returns the steps it closed. */
  appendText(tokenIndex: number, text: string): SegmentedStep[] {
    if (text.trim().length > 0 && !this.tokenIndices.includes(tokenIndex)) this.tokenIndices.push(tokenIndex);
    return this.take(tokenIndex, text);
  }

  /** Appends a token's text and closes a step at each delimiter in it. */
  private take(tokenIndex: number, text: string): SegmentedStep[] {
    // The first delimiter may have begun in the earlier text (split across tokens); the pending text holds no whole one.
    const searchFrom = Math.max(0, this.text.length - this.delimiter.length + 1);
    this.text += text;
    let at = this.text.indexOf(this.delimiter, searchFrom);
    const closed: SegmentedStep[] = [];
    while (at >= 0) {
      const step = makeStep(this.text.slice(0, at), this.tokenIndices);
      if (step) closed.push(step);
      this.text = this.text.slice(at + this.delimiter.length);
      // A token like "\nStep" also starts the next step, so that step lists it too.
      this.tokenIndices = this.text.trim().length > 0 ? [tokenIndex] : [];
      at = this.text.indexOf(this.delimiter);
    }
    return closed;
  }

  /** Closes the last, unterminated step (end of generation); null if it is blank. */
  flush(): SegmentedStep | null {
    const step = makeStep(this.text, this.tokenIndices);
    this.text = '';
    this.tokenIndices = [];
    return step;
  }

  /** A copy with the same pending text and tokens, for a forked branch. */
  clone(): StepSegmenter {
    const copy = new StepSegmenter(this.delimiter);
    copy.text = this.text;
    copy.tokenIndices = this.tokenIndices.slice();
    return copy;
  }
}

function makeStep(rawText: string, tokenIndices: number[]): SegmentedStep | null {
  const text = rawText.trim();
  return text.length === 0 ? null : { text, tokenIndices };
}

/** Segments a finished list of token texts at once (same rules as StepSegmenter). */
export function segmentSteps(tokenTexts: readonly string[], delimiter = DEFAULT_STEP_DELIMITER): SegmentedStep[] {
  const segmenter = new StepSegmenter(delimiter);
  const steps: SegmentedStep[] = [];
  tokenTexts.forEach((text, index) => steps.push(...segmenter.push(index, text)));
  const last = segmenter.flush();
  if (last) steps.push(last);
  return steps;
}
