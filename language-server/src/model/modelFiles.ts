import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from './modelError';

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
    onnx: join(dir, 'onnx', 'model.onnx'),
    caspoSettings: join(dir, 'caspo.json'),
  };
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
