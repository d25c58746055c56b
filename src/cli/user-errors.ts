// How the `chorus` command reports what went wrong. A person's mistake (a bad
// option, a missing or bad file, a server that cannot be reached) is told in
// one line per problem, without a stack trace: exit status 2 for a mistake in
// the command line, 1 for anything else. Only a bug in chorus itself keeps its
// stack trace, since that is what whoever fixes it needs.

import { UsageError } from './args.js';
import { YamlFieldError } from '../runtime/yaml-fields.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface UserErrorReport {
  /** The lines to print on standard error, each a whole message. */
  readonly lines: readonly string[];
  readonly status: number;
}

/**
 * The report of an error a person caused, or undefined for a bug. `helpCommand`
 * names the command whose `--help` explains the usage, e.g. `sim run`.
 */
export function userErrorReport(error: unknown, helpCommand: string): UserErrorReport | undefined {
  if (isUsageError(error)) {
    const hint = `(see 'chorus ${helpCommand === '' ? '' : `${helpCommand} `}--help')`;
    // A UsageError with several problems (a bad scenario file) has one line per
    // problem; parseArgs spreads one problem over several lines, so they are joined.
    const problems = error instanceof UsageError ? error.message.split('\n').filter((line) => line.trim() !== '') : [error.message.replace(/\s*\n\s*/g, ' ')];
    const lines = problems.map((problem, index) => `chorus: ${problem}${index === problems.length - 1 ? ` ${hint}` : ''}`);
    return { lines, status: EXIT_USAGE };
  }
  if (error instanceof YamlFieldError) return { lines: error.problems.map((problem) => `chorus: ${problem}`), status: EXIT_FAILURE };
  if (isSystemError(error)) return { lines: [`chorus: ${error.message}`], status: EXIT_FAILURE };
  return undefined;
}

function isUsageError(error: unknown): error is Error {
  // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
  return error instanceof UsageError || (error instanceof Error && codeOf(error).startsWith('ERR_PARSE_ARGS'));
}

/**
 * A failed call to the operating system (a file that cannot be written, a
 * port in use): Node.js gives those a `syscall` and an E-code such as ENOENT.
 */
function isSystemError(error: unknown): error is Error {
  return error instanceof Error && /^E[A-Z]+$/.test(codeOf(error)) && typeof (error as { syscall?: unknown }).syscall === 'string';
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}
