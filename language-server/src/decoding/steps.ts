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
 * the next step, the token belongs to that step as well (so no step is without tokens). Steps whose
 * text is blank (empty lines) are dropped.
 */
export class StepSegmenter {
  private text = '';
  private tokenIndices: number[] = [];

  constructor(private readonly delimiter: string = DEFAULT_STEP_DELIMITER) {
    if (delimiter.length === 0) throw new Error('The step delimiter must not be empty');
  }

  /** Adds the next token; returns the step it closed, or null. */
  push(tokenIndex: number, tokenText: string): SegmentedStep | null {
    this.tokenIndices.push(tokenIndex);
    // Search where the delimiter may start, including a delimiter split across tokens.
    const searchFrom = Math.max(0, this.text.length - this.delimiter.length + 1);
    this.text += tokenText;
    const at = this.text.lastIndexOf(this.delimiter);
    if (at < searchFrom) return null;

    const closedText = this.text.slice(0, at);
    const closedTokens = this.tokenIndices;
    this.text = this.text.slice(at + this.delimiter.length);
    // A token like "\nStep" also starts the next step, so that step lists it too.
    this.tokenIndices = this.text.trim().length > 0 ? [tokenIndex] : [];
    return makeStep(closedText, closedTokens);
  }

  /** Adds late text of an already pushed token (e.g. a held-back partial character at the end). */
  appendText(tokenIndex: number, text: string): void {
    this.text += text;
    if (text.trim().length > 0 && !this.tokenIndices.includes(tokenIndex)) this.tokenIndices.push(tokenIndex);
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
  tokenTexts.forEach((text, index) => {
    const step = segmenter.push(index, text);
    if (step) steps.push(step);
  });
  const last = segmenter.flush();
  if (last) steps.push(last);
  return steps;
}
