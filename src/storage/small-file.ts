// Small files that are replaced whole: the hard state and the start counter.
//
// Format: an 8-byte ASCII magic naming the kind of file, a fixed-size body,
// and the CRC-32 of the magic and body. A file is replaced the safe way:
// written to `<name>.tmp`, synced, renamed over `<name>`, and the directory
// synced, so a crash leaves either the old file or the new one, never a mix
// (a leftover .tmp is ignored and overwritten next time).

import { StorageCorruptionError } from './corruption.js';
import { crc32 } from './crc32.js';
import { errorCode, joinPath, readWhole, type FileSystem, type SyncDone } from './file-system.js';

const MAGIC_BYTES = 8;
const CRC_BYTES = 4;

export interface SmallFileKind {
  /** Eight ASCII characters. */
  readonly magic: string;
  readonly bodyBytes: number;
  /** What the file is, for error messages ("hard state", "incarnation file"). */
  readonly description: string;
}

/** The whole file for `body`: magic, body, CRC. */
export function encodeSmallFile(kind: SmallFileKind, body: Uint8Array): Uint8Array {
  if (body.length !== kind.bodyBytes) throw new Error(`${kind.description} body is ${body.length} bytes, expected ${kind.bodyBytes}`);
  const bytes = new Uint8Array(MAGIC_BYTES + kind.bodyBytes + CRC_BYTES);
  bytes.set(new TextEncoder().encode(kind.magic), 0);
  bytes.set(body, MAGIC_BYTES);
  const crcAt = MAGIC_BYTES + kind.bodyBytes;
  new DataView(bytes.buffer).setUint32(crcAt, crc32(bytes, 0, crcAt));
  return bytes;
}

/** The body of the file at `path`, undefined when there is no such file; throws StorageCorruptionError when it is damaged. */
export function readSmallFile(fs: FileSystem, path: string, kind: SmallFileKind): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    const handle = fs.open(path, 'existing');
    try {
      bytes = readWhole(handle);
    } finally {
      handle.close();
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const expected = MAGIC_BYTES + kind.bodyBytes + CRC_BYTES;
  if (bytes.length !== expected) throw new StorageCorruptionError(path, 0, `${kind.description} is ${bytes.length} bytes, expected ${expected}`);
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC_BYTES));
  if (magic !== kind.magic) throw new StorageCorruptionError(path, 0, `not a chorus ${kind.description} (magic ${JSON.stringify(magic)})`);
  const crcAt = MAGIC_BYTES + kind.bodyBytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(crcAt) !== crc32(bytes, 0, crcAt)) throw new StorageCorruptionError(path, crcAt, `${kind.description} CRC mismatch`);
  return bytes.slice(MAGIC_BYTES, crcAt);
}

/**
 * Replaces `<directory>/<name>` with a file holding `body`, durably: `done`
 * is called once the new file and its name are both on disk. Write errors
 * (ENOSPC) reach `done` too rather than being thrown.
 */
export function replaceSmallFile(fs: FileSystem, directory: string, name: string, kind: SmallFileKind, body: Uint8Array, done: SyncDone): void {
  const temporary = joinPath(directory, `${name}.tmp`);
  let handle;
  try {
    const bytes = encodeSmallFile(kind, body);
    handle = fs.open(temporary, 'truncate');
    handle.write(bytes, 0);
  } catch (error) {
    handle?.close();
    done(error as Error);
    return;
  }
  const opened = handle;
  opened.sync((syncError) => {
    opened.close();
    if (syncError !== undefined) {
      done(syncError);
      return;
    }
    try {
      fs.rename(temporary, joinPath(directory, name));
    } catch (error) {
      done(error as Error);
      return;
    }
    fs.syncDirectory(directory, done);
  });
}

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 2 ** 32));
  view.setUint32(offset + 4, value >>> 0);
}

export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
}
