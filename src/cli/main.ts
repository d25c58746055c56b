#!/usr/bin/env node
import { UsageError } from './args.js';
import { SIM_RUN_HELP, simRun } from './sim-run.js';

const HELP = `Usage: chorus <command> [options]

Commands:
  sim run      run a seeded simulation of a cluster through faults

Run 'chorus <command> --help' for a command's options.`;

const SIM_HELP = `Usage: chorus sim <command> [options]

Commands:
  run          run a seeded simulation of a cluster through faults

${SIM_RUN_HELP}`;

function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'sim') {
    const [sub, ...simArgs] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log(SIM_HELP);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'run') return simRun(simArgs);
    throw new UsageError(`unknown sim command '${sub}'; try 'chorus sim --help'`);
  }
  throw new UsageError(`unknown command '${command}'; try 'chorus --help'`);
}

function isUsageError(error: unknown): error is Error {
  // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
  const code = (error as { code?: unknown }).code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (isUsageError(error)) {
    console.error(`chorus: ${error.message}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
