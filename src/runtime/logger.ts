// One node's log: each line has a time, a level, the node and what happened.
// Text by default, for a person reading a terminal:
//
//   2026-12-07T10:00:00.000Z INFO n2 became leader in term 5
//
// or one JSON object per line, for a log pipeline, with the event's name and
// its fields beside the same sentence:
//
//   {"time":"2026-12-07T10:00:00.000Z","level":"info","node":2,"event":"leader-changed","msg":"became leader in term 5","term":5,"leader":2}
//
// Lines below the configured level are dropped before they are formatted, so
// a debug line costs a comparison when debug is off.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export const DEFAULT_LOG_OPTIONS: LogOptions = { level: 'info', format: 'text' };

/** Fields an event carries beside its sentence; JSON lines show them, text lines only the sentence. */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export class Logger {
  private readonly threshold: number;

  constructor(
    private readonly node: number,
    private readonly options: LogOptions,
    /** Takes one finished line, without its newline. */
    private readonly write: (line: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.threshold = LOG_LEVELS.indexOf(options.level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold;
  }

  debug(event: string, message: string, fields?: LogFields): void {
    this.log('debug', event, message, fields);
  }

  info(event: string, message: string, fields?: LogFields): void {
    this.log('info', event, message, fields);
  }

  warn(event: string, message: string, fields?: LogFields): void {
    this.log('warn', event, message, fields);
  }

  error(event: string, message: string, fields?: LogFields): void {
    this.log('error', event, message, fields);
  }

  log(level: LogLevel, event: string, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const time = this.now().toISOString();
    if (this.options.format === 'text') {
      this.write(`${time} ${level.toUpperCase()} n${this.node} ${message}`);
      return;
    }
    const line: Record<string, unknown> = { time, level, node: this.node, event, msg: message };
    // A field never overwrites the fixed keys a log pipeline relies on.
    for (const [key, value] of Object.entries(fields)) if (!(key in line)) line[key] = value;
    this.write(JSON.stringify(line));
  }
}
