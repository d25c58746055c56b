// The small file-system interface the storage engine is written against.
//
// Real mode implements it with node:fs (src/runtime/node-file-system.ts); the
// simulator with a disk that keeps what was synced apart from what was only
// written, tears writes at byte granularity and loses unsynced ones in a
// crash, flips bits on read and fills up (sim/sim-file-system.ts). So the code
// that holds the data is the code the simulator runs.
//
// Reads, writes, truncation and directory changes are synchronous: they touch
// the page cache, not the platter, and the engine's callers need their results
// at once. Only the two calls that wait for the device, a file's sync and a
// directory's sync, finish later, through a callback, so that a real node
// keeps serving while the disk flushes and the simulator can decide when the
// flush completes. Paths are POSIX paths joined with '/'.

/** Called once a sync has finished: with undefined when the data is durable, or with why not. */
export type SyncDone = (error: Error | undefined) => void;

export interface FileHandle {
  readonly path: string;
  /** The file's length in bytes, as this process sees it (written, not necessarily synced). */
  size(): number;
  /** Reads up to target.length bytes at `position`; returns how many it read (fewer only at the end). */
  read(target: Uint8Array, position: number): number;
  /** Writes every byte of `source` at `position`, growing the file if needed. Throws on ENOSPC or EIO. */
  write(source: Uint8Array, position: number): void;
  truncate(size: number): void;
  /** Makes every write and truncation made so far durable (fdatasync). */
  sync(done: SyncDone): void;
  close(): void;
}

export type OpenMode =
  /** An existing file, for reading and writing; ENOENT when there is none. */
  | 'existing'
  /** The file, created empty if missing. */
  | 'create'
  /** The file emptied, created if missing. */
  | 'truncate';

export interface FileSystem {
  /** Creates the directory and any missing parents; durable only after syncDirectory of each parent. */
  makeDirectory(path: string): void;
  /** The names in a directory, in no particular order. */
  list(path: string): string[];
  exists(path: string): boolean;
  open(path: string, mode: OpenMode): FileHandle;
  /** Replaces `to` with `from` in one step; durable only after syncDirectory. */
  rename(from: string, to: string): void;
  /** Removes a file; durable only after syncDirectory. */
  remove(path: string): void;
  /** Makes the directory's entries (files created, renamed and removed in it) durable. */
  syncDirectory(path: string, done: SyncDone): void;
}

/** The error code of a failed file-system call ('ENOENT', 'ENOSPC', ...), when it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** An error carrying a POSIX-style code, as node:fs raises them; the simulated disk raises these. */
export class FileSystemError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    problem: string,
  ) {
    super(`${code}: ${problem}, ${path}`);
    this.name = 'FileSystemError';
  }
}

export function joinPath(directory: string, name: string): string {
  return directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
}

/** The directory part of a path ('.' for a bare name). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash < 0) return '.';
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** Every byte of an open file. */
export function readWhole(handle: FileHandle): Uint8Array {
  const bytes = new Uint8Array(handle.size());
  let done = 0;
  while (done < bytes.length) {
    const read = handle.read(bytes.subarray(done), done);
    if (read === 0) break;
    done += read;
  }
  return done === bytes.length ? bytes : bytes.subarray(0, done);
}

/**
 * A callback to hand to `count` syncs: once all of them have called it, it
 * calls `done`, with the first error any of them had, or undefined. With a
 * count of 0 it calls `done` at once.
 */
export function afterAll(count: number, done: SyncDone): SyncDone {
  let left = count;
  let failure: Error | undefined;
  if (count === 0) done(undefined);
  return (error) => {
    failure ??= error;
    left--;
    if (left === 0) done(failure);
  };
}

/** Reads of one file at most, when it looks damaged, before the damage is believed. */
const CONFIRMING_READS_MAX = 4;

/**
 * Reads a whole file and interprets it. When the interpretation says the
 * bytes are damaged, the file is read again, until two reads in a row agree
 * or CONFIRMING_READS_MAX reads were made: a bit flipped on its way from the
 * disk differs from one read to the next, damage on the disk does not. So a
 * fault of the path neither stops a node nor cuts good records off.
 */
export function readConfirmed<T>(handle: FileHandle, interpret: (bytes: Uint8Array) => T, damaged: (result: T) => boolean): T {
  let bytes = readWhole(handle);
  let result = interpret(bytes);
  for (let reads = 1; damaged(result) && reads < CONFIRMING_READS_MAX; reads++) {
    const again = readWhole(handle);
    if (sameBytes(again, bytes)) break;
    bytes = again;
    result = interpret(bytes);
  }
  return result;
}

/**
 * Reads `target.length` bytes at `position` for data that leaves with no
 * check of its own on the way (a snapshot chunk sent to a follower, verified
 * only once the whole has arrived): the range is read again until two reads
 * in a row agree, at most CONFIRMING_READS_MAX times, so that a bit flipped
 * on the way from the disk does not spoil a whole transfer. Returns the
 * bytes read.
 */
export function readAgreeing(handle: FileHandle, target: Uint8Array, position: number): number {
  let count = handle.read(target, position);
  const again = new Uint8Array(target.length);
  for (let reads = 1; reads < CONFIRMING_READS_MAX; reads++) {
    const againCount = handle.read(again, position);
    if (againCount === count && sameBytes(again.subarray(0, count), target.subarray(0, count))) break;
    target.set(again.subarray(0, againCount));
    count = againCount;
  }
  return count;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
