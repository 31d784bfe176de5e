import type { InferenceSession } from 'onnxruntime-node';
import type { ModelConfig } from './config';
import { ModelError } from './modelError';

/** What the engine learned from the graph's inputs and outputs. */
export interface GraphLayout {
  /** Some exports compute positions from the mask and have no position_ids input. */
  hasPositionIds: boolean;
  /** Optimum's merged decoder: a bool input choosing the branch that reads the KV cache (true once there is a past). */
  hasUseCacheBranch: boolean;
  pastKeyNames: string[];
  pastValueNames: string[];
  presentKeyNames: string[];
  presentValueNames: string[];
}

type Metadata = readonly InferenceSession.ValueMetadata[];

/**
 * Checks the ONNX graph's inputs/outputs against config.json (design §3). Every mismatch is a
 * ModelError naming the config field and the graph input, e.g. "config.json says
 * num_key_value_heads=4 but onnx/model.onnx input past_key_values.0.key has 2 heads".
 */
export function checkGraphAgainstConfig(
  inputs: Metadata,
  outputs: Metadata,
  config: ModelConfig,
  onnxPath = 'onnx/model.onnx',
  configPath = 'config.json',
): GraphLayout {
  const inputByName = new Map(inputs.map((m) => [m.name, m]));
  const outputByName = new Map(outputs.map((m) => [m.name, m]));
  const fail = (message: string) =>
    new ModelError(
      'graphMismatch',
      `${message}. The model folder mixes files from different models or the export is not in the ` +
        'Hugging Face ONNX layout (input_ids, attention_mask, position_ids, past_key_values.{i}.key|value, optionally ' +
        'use_cache_branch → ' +
        'logits, present.{i}.key|value): re-export the model.',
    );

  const requireTensor = (map: Map<string, InferenceSession.ValueMetadata>, kind: 'input' | 'output', name: string, type: string) => {
    const meta = map.get(name);
    if (meta === undefined) throw fail(`${onnxPath} has no ${kind} "${name}"`);
    if (!meta.isTensor) throw fail(`${onnxPath} ${kind} "${name}" is not a tensor`);
    if ((meta.type === 'float16' || (meta.type as string) === 'bfloat16') && type === 'float32') {
      throw new ModelError(
        'graphMismatch',
        `${onnxPath} ${kind} "${name}" is ${meta.type}: the engine runs float32 graphs (its KV cache and confidence pass ` +
          'are float32). Export the model in float32, or use a quantized graph with float32 inputs and outputs ' +
          '(onnx/model_quantized.onnx, model_q4.onnx) in its place.',
      );
    }
    if (meta.type !== type) {
      throw fail(`${onnxPath} ${kind} "${name}" is ${meta.type}; the engine needs ${type}`);
    }
    return meta;
  };

  requireTensor(inputByName, 'input', 'input_ids', 'int64');
  requireTensor(inputByName, 'input', 'attention_mask', 'int64');
  const hasPositionIds = inputByName.has('position_ids');
  if (hasPositionIds) requireTensor(inputByName, 'input', 'position_ids', 'int64');
  const hasUseCacheBranch = inputByName.has('use_cache_branch');
  if (hasUseCacheBranch) requireTensor(inputByName, 'input', 'use_cache_branch', 'bool');

  const graphLayers = countLayers(inputs, 'past_key_values.');
  if (graphLayers !== config.numHiddenLayers) {
    throw fail(
      `${configPath} says num_hidden_layers=${config.numHiddenLayers} but ${onnxPath} has ` +
        `${graphLayers} past_key_values.{i}.key inputs`,
    );
  }

  const layout: GraphLayout = { hasPositionIds, hasUseCacheBranch, pastKeyNames: [], pastValueNames: [], presentKeyNames: [], presentValueNames: [] };
  for (let i = 0; i < config.numHiddenLayers; i++) {
    for (const kind of ['key', 'value'] as const) {
      const name = `past_key_values.${i}.${kind}`;
      const meta = requireTensor(inputByName, 'input', name, 'float32') as InferenceSession.TensorValueMetadata;
      checkKvShape(meta.shape, name, config, onnxPath, configPath, fail);
      const present = presentOutputName(i, kind);
      requireTensor(outputByName, 'output', present, 'float32');
      (kind === 'key' ? layout.pastKeyNames : layout.pastValueNames).push(name);
      (kind === 'key' ? layout.presentKeyNames : layout.presentValueNames).push(present);
    }
  }

  // An input the engine does not know would make every forward fail in onnxruntime: say so at load.
  const fed = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch', ...layout.pastKeyNames, ...layout.pastValueNames]);
  const unknown = inputs.map((m) => m.name).filter((name) => !fed.has(name));
  if (unknown.length > 0) {
    throw fail(`${onnxPath} has input${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}, which the engine does not feed`);
  }

  const logits = requireTensor(outputByName, 'output', 'logits', 'float32') as InferenceSession.TensorValueMetadata;
  const vocab = logits.shape[logits.shape.length - 1];
  if (logits.shape.length !== 3) {
    throw fail(`${onnxPath} output logits has ${logits.shape.length} dims; expected [batch, sequence, vocab]`);
  }
  if (typeof vocab === 'number' && vocab !== config.vocabSize) {
    throw fail(`${configPath} says vocab_size=${config.vocabSize} but ${onnxPath} output logits has ${vocab} entries per position`);
  }
  return layout;
}

function checkKvShape(
  shape: ReadonlyArray<number | string>,
  name: string,
  config: ModelConfig,
  onnxPath: string,
  configPath: string,
  fail: (message: string) => ModelError,
): void {
  if (shape.length !== 4) {
    throw fail(`${onnxPath} input ${name} has ${shape.length} dims; expected [batch, num_key_value_heads, past, head_dim]`);
  }
  const [, heads, , headDim] = shape;
  if (typeof heads === 'number' && heads !== config.numKeyValueHeads) {
    throw fail(`${configPath} says num_key_value_heads=${config.numKeyValueHeads} but ${onnxPath} input ${name} has ${heads} heads`);
  }
  if (typeof headDim === 'number' && headDim !== config.headDim) {
    throw fail(`${configPath} says head_dim=${config.headDim} but ${onnxPath} input ${name} has head size ${headDim}`);
  }
}

/** Number of consecutive layers i = 0, 1, ... with a `${prefix}{i}.key` entry. */
function countLayers(metadata: Metadata, prefix: string): number {
  const names = new Set(metadata.map((m) => m.name));
  let layers = 0;
  while (names.has(`${prefix}${layers}.key`)) layers++;
  return layers;
}

/** The output holding layer i's new keys or values (the Hugging Face ONNX layout). */
export function presentOutputName(layer: number, kind: 'key' | 'value'): string {
  return `present.${layer}.${kind}`;
}
