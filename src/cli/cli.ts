import { UsageError } from './args.js';
import type { CliIo } from './io.js';
import { SIM_RUN_HELP, simRun } from './sim-run.js';

export const HELP = `Usage: chorus <command> [options]

Commands:
  sim run      run a seeded simulation of a cluster through faults

Run 'chorus <command> --help' for a command's options.`;

const SIM_HELP = `Usage: chorus sim <command> [options]

Commands:
  run          run a seeded simulation of a cluster through faults

${SIM_RUN_HELP}`;

/** Runs one command line and returns its exit status: 0 ok, 1 failed check, 2 usage error. */
export function runCli(argv: readonly string[], io: CliIo): number {
  try {
    return dispatch(argv, io);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.err(`chorus: ${error.message}`);
    io.err(`Run 'chorus ${helpTopic(argv)}--help' for usage.`);
    return 2;
  }
}

function dispatch(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(HELP);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return 0;
  }
  if (command !== 'sim') throw new UsageError(`unknown command '${command}'; try 'chorus --help'`);
  const [sub, ...simArgs] = rest;
  if (sub === undefined) {
    io.err(SIM_HELP);
    return 2;
  }
  if (sub === '--help' || sub === '-h') {
    io.out(SIM_HELP);
    return 0;
  }
  if (sub === 'run') return simRun(simArgs, io);
  throw new UsageError(`unknown sim command '${sub}'; try 'chorus sim --help'`);
}

/** The command whose help fits a mistake: `sim run ` for `chorus sim run --bad`. */
function helpTopic(argv: readonly string[]): string {
  if (argv[0] !== 'sim') return '';
  return argv[1] === 'run' ? 'sim run ' : 'sim ';
}

function isUsageError(error: unknown): error is Error {
  // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}
