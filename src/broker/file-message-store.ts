// Message bodies in block files: what a node keeps of its streams on disk.
//
// Each stream has its own sequence of block files in one directory, named
// `<stream id>-<first sequence>.blk` (both 20 decimal digits, so a listing
// sorts by stream, then by position). A block is a run of records
// (message-record.ts) in sequence order, appended until it passes
// blockBytesMax; then the next block starts. In memory a block keeps, for each
// record in it, the message's sequence and the record's byte offset: 8 bytes
// a record, until the block is released.
//
// Durability. Records are written (one write a block per flush) as messages
// are applied, and are not synced then: the Raft log holds every applied
// entry durably, so a crash loses nothing that the log's tail cannot store
// again. A snapshot that leaves the messages out is saved only after sync()
// made every record (and the directory's entries) durable, so every message a
// durable snapshot names is on disk. At a start from such a snapshot, open()
// reads each block back, checks every record's CRC, drops the records after
// the snapshot's last sequence (the log's tail applies them again) and insists
// on finding every message the snapshot holds live: one that is missing or
// damaged is corruption, and the node refuses to start rather than serve a
// stream with a hole in it.
//
// Release. Nothing is deleted when a stream removes a message: a block goes
// only once the newest durable snapshot holds none of its messages live (the
// state moves on from a snapshot only by appending and removing, so the
// messages live now are among those the snapshot holds and those stored after
// it). A deleted stream's files go the same way. So a leader can always
// assemble its newest snapshot, messages included, for a follower.

import { concatBytes } from '../storage/bytes.js';
import { StorageCorruptionError } from '../storage/corruption.js';
import { afterAll, joinPath, parentOf, type FileHandle, type FileSystem, type SyncDone } from '../storage/file-system.js';
import { decodeRecord, encodeRecord, RECORD_BYTES_MIN, RECORD_FRAME_BYTES, recordCrcMatches, type RecordSummary } from './message-record.js';
import type { MessageStore, MessageStores, SeqRange, SnapshotStream } from './message-store.js';
import type { StreamMessage } from './stream-message.js';

export interface FileMessageStoreOptions {
  /** A block is closed to appends once it holds this many bytes (a record larger than this gets a block of its own). */
  readonly blockBytesMax: number;
  /** Decoded messages kept for reads, at most this many bytes of them (counted as their stored bytes). */
  readonly readCacheBytes: number;
}

export const DEFAULT_FILE_MESSAGE_STORE_OPTIONS: FileMessageStoreOptions = {
  blockBytesMax: 8 * 1024 * 1024,
  readCacheBytes: 8 * 1024 * 1024,
};

const BLOCK_SUFFIX = '.blk';
const NAME_DIGITS = 20;
/** Reads of one record, when its CRC fails, before the damage is believed (a bit flipped on the way differs from read to read). */
const RECORD_READS_MAX = 4;
/** A block spans fewer sequences than this, so a sequence's distance from the block's first fits in a u32. */
const BLOCK_SEQ_SPAN_MAX = 0xffff_ffff;

export function blockFileName(id: number, firstSeq: number): string {
  return `${String(id).padStart(NAME_DIGITS, '0')}-${String(firstSeq).padStart(NAME_DIGITS, '0')}${BLOCK_SUFFIX}`;
}

/** The stream id and first sequence a block file's name gives, or undefined for a name that is not a block's. */
export function parseBlockFileName(name: string): { readonly id: number; readonly firstSeq: number } | undefined {
  const match = /^(\d{20})-(\d{20})\.blk$/.exec(name);
  if (match === null) return undefined;
  const id = Number(match[1]);
  const firstSeq = Number(match[2]);
  return Number.isSafeInteger(id) && Number.isSafeInteger(firstSeq) ? { id, firstSeq } : undefined;
}

/** Growable pairs of u32: a block's (sequence - firstSeq, byte offset) for each message it can still serve, ascending. */
class BlockIndex {
  relative = new Uint32Array(16);
  offsets = new Uint32Array(16);
  length = 0;

  push(relative: number, offset: number): void {
    if (this.length === this.relative.length) {
      const relative = new Uint32Array(this.length * 2);
      relative.set(this.relative);
      this.relative = relative;
      const offsets = new Uint32Array(this.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.relative[this.length] = relative;
    this.offsets[this.length] = offset;
    this.length++;
  }

  /** The position of `relative` in the index, or -1. Blocks written in order hold consecutive sequences, so the direct position is tried first. */
  find(relative: number): number {
    if (relative < this.length && this.relative[relative] === relative) return relative;
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.relative[middle]! < relative) low = middle + 1;
      else high = middle;
    }
    return low < this.length && this.relative[low] === relative ? low : -1;
  }
}

interface Block {
  readonly firstSeq: number;
  readonly path: string;
  readonly handle: FileHandle;
  readonly index: BlockIndex;
  /** The last sequence the block holds a record of; firstSeq - 1 before the first. */
  lastSeq: number;
  /** Bytes written to the file, pending ones not included. */
  size: number;
  /** Written since the last sync. */
  dirty: boolean;
}

/** Decoded messages kept for reads, oldest evicted first once the budget is passed. */
class ReadCache {
  private readonly entries = new Map<FileMessageStore, Map<number, StreamMessage>>();
  private readonly order: { store: FileMessageStore; seq: number }[] = [];
  private orderHead = 0;
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(store: FileMessageStore, seq: number): StreamMessage | undefined {
    return this.entries.get(store)?.get(seq);
  }

  add(store: FileMessageStore, message: StreamMessage): void {
    if (this.budget <= 0 || message.bytes > this.budget) return;
    let messages = this.entries.get(store);
    if (messages === undefined) {
      messages = new Map();
      this.entries.set(store, messages);
    }
    if (messages.has(message.offset)) return;
    messages.set(message.offset, message);
    this.order.push({ store, seq: message.offset });
    this.bytes += message.bytes;
    while (this.bytes > this.budget && this.orderHead < this.order.length) {
      const oldest = this.order[this.orderHead]!;
      this.orderHead++;
      this.evict(oldest.store, oldest.seq);
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  evict(store: FileMessageStore, seq: number): void {
    const messages = this.entries.get(store);
    const message = messages?.get(seq);
    if (message === undefined) return;
    messages!.delete(seq);
    this.bytes -= message.bytes;
  }

  forget(store: FileMessageStore): void {
    const messages = this.entries.get(store);
    if (messages === undefined) return;
    for (const message of messages.values()) this.bytes -= message.bytes;
    this.entries.delete(store);
  }
}

export class FileMessageStores implements MessageStores {
  readonly keepsMessages = true;
  private readonly stores = new Map<number, FileMessageStore>();
  /** Stores of deleted streams, kept while a durable snapshot may still name them. */
  private readonly orphans = new Set<number>();
  private readonly cache: ReadCache;
  /** Files were created or removed in the directory since its last sync. */
  private directoryDirty = false;
  /** The directory itself was created and its parent not yet synced. */
  private parentDirty = false;
  private closed = false;

  constructor(
    readonly fs: FileSystem,
    readonly dir: string,
    readonly options: FileMessageStoreOptions = DEFAULT_FILE_MESSAGE_STORE_OPTIONS,
  ) {
    if (!fs.exists(dir)) {
      fs.makeDirectory(dir);
      this.parentDirty = true;
    }
    // Whole snapshots assembled for followers by an earlier start are only copies; they are made again at need.
    for (const name of fs.list(dir)) if (/^snapshot-\d+\.whole$/.test(name)) this.removeFile(joinPath(dir, name));
    this.cache = new ReadCache(options.readCacheBytes);
  }

  create(id: number, stream: string): MessageStore {
    this.removeStore(id);
    // Files of an earlier life of this id (a crash undid their removal) must not be read as this stream's.
    for (const name of this.blockNames(id)) this.removeFile(joinPath(this.dir, name));
    const store = new FileMessageStore(this, id, stream, this.cache);
    this.stores.set(id, store);
    return store;
  }

  open(stream: string, kept: SnapshotStream, onMessage: (summary: RecordSummary) => void): MessageStore {
    this.removeStore(kept.id);
    const store = new FileMessageStore(this, kept.id, stream, this.cache);
    this.stores.set(kept.id, store);
    store.recover(this.blockNames(kept.id), kept, onMessage);
    return store;
  }

  clear(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
    this.orphans.clear();
    for (const name of this.fs.list(this.dir)) {
      if (parseBlockFileName(name) !== undefined) this.removeFile(joinPath(this.dir, name));
    }
  }

  retainOnly(kept: readonly SnapshotStream[]): void {
    const ids = new Set(kept.map((stream) => stream.id));
    for (const id of [...this.stores.keys()]) if (!ids.has(id)) this.removeStore(id);
    for (const name of this.fs.list(this.dir)) {
      const parsed = parseBlockFileName(name);
      if (parsed !== undefined && !ids.has(parsed.id)) this.removeFile(joinPath(this.dir, name));
    }
  }

  deleted(id: number): void {
    if (this.stores.has(id)) this.orphans.add(id);
  }

  flush(): void {
    for (const store of this.stores.values()) store.flush();
  }

  sync(done: SyncDone): void {
    if (this.closed) {
      done(new Error(`message stores in ${this.dir} are closed`));
      return;
    }
    try {
      this.flush();
    } catch (error) {
      done(error as Error);
      return;
    }
    const handles: FileHandle[] = [];
    for (const store of this.stores.values()) store.takeDirtyHandles(handles);
    const syncDirectory = this.directoryDirty;
    const syncParent = this.parentDirty;
    this.directoryDirty = false;
    this.parentDirty = false;
    const finished = afterAll(handles.length + (syncDirectory ? 1 : 0) + (syncParent ? 1 : 0), done);
    for (const handle of handles) handle.sync(finished);
    if (syncDirectory) this.fs.syncDirectory(this.dir, finished);
    if (syncParent) this.fs.syncDirectory(parentOf(this.dir), finished);
  }

  release(kept: readonly SnapshotStream[]): void {
    const byId = new Map(kept.map((stream) => [stream.id, stream]));
    for (const [id, store] of [...this.stores]) {
      const snapshotStream = byId.get(id);
      if (snapshotStream !== undefined) store.release(snapshotStream);
      else if (this.orphans.has(id)) this.removeStore(id, true);
    }
  }

  snapshotRecord(id: number, seq: number): Uint8Array {
    return this.snapshotStore(id).record(seq);
  }

  snapshotRecordLength(id: number, seq: number): number {
    return this.snapshotStore(id).recordLength(seq);
  }

  private snapshotStore(id: number): FileMessageStore {
    const store = this.stores.get(id);
    if (store === undefined) throw new StorageCorruptionError(this.dir, 0, `no store holds stream ${id}, which the newest snapshot names`);
    return store;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
  }

  /** Bytes of block files, over every store: what the streams keep on disk. */
  diskBytes(): number {
    let bytes = 0;
    for (const store of this.stores.values()) bytes += store.diskBytes();
    return bytes;
  }

  // ---- For the stores.

  createFile(path: string): FileHandle {
    const handle = this.fs.open(path, 'truncate');
    this.directoryDirty = true;
    return handle;
  }

  removeFile(path: string): void {
    this.fs.remove(path);
    this.directoryDirty = true;
  }

  private blockNames(id: number): string[] {
    const prefix = `${String(id).padStart(NAME_DIGITS, '0')}-`;
    return this.fs
      .list(this.dir)
      .filter((name) => name.startsWith(prefix) && parseBlockFileName(name) !== undefined)
      .sort();
  }

  private removeStore(id: number, removeFiles = false): void {
    const store = this.stores.get(id);
    if (store === undefined) return;
    if (removeFiles) store.removeFiles();
    store.close();
    this.stores.delete(id);
    this.orphans.delete(id);
  }
}

interface PendingRecord {
  readonly seq: number;
  readonly record: Uint8Array;
}

class FileMessageStore implements MessageStore {
  private readonly blocks: Block[] = [];
  /**
   * Records appended and not yet written, oldest first. Appending never
   * touches the disk (it runs inside the state machine's apply, which must not
   * fail half-way); flush() writes them, and one that fails (a full disk)
   * leaves them here to be written by the next.
   */
  private pending: PendingRecord[] = [];
  private pendingHead = 0;
  /** Pending records' messages, served to reads until written. */
  private readonly pendingMessages = new Map<number, StreamMessage>();
  private lastAppended = 0;

  constructor(
    private readonly stores: FileMessageStores,
    readonly id: number,
    private readonly stream: string,
    private readonly cache: ReadCache,
  ) {}

  append(message: StreamMessage, hashHigh: number, hashLow: number): void {
    this.appendRecord(encodeRecord(message, hashHigh, hashLow), message.offset);
    this.pendingMessages.set(message.offset, message);
  }

  appendRecord(record: Uint8Array, summaryOrSeq: RecordSummary | number): void {
    const seq = typeof summaryOrSeq === 'number' ? summaryOrSeq : summaryOrSeq.seq;
    if (seq <= this.lastAppended) throw new Error(`stream ${this.stream} appends seq ${seq} after ${this.lastAppended}`);
    this.lastAppended = seq;
    this.pending.push({ seq, record });
  }

  read(seq: number): StreamMessage {
    const pending = this.pendingMessages.get(seq);
    if (pending !== undefined) return pending;
    const cached = this.cache.get(this, seq);
    if (cached !== undefined) return cached;
    if (this.isPending(seq)) this.flush();
    const { block, at, length } = this.locate(seq);
    for (let reads = 1; ; reads++) {
      const record = new Uint8Array(length);
      const read = block.handle.read(record, at);
      const decoded = read === length && recordCrcMatches(record, 0, length) ? decodeRecord(record, this.stream, false) : undefined;
      if (decoded !== undefined && !('error' in decoded) && decoded.message.offset === seq) {
        this.cache.add(this, decoded.message);
        return decoded.message;
      }
      if (reads >= RECORD_READS_MAX) {
        const why = decoded === undefined ? (read === length ? 'fails its CRC' : `is cut short at ${read} of ${length} bytes`) : 'error' in decoded ? decoded.error : `holds seq ${decoded.message.offset}`;
        throw new StorageCorruptionError(block.path, at, `the record of stream ${this.stream} seq ${seq} ${why}`);
      }
    }
  }

  recordLength(seq: number): number {
    if (this.isPending(seq)) this.flush();
    return this.locate(seq).length;
  }

  record(seq: number): Uint8Array {
    if (this.isPending(seq)) this.flush();
    const { block, at, length } = this.locate(seq);
    for (let reads = 1; ; reads++) {
      const record = new Uint8Array(length);
      const read = block.handle.read(record, at);
      if (read === length && recordCrcMatches(record, 0, length)) return record;
      if (reads >= RECORD_READS_MAX) throw new StorageCorruptionError(block.path, at, `the record of stream ${this.stream} seq ${seq} fails its CRC`);
    }
  }

  removed(seq: number): void {
    this.cache.evict(this, seq);
  }

  /**
   * Writes the pending records: each block's share in one write, a new block
   * started when the newest would pass blockBytesMax. Throws what the disk
   * throws, with every record not written still pending.
   */
  flush(): void {
    const blockBytesMax = this.stores.options.blockBytesMax;
    while (this.pendingHead < this.pending.length) {
      const first = this.pending[this.pendingHead]!;
      let block = this.blocks[this.blocks.length - 1];
      const full = block !== undefined && block.lastSeq >= block.firstSeq && block.size + first.record.length > blockBytesMax;
      if (block === undefined || full || first.seq - block.firstSeq >= BLOCK_SEQ_SPAN_MAX) block = this.newBlock(first.seq);
      // The records that go into this block: at least one, then as many as fit.
      let end = this.pendingHead + 1;
      let bytes = first.record.length;
      while (end < this.pending.length) {
        const next = this.pending[end]!;
        if (block.size + bytes + next.record.length > blockBytesMax || next.seq - block.firstSeq >= BLOCK_SEQ_SPAN_MAX) break;
        bytes += next.record.length;
        end++;
      }
      const batch = end - this.pendingHead === 1 ? first.record : concatBytes(this.pending.slice(this.pendingHead, end).map((pending) => pending.record), bytes);
      block.handle.write(batch, block.size);
      let at = block.size;
      for (let i = this.pendingHead; i < end; i++) {
        const written = this.pending[i]!;
        block.index.push(written.seq - block.firstSeq, at);
        block.lastSeq = written.seq;
        at += written.record.length;
        this.pendingMessages.delete(written.seq);
      }
      block.size = at;
      block.dirty = true;
      this.pendingHead = end;
    }
    this.pending = [];
    this.pendingHead = 0;
  }

  takeDirtyHandles(handles: FileHandle[]): void {
    for (const block of this.blocks) {
      if (!block.dirty) continue;
      block.dirty = false;
      handles.push(block.handle);
    }
  }

  /** Drops the blocks that hold nothing the snapshot holds live and nothing after its last sequence. */
  release(kept: SnapshotStream): void {
    // The newest block takes appends, and is kept whatever it holds.
    for (let i = this.blocks.length - 2; i >= 0; i--) {
      const block = this.blocks[i]!;
      if (block.lastSeq > kept.lastSeq || rangesTouch(kept.live, block.firstSeq, block.lastSeq)) continue;
      block.handle.close();
      this.stores.removeFile(block.path);
      this.blocks.splice(i, 1);
    }
  }

  /**
   * Reads back the blocks a snapshot's stream left, as open() describes:
   * reports each live message's summary in order, truncates what follows the
   * snapshot's last sequence, removes blocks left with nothing it needs.
   */
  recover(names: readonly string[], kept: SnapshotStream, onMessage: (summary: RecordSummary) => void): void {
    const live = new LiveCursor(kept.live);
    for (const name of names) {
      const path = joinPath(this.stores.dir, name);
      const firstSeq = parseBlockFileName(name)!.firstSeq;
      if (firstSeq > kept.lastSeq) {
        this.stores.removeFile(path);
        continue;
      }
      const handle = this.stores.fs.open(path, 'existing');
      const block: Block = { firstSeq, path, handle, index: new BlockIndex(), lastSeq: firstSeq - 1, size: 0, dirty: false };
      let holdsLive = false;
      const end = scanBlock(handle, firstSeq, kept.lastSeq, (at, summary) => {
        if (summary.seq <= block.lastSeq) throw new StorageCorruptionError(path, at, `stream ${this.stream}'s record of seq ${summary.seq} follows seq ${block.lastSeq}`);
        block.lastSeq = summary.seq;
        // Every record is indexed, dead ones too: a record's length is where the next one starts.
        block.index.push(summary.seq - firstSeq, at);
        if (!live.holds(summary.seq)) return;
        const expected = live.next()!;
        if (expected !== summary.seq) throw missing(path, this.stream, expected, kept);
        live.advance();
        holdsLive = true;
        onMessage(summary);
      });
      if (end < handle.size()) handle.truncate(end);
      block.size = end;
      if (!holdsLive) {
        // Holds nothing the snapshot needs (a release that a crash undid): appends start a block of their own.
        handle.close();
        this.stores.removeFile(path);
        continue;
      }
      this.blocks.push(block);
    }
    this.lastAppended = kept.lastSeq;
    const unfound = live.next();
    if (unfound !== undefined) throw missing(joinPath(this.stores.dir, blockFileName(this.id, unfound)), this.stream, unfound, kept);
  }

  removeFiles(): void {
    this.flush();
    for (const block of this.blocks) {
      block.handle.close();
      this.stores.removeFile(block.path);
    }
    this.blocks.length = 0;
  }

  diskBytes(): number {
    let bytes = 0;
    for (const block of this.blocks) bytes += block.size;
    return bytes;
  }

  close(): void {
    for (const block of this.blocks) block.handle.close();
    this.cache.forget(this);
  }

  private isPending(seq: number): boolean {
    return this.pendingHead < this.pending.length && seq >= this.pending[this.pendingHead]!.seq;
  }

  private newBlock(firstSeq: number): Block {
    const path = joinPath(this.stores.dir, blockFileName(this.id, firstSeq));
    const handle = this.stores.createFile(path);
    const block: Block = { firstSeq, path, handle, index: new BlockIndex(), lastSeq: firstSeq - 1, size: 0, dirty: true };
    this.blocks.push(block);
    return block;
  }

  /** Where seq's record is: its block, byte offset and length. */
  private locate(seq: number): { block: Block; at: number; length: number } {
    let low = 0;
    let high = this.blocks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.blocks[middle]!.firstSeq <= seq) low = middle + 1;
      else high = middle;
    }
    const block = this.blocks[low - 1];
    const position = block === undefined ? -1 : block.index.find(seq - block.firstSeq);
    if (block === undefined || position < 0) throw new Error(`stream ${this.stream} has no record of seq ${seq}`);
    const at = block.index.offsets[position]!;
    const end = position + 1 < block.index.length ? block.index.offsets[position + 1]! : block.size;
    return { block, at, length: end - at };
  }
}

/** Walks a snapshot's live ranges in order. */
class LiveCursor {
  private range = 0;
  private within = 0;

  constructor(private readonly ranges: readonly SeqRange[]) {}

  /** The next live sequence not yet found, or undefined when every one was. */
  next(): number | undefined {
    const range = this.ranges[this.range];
    return range === undefined ? undefined : range.first + this.within;
  }

  advance(): void {
    this.within++;
    if (this.within === this.ranges[this.range]!.count) {
      this.range++;
      this.within = 0;
    }
  }

  /** Whether seq is live; valid for sequences at or after next(), or any one before it that was already found. */
  holds(seq: number): boolean {
    for (let i = this.range; i < this.ranges.length; i++) {
      const range = this.ranges[i]!;
      if (seq < range.first) return false;
      if (seq < range.first + range.count) return true;
    }
    return false;
  }
}

/**
 * The whole records of a block up to `lastSeq`, each reported with its byte
 * offset, and the offset where they end: a torn or damaged tail, and records
 * after lastSeq, are left out (the caller truncates them). A record whose
 * frame or CRC fails is read again, so a bit flipped on the way is not taken
 * for damage on the disk. One DataView serves the whole block: a restart reads
 * every record the streams keep.
 */
function scanBlock(handle: FileHandle, firstSeq: number, lastSeq: number, onRecord: (at: number, summary: RecordSummary) => void): number {
  const size = handle.size();
  const bytes = new Uint8Array(size);
  handle.read(bytes, 0);
  const summaries = new SummaryReader(bytes);
  let at = 0;
  while (at < size) {
    let length = 0;
    for (let reads = 1; length === 0; reads++) {
      const framed = summaries.frameAt(at);
      if (framed > 0 && recordCrcMatches(bytes, at, framed)) length = framed;
      else if (reads >= RECORD_READS_MAX) break;
      // The rest is read again: a flipped length frames the record wrongly, and a flip anywhere fails the CRC.
      else handle.read(bytes.subarray(at), at);
    }
    if (length === 0) break;
    const summary = summaries.read(at, length);
    if (summary === undefined || summary.seq < firstSeq || summary.seq > lastSeq) break;
    onRecord(at, summary);
    at += length;
  }
  return at;
}

/** The fixed fields after the frame, up to the subject's length: sequence, timestamp, logical, bytes, hash, flags. */
const SUMMARY_FIXED_BYTES = 8 + 8 + 8 + 4 + 8 + 1;

/**
 * Reads the frames, fixed fields and subjects of one block's records. A
 * subject whose bytes repeat the previous record's reuses its string.
 */
class SummaryReader {
  private readonly view: DataView;
  private previousSubject: Uint8Array | undefined;
  private previousText = '';
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** The length, frame included, that the record at `at` claims, or 0 when no record fits there. */
  frameAt(at: number): number {
    if (this.bytes.length - at < RECORD_BYTES_MIN) return 0;
    const length = RECORD_FRAME_BYTES + this.view.getUint32(at);
    return length >= RECORD_BYTES_MIN && length <= this.bytes.length - at ? length : 0;
  }

  /** The summary of the whole record at `at`, or undefined when its fields do not parse. */
  read(at: number, length: number): RecordSummary | undefined {
    const view = this.view;
    let offset = at + RECORD_FRAME_BYTES;
    const seq = view.getUint32(offset) * 0x1_0000_0000 + view.getUint32(offset + 4);
    const timestampMs = view.getUint32(offset + 8) * 0x1_0000_0000 + view.getUint32(offset + 12);
    const logical = view.getUint32(offset + 16) * 0x1_0000_0000 + view.getUint32(offset + 20);
    const counted = view.getUint32(offset + 24);
    const hashHigh = view.getUint32(offset + 28);
    const hashLow = view.getUint32(offset + 32);
    offset += SUMMARY_FIXED_BYTES;
    const subjectLength = view.getUint16(offset);
    offset += 2;
    if (offset + subjectLength > at + length || !Number.isSafeInteger(seq) || !Number.isSafeInteger(timestampMs) || !Number.isSafeInteger(logical)) return undefined;
    const subjectBytes = this.bytes.subarray(offset, offset + subjectLength);
    if (!this.sameAsPrevious(subjectBytes)) {
      try {
        this.previousText = this.decoder.decode(subjectBytes);
      } catch {
        return undefined;
      }
      this.previousSubject = subjectBytes;
    }
    return { seq, subject: this.previousText, timestampMs, logical, bytes: counted, hashHigh, hashLow };
  }

  private sameAsPrevious(subject: Uint8Array): boolean {
    const previous = this.previousSubject;
    if (previous === undefined || previous.length !== subject.length) return false;
    for (let i = 0; i < subject.length; i++) if (previous[i] !== subject[i]) return false;
    return true;
  }
}

function rangesTouch(ranges: readonly SeqRange[], first: number, last: number): boolean {
  let low = 0;
  let high = ranges.length;
  // The first range that ends at or after `first`.
  while (low < high) {
    const middle = (low + high) >>> 1;
    const range = ranges[middle]!;
    if (range.first + range.count - 1 < first) low = middle + 1;
    else high = middle;
  }
  const range = ranges[low];
  return range !== undefined && range.first <= last;
}

function missing(path: string, stream: string, seq: number, kept: SnapshotStream): StorageCorruptionError {
  return new StorageCorruptionError(path, 0, `stream ${stream} (id ${kept.id}) has no whole record of seq ${seq}, which the snapshot holds live (last seq ${kept.lastSeq})`);
}
