// The progress of a sweep or fuzz campaign: runs done of the total, failures,
// elapsed time and an estimate of the time left. On a terminal it is one line
// redrawn in place; off a terminal (a CI log, a batch job's output) it is a
// plain line every few seconds, since a redrawn line would never be seen.

import type { CliIo } from './io.js';

/** How often a plain progress line is printed off a terminal. */
export const plainProgressEveryMs = 5000;

const barWidth = 30;

export class CampaignProgress {
  private done = 0;
  private failed = 0;
  private readonly startedMs: number;
  private lastPlainMs: number;

  /** `what` names the command in plain lines; `unit` is what is counted (runs, seeds). */
  constructor(
    private readonly io: CliIo,
    private readonly what: string,
    private readonly total: number,
    private readonly unit: string,
  ) {
    this.startedMs = io.wallMs();
    this.lastPlainMs = this.startedMs;
  }

  /** Records one more finished run. */
  add(passed: boolean): void {
    this.done++;
    if (!passed) this.failed++;
    this.show();
  }

  /** Shows the elapsed time moving even while no run finishes; called every second or so. */
  tick(): void {
    this.show();
  }

  /** Clears the terminal line before the results are printed. */
  finish(): void {
    this.io.progress('');
  }

  private show(): void {
    const nowMs = this.io.wallMs();
    if (this.io.terminal === true) {
      const filled = Math.round((barWidth * this.done) / Math.max(this.total, 1));
      this.io.progress(`  [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${this.describe(nowMs)}`);
      return;
    }
    if (this.done >= this.total || nowMs - this.lastPlainMs < plainProgressEveryMs) return;
    this.lastPlainMs = nowMs;
    this.io.err(`${this.what}: ${this.describe(nowMs)}`);
  }

  private describe(nowMs: number): string {
    const elapsedMs = nowMs - this.startedMs;
    // The estimate assumes the runs left cost what the finished ones did on average.
    const eta = this.done === 0 ? 'no ETA yet' : `ETA ${formatDuration((elapsedMs / this.done) * (this.total - this.done))}`;
    return `${this.done}/${this.total} ${this.unit}, ${this.failed} failed, ${formatDuration(elapsedMs)} elapsed, ${eta}`;
  }
}

/** `42s`, `3m05s`, `2h07m`: as precise as a person glancing at it needs. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(Math.max(ms, 0) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
