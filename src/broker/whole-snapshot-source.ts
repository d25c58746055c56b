// What a leader sends a follower that needs a snapshot: the node's newest
// durable snapshot, made whole. A node saves metadata snapshots (snapshot.ts),
// whose messages stay in the stream stores' files; a follower has none of
// those files, so the first time a snapshot is asked for, its live messages'
// records are copied after its metadata into one file beside the blocks, and
// that file is what the chunks are read from. The stores keep every message
// the newest durable snapshot names (file-message-store.ts, release), so the
// copy can always be made. A snapshot that is already whole (one this node
// installed from its own leader) is sent as it is.

import type { SnapshotFile, SnapshotSource } from '../raft/config.js';
import { concatBytes } from '../storage/bytes.js';
import { joinPath, readAgreeing, type FileHandle } from '../storage/file-system.js';
import type { FileMessageStores } from './file-message-store.js';
import { assembleWholeSnapshot, snapshotKind, type SnapshotKind } from './snapshot.js';

/** Whole snapshots kept: the newest, and the one before it, which a transfer under way may still be reading. */
const ASSEMBLED_KEPT = 2;
/** Bytes gathered before each write while a whole snapshot is assembled. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** Enough of a snapshot's start to read its kind. */
const HEADER_PEEK_BYTES = 32;

interface Assembled {
  /** The saved snapshot it was made from. */
  readonly source: SnapshotFile;
  /** The whole snapshot: what followers are sent. */
  readonly file: SnapshotFile;
  readonly handle: FileHandle;
  readonly path: string;
}

export class WholeSnapshotSource implements SnapshotSource {
  /** Newest last. */
  private assembled: Assembled[] = [];
  /** Why the last assembly failed, for STATUS; the next request tries again. */
  lastError: string | undefined;

  constructor(
    private readonly saved: SnapshotSource,
    private readonly stores: FileMessageStores,
  ) {}

  latest(): SnapshotFile | undefined {
    const source = this.saved.latest();
    if (source === undefined) return undefined;
    const assembled = this.assembled.find((whole) => whole.source.index === source.index && whole.source.crc === source.crc);
    if (assembled !== undefined) return assembled.file;
    if (this.savedKind(source.index) !== 'metadata') return source;
    const metadata = this.saved.read(source.index, 0, source.size);
    if (metadata === undefined) return undefined;
    return this.assemble(source, metadata)?.file;
  }

  read(index: number, offset: number, length: number): Uint8Array | undefined {
    const assembled = this.assembled.find((whole) => whole.file.index === index);
    if (assembled !== undefined) {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, assembled.file.size - offset)));
      const read = readAgreeing(assembled.handle, bytes, offset);
      return read === bytes.length ? bytes : bytes.subarray(0, read);
    }
    // A saved snapshot goes out as it is only when it is whole; a metadata one goes out only made whole, and that copy is gone.
    return this.savedKind(index) === 'whole' ? this.saved.read(index, offset, length) : undefined;
  }

  close(): void {
    for (const whole of this.assembled) whole.handle.close();
    this.assembled = [];
  }

  private savedKind(index: number): SnapshotKind | undefined {
    const head = this.saved.read(index, 0, HEADER_PEEK_BYTES);
    return head === undefined ? undefined : snapshotKind(head);
  }

  /**
   * Writes the whole snapshot. It need not be durable: after a crash it is
   * made again from the saved one. On failure (a damaged record, a full disk)
   * there is nothing to send for now, and the reason is kept.
   */
  private assemble(source: SnapshotFile, metadata: Uint8Array): Assembled | undefined {
    while (this.assembled.length >= ASSEMBLED_KEPT) this.discard(this.assembled[0]!);
    const path = joinPath(this.stores.dir, `snapshot-${source.index}.whole`);
    let handle: FileHandle | undefined;
    try {
      const opened = this.stores.fs.open(path, 'truncate');
      handle = opened;
      let position = 0;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      const writeBatch = (): void => {
        if (batchBytes === 0) return;
        const bytes = batch.length === 1 ? batch[0]! : concatBytes(batch, batchBytes);
        opened.write(bytes, position);
        position += bytes.length;
        batch = [];
        batchBytes = 0;
      };
      const result = assembleWholeSnapshot(metadata, this.stores, (bytes) => {
        batch.push(bytes);
        batchBytes += bytes.length;
        if (batchBytes >= WRITE_BATCH_BYTES) writeBatch();
      });
      writeBatch();
      if ('error' in result) throw new Error(`the saved snapshot at index ${source.index} cannot be made whole: ${result.error}`);
      const assembled = { source, file: { index: source.index, term: source.term, size: result.size, crc: result.crc }, handle: opened, path };
      this.assembled.push(assembled);
      this.lastError = undefined;
      return assembled;
    } catch (error) {
      handle?.close();
      this.lastError = (error as Error).message;
      return undefined;
    }
  }

  private discard(whole: Assembled): void {
    whole.handle.close();
    this.assembled = this.assembled.filter((other) => other !== whole);
    try {
      this.stores.fs.remove(whole.path);
    } catch {
      // Only a copy: a start of the node removes what is left (see FileMessageStores).
    }
  }
}
