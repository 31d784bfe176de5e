import type { GeneratedRow, GenerationStats } from '../decoding/generate';
import { ANSWER_LINE, stoppedFromOutside, type StopReason } from '../decoding/stopping';

/** A token as shown in a trace. */
export interface TraceToken {
  text: string;
  prob: number;
  entropy: number;
}

export interface TraceStep {
  index: number;
  text: string;
  /** Calibrated step confidence in [0, 1]. */
  confidence: number;
  tokens: TraceToken[];
  /** Present (true) when decoding stopped inside the step: its text and confidence end where the tokens did. */
  cutOff?: true;
}

export interface TraceStats {
  promptTokens: number;
  generatedTokens: number;
  wallMs: number;
  confidenceMs: number;
}

/** The JSON-facing record of one solved problem (CLI output, JSONL annotations). */
export interface Trace {
  problem: string;
  /** From the "Answer: N" line; null when the model gave none. */
  answer: string | null;
  strategy: string;
  model: string;
  executionProvider: string;
  steps: TraceStep[];
  stats: TraceStats;
}

/**
 * The answer of a decoded row: `parseAnswer` of its text, leaving out a last line the token limit or a
 * cancel cut short (a cut "Answer: 1" of "Answer: 17" is no answer).
 */
export function answerOf(row: { text: string; stopReason: StopReason | 'budget' | null }): string | null {
  const cut = stoppedFromOutside(row.stopReason) && !row.text.endsWith('\n');
  return parseAnswer(cut ? row.text.slice(0, row.text.lastIndexOf('\n') + 1) : row.text);
}

/** The text after "Answer:" on the last answer line, trimmed; null if there is none. */
export function parseAnswer(text: string): string | null {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (ANSWER_LINE.test(lines[i])) {
      const answer = lines[i].slice(lines[i].indexOf('Answer:') + 'Answer:'.length).trim();
      return answer.length > 0 ? answer : null;
    }
  }
  return null;
}

export interface TraceContext {
  problem: string;
  strategy: string;
  model: string;
  executionProvider: string;
  stats: GenerationStats;
}

/** Builds the trace of one generated row (or any decoded path: a strategy's chosen one). */
export function traceFromRow(row: Pick<GeneratedRow, 'text' | 'steps' | 'tokens'> & Parameters<typeof answerOf>[0], context: TraceContext): Trace {
  return {
    problem: context.problem,
    answer: answerOf(row),
    strategy: context.strategy,
    model: context.model,
    executionProvider: context.executionProvider,
    steps: row.steps.map((step) => ({
      index: step.index,
      text: step.text,
      confidence: step.confidence,
      tokens: step.tokenIndices.map((i) => {
        const token = row.tokens[i];
        return { text: token.text, prob: token.prob, entropy: token.entropy };
      }),
      ...(step.cutOff ? { cutOff: true as const } : {}),
    })),
    stats: {
      promptTokens: context.stats.promptTokens,
      generatedTokens: context.stats.generatedTokens,
      wallMs: context.stats.wallMs,
      confidenceMs: context.stats.confidenceMs,
    },
  };
}

/** Rounds floats for compact, stable JSON (probabilities and times do not need 17 digits). */
function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * The plain-object form of a trace with fields in a fixed order and floats rounded
 * (probabilities/entropies to 6 digits, milliseconds to 0.01). `JSON.stringify(toJSON(t))`.
 */
export function toJSON(trace: Trace): Trace {
  return {
    problem: trace.problem,
    answer: trace.answer,
    strategy: trace.strategy,
    model: trace.model,
    executionProvider: trace.executionProvider,
    steps: trace.steps.map((step) => ({
      index: step.index,
      text: step.text,
      confidence: round(step.confidence, 6),
      tokens: step.tokens.map((t) => ({ text: t.text, prob: round(t.prob, 6), entropy: round(t.entropy, 6) })),
      ...(step.cutOff ? { cutOff: true as const } : {}),
    })),
    stats: {
      promptTokens: trace.stats.promptTokens,
      generatedTokens: trace.stats.generatedTokens,
      wallMs: round(trace.stats.wallMs, 2),
      confidenceMs: round(trace.stats.confidenceMs, 2),
    },
  };
}

/** One JSONL line. */
export function traceToJsonLine(trace: Trace): string {
  return JSON.stringify(toJSON(trace));
}
