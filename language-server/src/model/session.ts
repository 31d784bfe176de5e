import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import type { ExecutionProviderName, ExecutionProviderReport, ExecutionProviderSetting, ProviderRejection } from './executionProvider';
import { autoSkipReason, defaultIntraOpThreads, isExecutionProviderSetting, providerCandidates, providerUnavailableReason, summarizeProviderError } from './executionProvider';
import { ModelError } from './modelError';
import { requireModelFile } from './modelFiles';

export interface ModelSessionOptions {
  executionProvider?: ExecutionProviderSetting;
  /** CPU threads per operator (default: defaultIntraOpThreads(), half the cores up to 8; 0 = onnxruntime decides). */
  intraOpNumThreads?: number;
  /**
   * Outputs a GPU provider should leave in GPU memory (the KV cache's present.* tensors, fed back as
   * the next step's past): WebGPU's preferredOutputLocation 'gpu-buffer'. Default: none.
   */
  deviceOutputs?: readonly string[];
  /** False: bring every output back to the CPU even where deviceOutputs are named (a benchmark's baseline). Default true. */
  keepOutputsOnDevice?: boolean;
}

export interface ModelSession {
  session: InferenceSession;
  report: ExecutionProviderReport;
}

/**
 * Opens `onnxPath` with the requested execution provider. `auto` falls through webgpu → cuda → cpu
 * (webgpu only where it was measured faster: see AUTO_WEBGPU_MIN_GRAPH_BYTES) and records why each
 * skipped provider did not run. A file onnxruntime cannot parse is a
 * ModelError('modelFileCorrupt'); an explicitly requested provider that fails is
 * ModelError('executionProviderUnavailable').
 */
export async function createModelSession(onnxPath: string, options: ModelSessionOptions = {}): Promise<ModelSession> {
  const requested = options.executionProvider ?? 'auto';
  if (!isExecutionProviderSetting(requested)) {
    throw new ModelError(
      'executionProviderUnavailable',
      `Unknown execution provider "${String(requested)}". Use one of: auto, webgpu, cuda, cpu.`,
    );
  }
  const intraOpNumThreads = options.intraOpNumThreads ?? defaultIntraOpThreads();
  if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 0) {
    throw new Error(`intraOpNumThreads must be a non-negative integer (0 = onnxruntime default), got ${intraOpNumThreads}`);
  }
  requireModelFile(onnxPath, 'the ONNX graph');

  const rejected: ProviderRejection[] = [];
  // Only `auto` weighs the model's size and the CPU's threads (an explicit provider is always tried).
  const auto = requested === 'auto'
    ? { graphBytes: graphSizeBytes(onnxPath), cpuThreads: intraOpNumThreads === 0 ? availableParallelism() : intraOpNumThreads }
    : null;
  for (const name of providerCandidates(requested)) {
    const unavailable = (auto && autoSkipReason(name, auto.graphBytes, auto.cpuThreads)) ?? providerUnavailableReason(name);
    if (unavailable !== null) {
      rejected.push({ name, reason: unavailable });
      continue;
    }
    const deviceOutputs = name === 'webgpu' && options.keepOutputsOnDevice !== false ? (options.deviceOutputs ?? []) : [];
    try {
      const session = await InferenceSession.create(onnxPath, sessionOptionsFor(name, intraOpNumThreads, deviceOutputs));
      return { session, report: { requested, active: name, rejected, intraOpNumThreads, outputsOnDevice: deviceOutputs.length } };
    } catch (error) {
      const missingData = missingExternalData(error);
      if (missingData !== null) {
        throw new ModelError(
          'modelFileMissing',
          `${onnxPath} keeps its weights in external data, and ${missingData} is missing. Copy the graph's data file(s) ` +
            'from the same export beside it (every file the export wrote into that folder).',
          { cause: error },
        );
      }
      if (/GetExtDataFromTensorProto|External initializer.*out of bounds|can not be read in full/i.test(String((error as Error)?.message ?? error))) {
        throw new ModelError(
          'modelFileCorrupt',
          `${onnxPath} keeps its weights in external data that is shorter than the graph says (${summarizeProviderError(error)}): ` +
            'a copy that broke off, or a Git LFS pointer in place of the file (run `git lfs pull` in the model\'s repository). ' +
            'Copy the data file(s) of the same export again.',
          { cause: error },
        );
      }
      if (isModelFileError(error)) {
        throw new ModelError(
          'modelFileCorrupt',
          `${onnxPath} could not be loaded by onnxruntime (${summarizeProviderError(error)}). ` +
            'The file is corrupt or not an ONNX model: re-export the model or copy it again.',
          { cause: error },
        );
      }
      rejected.push({ name, reason: summarizeProviderError(error) });
    }
  }
  throw new ModelError(
    'executionProviderUnavailable',
    `No execution provider could run ${onnxPath}: ` +
      rejected.map((r) => `${r.name}: ${r.reason}`).join('; ') +
      (requested === 'auto' || requested === 'cpu' ? '.' : `. Set the execution provider to "auto" or "cpu".`),
  );
}

/**
 * The options every session of provider `name` gets. `deviceOutputs`: output names left in GPU
 * memory, or 'all' (the KV row graphs of deviceKvOps.ts, whose every output is a cache tensor).
 */
export function sessionOptionsFor(
  name: ExecutionProviderName,
  intraOpNumThreads: number,
  deviceOutputs: readonly string[] | 'all',
): InferenceSession.SessionOptions {
  return {
    executionProviders: [name],
    graphOptimizationLevel: 'all',
    // onnxruntime's own stderr warnings (e.g. missing Vulkan) are noise here: failures come back
    // as exceptions and land in the report.
    logSeverityLevel: 3,
    ...(name === 'cpu' && intraOpNumThreads > 0 ? { intraOpNumThreads } : {}),
    // Unnamed outputs (the logits) come back to the CPU as always.
    ...(deviceOutputs === 'all'
      ? { preferredOutputLocation: 'gpu-buffer' as const }
      : deviceOutputs.length > 0
        ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((output) => [output, 'gpu-buffer' as const])) }
        : {}),
  };
}

/** onnxruntime reports an unreadable graph as "Load model from ... failed: Protobuf parsing failed" etc. */
function isModelFileError(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /Load model from .* failed|Protobuf parsing failed|ModelProto|model_load_utils|invalid model/i.test(text);
}

/** The external data file onnxruntime could not find ("External data path ... does not exist: <path>"), or null. */
function missingExternalData(error: unknown): string | null {
  const text = error instanceof Error ? error.message : String(error);
  const match = /External data path[^:]*does not exist[^"]*"([^"]+)"/i.exec(text) ?? /External data path[^\n]*does not exist:?\s*(\S+)/i.exec(text);
  return match ? match[1] : null;
}

/** Files of a model folder that are not a graph's weights (configs, tokenizers, other frameworks' checkpoints, docs). */
const NOT_GRAPH_DATA = /\.(json|txt|jinja|md|model|safetensors|bin|pt|pth|h5|msgpack|gguf|py)$|^\./i;

/**
 * The graph and its external weights beside it: the model's size. The weights are in `model.onnx_data` and the like, or,
 * for a graph saved a tensor per file (torch over 2 GB), in files of any name: every file in the folder counts but other
 * graphs and their own data (model_fp16.onnx, model_fp16.onnx_data beside model.onnx) and the folder's other files
 * (config.json, tokenizer.json, model.safetensors: a graph at the top of a model folder sits among them).
 */
export function graphSizeBytes(onnxPath: string): number {
  const dir = dirname(onnxPath);
  const base = basename(onnxPath);
  const names = readdirSync(dir);
  const otherGraphs = names.filter((name) => name.endsWith('.onnx') && name !== base);
  return names
    .filter((name) => name.startsWith(base) || (!otherGraphs.some((graph) => name.startsWith(graph)) && !NOT_GRAPH_DATA.test(name)))
    .map((name) => statSync(join(dir, name), { throwIfNoEntry: false })) // a dangling link: no size
    .reduce((sum, stat) => sum + (stat?.isFile() ? stat.size : 0), 0);
}
