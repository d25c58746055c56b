// A node's durable state on disk: the hard state (term and vote) in one small
// file replaced atomically, and the log in segments (segmented-log.ts).
//
//   <dataDir>/hardstate       "CHRSHS01", term u64, vote u32, CRC-32 of the 20 bytes before it
//   <dataDir>/incarnation     "CHRSIN01", starts u64, CRC-32 of the 16 bytes before it
//   <dataDir>/log/segment-*.log
//
// The hard state is replaced the safe way: written to hardstate.tmp, fsynced,
// renamed over hardstate, and the directory fsynced, so a crash leaves either
// the old file or the new one, never a mix. The incarnation file counts the
// node's starts the same way, once at open: the core needs a number above
// every earlier start's (BrokerNodeOptions.incarnation).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMPTY_HARD_STATE, type DurableState, type Entry, type HardState } from '../raft/types.js';
import { crc32 } from './crc32.js';
import { SegmentedLog, StorageCorruptionError, syncDirectory } from './segmented-log.js';

const HARD_STATE_MAGIC = 'CHRSHS01';
const HARD_STATE_BYTES = 8 + 8 + 4 + 4;
const INCARNATION_MAGIC = 'CHRSIN01';
const INCARNATION_BYTES = 8 + 8 + 4;

export interface StorageOptions {
  readonly segmentBytesMax: number;
  readonly note: (line: string) => void;
}

export interface PersistWork {
  readonly hardState: HardState | undefined;
  readonly truncateFrom: number | undefined;
  readonly entries: readonly Entry[];
}

export class NodeStorage {
  private constructor(
    private readonly dir: string,
    private readonly log: SegmentedLog,
  ) {}

  /**
   * Opens the data directory (creating it if needed) and returns exactly what
   * was made durable, and this start's incarnation, already durable itself.
   */
  static open(dir: string, options: StorageOptions): { storage: NodeStorage; durable: DurableState; incarnation: number } {
    fs.mkdirSync(dir, { recursive: true });
    const hardState = readHardState(path.join(dir, 'hardstate'));
    const incarnation = readIncarnation(path.join(dir, 'incarnation')) + 1;
    writeIncarnation(dir, incarnation);
    const { log, entries } = SegmentedLog.open(path.join(dir, 'log'), options);
    return { storage: new NodeStorage(dir, log), durable: { hardState, entries }, incarnation };
  }

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  /** Makes one or more Readies' writes durable, in order: hard state, truncation, entries; then one sync. */
  async persist(work: readonly PersistWork[]): Promise<void> {
    const hardState = [...work].reverse().find((item) => item.hardState !== undefined)?.hardState;
    if (hardState !== undefined) await this.writeHardState(hardState);
    for (const item of work) {
      if (item.truncateFrom !== undefined) this.log.truncateFrom(item.truncateFrom);
      this.log.append(item.entries);
    }
    await this.log.sync();
  }

  close(): void {
    this.log.close();
  }

  private async writeHardState(hardState: HardState): Promise<void> {
    const bytes = new Uint8Array(HARD_STATE_BYTES);
    const view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode(HARD_STATE_MAGIC), 0);
    view.setUint32(8, Math.floor(hardState.term / 2 ** 32));
    view.setUint32(12, hardState.term >>> 0);
    view.setUint32(16, hardState.vote);
    view.setUint32(20, crc32(bytes, 0, 20));
    const temporary = path.join(this.dir, 'hardstate.tmp');
    const handle = await fs.promises.open(temporary, 'w');
    try {
      await handle.write(bytes, 0, bytes.length, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, path.join(this.dir, 'hardstate'));
    await syncDirectory(this.dir);
  }
}

function readHardState(file: string): HardState {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_HARD_STATE;
    throw error;
  }
  if (bytes.length !== HARD_STATE_BYTES) throw new StorageCorruptionError(file, 0, `hard state is ${bytes.length} bytes, expected ${HARD_STATE_BYTES}`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== HARD_STATE_MAGIC) throw new StorageCorruptionError(file, 0, `not a chorus hard state file (magic ${JSON.stringify(magic)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(20) !== crc32(bytes, 0, 20)) throw new StorageCorruptionError(file, 20, 'hard state CRC mismatch');
  return { term: view.getUint32(8) * 2 ** 32 + view.getUint32(12), vote: view.getUint32(16) };
}

/** The number of earlier starts recorded in `file`; 0 when there is none yet. */
function readIncarnation(file: string): number {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (bytes.length !== INCARNATION_BYTES) throw new StorageCorruptionError(file, 0, `incarnation file is ${bytes.length} bytes, expected ${INCARNATION_BYTES}`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== INCARNATION_MAGIC) throw new StorageCorruptionError(file, 0, `not a chorus incarnation file (magic ${JSON.stringify(magic)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(16) !== crc32(bytes, 0, 16)) throw new StorageCorruptionError(file, 16, 'incarnation CRC mismatch');
  return view.getUint32(8) * 2 ** 32 + view.getUint32(12);
}

/** Replaces the incarnation file atomically and durably, before the core starts. */
function writeIncarnation(dir: string, incarnation: number): void {
  const bytes = new Uint8Array(INCARNATION_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(INCARNATION_MAGIC), 0);
  view.setUint32(8, Math.floor(incarnation / 2 ** 32));
  view.setUint32(12, incarnation >>> 0);
  view.setUint32(16, crc32(bytes, 0, 16));
  const temporary = path.join(dir, 'incarnation.tmp');
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path.join(dir, 'incarnation'));
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
