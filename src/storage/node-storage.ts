// A node's durable state: the hard state (term and vote) in one small file
// replaced atomically, the count of the node's starts likewise, and the log in
// segments (segmented-log.ts), all under one data directory.
//
//   <dataDir>/hardstate       "CHRSHS01", term u64, vote u32, CRC-32 of the 20 bytes before it
//   <dataDir>/incarnation     "CHRSIN01", starts u64, CRC-32 of the 16 bytes before it
//   <dataDir>/log/segment-*.log
//
// The incarnation file counts the node's starts, once at open: the core needs
// a number above every earlier start's (BrokerNodeOptions.incarnation).

import { EMPTY_HARD_STATE, type DurableState, type Entry, type HardState } from '../raft/types.js';
import { afterAll, joinPath, parentOf, type FileSystem, type SyncDone } from './file-system.js';
import { SegmentedLog } from './segmented-log.js';
import { readSmallFile, readU64, replaceSmallFile, writeU64, type SmallFileKind } from './small-file.js';

const HARD_STATE: SmallFileKind = { magic: 'CHRSHS01', bodyBytes: 12, description: 'hard state' };
const INCARNATION: SmallFileKind = { magic: 'CHRSIN01', bodyBytes: 8, description: 'incarnation file' };

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
    private readonly fs: FileSystem,
    private readonly dir: string,
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
      const hardState = decodeHardState(readSmallFile(fs, joinPath(dir, 'hardstate'), HARD_STATE));
      const starts = readSmallFile(fs, joinPath(dir, 'incarnation'), INCARNATION);
      const incarnation = (starts === undefined ? 0 : readU64(new DataView(starts.buffer, starts.byteOffset), 0)) + 1;
      const { log, entries } = SegmentedLog.open(fs, joinPath(dir, 'log'), options);
      opened = { storage: new NodeStorage(fs, dir, log), durable: { hardState, entries }, incarnation };
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    const body = new Uint8Array(8);
    writeU64(new DataView(body.buffer), 0, opened.incarnation);
    replaceSmallFile(fs, dir, 'incarnation', INCARNATION, body, (error) => {
      if (error !== undefined) {
        opened.storage.close();
        done(error, undefined);
        return;
      }
      // A new data directory's own name must be durable too, or a crash could take it all.
      const finished = afterAll(created ? 2 : 1, (syncError) => {
        if (syncError !== undefined) opened.storage.close();
        done(syncError, syncError === undefined ? opened : undefined);
      });
      opened.storage.log.sync(finished);
      if (created) fs.syncDirectory(parentOf(dir), finished);
    });
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
    if (work.hardState === undefined) {
      this.persistLog(work, done);
      return;
    }
    replaceSmallFile(this.fs, this.dir, 'hardstate', HARD_STATE, encodeHardState(work.hardState), (error) => {
      if (error !== undefined || this.closed) done(error ?? new Error(`storage in ${this.dir} is closed`));
      else this.persistLog(work, done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.log.close();
  }

  private persistLog(work: PersistWork, done: SyncDone): void {
    try {
      if (work.truncateFrom !== undefined) this.log.truncateFrom(work.truncateFrom);
      this.log.append(work.entries);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.log.sync(done);
  }
}

function encodeHardState(hardState: HardState): Uint8Array {
  const body = new Uint8Array(HARD_STATE.bodyBytes);
  const view = new DataView(body.buffer);
  writeU64(view, 0, hardState.term);
  view.setUint32(8, hardState.vote);
  return body;
}

function decodeHardState(body: Uint8Array | undefined): HardState {
  if (body === undefined) return EMPTY_HARD_STATE;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { term: readU64(view, 0), vote: view.getUint32(8) };
}
