import { onOneLine, type AlternativeSummary, type SolveStopReason, type StepSummary } from '../../../src/protocol';
import { pathConfidence, type ReasoningStep } from './reasoningStep';

/**
 * The reasoning document of one solve: the server renders its text and keeps which line is which
 * step, so hover, diagnostics, inlay hints and symbols agree with what the client shows. Steps are
 * only appended and the header never changes, so a step's line is fixed once it is shown; the
 * summary line is added below the steps when the solve ends.
 *
 *   0  Problem: 47*38 + 12
 *   1  Model: caspo-arith · cpu, 1 thread(s) · step confidence: meanEntropy (default mapping)
 *   2
 *   3  47 * 38 = 1786          ← step 1
 *   4  1786 + 12 = 1798        ← step 2
 *   5  Answer: 1798            ← step 3
 *   6
 *   7  Answer 1798 · 3 steps · 45 tokens in 0.22 s (204 tokens/s) · path confidence 97.1% (...)
 *   8
 *   9  Alternative from step 2 (pruned at 41.2%): Answer 1799 · 2 steps · path confidence 39.9%
 *  10  1786 + 13 = 1799        ← step 2 of the re-expanded branch
 *  11  Answer: 1799            ← step 3 of it
 *
 * Re-expanded branches are appended below the summary once the solve has ended, so no line above
 * them ever moves. A problem outside the model's training range gets a caution line after the model
 * line (`Caution: outside caspo-arith's training range: ...`), and every line below moves down one.
 */
export const FIRST_STEP_LINE = 3;
/** The line of the caution (when the header has one); the steps then start a line lower. */
export const CAUTION_LINE = 2;

export interface DocumentHeader {
  problem: string;
  model: string;
  executionProvider: string;
  metric: string;
  calibrated: boolean;
  /** Why the problem is outside the model's training range (domain.trainingRangeCaution), shown above the steps. */
  caution?: string;
}

export interface SolveEnding {
  stopReason: SolveStopReason;
  answer: string | null;
  generatedTokens: number;
  wallMs: number;
  /** Why decoding failed, when stopReason is 'error'. */
  error?: string;
  /** A tree search's work: the nodes it expanded and how many it pruned. */
  search?: { candidates: number; pruned: number };
  /** With stopReason 'maxTokens': the model's context size when it, not caspo.maxTokens, was the limit. */
  contextFull?: number;
}

/** A candidate CaT pruned beside a shown step. */
export interface PrunedSibling {
  nodeId: string;
  text: string;
  confidence: number;
}

/** Where a shown step sits in the reasoning tree: its node, and the siblings pruned beside it. */
export interface StepBranching {
  nodeId: string;
  prunedSiblings: readonly PrunedSibling[];
  /**
   * The candidates CaT drew at this step boundary (every draw, duplicates included) and how many of them
   * were this very step; absent where the tree does not say (a step not decoded by CaT's search).
   */
  drawn?: { candidates: number; thisStep: number };
}

/** A re-expanded branch: its lines from where it leaves the chosen path to its end. */
export interface AlternativePath {
  /** The pruned node it was expanded from. */
  nodeId: string;
  /** 0-based step at which its path leaves the chosen one (steps before it are shared). */
  fromStep: number;
  prunedConfidence: number;
  /** Its steps from `fromStep` on; step.index is the step's number in its own path, minus one. */
  steps: readonly { step: ReasoningStep; branching?: StepBranching }[];
  answer: string | null;
  stopReason: SolveStopReason;
}

/** A step line of the document, on the chosen path or a re-expanded branch. */
export interface ShownStep {
  line: number;
  step: ReasoningStep;
  branching?: StepBranching;
  /** Its path's steps from the first through this one (the path confidence multiplies them). */
  path: readonly ReasoningStep[];
  /** Set on the lines of a re-expanded branch. */
  alternative?: AlternativePath;
}

export class ReasoningDocument {
  readonly steps: ReasoningStep[] = [];
  private readonly branchings: (StepBranching | undefined)[] = [];
  private readonly alternativePaths: AlternativePath[] = [];
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

  /** Appends the next step of the chosen path; returns what the client needs of it. */
  addStep(step: ReasoningStep, branching?: StepBranching): StepSummary {
    if (this.ending) throw new Error(`solve ${this.solveId} has ended; no more steps can be added`);
    if (step.index !== this.steps.length) throw new Error(`solve ${this.solveId}: expected step ${this.steps.length}, got ${step.index}`);
    this.steps.push(step);
    this.branchings.push(branching);
    return this.summaryOf(step);
  }

  /** Records what the tree says about a chosen step (its pruned siblings may be known only later). */
  setBranching(index: number, branching: StepBranching): void {
    if (this.steps[index] === undefined) throw new Error(`solve ${this.solveId} has no step ${index}`);
    this.branchings[index] = branching;
  }

  get alternatives(): readonly AlternativePath[] {
    return this.alternativePaths;
  }

  alternativeFrom(nodeId: string): AlternativePath | undefined {
    return this.alternativePaths.find((alternative) => alternative.nodeId === nodeId);
  }

  /** Appends a re-expanded branch below the summary line (only once the solve has ended). */
  addAlternative(alternative: AlternativePath): AlternativeSummary {
    if (!this.ending) throw new Error(`solve ${this.solveId} is still running; re-expand its branches once it has ended`);
    if (this.alternativeFrom(alternative.nodeId)) throw new Error(`solve ${this.solveId}: branch ${alternative.nodeId} is already shown`);
    if (alternative.steps.length === 0) throw new Error(`solve ${this.solveId}: branch ${alternative.nodeId} has no steps to show`);
    if (alternative.fromStep < 0 || alternative.fromStep > this.steps.length) {
      throw new Error(`solve ${this.solveId}: branch ${alternative.nodeId} leaves the chosen path at step ${alternative.fromStep}, which it does not have`);
    }
    alternative.steps.forEach(({ step }, i) => {
      if (step.index !== alternative.fromStep + i) throw new Error(`branch ${alternative.nodeId}: expected step ${alternative.fromStep + i}, got ${step.index}`);
    });
    this.alternativePaths.push(alternative);
    return this.alternativeSummary(alternative);
  }

  finish(ending: SolveEnding): void {
    if (this.ending) throw new Error(`solve ${this.solveId} has already ended`);
    this.ending = ending;
  }

  lineOfStep(index: number): number {
    return FIRST_STEP_LINE + (this.header.caution ? 1 : 0) + index;
  }

  /** The step shown on `line` (chosen path or re-expanded branch), if that line is a step. */
  stepAtLine(line: number): ReasoningStep | undefined {
    return this.shownStepAtLine(line)?.step;
  }

  shownStepAtLine(line: number): ShownStep | undefined {
    return this.shownSteps().find((shown) => shown.line === line);
  }

  /** The shown line of a step object (chosen path or re-expanded branch). */
  shownStepOf(step: ReasoningStep): ShownStep | undefined {
    return this.shownSteps().find((shown) => shown.step === step);
  }

  /** Every step line, chosen path first, then each re-expanded branch in the order they were added. */
  shownSteps(): ShownStep[] {
    const shown: ShownStep[] = this.steps.map((step, i) => ({
      line: this.lineOfStep(i),
      step,
      branching: this.branchings[i],
      path: this.steps.slice(0, i + 1),
    }));
    let line = this.lineOfStep(this.steps.length) + 2; // below the blank line and the summary
    for (const alternative of this.alternativePaths) {
      line += 2; // a blank line, then the heading
      const path = this.steps.slice(0, alternative.fromStep);
      for (const { step, branching } of alternative.steps) {
        path.push(step);
        shown.push({ line: line++, step, branching, path: path.slice(), alternative });
      }
    }
    return shown;
  }

  /** The chosen path's steps (what a solve's result lists). */
  summaries(): StepSummary[] {
    return this.steps.map((step) => this.summaryOf(step));
  }

  /** Every step line, re-expanded branches included (what the gutter paints). */
  shownSummaries(): StepSummary[] {
    return this.shownSteps().map(shownSummary);
  }

  alternativeSummary(alternative: AlternativePath): AlternativeSummary {
    const shown = this.shownSteps().filter((s) => s.alternative === alternative);
    if (shown.length === 0) throw new Error(`solve ${this.solveId}: branch ${alternative.nodeId} is not shown`);
    return {
      nodeId: alternative.nodeId,
      fromStep: alternative.fromStep,
      prunedConfidence: alternative.prunedConfidence,
      headingLine: shown[0].line - 1,
      steps: shown.map(shownSummary),
      answer: alternative.answer,
      stopReason: alternative.stopReason,
      pathConfidence: pathConfidence(shown[shown.length - 1].path) ?? 0,
    };
  }

  pathConfidence(throughIndex?: number): number | null {
    return pathConfidence(this.steps, throughIndex);
  }

  lines(): string[] {
    const { problem, model, executionProvider, metric, calibrated, caution } = this.header;
    const lines = [
      `Problem: ${onOneLine(problem.trim())}`,
      `Model: ${model} · ${executionProvider} · step confidence: ${metric} (${calibrated ? 'calibrated' : 'default mapping'})`,
      ...(caution ? [cautionLineText(caution)] : []),
      '',
      ...this.steps.map((step) => stepLineText(step.text)),
    ];
    if (this.ending) lines.push('', summaryLine(this.ending, this.steps.length, this.pathConfidence()));
    for (const alternative of this.alternativePaths) {
      const path = [...this.steps.slice(0, alternative.fromStep), ...alternative.steps.map(({ step }) => step)];
      lines.push('', alternativeHeading(alternative, pathConfidence(path)), ...alternative.steps.map(({ step }) => stepLineText(step.text)));
    }
    return lines;
  }

  text(): string {
    return `${this.lines().join('\n')}\n`;
  }

  private summaryOf(step: ReasoningStep): StepSummary {
    return { index: step.index, line: this.lineOfStep(step.index), confidence: step.confidence, text: step.text };
  }
}

/** The header line of a caution (CAUTION_LINE). */
export function cautionLineText(caution: string): string {
  return `Caution: ${caution}`;
}

/** A step is one line of the document, whatever delimiter split the steps (a line break in it is shown as ⏎, so no line below moves). */
export function stepLineText(text: string): string {
  return onOneLine(text);
}

export function formatPercent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

export function tokensPerSecond(generatedTokens: number, wallMs: number): number {
  return wallMs > 0 ? (generatedTokens * 1000) / wallMs : 0;
}

function shownSummary(shown: ShownStep): StepSummary {
  const summary: StepSummary = { index: shown.step.index, line: shown.line, confidence: shown.step.confidence, text: shown.step.text };
  if (shown.alternative) summary.alternative = shown.alternative.nodeId;
  return summary;
}

/** "Alternative from step 2 (pruned at 41.2%): Answer 1799 · 2 steps · path confidence 39.9%" */
export function alternativeHeading(alternative: AlternativePath, path: number | null): string {
  const count = alternative.steps.length;
  const outcome: Record<SolveStopReason, string> = {
    answer: `Answer ${alternative.answer ?? '(none)'}`,
    eos: 'no answer line',
    maxTokens: 'stopped at the token limit',
    budget: 'stopped when the budget ran out',
    cancelled: 'cancelled',
    error: 'failed',
  };
  const pathPart = path === null ? '' : ` · path confidence ${formatPercent(path)}`;
  return `${alternativeTitle(alternative)}: ${outcome[alternative.stopReason]} · ${count} step${count === 1 ? '' : 's'}${pathPart}`;
}

/** "Alternative from step 2 (pruned at 41.2%)" */
export function alternativeTitle(alternative: Pick<AlternativePath, 'fromStep' | 'prunedConfidence'>): string {
  return `Alternative from step ${alternative.fromStep + 1} (pruned at ${formatPercent(alternative.prunedConfidence)})`;
}

/** The last line: how the solve ended and what it cost. */
export function summaryLine(ending: SolveEnding, stepCount: number, path: number | null): string {
  const steps = `${stepCount} step${stepCount === 1 ? '' : 's'}`;
  const head: Record<SolveStopReason, string> = {
    answer: `Answer ${ending.answer ?? '(none)'} · ${steps}`,
    eos: `The model ended without an answer line · ${steps}`,
    maxTokens:
      ending.contextFull === undefined
        ? `Stopped at the token limit (caspo.maxTokens) · ${steps}`
        : `Stopped with the model's context full (${ending.contextFull} tokens, prompt and solution together): shorten the problem · ${steps}`,
    budget: `Stopped when CaT's step budget (caspo.cat.budget) ran out · ${steps}`,
    cancelled: `Cancelled after ${steps}; the steps above were decoded before the cancel`,
    error: `Decoding failed after ${steps}: ${onOneLine(ending.error ?? 'unknown error')}`,
  };
  const speed = `${ending.generatedTokens} tokens in ${(ending.wallMs / 1000).toFixed(2)} s (${Math.round(
    tokensPerSecond(ending.generatedTokens, ending.wallMs),
  )} tokens/s)`;
  const pathPart = path === null ? '' : ` · path confidence ${formatPercent(path)} (product of step confidences)`;
  const searchPart = ending.search ? ` · CaT: ${ending.search.candidates} distinct candidate steps, ${ending.search.pruned} pruned` : '';
  return `${head[ending.stopReason]} · ${speed}${searchPart}${pathPart}`;
}
