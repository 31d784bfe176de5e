/** The engine benchmark's result records (bench/engine.ts). */
import type { ConfidenceBenchRow } from '../confidence';
import type { machine } from './environment';
export interface ModelSpec {
  name: string;
  dir: string;
  problem: string;
  /** How to make the folder when it is missing (null: it must exist). */
  make: (() => void) | null;
}

export interface EngineSample {
  wallMs: number;
  prefillRunMs: number;
  /** Inside onnxruntime's session.run during the decode steps (after the prefill). */
  decodeRunMs: number;
  cpuMs: number;
  gcMs: number;
  wall1Ms: number;
  prefillMs: number;
  forwardMs: number;
  confidenceMs: number;
  generated: number;
  ids: number[];
}

export interface ReferenceSample {
  wallMs: number;
  prefillRunMs: number;
  decodeRunMs: number;
  cpuMs: number;
  gcMs: number;
  wall1Ms: number;
  ids: number[];
}

export interface EngineBenchRow {
  model: string;
  vocab: number;
  parameters: number | null;
  promptTokens: number;
  batch: number;
  newTokens: number;
  engine: {
    tokensPerSecond: number;
    decodeTokensPerSecond: number;
    firstTokenMs: number;
    prefillForwardMs: number;
    prefillRunMs: number;
    forwardMsPerStep: number;
    confidenceMsPerStep: number;
    confidenceMsPerRow: number;
    otherMsPerStep: number;
    /** Inside onnxruntime's session.run, per decode step. */
    runMsPerStep: number;
    /** Decode wall time outside session.run, per step (confidence, token loop, tensors, GC). */
    outsideRunMsPerStep: number;
    /** GC pauses during the N-token run, per step (they land inside forward, confidence or other). */
    gcMsPerStep: number;
    /** Confidence pass / decode step time. */
    confidenceShare: number;
    /** Process CPU ms for the N-token run (includes onnxruntime and GC threads). */
    cpuMs: number;
  };
  reference: {
    tokensPerSecond: number;
    decodeTokensPerSecond: number;
    firstTokenMs: number;
    prefillRunMs: number;
    runMsPerStep: number;
    /** Decode wall time outside session.run, per step (transformers.js' own work). */
    outsideRunMsPerStep: number;
    gcMsPerStep: number;
    cpuMs: number;
  };
  /**
   * engine / reference (for times: reference / engine, so > 1 means the engine is faster): the
   * median over rounds of the ratio within each round, whose two runs ran back to back and saw
   * about the same load from other processes; `range` is the lowest and highest round's ratio.
   */
  ratio: {
    tokensPerSecond: number;
    tokensPerSecondRange: [number, number];
    decodeTokensPerSecond: number;
    firstTokenMs: number;
    cpuTime: number;
  };
  /**
   * The scan alone on this model's own last-position logits (CPU ms per row, median of interleaved
   * runs): the current scanLogits and the first committed version (bench/legacy).
   */
  scanOnModelLogits: { currentMsPerRow: number; firstVersionMsPerRow: number };
  /** Greedy tokens of row 0 equal between the two before the first EOS (or all N). */
  agreement: { equal: number; compared: number };
  runs: number;
}


export interface BenchReport {
  date: string;
  machine: ReturnType<typeof machine>;
  loadAverage: { start: number[]; end: number[] };
  settings: { tokens: number; runs: number; threads: number; executionProvider: 'cpu' };
  engine: EngineBenchRow[];
  confidence: ConfidenceBenchRow[];
  skipped: string[];
}

