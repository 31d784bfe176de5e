import { ModelError } from '../model/modelError';

/** Exit codes of the `caspo` command. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, what shells report for a command stopped by Ctrl-C. */
export const EXIT_CANCELLED = 130;

/** The command line was wrong (flag, value, missing argument): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was well formed but could not be carried out (bad input file, model, ...): exit 1. */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
}

export interface ErrorReport {
  exitCode: number;
  /** One paragraph for stderr, ending in a newline. */
  text: string;
}

/**
 * What to print for an error that reached the top, and the exit code. Errors we raise on purpose
 * (usage, runtime, the engine's ModelError) are shown as their message alone; anything else is a
 * bug, shown as a one-line internal error. The stack trace only with CASPO_DEBUG=1. `command`: the
 * subcommand that failed, whose own --help a usage error points to.
 */
export function reportError(error: unknown, command?: string, debug = process.env.CASPO_DEBUG === '1'): ErrorReport {
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : '';
  if (error instanceof UsageError) {
    const help = command === undefined ? 'caspo --help' : `caspo ${command} --help`;
    return { exitCode: EXIT_USAGE, text: `caspo: ${error.message}\nRun \`${help}\` for usage.${stack}\n` };
  }
  if (error instanceof ModelError || error instanceof RuntimeError) {
    return { exitCode: EXIT_RUNTIME, text: `caspo: ${error.message}${stack}\n` };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: EXIT_RUNTIME,
    text:
      `caspo: internal error: ${firstLine(message)}` +
      (debug ? stack : ' (set CASPO_DEBUG=1 to see the stack trace and report it)') +
      '\n',
  };
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim().length > 0)?.trim() ?? text;
}
