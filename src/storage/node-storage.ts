// A node's durable state under one data directory: the hard state and the
// count of the node's starts (hard-state-file.ts), the newest snapshot of the
// state machine (snapshot-file.ts), and the Raft log in segments
// (segmented-log.ts).
//
//   <dataDir>/hardstate              two checksummed copies, written in turn
//   <dataDir>/snapshot               the newest snapshot, replaced whole
//   <dataDir>/log/segment-*.log      the log after (and a little before) it
//
// The count of starts gives the core a number above every earlier start's
// (BrokerNodeOptions.incarnation).

import type { SnapshotFile, SnapshotSource } from '../raft/config.js';
import type { DurableState, Entry, HardState, SnapshotChunk, SnapshotToInstall } from '../raft/types.js';
import { afterAll, joinPath, parentOf, type FileSystem, type SyncDone } from './file-system.js';
import { HardStateFile } from './hard-state-file.js';
import { SegmentedLog } from './segmented-log.js';
import { SnapshotFiles, type SnapshotHeader } from './snapshot-file.js';

/**
 * When log appends are fdatasynced: 'always' before a Ready is reported
 * durable (the default), or 'interval', where a Ready's entries count as
 * durable once written to the page cache and the driver syncs the log on a
 * period (syncLog). Hard state, truncations past a segment and snapshots are
 * synced under both: they are rare, and Raft's votes rest on them.
 */
export type LogSyncPolicy = 'always' | 'interval';

export interface StorageOptions {
  readonly segmentBytesMax: number;
  readonly note: (line: string) => void;
  readonly logSync?: LogSyncPolicy;
}

/** One Ready's persistence work. */
export interface PersistWork {
  readonly hardState: HardState | undefined;
  readonly truncateFrom: number | undefined;
  readonly entries: readonly Entry[];
  readonly snapshotChunks?: readonly SnapshotChunk[];
  readonly snapshot?: SnapshotToInstall | undefined;
}

/** What persisting a Ready that installs a snapshot found: its bytes, or why it was refused. */
export interface PersistOutcome {
  /** The installed snapshot's state machine bytes, for the driver to restore from. */
  readonly installed?: Uint8Array;
  /** The received snapshot failed its check and was dropped: the driver calls RaftNode.snapshotFailed(). */
  readonly refused?: string;
}

export interface OpenedStorage {
  readonly storage: NodeStorage;
  /** Exactly what was durable, for the core to restart from. */
  readonly durable: DurableState;
  /** The state machine's bytes in the durable snapshot, when there is one. */
  readonly snapshotData: Uint8Array | undefined;
  /** This start's number, already durable: one more than every earlier start's. */
  readonly incarnation: number;
}

type PersistDone = (error: Error | undefined, outcome: PersistOutcome) => void;

export class NodeStorage {
  private closed = false;
  /** A Ready's writes are being issued; the next Ready's wait for them. */
  private issuing = false;
  /** Readies handed in while an earlier one's writes were still being issued, oldest first. */
  private readonly waiting: { readonly work: PersistWork; readonly done: PersistDone }[] = [];

  private constructor(
    private readonly dir: string,
    private readonly hardStateFile: HardStateFile,
    private readonly snapshotFiles: SnapshotFiles,
    private readonly log: SegmentedLog,
    private readonly logSync: LogSyncPolicy,
  ) {}

  /** The durable snapshot as a leader reads it to send to followers. */
  readonly snapshots: SnapshotSource = {
    latest: (): SnapshotFile | undefined => this.snapshotFiles.latest(),
    read: (index, offset, length) => this.snapshotFiles.read(index, offset, length),
  };

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
      opened = NodeStorage.recover(fs, dir, options);
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

  /** Reads what the directory holds; throws what it cannot recover from. */
  private static recover(fs: FileSystem, dir: string, options: StorageOptions): OpenedStorage {
    const { file, durable } = HardStateFile.open(fs, dir);
    let snapshots: SnapshotFiles | undefined;
    try {
      const opened = SnapshotFiles.open(fs, dir);
      snapshots = opened.files;
      const { log, entries } = SegmentedLog.open(fs, joinPath(dir, 'log'), options);
      const snapshot = opened.loaded === undefined ? undefined : { index: opened.loaded.index, term: opened.loaded.term };
      const kept = snapshot === undefined ? entries : reconcileWithSnapshot(log, entries, snapshot.index, snapshot.term);
      const storage = new NodeStorage(dir, file, snapshots, log, options.logSync ?? 'always');
      const restored: DurableState = { hardState: durable.hardState, entries: kept, ...(snapshot === undefined ? {} : { snapshot }) };
      return { storage, durable: restored, snapshotData: opened.loaded?.data, incarnation: durable.starts + 1 };
    } catch (error) {
      snapshots?.close();
      file.close();
      throw error;
    }
  }

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  /**
   * Makes a snapshot of the state machine at `header.index` the durable one,
   * then calls `done`. Only AFTER that may the log before it go
   * (RaftNode.snapshotTaken, then compactLog).
   */
  saveSnapshot(header: SnapshotHeader, data: Uint8Array, done: SyncDone): void {
    if (this.closed) {
      done(new Error(`storage in ${this.dir} is closed`));
      return;
    }
    this.snapshotFiles.save(header, data, done);
  }

  /** Drops the log's segments wholly before `index`; the removals become durable with the next sync. */
  compactLog(index: number): void {
    if (!this.closed) this.log.compactTo(index);
  }

  /**
   * Makes one Ready's writes durable, in order: the hard state first (a log
   * entry of a term must never be on disk without that term), then received
   * snapshot chunks and the install of a complete snapshot, then the
   * truncation and the entries, then one sync; then calls `done` (with the
   * installed snapshot's bytes, or why it was refused). A failed
   * write or sync reaches `done` as an error: after one, the kernel may have
   * dropped dirty pages, so the caller must stop rather than go on.
   *
   * Several Readies may be handed in before the first is durable. Their
   * writes are issued in the order they came, each once the one before has
   * issued all of its own (a hard state or a snapshot may take a sync first),
   * so a Ready's writes may start while an earlier Ready's sync is running.
   * Their `done` calls may come back in any order: the driver reports them in
   * the order it handed them in.
   */
  persist(work: PersistWork, done: PersistDone): void {
    if (this.issuing) this.waiting.push({ work, done });
    else this.startPersist(work, done);
  }

  private startPersist(work: PersistWork, done: PersistDone): void {
    this.issuing = true;
    let issued = false;
    const writesIssued = (): void => {
      if (issued) return;
      issued = true;
      this.issuing = false;
      const next = this.waiting.shift();
      if (next !== undefined) this.startPersist(next.work, next.done);
    };
    const finished: PersistDone = (error, outcome) => {
      done(error, outcome);
      writesIssued();
    };
    if (this.closed) {
      finished(new Error(`storage in ${this.dir} is closed`), {});
      return;
    }
    const hardState = work.hardState;
    if (hardState === undefined) {
      this.persistSnapshotAndLog(work, finished, writesIssued);
      return;
    }
    this.hardStateFile.write({ hardState, starts: this.hardStateFile.state.starts }, (error) => {
      if (error !== undefined || this.closed) finished(error ?? new Error(`storage in ${this.dir} is closed`), {});
      else this.persistSnapshotAndLog(work, finished, writesIssued);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hardStateFile.close();
    this.snapshotFiles.close();
    this.log.close();
  }

  /** The contract's second step: received chunks written, a complete snapshot installed; then the log. */
  private persistSnapshotAndLog(work: PersistWork, done: PersistDone, writesIssued: () => void): void {
    try {
      for (const chunk of work.snapshotChunks ?? []) {
        this.snapshotFiles.writeChunk({ index: chunk.snapshotIndex, term: chunk.snapshotTerm, size: chunk.size, crc: chunk.crc }, chunk.offset, chunk.data);
      }
    } catch (error) {
      done(error as Error, {});
      return;
    }
    const install = work.snapshot;
    if (install === undefined) {
      this.persistLog(work, (error) => done(error, {}), writesIssued);
      return;
    }
    this.snapshotFiles.install(install, (outcome) => {
      // A snapshot that fails its check is dropped and received again; a failed write is the disk's.
      if ('refused' in outcome) {
        done(undefined, { refused: outcome.refused });
        return;
      }
      if ('error' in outcome || this.closed) {
        done('error' in outcome ? outcome.error : new Error(`storage in ${this.dir} is closed`), {});
        return;
      }
      if (install.keepsLog) this.log.compactTo(install.index);
      else this.log.resetTo(install.index);
      this.persistLog(work, (syncError) => done(syncError, syncError === undefined ? { installed: outcome.data } : {}), writesIssued);
    });
  }

  private persistLog(work: PersistWork, done: SyncDone, writesIssued: () => void): void {
    const truncateFrom = work.truncateFrom;
    try {
      if (truncateFrom !== undefined && this.log.removeSegmentsFrom(truncateFrom)) {
        // The removals first, durably; then the cut and the appends (see removeSegmentsFrom).
        this.log.sync((error) => {
          if (error !== undefined || this.closed) done(error ?? new Error(`storage in ${this.dir} is closed`));
          else this.appendLog(truncateFrom, work.entries, done, writesIssued);
        });
        return;
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    this.appendLog(truncateFrom, work.entries, done, writesIssued);
  }

  /** The last step: the cut and the appends, then (under 'always') the sync, during which the next Ready's writes may go. */
  private appendLog(truncateFrom: number | undefined, entries: readonly Entry[], done: SyncDone, writesIssued: () => void): void {
    try {
      if (truncateFrom !== undefined) this.log.truncateFrom(truncateFrom);
      this.log.append(entries);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (this.logSync === 'interval') done(undefined);
    else this.log.sync(done);
    writesIssued();
  }

  /** Makes every log append so far durable: under the 'interval' policy, what the driver calls on its period. */
  syncLog(done: SyncDone): void {
    if (this.closed) {
      done(new Error(`storage in ${this.dir} is closed`));
      return;
    }
    this.log.sync(done);
  }
}

/**
 * The log entries to restart with beside a snapshot at (index, term). A
 * crash between installing a snapshot and dropping the old log leaves a log
 * that ends before the snapshot or holds another entry at its index: that
 * log is dropped now, durably with the next sync, and the node goes on from
 * the snapshot alone.
 */
function reconcileWithSnapshot(log: SegmentedLog, entries: Entry[], index: number, term: number): Entry[] {
  if (entries.length === 0) {
    if (log.lastIndex < index) log.resetTo(index);
    return entries;
  }
  const first = entries[0]!.index;
  const last = entries[entries.length - 1]!.index;
  if (first > index + 1) throw new Error(`the log starts at index ${first}, after the snapshot at ${index}: entries between are missing`);
  const atSnapshot = entries[index - first];
  if (last < index || (atSnapshot !== undefined && atSnapshot.term !== term)) {
    log.resetTo(index);
    return [];
  }
  // Entries the snapshot holds stay on disk until their segment goes, but not
  // in memory: the core needs only the one at the snapshot's index, whose term
  // an append after it names.
  return index >= first ? entries.slice(index - first) : entries;
}
