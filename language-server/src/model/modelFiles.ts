import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ModelError } from './modelError';

/**
 * The ONNX graphs the engine runs, in the order it looks for them: Optimum and transformers.js name a decoder with a KV
 * cache `model.onnx` (in `onnx/`, or at the top of an `optimum-cli export` folder); older Optimum exports merge the
 * first and later steps into `decoder_model_merged.onnx`; transformers.js folders may hold only quantized graphs, whose
 * inputs and outputs are float32 as well. Float16 graphs (`model_fp16.onnx`, `model_q4f16.onnx`) are not run: the KV
 * cache and the confidence pass are float32.
 */
export const GRAPH_FILES = [
  'onnx/model.onnx',
  'model.onnx',
  'onnx/decoder_model_merged.onnx',
  'decoder_model_merged.onnx',
  'onnx/model_quantized.onnx',
  'onnx/decoder_model_merged_quantized.onnx',
  'onnx/model_int8.onnx',
  'onnx/model_uint8.onnx',
  'onnx/model_q4.onnx',
  'onnx/model_bnb4.onnx',
];

/** Paths of the files a model folder holds (Hugging Face Optimum / transformers.js layout). */
export interface ModelFiles {
  dir: string;
  config: string;
  generationConfig: string;
  tokenizer: string;
  tokenizerConfig: string;
  onnx: string;
  caspoSettings: string;
}

export function modelFilesIn(dir: string): ModelFiles {
  return {
    dir,
    config: join(dir, 'config.json'),
    generationConfig: join(dir, 'generation_config.json'),
    tokenizer: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
    onnx: graphFileIn(dir),
    caspoSettings: join(dir, 'caspo.json'),
  };
}

/** The first of GRAPH_FILES the folder holds; else onnx/model.onnx (which requireGraphFile then reports missing). */
export function graphFileIn(dir: string): string {
  const found = GRAPH_FILES.find((name) => existsSync(join(dir, name)));
  return join(dir, found ?? GRAPH_FILES[0]);
}

/** Throws unless `path` (graphFileIn's answer) exists: then it says which graphs the folder has instead, if any. */
export function requireGraphFile(dir: string, path: string): void {
  if (existsSync(path)) {
    requireModelFile(path, 'the ONNX graph');
    return;
  }
  const others = ['.', 'onnx']
    .filter((sub) => existsSync(join(dir, sub)) && statSync(join(dir, sub)).isDirectory())
    .flatMap((sub) => readdirSync(join(dir, sub)).filter((name) => name.endsWith('.onnx')).map((name) => relative(dir, join(dir, sub, name))));
  const wanted = `one of ${GRAPH_FILES.join(', ')}`;
  if (others.length === 0) {
    throw new ModelError('modelFileMissing', `${path} is missing (the ONNX graph), and so is every other graph the engine runs (${wanted}). Export the model with Hugging Face Optimum, or copy its onnx/ folder in.`);
  }
  const float16 = others.filter((name) => /fp16|f16/.test(name));
  throw new ModelError(
    'modelFileMissing',
    `${path} is missing (the ONNX graph): the folder has ${others.join(', ')}, and the engine runs ${wanted}.` +
      (float16.length > 0 ? ' Float16 graphs are not run (the KV cache and the confidence pass are float32): use the export\'s float32 or quantized graph.' : ' Rename the decoder with a KV cache to onnx/model.onnx.'),
  );
}

/** Throws unless `dir` is an existing folder. */
export function requireModelFolder(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ModelError('modelFolderMissing', `${dir} is a file, not a model folder. Give the folder that holds it (config.json, tokenizer.json, onnx/model.onnx).`);
  }
  if (!existsSync(dir)) {
    throw new ModelError(
      'modelFolderMissing',
      `Model folder ${dir} does not exist. Set the model path to a folder holding config.json, ` +
        `tokenizer.json, tokenizer_config.json and onnx/model.onnx (a Hugging Face Optimum ONNX export).`,
    );
  }
}

/** Throws unless `path` is an existing file; `what` says what the file is for. */
export function requireModelFile(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new ModelError(
      'modelFileMissing',
      `${path} is missing (${what}). Re-export the model or copy the file into the model folder.`,
    );
  }
  if (!statSync(path).isFile()) {
    throw new ModelError('modelFileCorrupt', `${path} is a folder, not a file (${what}). Remove it, and re-export the model or copy the file in its place.`);
  }
}

/** Reads and parses a JSON file of the model folder; a parse failure names the file. */
export function readModelJson(path: string, what: string): unknown {
  requireModelFile(path, what);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelError(
      'modelFileCorrupt',
      `${path} is not valid JSON (${(error as Error).message}). Re-export the model or restore the file.`,
      { cause: error },
    );
  }
}

/** Reads an optional JSON file: undefined when absent, ModelError when present but unparsable. */
export function readOptionalModelJson(path: string, what: string): unknown | undefined {
  return existsSync(path) ? readModelJson(path, what) : undefined;
}
