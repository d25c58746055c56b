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
  };
}
