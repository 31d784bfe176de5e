import { PROBLEM_DOMAINS, type ProblemDomain } from '../verify/domain';
import { ModelError } from './modelError';
import { modelFilesIn, readModelJson } from './modelFiles';

/** The fields of config.json the engine relies on, validated and with defaults filled in. */
export interface ModelConfig {
  modelType: string | null;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Key/value heads (GQA); defaults to numAttentionHeads. */
  numKeyValueHeads: number;
  /** Per-head size; defaults to hiddenSize / numAttentionHeads. */
  headDim: number;
  /** Every id config.json says ends generation (a number or a list); may be empty (see CausalLM.load). */
  eosTokenIds: number[];
  bosTokenId: number | null;
  padTokenId: number | null;
  maxPositionEmbeddings: number | null;
  /** The problems the model was trained on (`caspo_problem_domain`); null: any problem. */
  problemDomain: ProblemDomain | null;
  /** The most operations of its training problems (`caspo_max_operations`); null: the domain's default. */
  maxOperations: number | null;
}

/** Reads `<dir>/config.json` and validates it. */
export function loadModelConfig(dir: string): ModelConfig {
  const path = modelFilesIn(dir).config;
  return parseModelConfig(readModelJson(path, 'the model configuration'), path);
}

/** Validates a parsed config.json; `path` is only used to name the file in errors. */
export function parseModelConfig(raw: unknown, path = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(path, '(root)', 'is not a JSON object', 'Re-export the model configuration.');
  }
  const json = raw as Record<string, unknown>;
  const field = new ConfigFieldReader(json, path);

  const vocabSize = field.positiveInteger('vocab_size');
  const hiddenSize = field.positiveInteger('hidden_size');
  const numHiddenLayers = field.positiveInteger('num_hidden_layers');
  const numAttentionHeads = field.positiveInteger('num_attention_heads');
  const numKeyValueHeads = field.optionalPositiveInteger('num_key_value_heads') ?? numAttentionHeads;
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw invalid(
      path,
      'num_key_value_heads',
      `is ${numKeyValueHeads}, which does not divide num_attention_heads=${numAttentionHeads}`,
      'Fix the field to the number of key/value heads of the exported model.',
    );
  }
  let headDim = field.optionalPositiveInteger('head_dim');
  if (headDim === undefined) {
    if (hiddenSize % numAttentionHeads !== 0) {
      throw invalid(
        path,
        'head_dim',
        `is missing and hidden_size=${hiddenSize} is not divisible by num_attention_heads=${numAttentionHeads}`,
        'Add "head_dim" with the per-head size of the exported model.',
      );
    }
    headDim = hiddenSize / numAttentionHeads;
  }

  // Empty when config.json names none: the loader then takes generation_config.json's or the tokenizer's.
  const eosTokenIds = field.tokenIdList('eos_token_id', vocabSize);

  return {
    modelType: typeof json.model_type === 'string' ? json.model_type : null,
    vocabSize,
    hiddenSize,
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    eosTokenIds,
    bosTokenId: field.optionalTokenId('bos_token_id', vocabSize),
    padTokenId: field.optionalTokenId('pad_token_id', vocabSize),
    maxPositionEmbeddings: field.optionalPositiveInteger('max_position_embeddings') ?? null,
    problemDomain: field.optionalChoice('caspo_problem_domain', PROBLEM_DOMAINS),
    maxOperations: field.optionalPositiveInteger('caspo_max_operations') ?? null,
  };
}

function invalid(path: string, name: string, problem: string, todo: string): ModelError {
  return new ModelError('configInvalid', `${path}: field "${name}" ${problem}. ${todo}`);
}

/** Other names configs use for a field (GPT-2's, as transformers' `attribute_map` reads them). */
const FIELD_ALIASES: Record<string, string> = {
  num_hidden_layers: 'n_layer',
  num_attention_heads: 'n_head',
  hidden_size: 'n_embd',
  max_position_embeddings: 'n_positions',
};

/** Typed access to config.json fields; every failure names the file and the field. */
class ConfigFieldReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly path: string,
  ) {}

  positiveInteger(name: string): number {
    const value = this.optionalPositiveInteger(name);
    if (value === undefined) {
      const alias = FIELD_ALIASES[name];
      throw invalid(this.path, name, `is missing${alias ? ` (and so is "${alias}")` : ''}`, 'Add it with the value of the exported model (a positive integer).');
    }
    return value;
  }

  optionalPositiveInteger(name: string): number | undefined {
    const alias = FIELD_ALIASES[name];
    const key = this.json[name] == null && alias !== undefined && this.json[alias] != null ? alias : name;
    const value = this.json[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw invalid(this.path, key, `must be a positive integer, got ${JSON.stringify(value)}`, 'Fix the value.');
    }
    return value;
  }

  optionalChoice<T extends string>(name: string, choices: readonly T[]): T | null {
    const value = this.json[name];
    if (value === undefined || value === null) return null;
    if (!(choices as readonly unknown[]).includes(value)) {
      const allowed = choices.map((c) => JSON.stringify(c)).join(', ');
      throw invalid(this.path, name, `must be one of ${allowed}, got ${JSON.stringify(value)}`, 'Fix the value, or remove the field to give the model any problem.');
    }
    return value as T;
  }

  optionalTokenId(name: string, vocabSize: number): number | null {
    const value = this.json[name];
    if (value === undefined || value === null) return null;
    if (Array.isArray(value)) {
      // Some configs list several ids; the first is the canonical one.
      return value.length === 0 ? null : this.checkTokenId(name, value[0], vocabSize);
    }
    return this.checkTokenId(name, value, vocabSize);
  }

  tokenIdList(name: string, vocabSize: number): number[] {
    const value = this.json[name];
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((id) => this.checkTokenId(name, id, vocabSize));
  }

  private checkTokenId(name: string, value: unknown, vocabSize: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= vocabSize) {
      throw invalid(
        this.path,
        name,
        `must be a token id in [0, ${vocabSize}) (vocab_size), got ${JSON.stringify(value)}`,
        'Fix the value to a token id of the tokenizer.',
      );
    }
    return value;
  }
}
