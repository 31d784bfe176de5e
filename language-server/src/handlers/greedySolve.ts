import { generate, type GenerateResult } from '../decoding/generate';
import type { GeneratedToken } from '../decoding/rowDecoder';
import type { SamplingOptions } from '../decoding/sampling';
import { reasoningStepFrom, type TokenText } from '../trace/reasoningStep';
import { answerOf } from '../trace/types';
import { announceStep, finishSolve, type PreparedSolve } from './solveLifecycle';
import type { SolveResult } from '../../../src/protocol';

/** caspo.strategy "greedy": one chain decoded token by token; each step is shown as it closes. */
export async function decodeGreedy(solve: PreparedSolve): Promise<SolveResult> {
  const { document, settings, loaded, signal } = solve;
  const { model, calibration } = loaded;
  const tokens: GeneratedToken[] = [];
  const tokenText: TokenText = (id, contextIds) => model.tokenizer.tokenText(id, contextIds);
  const result: GenerateResult = await generate(model, {
    promptIds: solve.promptIds,
    maxNewTokens: solve.maxNewTokens,
    sampling: samplingFor(settings.temperature),
    calibration,
    metric: solve.metric,
    stepDelimiter: settings.stepDelimiter,
    signal,
    onToken: ({ token }) => {
      tokens.push(token);
      solve.generatedTokens++;
    },
    onStep: ({ step }) => {
      document.addStep(reasoningStepFrom(step, tokens, tokenText, solve.calibrated));
      announceStep(solve, step.index);
    },
  });
  const row = result.rows[0];
  return finishSolve(solve, {
    stopReason: row.stopReason,
    answer: answerOf(row),
    generatedTokens: result.stats.generatedTokens,
    wallMs: result.stats.wallMs,
  });
}

/** temperature 0 = greedy; above 0, sampling with a fresh seed per solve. */
function samplingFor(temperature: number): SamplingOptions {
  if (temperature === 0) return { kind: 'greedy' };
  return { kind: 'sample', temperature, topP: 1, seed: Math.floor(Math.random() * 0x1_0000_0000) };
}
