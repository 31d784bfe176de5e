import { UsageError } from './errors';

/** How one `--flag` is read. Names are the flag as typed, without the dashes (`top-p`). */
export type FlagSpec =
  | { kind: 'boolean'; help: string }
  | { kind: 'string'; help: string; valueName: string }
  | { kind: 'choice'; help: string; choices: readonly string[] }
  | { kind: 'number'; help: string; valueName: string; integer?: boolean; min?: number; max?: number; minExclusive?: boolean };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type ValueOf<S extends FlagSpec> = S extends { kind: 'boolean' }
  ? boolean
  : S extends { kind: 'number' }
    ? number
    : S extends { kind: 'choice'; choices: readonly (infer C)[] }
      ? C
      : string;

export type ParsedFlags<F extends FlagSpecs> = { [K in keyof F]?: ValueOf<F[K]> };

export interface ParsedArgs<F extends FlagSpecs> {
  flags: ParsedFlags<F>;
  positionals: string[];
  help: boolean;
}

/** Node turns bytes that are not UTF-8 in argv into U+FFFD; such an argument cannot be trusted. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Rejects an argument that was not valid UTF-8 (Node hands it over with U+FFFD in place of the bad
 * bytes, so the text is already lost). `argv` is the command line after `caspo`; numbers are 1-based.
 */
export function requireUtf8Arguments(argv: readonly string[]): void {
  argv.forEach((arg, i) => {
    if (arg.includes(REPLACEMENT_CHARACTER)) {
      throw new UsageError(
        `argument ${i + 1} is not valid UTF-8 (bytes that do not decode arrive as U+FFFD): ` +
          `${JSON.stringify(arg.length > 60 ? `${arg.slice(0, 60)}...` : arg)}. Pass the text UTF-8 encoded.`,
      );
    }
  });
}

/**
 * The longest command line the model can load under: onnxruntime-node 1.30 crashes (SIGSEGV, no
 * message) creating a session in a process whose arguments add up to about 30 KB or more (measured:
 * 28,000 bytes load, 32,000 crash), so longer ones are refused before a model is opened.
 */
export const MAX_COMMAND_LINE_BYTES = 24_000;

/** Refuses a command line too long for onnxruntime to start under (`full`: the whole process.argv). */
export function requireLoadableCommandLine(full: readonly string[]): void {
  const bytes = full.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  if (bytes > MAX_COMMAND_LINE_BYTES) {
    throw new UsageError(
      `the command line is ${bytes.toLocaleString('en-US')} bytes long, and onnxruntime crashes loading a model in a process ` +
        `started with more than about 30 KB of arguments. Pass a long problem on standard input instead: caspo solve - < problem.txt`,
    );
  }
}

/**
 * Parses `--flag value`, `--flag=value`, booleans, `--help`/`-h`, and positionals; `--` ends the
 * flags. Every problem is a UsageError that names the flag and lists what is valid.
 */
export function parseArgs<F extends FlagSpecs>(argv: readonly string[], specs: F): ParsedArgs<F> {
  const flags: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!isFlagLike(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(arg.startsWith('--') ? 2 : 1, eq >= 0 ? eq : undefined);
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (spec === undefined) {
      throw new UsageError(`unknown flag ${arg.slice(0, eq >= 0 ? eq : undefined)}. Valid flags: ${validFlags(specs)}.`);
    }
    if (Object.prototype.hasOwnProperty.call(flags, name)) throw new UsageError(`--${name} is given more than once.`);
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
      flags[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value (${describeValue(spec)}).`);
      raw = next;
      i++;
    }
    flags[name] = parseValue(name, spec, raw);
  }
  return { flags: flags as ParsedFlags<F>, positionals, help };
}

/** `-x`/`--x`, but not a negative number like `-5` or `-3 + 4` (a problem may start with one). */
function isFlagLike(arg: string): boolean {
  return /^--?[A-Za-z]/.test(arg);
}

function parseValue(name: string, spec: FlagSpec, raw: string): string | number {
  switch (spec.kind) {
    case 'string':
      if (raw.length === 0) throw new UsageError(`--${name} needs a non-empty value (${spec.valueName}).`);
      return raw;
    case 'choice':
      if (!spec.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(raw)}.`);
      }
      return raw;
    case 'number': {
      const value = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.trim()) ? Number(raw) : NaN;
      const bad = (why: string) => new UsageError(`--${name} must be ${why}; got ${JSON.stringify(raw)}.`);
      if (!Number.isFinite(value)) throw bad(describeValue(spec));
      if (spec.integer && !Number.isSafeInteger(value)) throw bad(describeValue(spec));
      if (spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min)) throw bad(describeValue(spec));
      if (spec.max !== undefined && value > spec.max) throw bad(describeValue(spec));
      return value;
    }
    case 'boolean':
      throw new Error('boolean flags take no value');
  }
}

/** "an integer >= 1", "a number in (0, 1]", ... */
export function describeValue(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'boolean':
      return 'no value';
    case 'string':
      return spec.valueName;
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'number': {
      const what = spec.integer ? 'an integer' : 'a number';
      const low = spec.min === undefined ? null : spec.minExclusive ? `> ${spec.min}` : `>= ${spec.min}`;
      if (low !== null && spec.max !== undefined) {
        return `${what} in ${spec.minExclusive ? '(' : '['}${spec.min}, ${spec.max}]`;
      }
      if (low !== null) return `${what} ${low}`;
      if (spec.max !== undefined) return `${what} <= ${spec.max}`;
      return what;
    }
  }
}

function validFlags(specs: FlagSpecs): string {
  return [...Object.keys(specs).map((name) => `--${name}`), '--help'].join(', ');
}

/** The flags section of a command's help text. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value = spec.kind === 'boolean' ? '' : spec.kind === 'choice' ? ` ${spec.choices.join('|')}` : ` ${spec.valueName}`;
    return [`--${name}${value}`, spec.help] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`).join('\n');
}
