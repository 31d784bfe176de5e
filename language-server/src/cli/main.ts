import { requireLoadableCommandLine, requireUtf8Arguments } from './args';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, reportError, UsageError } from './errors';
import { CALIBRATE_USAGE, runCalibrate } from './calibrate';
import { EVAL_USAGE, runEval } from './eval';
import { runSolve, SOLVE_USAGE } from './solve';

/** The `caspo` command: one sub-command per engine use (design §1). */
const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; usage: string; summary: string }> = {
  solve: { run: runSolve, usage: SOLVE_USAGE, summary: 'solve one problem, showing each step with its confidence' },
  eval: { run: runEval, usage: EVAL_USAGE, summary: 'accuracy and step-confidence calibration (ECE, Brier, AUROC) on a JSONL file' },
  calibrate: { run: runCalibrate, usage: CALIBRATE_USAGE, summary: "fit the model's confidence maps and write caspo.json" },
};

const USAGE = `Usage: caspo <command> [flags]

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`)
  .join('\n')}

Run \`caspo <command> --help\` for its flags. CASPO_DEBUG=1 shows stack traces; NO_COLOR turns colours off.`;

export async function main(argv: readonly string[]): Promise<number> {
  requireUtf8Arguments(argv);
  requireLoadableCommandLine([...process.argv.slice(0, 2), ...argv]);
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  const entry = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}. Commands: ${Object.keys(COMMANDS).join(', ')}.`);
  }
  return entry.run(rest);
}

// A closed pipe (`caspo eval ... | head -1`) is the reader's choice, not an error to report; any
// other failure to write (a full disk, a revoked terminal) ends the command with what went wrong.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  process.stderr.write(`caspo: cannot write the output: ${error.message}\n`);
  process.exit(EXIT_RUNTIME);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const command = process.argv[2];
    const { exitCode, text } = reportError(error, command !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, command) ? command : undefined);
    process.stderr.write(text);
    process.exitCode = exitCode;
  },
);
