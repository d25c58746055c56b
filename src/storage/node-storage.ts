// A node's durable state under one data directory: the hard state and the
// count of the node's starts (hard-state-file.ts), and the Raft log in
// segments (segmented-log.ts).
//
//   <dataDir>/hardstate              two checksummed copies, written in turn
//   <dataDir>/log/segment-*.log      the log
//
// The count of starts gives the core a number above every earlier start's
// (BrokerNodeOptions.incarnation).

import type { DurableState, Entry, HardState } from '../raft/types.js';
import { afterAll, joinPath, parentOf, type FileSystem, type SyncDone } from './file-system.js';
import { HardStateFile } from './hard-state-file.js';
import { SegmentedLog } from './segmented-log.js';

export interface StorageOptions {
  readonly segmentBytesMax: number;
  readonly note: (line: string) => void;
}

/** One Ready's persistence work. */
export interface PersistWork {
  readonly hardState: HardState | undefined;
  readonly truncateFrom: number | undefined;
  readonly entries: readonly Entry[];
}

export interface OpenedStorage {
  readonly storage: NodeStorage;
  /** Exactly what was durable, for the core to restart from. */
  readonly durable: DurableState;
  /** This start's number, already durable: one more than every earlier start's. */
  readonly incarnation: number;
}

export class NodeStorage {
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly hardStateFile: HardStateFile,
    private readonly log: SegmentedLog,
  ) {}

  /**
   * Opens the data directory (creating it if needed), recovers what is on it,
   * counts this start, and calls `done` once all of that, the cutting of a
   * torn tail included, is durable. Damage it must not repair (corruption of
   * acknowledged data) reaches `done` as a StorageCorruptionError.
   */
  static open(fs: FileSystem, dir: string, options: StorageOptions, done: (error: Error | undefined, opened: OpenedStorage | undefined) => void): void {
    let opened: OpenedStorage;
    let created = false;
    try {
      created = !fs.exists(dir);
      if (created) fs.makeDirectory(dir);
      const { file, durable } = HardStateFile.open(fs, dir);
      let log: SegmentedLog;
      let entries: Entry[];
      try {
        ({ log, entries } = SegmentedLog.open(fs, joinPath(dir, 'log'), options));
      } catch (error) {
        file.close();
        throw error;
      }
      opened = { storage: new NodeStorage(dir, file, log), durable: { hardState: durable.hardState, entries }, incarnation: durable.starts + 1 };
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    const storage = opened.storage;
    // A new data directory's own name must be durable too, or a crash could take it all.
    const finished = afterAll(created ? 3 : 2, (error) => {
      if (error !== undefined) storage.close();
      done(error, error === undefined ? opened : undefined);
    });
    storage.hardStateFile.write({ hardState: opened.durable.hardState, starts: opened.incarnation }, finished);
    storage.log.sync(finished);
    if (created) fs.syncDirectory(parentOf(dir), finished);
  }

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  /**
   * Makes one Ready's writes durable, in order: the hard state first (a log
   * entry of a term must never be on disk without that term), then the
   * truncation and the entries, then one sync; then calls `done`. A failed
   * write or sync reaches `done` as an error: after one, the kernel may have
   * dropped dirty pages, so the caller must stop rather than go on.
   */
  persist(work: PersistWork, done: SyncDone): void {
    if (this.closed) {
      done(new Error(`storage in ${this.dir} is closed`));
      return;
    }
    const hardState = work.hardState;
    if (hardState === undefined) {
      this.persistLog(work, done);
      return;
    }
    this.hardStateFile.write({ hardState, starts: this.hardStateFile.state.starts }, (error) => {
      if (error !== undefined || this.closed) done(error ?? new Error(`storage in ${this.dir} is closed`));
      else this.persistLog(work, done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hardStateFile.close();
    this.log.close();
  }

  private persistLog(work: PersistWork, done: SyncDone): void {
    const truncateFrom = work.truncateFrom;
    try {
      if (truncateFrom !== undefined && this.log.removeSegmentsFrom(truncateFrom)) {
        // The removals first, durably; then the cut and the appends (see removeSegmentsFrom).
        this.log.sync((error) => {
          if (error !== undefined || this.closed) done(error ?? new Error(`storage in ${this.dir} is closed`));
          else this.appendLog(truncateFrom, work.entries, done);
        });
        return;
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    this.appendLog(truncateFrom, work.entries, done);
  }

  private appendLog(truncateFrom: number | undefined, entries: readonly Entry[], done: SyncDone): void {
    try {
      if (truncateFrom !== undefined) this.log.truncateFrom(truncateFrom);
      this.log.append(entries);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.log.sync(done);
  }
}
