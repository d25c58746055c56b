import { EMPTY_HARD_STATE, type DurableState, type Entry, type HardState } from '../src/raft/types.js';
import type { SimRandom } from './random.js';

export interface DiskOptions {
  writeLatencyMinMs: number;
  writeLatencyMaxMs: number;
  syncLatencyMinMs: number;
  syncLatencyMaxMs: number;
}

export const DEFAULT_DISK_OPTIONS: DiskOptions = {
  writeLatencyMinMs: 0.05,
  writeLatencyMaxMs: 0.2,
  syncLatencyMinMs: 0.5,
  syncLatencyMaxMs: 2,
};

/** What a node's disk holds, in brief. */
export interface DurableView {
  readonly term: number;
  readonly vote: number;
  readonly lastIndex: number;
}

/** One Ready's persistence work, as the disk sees it. */
export interface DiskWrite {
  readonly hardState: HardState | undefined;
  readonly truncateFrom: number | undefined;
  readonly entries: readonly Entry[];
}

/**
 * A node's simulated disk. Writes land in a volatile buffer; only a sync makes them
 * durable, and a crash throws away everything not yet synced.
 */
export class SimDisk implements DurableView {
  private hardState: HardState = EMPTY_HARD_STATE;
  /** Invariant: durableEntries[i].index === i + 1. */
  private readonly durableEntries: Entry[] = [];
  /**
   * Writes not yet synced: the first unsyncedLength slots of a reused buffer, so
   * that a write and its sync, once per Ready, do not reallocate the buffer.
   */
  private readonly unsynced: (DiskWrite | undefined)[] = [];
  private unsyncedLength = 0;
  private optionsValue: DiskOptions;
  writesDone = 0;
  syncsDone = 0;

  constructor(
    options: DiskOptions,
    private readonly random: SimRandom,
  ) {
    this.optionsValue = { ...options };
  }

  options(): Readonly<DiskOptions> {
    return this.optionsValue;
  }

  configure(changes: Partial<DiskOptions>): void {
    this.optionsValue = { ...this.optionsValue, ...changes };
  }

  /** Buffers a write and returns how long the write and the sync that follows take, in microseconds. */
  writeAndSyncLatencyUs(write: DiskWrite): number {
    this.unsynced[this.unsyncedLength++] = write;
    this.writesDone++;
    const options = this.optionsValue;
    const writeMs = this.random.between(options.writeLatencyMinMs, options.writeLatencyMaxMs);
    const syncMs = this.random.between(options.syncLatencyMinMs, options.syncLatencyMaxMs);
    return (writeMs + syncMs) * 1000;
  }

  /** Makes every buffered write durable, in order. */
  sync(): void {
    const unsynced = this.unsynced;
    for (let i = 0; i < this.unsyncedLength; i++) {
      this.applyDurably(unsynced[i]!);
      unsynced[i] = undefined;
    }
    this.unsyncedLength = 0;
    this.syncsDone++;
  }

  /** A crash: what was written but not synced is gone. */
  crash(): void {
    for (let i = 0; i < this.unsyncedLength; i++) this.unsynced[i] = undefined;
    this.unsyncedLength = 0;
  }

  /**
   * The first unsynced write is torn: its hard state survives or not, and a
   * random prefix of its truncation and entries reaches the disk (a real log
   * keeps whole records and recovery cuts the torn one off). Then the rest is
   * lost as in any crash.
   */
  tornCrash(random: SimRandom): void {
    const write = this.unsyncedLength > 0 ? this.unsynced[0] : undefined;
    if (write !== undefined) {
      const kept = random.int(0, write.entries.length);
      this.applyDurably({
        hardState: random.chance(0.5) ? write.hardState : undefined,
        truncateFrom: kept > 0 || random.chance(0.5) ? write.truncateFrom : undefined,
        entries: write.entries.slice(0, kept),
      });
    }
    this.crash();
  }

  /** The durable term, vote and log length, for checks that must not copy the log. */
  get term(): number {
    return this.hardState.term;
  }
  get vote(): number {
    return this.hardState.vote;
  }
  get lastIndex(): number {
    return this.durableEntries.length;
  }

  /** Exactly what a restarted node finds. */
  durableState(): DurableState {
    return { hardState: this.hardState, entries: this.durableEntries.slice() };
  }

  private applyDurably(write: DiskWrite): void {
    if (write.hardState !== undefined) this.hardState = write.hardState;
    if (write.truncateFrom !== undefined && write.truncateFrom <= this.durableEntries.length) {
      this.durableEntries.length = write.truncateFrom - 1;
    }
    const entries = write.entries;
    const durable = this.durableEntries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.index !== durable.length + 1) {
        throw new Error(`disk write of index ${entry.index} after durable index ${durable.length}`);
      }
      durable.push(entry);
    }
  }
}
