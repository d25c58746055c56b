// Where a stream's message bodies live. A stream keeps in memory only what
// its limits, reads and digest need of each message (see Stream); the
// headers and payload are in a MessageStore, read back when a client asks.
//
// Two kinds: MemoryMessageStores keeps the messages on the heap, for tests and
// for a state machine without a disk; FileMessageStores (file-message-store.ts)
// keeps them in block files under the data directory, which is what a node
// runs. The difference shows in snapshots: a machine whose stores keep their
// messages on disk snapshots only its metadata, and the stores keep every file
// the newest durable snapshot still names (see release).

import type { SyncDone } from '../storage/file-system.js';
import { decodeRecord, encodeRecord, type RecordSummary } from './message-record.js';
import type { StreamMessage } from './stream-message.js';

/** `count` consecutive sequences from `first`. */
export interface SeqRange {
  readonly first: number;
  readonly count: number;
}

/** One stream as a durable snapshot holds it: what its store must keep for that snapshot to restore. */
export interface SnapshotStream {
  /** The stream's id: the index of the entry that created it, unique over the machine's life. */
  readonly id: number;
  readonly lastSeq: number;
  readonly live: readonly SeqRange[];
}

export interface MessageStore {
  /** Stores a message after every one stored before it (sequences strictly increase), with its digest hash. */
  append(message: StreamMessage, hashHigh: number, hashLow: number): void;
  /** Stores a record as it is (from a whole snapshot, checked), after every one stored before it. */
  appendRecord(record: Uint8Array, summary: RecordSummary): void;
  /** A message the stream holds. Throws StorageCorruptionError when its record cannot be read back whole. */
  read(seq: number): StreamMessage;
  /** A message's record as bytes (message-record.ts), for a snapshot that carries its messages. */
  record(seq: number): Uint8Array;
  /** The stream removed the message; a store may forget it at once, or keep it for an older snapshot. */
  removed(seq: number): void;
}

export interface MessageStores {
  /**
   * Whether a snapshot may leave the messages out: true when the stores keep
   * every message a durable snapshot names until release() says it is no
   * longer named.
   */
  readonly keepsMessages: boolean;
  /** A store for a new stream, empty. */
  create(id: number, stream: string): MessageStore;
  /**
   * The store of a stream restored from a snapshot that left its messages
   * out: reports each message the snapshot holds live, in sequence order, and
   * drops what was stored after `lastSeq` (the log's tail stores it again).
   * Throws StorageCorruptionError when a live message is missing or damaged.
   */
  open(stream: string, kept: SnapshotStream, onMessage: (summary: RecordSummary) => void): MessageStore;
  /** Forgets every store and every stored message: before a snapshot that carries its messages is restored, or a start from an empty state. */
  clear(): void;
  /** Forgets the stores of streams that `kept` does not name: at a start from a snapshot, they were created after it. */
  retainOnly(kept: readonly SnapshotStream[]): void;
  /** The stream with this id was deleted: its store goes once no durable snapshot names it. */
  deleted(id: number): void;
  /** Writes what was appended since the last flush. */
  flush(): void;
  /** Makes every message stored so far durable; a snapshot that leaves messages out may be saved only after this. */
  sync(done: SyncDone): void;
  /** A snapshot naming `kept` is durable: drop what neither it nor the live streams still need. */
  release(kept: readonly SnapshotStream[]): void;
  /** A record of a message the newest durable snapshot holds, for a snapshot sent to a follower; throws StorageCorruptionError. */
  snapshotRecord(id: number, seq: number): Uint8Array;
  /** The length of that record, without reading it. */
  snapshotRecordLength(id: number, seq: number): number;
  /** Bytes of stored messages on disk, over every stream (0 on the heap). */
  diskBytes(): number;
  close(): void;
}

/** Stores that keep every message on the heap, and forget it when the stream removes it. */
export class MemoryMessageStores implements MessageStores {
  readonly keepsMessages = false;

  create(_id: number, stream: string): MessageStore {
    return new MemoryMessageStore(stream);
  }

  open(stream: string, _kept: SnapshotStream, _onMessage: (summary: RecordSummary) => void): MessageStore {
    throw new Error(`stream ${stream}: memory stores keep no messages across a snapshot; restore from one that carries them`);
  }

  clear(): void {}

  retainOnly(_kept: readonly SnapshotStream[]): void {}

  deleted(_id: number): void {}

  flush(): void {}

  sync(done: SyncDone): void {
    done(undefined);
  }

  release(_kept: readonly SnapshotStream[]): void {}

  snapshotRecord(id: number, seq: number): Uint8Array {
    throw new Error(`stream ${id} seq ${seq}: memory stores put messages in the snapshot itself`);
  }

  snapshotRecordLength(id: number, seq: number): number {
    throw new Error(`stream ${id} seq ${seq}: memory stores put messages in the snapshot itself`);
  }

  diskBytes(): number {
    return 0;
  }

  close(): void {}
}

interface HeldMessage {
  readonly message: StreamMessage;
  readonly hashHigh: number;
  readonly hashLow: number;
}

class MemoryMessageStore implements MessageStore {
  private readonly messages = new Map<number, HeldMessage>();

  constructor(private readonly stream: string) {}

  append(message: StreamMessage, hashHigh: number, hashLow: number): void {
    this.messages.set(message.offset, { message, hashHigh, hashLow });
  }

  appendRecord(record: Uint8Array, summary: RecordSummary): void {
    const decoded = decodeRecord(record, this.stream, false);
    if ('error' in decoded) throw new Error(`stream ${this.stream} was given a damaged record: ${decoded.error}`);
    this.messages.set(summary.seq, { message: decoded.message, hashHigh: summary.hashHigh, hashLow: summary.hashLow });
  }

  read(seq: number): StreamMessage {
    return this.held(seq).message;
  }

  record(seq: number): Uint8Array {
    const { message, hashHigh, hashLow } = this.held(seq);
    return encodeRecord(message, hashHigh, hashLow);
  }

  removed(seq: number): void {
    this.messages.delete(seq);
  }

  private held(seq: number): HeldMessage {
    const held = this.messages.get(seq);
    if (held === undefined) throw new Error(`the memory store holds no message ${seq}`);
    return held;
  }
}
