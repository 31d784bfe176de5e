/** Why a row stopped generating. */
export type StopReason = 'eos' | 'answer' | 'maxTokens' | 'cancelled';

/**
 * Whether a row (or a search path: 'budget') stopped from outside rather than by its own end (EOS, a whole
 * answer line): then its last line, unless a line break closed it, is cut short.
 */
export function stoppedFromOutside(reason: StopReason | 'budget' | null): boolean {
  return reason === 'maxTokens' || reason === 'cancelled' || reason === 'budget';
}

/** What a criterion sees after a token was appended to a row. */
export interface RowProgress {
  /** The token just generated. */
  readonly lastTokenId: number;
  /** Its text (may be empty, e.g. for special tokens or partial UTF-8). */
  readonly lastTokenText: string;
  /** All generated text so far, including lastTokenText. */
  readonly text: string;
  /** Generated tokens so far, including the last one. */
  readonly generatedCount: number;
}

export interface StoppingCriterion {
  /** The reason to stop now, or null to go on. */
  check(progress: RowProgress): StopReason | null;
}

/** Stops when the model emits one of its end-of-sequence ids. */
export class EosCriterion implements StoppingCriterion {
  private readonly eos: ReadonlySet<number>;
  constructor(eosTokenIds: readonly number[]) {
    this.eos = new Set(eosTokenIds);
  }
  check(progress: RowProgress): StopReason | null {
    return this.eos.has(progress.lastTokenId) ? 'eos' : null;
  }
}

/** Matches a line that carries the final answer, e.g. "Answer: 42". */
export const ANSWER_LINE = /^\s*Answer:/;

/**
 * Stops once a line starting with "Answer:" is complete: a newline ended it, or EOS came while it
 * was the current line. Only lines touched by the last token are looked at.
 */
export class AnswerLineCriterion implements StoppingCriterion {
  private readonly eos: ReadonlySet<number>;
  constructor(eosTokenIds: readonly number[]) {
    this.eos = new Set(eosTokenIds);
  }
  check({ text, lastTokenText, lastTokenId }: RowProgress): StopReason | null {
    const previousLength = text.length - lastTokenText.length;
    // Start of the line that was open before this token.
    const openLineStart = text.lastIndexOf('\n', previousLength - 1) + 1;
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline >= previousLength) {
      for (const line of text.slice(openLineStart, lastNewline).split('\n')) {
        if (ANSWER_LINE.test(line)) return 'answer';
      }
    }
    if (this.eos.has(lastTokenId) && ANSWER_LINE.test(text.slice(lastNewline + 1))) return 'answer';
    return null;
  }
}

/** Stops after `maxNewTokens` generated tokens. */
export class MaxTokensCriterion implements StoppingCriterion {
  constructor(private readonly maxNewTokens: number) {
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
      throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
    }
  }
  check(progress: RowProgress): StopReason | null {
    return progress.generatedCount >= this.maxNewTokens ? 'maxTokens' : null;
  }
}

/** Stops when the signal is aborted (the editor cancelled the request). */
export class CancellationCriterion implements StoppingCriterion {
  constructor(private readonly signal: AbortSignal) {}
  check(): StopReason | null {
    return this.signal.aborted ? 'cancelled' : null;
  }
}

export interface StoppingOptions {
  eosTokenIds: readonly number[];
  maxNewTokens: number;
  stopAtAnswerLine?: boolean;
  signal?: AbortSignal;
}

/**
 * The standard list, in priority order: cancellation, a completed answer line (also when EOS
 * completed it), EOS, the token limit.
 */
export function standardStoppingCriteria(options: StoppingOptions): StoppingCriterion[] {
  const criteria: StoppingCriterion[] = [];
  if (options.signal) criteria.push(new CancellationCriterion(options.signal));
  if (options.stopAtAnswerLine ?? true) criteria.push(new AnswerLineCriterion(options.eosTokenIds));
  criteria.push(new EosCriterion(options.eosTokenIds));
  criteria.push(new MaxTokensCriterion(options.maxNewTokens));
  return criteria;
}

/** The first criterion that says stop, or null. */
export function firstStopReason(criteria: readonly StoppingCriterion[], progress: RowProgress): StopReason | null {
  for (const criterion of criteria) {
    const reason = criterion.check(progress);
    if (reason !== null) return reason;
  }
  return null;
}
