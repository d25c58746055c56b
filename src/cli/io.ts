import chalk from 'chalk';

/** What a command may touch of the outside world, so tests can run commands in-process. */
export interface CliIo {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** Writes progress to a terminal without a newline; a no-op when not on a terminal. */
  progress(text: string): void;
  /** Milliseconds of wall time, for reporting speed only. */
  wallMs(): number;
  /**
   * True when progress goes to a terminal, which redraws one line in place.
   * Off a terminal, long commands print a plain progress line now and then
   * through err instead, so that logs (CI, batch jobs) still show them.
   */
  readonly terminal?: boolean;
  /**
   * Calls onInterrupt when the user presses Ctrl-C (SIGINT), instead of the
   * process dying at once, until the returned function is called. Long
   * commands use it to report what finished before they exit.
   */
  onInterrupt?(onInterrupt: () => void): () => void;
}

export function processIo(): CliIo {
  const tty = process.stderr.isTTY === true;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: (text) => {
      if (tty) process.stderr.write(text === '' ? '\r\x1b[K' : `\r${text}`);
    },
    wallMs: () => performance.now(),
    terminal: tty,
    onInterrupt: (onInterrupt) => {
      process.on('SIGINT', onInterrupt);
      return () => process.off('SIGINT', onInterrupt);
    },
  };
}

/**
 * Turns colour off when NO_COLOR is set to anything but the empty string
 * (https://no-color.org), even over FORCE_COLOR: it is the user's standing
 * wish. Off a terminal chalk already writes no colour codes. FORCE_COLOR=0 is
 * set too, because the worker threads of `sim sweep` load their own chalk,
 * which reads the environment it is given.
 */
export function applyColourPreference(env: NodeJS.ProcessEnv): void {
  const noColour = env['NO_COLOR'];
  if (noColour === undefined || noColour === '') return;
  chalk.level = 0;
  env['FORCE_COLOR'] = '0';
}
