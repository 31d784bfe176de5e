/** One `caspo eval --json --confidence raw` run as a child process (the command users run, bin/caspo.js → dist/cli.js). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalNumbers, TableStrategy } from './types';

export interface EvalProcessOptions {
  root: string;
  modelDir: string;
  input: string;
  strategy: TableStrategy;
  limit?: number;
  threads?: number;
  /** Step-confidence metric for every model (default: each model's caspo.json default). */
  metric?: string;
  ep?: string;
}

export function evalArgs(options: EvalProcessOptions): string[] {
  const args = ['eval', '--json', '--per-problem', '--confidence', 'raw', '--strategy', options.strategy, '--model', options.modelDir, '--input', options.input];
  if (options.limit !== undefined) args.push('--limit', String(options.limit));
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if (options.ep !== undefined) args.push('--ep', options.ep);
  if (options.metric !== undefined) args.push('--metric', options.metric);
  return args;
}

/** Runs the eval; its progress goes to our stderr. Resolves with the report and the process's wall time. */
export function runEvalProcess(options: EvalProcessOptions): Promise<{ report: EvalNumbers; processMs: number }> {
  const bin = join(options.root, 'bin', 'caspo.js');
  if (!existsSync(join(options.root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  const args = evalArgs(options);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`caspo ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderrTail}`));
        return;
      }
      try {
        resolve({ report: JSON.parse(stdout.trim()) as EvalNumbers, processMs: performance.now() - started });
      } catch (error) {
        reject(new Error(`caspo ${args.join(' ')} printed no JSON report (${(error as Error).message}):\n${stdout.slice(0, 500)}`));
      }
    });
  });
}
