import { existsSync, fstatSync, readFileSync, statSync } from 'node:fs';
import { RuntimeError } from './errors';

/** One problem of a JSONL input file. */
export interface ProblemRecord {
  /** 1-based line number in the file. */
  line: number;
  problem: string;
  /** The expected answer as text (a JSON number is accepted and converted). */
  answer: string;
}

/** Decodes bytes as strict UTF-8; on failure names the first bad line. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RuntimeError(
      `${source} is not valid UTF-8 (line ${firstInvalidLine(bytes)} holds bytes that do not decode). ` +
        'Save the file as UTF-8.',
    );
  }
}

function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line - 1;
}

/**
 * Reads a text file as strict UTF-8 — or a pipe (`<(...)`, /dev/stdin), or standard input for "-";
 * a missing path or a folder is a RuntimeError naming it.
 */
export function readTextFile(path: string, what: string): string {
  if (path === '-') {
    if (isDirectory(0)) throw new RuntimeError(`${what} "-" reads standard input, which is a folder here. Pipe the file in, or give its path.`);
    return decodeUtf8(readFileSync(0), `${what} (standard input)`);
  }
  if (!existsSync(path)) throw new RuntimeError(`${what} ${path} does not exist. Check the path.`);
  const stat = statSync(path);
  if (!stat.isFile() && !stat.isFIFO() && !stat.isCharacterDevice()) throw new RuntimeError(`${what} ${path} is not a file. Give the path of a file.`);
  return decodeUtf8(readFileSync(path), `${what} ${path}`);
}

/** Reads all of stdin (for `caspo solve -`) as strict UTF-8. */
export async function readStdinText(): Promise<string> {
  if (isDirectory(0)) throw new RuntimeError('standard input is a folder, not text. Pipe the problem in (echo "47*38 + 12" | caspo solve -) or give it as an argument.');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return decodeUtf8(Buffer.concat(chunks), 'standard input');
}

function isDirectory(fd: number): boolean {
  try {
    return fstatSync(fd).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Parses a JSONL file of `{"problem": "...", "answer": "..."}` lines (other fields are ignored,
 * blank lines skipped). Every malformed line is an error with its line number.
 */
export function parseProblemsJsonl(text: string, source: string): ProblemRecord[] {
  const records: ProblemRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const body = raw.trim();
    if (body.length === 0) return;
    const bad = (why: string) =>
      new RuntimeError(`${source} line ${line}: ${why}. Each line must be a JSON object {"problem": "...", "answer": "..."}.`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      throw bad(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
    const { problem, answer } = json as Record<string, unknown>;
    if (typeof problem !== 'string') throw bad('field "problem" is missing or not a string');
    if (problem.trim().length === 0) throw bad('field "problem" is empty');
    if (typeof answer !== 'string' && !(typeof answer === 'number' && Number.isFinite(answer))) {
      throw bad('field "answer" is missing or not a string or number');
    }
    if (typeof answer === 'number' && Number.isInteger(answer) && !Number.isSafeInteger(answer)) {
      // JSON.parse has already rounded it: 9999999899900000002 arrives as 9999999899900000000.
      throw bad(`field "answer" is a number too large to read exactly (${answer} as read); write it as a string, "answer": "..."`);
    }
    if (String(answer).trim().length === 0) throw bad('field "answer" is empty (no solution could match it)');
    records.push({ line, problem, answer: String(answer).trim() });
  });
  if (records.length === 0) throw new RuntimeError(`${source} holds no problems (it is empty or only blank lines).`);
  return records;
}

/** How messages name an --input path. */
export function inputSource(path: string): string {
  return path === '-' ? 'standard input' : `input file ${path}`;
}

/** Reads and parses a JSONL problems file. */
export function readProblemsFile(path: string): ProblemRecord[] {
  return parseProblemsJsonl(readTextFile(path, 'input file'), inputSource(path));
}
