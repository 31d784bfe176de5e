/** Runs the real `caspo` command (bin/caspo.js → dist/cli.js) as a child process. */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const EMBEDDED_MODEL = join(ROOT, 'models', 'caspo-arith');
/** The SFT baseline: tests that pin exact sampled candidates of one model name it explicitly. */
export const SFT_MODEL = join(ROOT, 'models', 'caspo-arith-sft');
const BIN = join(ROOT, 'bin', 'caspo.js');

let built = false;

/** Bundles dist/cli.js once per test run, so the tests exercise what `caspo` runs. */
export function buildOnce(): void {
  if (built) return;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}\n${result.stderr}`);
  built = true;
}

export interface CaspoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed (stdin is empty otherwise). */
  input?: string | Buffer;
  /** Opened as stdin instead (a file or a folder, as `caspo solve - < PATH` does). */
  stdinPath?: string;
  /** Opened for writing as stdout instead of a pipe (e.g. /dev/full); `stdout` is then ''. */
  stdoutPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each stdout chunk and the child (e.g. to send SIGINT once a step shows up). */
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void;
}

/** Runs `node bin/caspo.js ...args`; Buffer args reach argv byte for byte (for invalid UTF-8). */
export function runCaspo(args: readonly (string | Buffer)[], options: RunOptions = {}): Promise<CaspoRun> {
  buildOnce();
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ...options.env };
    delete env.CASPO_DEBUG;
    if (options.env?.CASPO_DEBUG !== undefined) env.CASPO_DEBUG = options.env.CASPO_DEBUG;
    // spawn passes Buffer arguments through unchanged, though its types only name strings.
    const stdin = options.stdinPath === undefined ? 'pipe' : openSync(options.stdinPath, 'r');
    const out = options.stdoutPath === undefined ? 'pipe' : openSync(options.stdoutPath, 'w');
    const child = spawn(process.execPath, [BIN, ...(args as string[])], { cwd: options.cwd ?? ROOT, env, stdio: [stdin, out, 'pipe'] });
    if (typeof stdin === 'number') closeSync(stdin); // the child has its own copy
    if (typeof out === 'number') closeSync(out);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, child);
    });
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * A JavaScript stack frame ("    at fn (/path/file.js:12:34)"). Native libraries may print their
 * own "at operator() (BackendVk.cpp:368)" warnings, which are not ours, so line:column is required.
 */
export const JS_STACK_FRAME = /^\s+at .*(?:\.[cm]?[jt]s|node:[\w/]+):\d+:\d+\)?$/m;

/** A scratch folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of the embedded model in `parent/name` (to break one thing in it). */
export function copyEmbeddedModel(parent: string, name: string): string {
  const dir = join(parent, name);
  cpSync(EMBEDDED_MODEL, dir, { recursive: true });
  rmSync(join(dir, 'caspo.json'), { force: true });
  return dir;
}

/** Parses stdout that must be exactly one JSON line. */
export function singleJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter((line) => line.length > 0);
  if (lines.length !== 1) throw new Error(`expected one line of JSON on stdout, got ${lines.length}:\n${stdout}`);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}
