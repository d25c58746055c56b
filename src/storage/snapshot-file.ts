// The node's newest snapshot of its state machine, and the one it may be
// receiving from a leader.
//
//   <dataDir>/snapshot            the newest durable snapshot
//   <dataDir>/snapshot.incoming   a snapshot being received, chunk by chunk
//   <dataDir>/snapshot.tmp        a snapshot being written here
//
// A snapshot file is a 40-byte header and the state machine's bytes:
//   "CHRSSN01" (8), index u64, term u64, data length u64, data CRC-32 u32,
//   header CRC-32 u32 (of the 36 bytes before it).
// A snapshot made here is written whole to snapshot.tmp, synced, renamed over
// `snapshot` and the directory synced: a crash leaves the old snapshot or the
// new, never a mix. A received one is written at its offsets into
// snapshot.incoming (after room for the header); once complete and checked
// against the leader's size and CRC, its header is written, and it is synced
// and renamed over `snapshot` the same way.

import { readU64, writeU64 } from './bytes.js';
import { StorageCorruptionError } from './corruption.js';
import { crc32 } from './crc32.js';
import { errorCode, joinPath, readAgreeing, readConfirmed, type FileHandle, type FileSystem, type SyncDone } from './file-system.js';

const MAGIC = 'CHRSSN01';
export const SNAPSHOT_HEADER_BYTES = 40;
const SNAPSHOT_NAME = 'snapshot';
const INCOMING_NAME = 'snapshot.incoming';
const TEMPORARY_NAME = 'snapshot.tmp';

export interface SnapshotHeader {
  readonly index: number;
  readonly term: number;
  /** The state machine's bytes, without the header. */
  readonly size: number;
  readonly crc: number;
}

export interface LoadedSnapshot extends SnapshotHeader {
  readonly data: Uint8Array;
}

/** What installing a received snapshot came to: its bytes, a refusal (damaged: receive it again), or a disk error. */
export type InstallOutcome = { readonly data: Uint8Array } | { readonly refused: string } | { readonly error: Error };

export function encodeSnapshotHeader(header: SnapshotHeader): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  writeU64(view, 8, header.index);
  writeU64(view, 16, header.term);
  writeU64(view, 24, header.size);
  view.setUint32(32, header.crc);
  view.setUint32(36, crc32(bytes, 0, 36));
  return bytes;
}

/** What is wrong with a whole snapshot file's bytes, or its header and data. */
function decodeSnapshot(path: string, bytes: Uint8Array): LoadedSnapshot | StorageCorruptionError {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return new StorageCorruptionError(path, 0, `snapshot is ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(36) !== crc32(bytes, 0, 36)) return new StorageCorruptionError(path, 36, 'snapshot header CRC mismatch');
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) return new StorageCorruptionError(path, 0, `not a chorus snapshot (magic ${JSON.stringify(magic)})`);
  const header = { index: readU64(view, 8), term: readU64(view, 16), size: readU64(view, 24), crc: view.getUint32(32) };
  if (bytes.length !== SNAPSHOT_HEADER_BYTES + header.size) {
    return new StorageCorruptionError(path, SNAPSHOT_HEADER_BYTES, `snapshot holds ${bytes.length - SNAPSHOT_HEADER_BYTES} data bytes, its header says ${header.size}`);
  }
  const data = bytes.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32(data) !== header.crc) return new StorageCorruptionError(path, SNAPSHOT_HEADER_BYTES, 'snapshot data CRC mismatch');
  return { ...header, data };
}

export class SnapshotFiles {
  /** The durable snapshot's header, and a handle to read it for followers. */
  private current: { readonly header: SnapshotHeader; readonly handle: FileHandle } | undefined;
  /**
   * The snapshot the current one replaced, still open: a transfer of it to a
   * follower may finish (the open handle keeps its bytes after the rename),
   * rather than start over with every new snapshot.
   */
  private previous: { readonly header: SnapshotHeader; readonly handle: FileHandle } | undefined = undefined;
  /** The snapshot being received, if any. */
  private incoming: { readonly header: SnapshotHeader; readonly handle: FileHandle } | undefined = undefined;

  private constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    current: { readonly header: SnapshotHeader; readonly handle: FileHandle } | undefined,
  ) {
    this.current = current;
  }

  /**
   * Opens the directory's snapshot, if any, and returns it whole (the state
   * machine restarts from its bytes). A damaged snapshot is corruption: it
   * was durable before the log it stands for was dropped.
   */
  static open(fs: FileSystem, directory: string): { files: SnapshotFiles; loaded: LoadedSnapshot | undefined } {
    const path = joinPath(directory, SNAPSHOT_NAME);
    let handle: FileHandle;
    try {
      handle = fs.open(path, 'existing');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { files: new SnapshotFiles(fs, directory, undefined), loaded: undefined };
      throw error;
    }
    const decoded = readConfirmed(handle, (bytes) => decodeSnapshot(path, bytes), (result) => result instanceof StorageCorruptionError);
    if (decoded instanceof StorageCorruptionError) {
      handle.close();
      throw decoded;
    }
    const header = { index: decoded.index, term: decoded.term, size: decoded.size, crc: decoded.crc };
    return { files: new SnapshotFiles(fs, directory, { header, handle }), loaded: decoded };
  }

  latest(): SnapshotHeader | undefined {
    return this.current?.header;
  }

  /** `length` data bytes of the snapshot at `index` from `offset` (the durable one or the one it replaced), or undefined when neither is. */
  read(index: number, offset: number, length: number): Uint8Array | undefined {
    const source = this.current?.header.index === index ? this.current : this.previous?.header.index === index ? this.previous : undefined;
    if (source === undefined) return undefined;
    const bytes = new Uint8Array(length);
    // What is read here goes to a follower in chunks, checked only once the whole has arrived.
    const read = readAgreeing(source.handle, bytes, SNAPSHOT_HEADER_BYTES + offset);
    return read === length ? bytes : undefined;
  }

  /** Writes a snapshot made here, durably, replacing the current one; `done` once it is. */
  save(header: SnapshotHeader, data: Uint8Array, done: SyncDone): void {
    let handle: FileHandle;
    try {
      handle = this.fs.open(joinPath(this.directory, TEMPORARY_NAME), 'truncate');
      handle.write(encodeSnapshotHeader(header), 0);
      handle.write(data, SNAPSHOT_HEADER_BYTES);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.publish(TEMPORARY_NAME, header, handle, done);
  }

  /** Writes a received chunk at its offset of the incoming snapshot it belongs to (starting that one over when it is new). */
  writeChunk(header: SnapshotHeader, offset: number, data: Uint8Array): void {
    const incoming = this.incoming;
    const same = incoming !== undefined && incoming.header.index === header.index && incoming.header.term === header.term && incoming.header.crc === header.crc && incoming.header.size === header.size;
    if (!same) {
      incoming?.handle.close();
      this.incoming = { header, handle: this.fs.open(joinPath(this.directory, INCOMING_NAME), 'truncate') };
    }
    this.incoming!.handle.write(data, SNAPSHOT_HEADER_BYTES + offset);
  }

  /**
   * Checks the received snapshot against its size and CRC and, when it is
   * whole, makes it the durable snapshot; `done` gets its bytes, or the
   * reason it was refused (then it is dropped, and the transfer starts
   * over), or the error of a disk that failed.
   */
  install(header: SnapshotHeader, done: (outcome: InstallOutcome) => void): void {
    const incoming = this.incoming;
    if (incoming === undefined || incoming.header.index !== header.index || incoming.header.crc !== header.crc) {
      done({ refused: `no received snapshot at index ${header.index} to install` });
      return;
    }
    this.incoming = undefined;
    const handle = incoming.handle;
    const path = joinPath(this.directory, INCOMING_NAME);
    let data: Uint8Array;
    try {
      handle.write(encodeSnapshotHeader(header), 0);
      const checked = readConfirmed(handle, (bytes) => decodeSnapshot(path, bytes), (result) => result instanceof StorageCorruptionError);
      if (checked instanceof StorageCorruptionError) {
        handle.close();
        done({ refused: `received snapshot at index ${header.index} is damaged: ${checked.message}` });
        return;
      }
      data = checked.data;
    } catch (error) {
      handle.close();
      done({ error: error as Error });
      return;
    }
    this.publish(INCOMING_NAME, header, handle, (error) => done(error === undefined ? { data } : { error }));
  }

  close(): void {
    this.current?.handle.close();
    this.previous?.handle.close();
    this.incoming?.handle.close();
    this.current = undefined;
    this.previous = undefined;
    this.incoming = undefined;
  }

  /**
   * Syncs a finished snapshot file, renames it over `snapshot` and syncs the
   * directory. A snapshot no newer than the durable one by then (a snapshot
   * made here while a newer one was installed from the leader) is dropped
   * instead: the durable snapshot never goes back.
   */
  private publish(name: string, header: SnapshotHeader, handle: FileHandle, done: SyncDone): void {
    handle.sync((error) => {
      if (error !== undefined) {
        handle.close();
        done(error);
        return;
      }
      if (this.current !== undefined && this.current.header.index >= header.index) {
        handle.close();
        done(undefined);
        return;
      }
      try {
        this.fs.rename(joinPath(this.directory, name), joinPath(this.directory, SNAPSHOT_NAME));
      } catch (renameError) {
        handle.close();
        done(renameError as Error);
        return;
      }
      this.previous?.handle.close();
      this.previous = this.current;
      this.current = { header, handle };
      this.fs.syncDirectory(this.directory, done);
    });
  }
}
