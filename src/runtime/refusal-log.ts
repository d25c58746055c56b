// A log line for connections a listener refuses or closes at one of its limits.

/**
 * Logs connections refused or closed at a limit: the first at once, then at
 * most one line a minute with the count since, so that a flood of them does
 * not flood the log too.
 */
export class RefusalLog {
  private count = 0;
  private lastLogMs = -Infinity;
  private lastReason = '';

  constructor(
    private readonly port: string,
    private readonly log: (line: string) => void,
    private readonly intervalMs = 60_000,
    /** Why such connections close, for the line: a limit, or a failed TLS handshake. */
    private readonly cause = 'at a limit',
  ) {}

  note(reason: string): void {
    this.count++;
    this.lastReason = reason;
    const now = Date.now();
    if (now - this.lastLogMs < this.intervalMs) return;
    this.lastLogMs = now;
    this.log(`${this.port} port: closed ${this.count} connection${this.count === 1 ? '' : 's'} ${this.cause} (latest: ${this.lastReason})`);
    this.count = 0;
  }
}
