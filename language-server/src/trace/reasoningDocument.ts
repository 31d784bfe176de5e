import type { SolveStopReason, StepSummary } from '../../../src/protocol';
import { pathConfidence, type ReasoningStep } from './reasoningStep';

/**
 * The reasoning document of one solve: the server renders its text and keeps which line is which
 * step, so hover, diagnostics, inlay hints and symbols agree with what the client shows. Steps are
 * only appended and the header never changes, so a step's line is fixed once it is shown; the
 * summary line is added below the steps when the solve ends.
 *
 *   0  Problem: 47*38 + 12
 *   1  Model: caspo-arith-sft · cpu, 1 thread(s) · step confidence: meanEntropy (default mapping)
 *   2
 *   3  47 * 38 = 1786          ← step 1
 *   4  1786 + 12 = 1798        ← step 2
 *   5  Answer: 1798            ← step 3
 *   6
 *   7  Answer 1798 · 3 steps · 45 tokens in 0.22 s (204 tokens/s) · path confidence 97.1% (...)
 */
export const FIRST_STEP_LINE = 3;

export interface DocumentHeader {
  problem: string;
  model: string;
  executionProvider: string;
  metric: string;
  calibrated: boolean;
}

export interface SolveEnding {
  stopReason: SolveStopReason;
  answer: string | null;
  generatedTokens: number;
  wallMs: number;
  /** Why decoding failed, when stopReason is 'error'. */
  error?: string;
}

export class ReasoningDocument {
  readonly steps: ReasoningStep[] = [];
  private ending: SolveEnding | null = null;

  constructor(
    readonly solveId: string,
    readonly uri: string,
    readonly header: DocumentHeader,
  ) {}

  get finished(): boolean {
    return this.ending !== null;
  }

  get solveEnding(): SolveEnding | null {
    return this.ending;
  }

  /** Appends the next step; returns what the client needs of it. */
  addStep(step: ReasoningStep): StepSummary {
    if (this.ending) throw new Error(`solve ${this.solveId} has ended; no more steps can be added`);
    if (step.index !== this.steps.length) throw new Error(`solve ${this.solveId}: expected step ${this.steps.length}, got ${step.index}`);
    this.steps.push(step);
    return this.summaryOf(step);
  }

  finish(ending: SolveEnding): void {
    if (this.ending) throw new Error(`solve ${this.solveId} has already ended`);
    this.ending = ending;
  }

  lineOfStep(index: number): number {
    return FIRST_STEP_LINE + index;
  }

  /** The step shown on `line`, if that line is a step. */
  stepAtLine(line: number): ReasoningStep | undefined {
    return this.steps[line - FIRST_STEP_LINE];
  }

  summaries(): StepSummary[] {
    return this.steps.map((step) => this.summaryOf(step));
  }

  pathConfidence(throughIndex?: number): number | null {
    return pathConfidence(this.steps, throughIndex);
  }

  lines(): string[] {
    const { problem, model, executionProvider, metric, calibrated } = this.header;
    const lines = [
      `Problem: ${oneLine(problem.trim())}`,
      `Model: ${model} · ${executionProvider} · step confidence: ${metric} (${calibrated ? 'calibrated' : 'default mapping'})`,
      '',
      ...this.steps.map((step) => stepLineText(step.text)),
    ];
    if (this.ending) lines.push('', summaryLine(this.ending, this.steps.length, this.pathConfidence()));
    return lines;
  }

  text(): string {
    return `${this.lines().join('\n')}\n`;
  }

  private summaryOf(step: ReasoningStep): StepSummary {
    return { index: step.index, line: this.lineOfStep(step.index), confidence: step.confidence, text: step.text };
  }
}

/** A step is one line of the document, whatever delimiter split the steps. */
export function stepLineText(text: string): string {
  return oneLine(text);
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ⏎ ');
}

export function formatPercent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

export function tokensPerSecond(generatedTokens: number, wallMs: number): number {
  return wallMs > 0 ? (generatedTokens * 1000) / wallMs : 0;
}

/** The last line: how the solve ended and what it cost. */
export function summaryLine(ending: SolveEnding, stepCount: number, path: number | null): string {
  const steps = `${stepCount} step${stepCount === 1 ? '' : 's'}`;
  const head: Record<SolveStopReason, string> = {
    answer: `Answer ${ending.answer ?? '(none)'} · ${steps}`,
    eos: `The model ended without an answer line · ${steps}`,
    maxTokens: `Stopped at the token limit (caspo.maxTokens) · ${steps}`,
    cancelled: `Cancelled after ${steps}; the steps above were decoded before the cancel`,
    error: `Decoding failed after ${steps}: ${oneLine(ending.error ?? 'unknown error')}`,
  };
  const speed = `${ending.generatedTokens} tokens in ${(ending.wallMs / 1000).toFixed(2)} s (${Math.round(
    tokensPerSecond(ending.generatedTokens, ending.wallMs),
  )} tokens/s)`;
  const pathPart = path === null ? '' : ` · path confidence ${formatPercent(path)} (product of step confidences)`;
  return `${head[ending.stopReason]} · ${speed}${pathPart}`;
}
