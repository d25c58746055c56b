// The Raft log on disk: append-only segment files of CRC-guarded records.
//
// A segment is `log/segment-<first index, 20 digits>.log`: a 16-byte header
// (the magic "CHRSLOG1" and the first index, u64) and then records. A record
// is `[u32 payload length][u32 CRC-32 of the payload][payload]`, and a payload
// is one entry: index u64, term u64, kind u8 (0 noop, 1 command), then the
// command's bytes. All integers are big-endian. A new segment starts once the
// current one passes segmentBytesMax.
//
// Writes are plain appends; durability comes from sync(), which fdatasyncs
// every segment written since the last sync and fsyncs the directory when a
// segment was created or removed. Truncation (a follower dropping a
// conflicting suffix) cuts the file at the record's offset and removes later
// segments.
//
// Recovery (open). Records are read in order and every CRC is checked. Bad
// records at the end of the last segment with no good record after them are a
// torn write (the process died mid-append, perhaps leaving junk over the rest
// of a write of several records): they are cut off, with a log line. Anything wrong before that (a bad CRC, a gap in the indices, a
// header that does not match its file name) is corruption of data that was
// acknowledged, and open() refuses with an error naming the file and byte
// offset, never dropping it silently.

import { assert } from '../raft/assert.js';
import type { Entry } from '../raft/types.js';
import { StorageCorruptionError } from './corruption.js';
import { crc32 } from './crc32.js';
import { afterAll, joinPath, parentOf, readConfirmed, type FileHandle, type FileSystem, type SyncDone } from './file-system.js';
import { concatBytes, readU64, writeU64 } from './bytes.js';

const MAGIC = 'CHRSLOG1';
const SEGMENT_HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 8;
const ENTRY_FIXED_BYTES = 8 + 8 + 1;
const SEGMENT_NAME = /^segment-(\d{20})\.log$/;
/** A record longer than this cannot be ours: the core refuses commands over its commandBytesMax, far below. */
const RECORD_BYTES_MAX = 256 * 1024 * 1024;

interface Segment {
  readonly firstIndex: number;
  readonly file: string;
  readonly handle: FileHandle;
  size: number;
  /** recordOffsets[k] is the byte offset of entry firstIndex + k. */
  readonly recordOffsets: number[];
}

export interface SegmentedLogOptions {
  readonly segmentBytesMax: number;
  /** Where recovery notes go (a torn tail cut off). */
  readonly note: (line: string) => void;
}

export class SegmentedLog {
  private readonly segments: Segment[] = [];
  private readonly dirty = new Set<Segment>();
  private directoryDirty = false;
  /** Set when this log created its directory: the directory's own name must be made durable in its parent. */
  private parentDirty = false;
  private lastIndexValue = 0;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly options: SegmentedLogOptions,
  ) {}

  /**
   * Opens (creating if needed) the log in `dir` and returns it with every
   * entry it holds. A torn tail it cut off is durable only after the next
   * sync(), which the caller makes before trusting the log.
   */
  static open(fs: FileSystem, dir: string, options: SegmentedLogOptions): { log: SegmentedLog; entries: Entry[] } {
    const log = new SegmentedLog(fs, dir, options);
    if (!fs.exists(dir)) {
      fs.makeDirectory(dir);
      log.directoryDirty = true;
      log.parentDirty = true;
    }
    const names = fs
      .list(dir)
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();
    const entries: Entry[] = [];
    try {
      names.forEach((name, position) => {
        const isLast = position === names.length - 1;
        log.segments.push(log.recover(name, isLast, entries));
      });
    } catch (error) {
      log.close();
      throw error;
    }
    log.lastIndexValue = entries.length === 0 ? (log.segments[0]?.firstIndex ?? 1) - 1 : entries[entries.length - 1]!.index;
    return { log, entries };
  }

  get lastIndex(): number {
    return this.lastIndexValue;
  }

  /** Appends entries that continue the log. Durable only after sync(). Throws what the disk throws (ENOSPC). */
  append(entries: readonly Entry[]): void {
    // The records bound for one segment go in one write: a Ready's entries cost one pwrite, not one each.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let pendingSegment: Segment | undefined;
    const writePending = (): void => {
      if (pendingSegment === undefined || pending.length === 0) return;
      const bytes = pending.length === 1 ? pending[0]! : concatBytes(pending, pendingBytes);
      pendingSegment.handle.write(bytes, pendingSegment.size);
      for (const record of pending) {
        pendingSegment.recordOffsets.push(pendingSegment.size);
        pendingSegment.size += record.length;
      }
      this.dirty.add(pendingSegment);
      pending = [];
      pendingBytes = 0;
    };
    let lastIndex = this.lastIndexValue;
    for (const entry of entries) {
      if (entry.index !== lastIndex + 1) {
        writePending();
        throw new Error(`append of index ${entry.index} after last index ${lastIndex}`);
      }
      let segment = this.segments[this.segments.length - 1];
      if (segment === undefined || segment.size + pendingBytes >= this.options.segmentBytesMax) {
        writePending();
        this.lastIndexValue = lastIndex;
        segment = this.createSegment(entry.index);
      }
      pendingSegment = segment;
      const record = encodeRecord(entry);
      pending.push(record);
      pendingBytes += record.length;
      lastIndex = entry.index;
    }
    writePending();
    this.lastIndexValue = lastIndex;
  }

  /**
   * Removes every segment that holds only entries with index >= `index`, and
   * returns whether there were any. A truncation that reaches back past a
   * segment boundary must make these removals durable (sync) BEFORE it cuts
   * the segment before them: were the cut durable and a removal not, a crash
   * would leave a gap that recovery must take for lost data.
   */
  removeSegmentsFrom(index: number): boolean {
    let removed = false;
    while (this.segments.length > 1 && this.segments[this.segments.length - 1]!.firstIndex >= index) {
      const segment = this.segments.pop()!;
      segment.handle.close();
      this.fs.remove(segment.file);
      this.dirty.delete(segment);
      this.directoryDirty = true;
      removed = true;
    }
    if (removed) this.lastIndexValue = Math.min(this.lastIndexValue, this.segments[this.segments.length - 1]!.firstIndex + this.segments[this.segments.length - 1]!.recordOffsets.length - 1);
    return removed;
  }

  /**
   * Removes every entry with index >= `index`, within the last segment (call
   * removeSegmentsFrom first, and sync, when the cut reaches further back).
   * Durable only after sync().
   */
  truncateFrom(index: number): void {
    if (index > this.lastIndexValue) return;
    const segment = this.segments[this.segments.length - 1]!;
    assert(segment.firstIndex <= index || this.segments.length === 1, `truncation to ${index} reaches past segment ${segment.file}: remove later segments first`);
    const keep = Math.max(0, index - segment.firstIndex);
    const cutAt = keep < segment.recordOffsets.length ? segment.recordOffsets[keep]! : segment.size;
    segment.handle.truncate(cutAt);
    segment.recordOffsets.length = Math.min(keep, segment.recordOffsets.length);
    segment.size = cutAt;
    this.dirty.add(segment);
    this.lastIndexValue = index - 1;
  }

  /**
   * Makes every append and truncation so far durable, then calls `done`.
   * Segments are synced one after another, oldest first, so that a later
   * segment's records are never durable while an earlier one's are not: a
   * crash can then only ever cut the log's tail, never open a gap in it.
   */
  sync(done: SyncDone): void {
    const segments = [...this.dirty].sort((a, b) => a.firstIndex - b.firstIndex);
    this.dirty.clear();
    const syncDirectory = this.directoryDirty;
    const syncParent = this.parentDirty;
    this.directoryDirty = false;
    this.parentDirty = false;
    const each = afterAll(1 + (syncDirectory ? 1 : 0) + (syncParent ? 1 : 0), done);
    const syncFrom = (position: number): void => {
      if (position === segments.length) {
        each(undefined);
        return;
      }
      segments[position]!.handle.sync((error) => (error === undefined ? syncFrom(position + 1) : each(error)));
    };
    syncFrom(0);
    if (syncDirectory) this.fs.syncDirectory(this.dir, each);
    if (syncParent) this.fs.syncDirectory(parentOf(this.dir), each);
  }

  /**
   * Removes the segments whose every entry is below `index` (never the last
   * segment): the log before a snapshot. Durable only after sync(); until
   * then a crash brings them back, which costs nothing but their reading.
   */
  compactTo(index: number): void {
    while (this.segments.length > 1) {
      const next = this.segments[1]!;
      if (next.firstIndex - 1 >= index) return;
      const segment = this.segments.shift()!;
      segment.handle.close();
      this.fs.remove(segment.file);
      this.dirty.delete(segment);
      this.directoryDirty = true;
    }
  }

  /**
   * Removes every segment: an installed snapshot at `index` replaced the
   * whole log. The next append is index + 1. Durable only after sync().
   */
  resetTo(index: number): void {
    // The newest first, so that a crash part-way leaves a prefix of the old log, never a gap.
    while (this.segments.length > 0) {
      const segment = this.segments.pop()!;
      segment.handle.close();
      this.fs.remove(segment.file);
      this.dirty.delete(segment);
      this.directoryDirty = true;
    }
    this.lastIndexValue = index;
  }

  close(): void {
    for (const segment of this.segments) segment.handle.close();
    this.segments.length = 0;
  }

  private createSegment(firstIndex: number): Segment {
    const file = joinPath(this.dir, `segment-${String(firstIndex).padStart(20, '0')}.log`);
    const handle = this.fs.open(file, 'truncate');
    writeSegmentHeader(handle, firstIndex);
    const segment: Segment = { firstIndex, file, handle, size: SEGMENT_HEADER_BYTES, recordOffsets: [] };
    this.segments.push(segment);
    this.dirty.add(segment);
    this.directoryDirty = true;
    return segment;
  }

  /**
   * Reads one segment into `entries`, cutting a torn tail off the last one.
   * A segment that shows any problem is read again before the verdict
   * (readConfirmed), so that a bit flipped on the way is not taken for damage.
   */
  private recover(name: string, isLast: boolean, entries: Entry[]): Segment {
    const file = joinPath(this.dir, name);
    const firstIndex = Number(SEGMENT_NAME.exec(name)![1]);
    // After compaction the first segment may start anywhere; each later one continues the one before.
    const previous = this.segments[this.segments.length - 1];
    const logEnd = entries.length > 0 ? entries[entries.length - 1]!.index : previous === undefined ? firstIndex - 1 : previous.firstIndex - 1;
    if (firstIndex !== logEnd + 1) {
      throw new StorageCorruptionError(file, 0, `segment starts at index ${firstIndex}, but the log before it ends at ${logEnd}`);
    }
    const handle = this.fs.open(file, 'existing');
    const scan = readConfirmed(
      handle,
      (bytes) => scanSegment(file, bytes, firstIndex, isLast),
      (result) => result.tornAt !== undefined || result.corruption !== undefined,
    );
    if (scan.corruption !== undefined) {
      handle.close();
      throw scan.corruption;
    }
    for (const entry of scan.entries) entries.push(entry);
    const tornAt = scan.tornAt;
    const segment: Segment = { firstIndex, file, handle, size: tornAt ?? scan.end, recordOffsets: scan.recordOffsets };
    if (tornAt !== undefined) {
      this.options.note(`${file}: cut a torn record at byte ${tornAt} (${scan.end - tornAt} bytes) left by an interrupted write`);
      handle.truncate(tornAt);
      if (tornAt < SEGMENT_HEADER_BYTES) {
        handle.truncate(0);
        writeSegmentHeader(handle, firstIndex);
        segment.size = SEGMENT_HEADER_BYTES;
      }
      this.dirty.add(segment);
    }
    return segment;
  }
}

interface SegmentScan {
  readonly entries: Entry[];
  readonly recordOffsets: number[];
  /** Where a torn tail starts, when the segment ends in one. */
  readonly tornAt: number | undefined;
  /** The segment's length as read. */
  readonly end: number;
  readonly corruption: StorageCorruptionError | undefined;
}

/** Checks and decodes one segment's bytes, without deciding anything. */
function scanSegment(file: string, bytes: Uint8Array, firstIndex: number, isLast: boolean): SegmentScan {
  const entries: Entry[] = [];
  const recordOffsets: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = (tornAt: number | undefined, corruption?: StorageCorruptionError): SegmentScan => ({
    entries,
    recordOffsets,
    tornAt,
    end: bytes.length,
    corruption,
  });
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    // A segment created just before a crash may lack even its header.
    if (isLast) return result(0);
    return result(undefined, new StorageCorruptionError(file, 0, `segment header is ${bytes.length} bytes, expected ${SEGMENT_HEADER_BYTES}`));
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  const headerIndex = readU64(view, 8);
  const headerProblem =
    magic !== MAGIC
      ? { offset: 0, reason: `not a chorus log segment (magic ${JSON.stringify(magic)})` }
      : headerIndex !== firstIndex
        ? { offset: 8, reason: `header says first index ${headerIndex}, the name says ${firstIndex}` }
        : undefined;
  if (headerProblem !== undefined) {
    // The header of a segment whose first write was torn: nothing after it can be good.
    if (isLast && !goodRecordFollows(bytes, view, SEGMENT_HEADER_BYTES, firstIndex)) return result(0);
    return result(undefined, new StorageCorruptionError(file, headerProblem.offset, headerProblem.reason));
  }
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.length) {
    const expected = firstIndex + entries.length;
    const problem = recordProblem(bytes, view, offset, expected);
    if (problem !== undefined) {
      // A torn write can only leave bad records at the end: if a good record of
      // a later index follows (a damaged length field can hide it), this is
      // corruption. Nothing good after it is a torn tail, even when junk
      // follows: a write of several records, torn in the first, may leave
      // garbage over the rest of its range.
      const atTail = !goodRecordFollows(bytes, view, offset + 1, expected + 1);
      if (isLast && atTail) return result(offset);
      return result(undefined, new StorageCorruptionError(file, offset, problem.reason));
    }
    const payloadLength = view.getUint32(offset);
    entries.push(decodeEntry(bytes, offset + RECORD_HEADER_BYTES, payloadLength));
    recordOffsets.push(offset);
    offset += RECORD_HEADER_BYTES + payloadLength;
  }
  return result(undefined);
}

/** Why the record at `offset` is not a good entry `expectedIndex`. */
function recordProblem(bytes: Uint8Array, view: DataView, offset: number, expectedIndex: number): { reason: string } | undefined {
  if (offset + RECORD_HEADER_BYTES > bytes.length) {
    return { reason: `record header is cut short (${bytes.length - offset} of ${RECORD_HEADER_BYTES} bytes)` };
  }
  const payloadLength = view.getUint32(offset);
  const recordEnd = offset + RECORD_HEADER_BYTES + payloadLength;
  if (payloadLength < ENTRY_FIXED_BYTES || payloadLength > RECORD_BYTES_MAX) {
    return { reason: `record length ${payloadLength} is impossible` };
  }
  if (recordEnd > bytes.length) return { reason: `record of ${payloadLength} bytes is cut short` };
  const stored = view.getUint32(offset + 4);
  const actual = crc32(bytes, offset + RECORD_HEADER_BYTES, recordEnd);
  if (stored !== actual) return { reason: `CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})` };
  const payload = offset + RECORD_HEADER_BYTES;
  const index = readU64(view, payload);
  if (index !== expectedIndex) return { reason: `record holds index ${index}, expected ${expectedIndex}` };
  const kind = bytes[payload + 16]!;
  if (kind > 1) return { reason: `record has entry kind ${kind}` };
  return undefined;
}

/** Whether a well-formed record of entry `index` starts anywhere from `from` on. */
function goodRecordFollows(bytes: Uint8Array, view: DataView, from: number, index: number): boolean {
  for (let offset = from; offset + RECORD_HEADER_BYTES + ENTRY_FIXED_BYTES <= bytes.length; offset++) {
    if (readU64(view, offset + RECORD_HEADER_BYTES) !== index) continue;
    if (recordProblem(bytes, view, offset, index) === undefined) return true;
  }
  return false;
}

/** The 16-byte header every segment starts with: the magic and the segment's first index. */
function writeSegmentHeader(handle: FileHandle, firstIndex: number): void {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  header.set(new TextEncoder().encode(MAGIC), 0);
  writeU64(new DataView(header.buffer), 8, firstIndex);
  handle.write(header, 0);
}

function encodeRecord(entry: Entry): Uint8Array {
  const payloadLength = ENTRY_FIXED_BYTES + entry.data.length;
  const record = new Uint8Array(RECORD_HEADER_BYTES + payloadLength);
  const view = new DataView(record.buffer);
  view.setUint32(0, payloadLength);
  writeU64(view, 8, entry.index);
  writeU64(view, 16, entry.term);
  record[24] = entry.kind === 'noop' ? 0 : 1;
  record.set(entry.data, 25);
  view.setUint32(4, crc32(record, RECORD_HEADER_BYTES));
  return record;
}

function decodeEntry(bytes: Uint8Array, payload: number, payloadLength: number): Entry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const index = readU64(view, payload);
  const term = readU64(view, payload + 8);
  const kind = bytes[payload + 16] === 0 ? 'noop' : 'command';
  const data = bytes.slice(payload + ENTRY_FIXED_BYTES, payload + payloadLength);
  return { index, term, kind, data };
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
