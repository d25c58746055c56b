// The hard state (term and vote, Raft's Figure 2 persistent state) and the
// count of the node's starts, in one small file of two slots.
//
//   <dataDir>/hardstate: two 48-byte slots, at bytes 0 and 48. A slot is
//     "CHRSHS02" (8 bytes), sequence u64, term u64, vote u32, starts u64,
//     8 zero bytes, CRC-32 of the 44 bytes before it.
//
// A change is written to the slot that does not hold the newest sequence,
// with the next sequence number, and fdatasynced: then it is durable, and the
// caller hears so. Right after, the same copy is written over the other slot
// too, so that both hold the newest state and a later change again writes
// over a slot that is not the only copy of what was last acknowledged. A
// crash in the middle of a write damages at most the slot being written, and
// recovery takes the valid slot of the highest sequence; a slot of all zeros
// is one never written. Two damaged slots cannot come from one interrupted
// write, and are refused as corruption.

import { EMPTY_HARD_STATE, type HardState } from '../raft/types.js';
import { StorageCorruptionError } from './corruption.js';
import { crc32 } from './crc32.js';
import { joinPath, readConfirmed, type FileHandle, type FileSystem, type SyncDone } from './file-system.js';
import { readU64, writeU64 } from './bytes.js';

const MAGIC = 'CHRSHS02';
const SLOT_BYTES = 48;
const CRC_AT = 44;
const FILE_NAME = 'hardstate';

export interface DurableHardState {
  readonly hardState: HardState;
  /** How many times the node has started, this start not counted. */
  readonly starts: number;
}

type SlotReading = { readonly kind: 'empty' } | { readonly kind: 'damaged'; readonly reason: string } | { readonly kind: 'valid'; readonly seq: number; readonly state: DurableHardState };

export class HardStateFile {
  private constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    private readonly handle: FileHandle,
    /** The sequence of the newest slot written; the next write goes to the other slot. */
    private seq: number,
    private current: DurableHardState,
    /** True until the file's name is durable in its directory. */
    private nameUnsynced: boolean,
  ) {}

  /** True while the newest state is being copied into the other slot. */
  private mirroring = false;
  /** A write that came during the mirror, to start once it ends. */
  private waiting: (() => void) | undefined = undefined;

  /** Opens (creating if missing) the file in `directory`, and what it holds. */
  static open(fs: FileSystem, directory: string): { file: HardStateFile; durable: DurableHardState } {
    const path = joinPath(directory, FILE_NAME);
    const existed = fs.exists(path);
    const handle = fs.open(path, 'create');
    try {
      const { seq, state } = recover(path, handle);
      return { file: new HardStateFile(fs, directory, handle, seq, state, !existed), durable: state };
    } catch (error) {
      handle.close();
      throw error;
    }
  }

  /**
   * Writes `state` into the slot that is not the newest and syncs it (and, the
   * first time, the directory), calls `done`, then mirrors it into the other
   * slot. A write that comes while the mirror is under way waits for it.
   * Errors reach `done`.
   */
  write(state: DurableHardState, done: SyncDone): void {
    if (this.mirroring) {
      if (this.waiting !== undefined) throw new Error('a hard state write is already waiting: writes must come one at a time');
      this.waiting = () => this.write(state, done);
      return;
    }
    const seq = this.seq + 1;
    try {
      this.handle.write(encodeSlot(seq, state), (seq % 2) * SLOT_BYTES);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.seq = seq;
    this.current = state;
    this.syncThen((error) => {
      done(error);
      if (error === undefined) this.mirror(seq, state);
    });
  }

  private mirror(seq: number, state: DurableHardState): void {
    this.mirroring = true;
    const finish = (): void => {
      this.mirroring = false;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.();
    };
    try {
      this.handle.write(encodeSlot(seq, state), ((seq + 1) % 2) * SLOT_BYTES);
    } catch {
      // The newest state is durable in its first slot; the mirror is a spare.
      finish();
      return;
    }
    this.handle.sync(finish);
  }

  private syncThen(done: SyncDone): void {
    if (!this.nameUnsynced) {
      this.handle.sync(done);
      return;
    }
    this.handle.sync((error) => {
      if (error !== undefined) {
        done(error);
        return;
      }
      this.nameUnsynced = false;
      this.fs.syncDirectory(this.directory, done);
    });
  }

  get state(): DurableHardState {
    return this.current;
  }

  close(): void {
    this.handle.close();
  }
}

function recover(path: string, handle: FileHandle): { seq: number; state: DurableHardState } {
  const empty = { seq: 0, state: { hardState: EMPTY_HARD_STATE, starts: 0 } };
  const slots = readConfirmed(
    handle,
    (bytes): [SlotReading, SlotReading] => [readSlot(bytes, 0), readSlot(bytes, SLOT_BYTES)],
    (read) => read.some((slot) => slot.kind === 'damaged'),
  );
  const valid = slots.filter((slot) => slot.kind === 'valid');
  const damaged = slots.filter((slot) => slot.kind === 'damaged');
  if (damaged.length === 2) throw new StorageCorruptionError(path, 0, `both hard state copies are damaged (${damaged.map((slot) => slot.reason).join('; ')})`);
  if (valid.length === 0) return empty;
  const newest = valid.reduce((a, b) => (b.seq > a.seq ? b : a));
  return { seq: newest.seq, state: newest.state };
}

function readSlot(bytes: Uint8Array, at: number): SlotReading {
  const slot = bytes.subarray(at, Math.min(bytes.length, at + SLOT_BYTES));
  if (slot.every((byte) => byte === 0)) return { kind: 'empty' };
  if (slot.length < SLOT_BYTES) return { kind: 'damaged', reason: `copy at byte ${at} is ${slot.length} of ${SLOT_BYTES} bytes` };
  const view = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  if (view.getUint32(CRC_AT) !== crc32(slot, 0, CRC_AT)) return { kind: 'damaged', reason: `copy at byte ${at} fails its CRC` };
  const magic = new TextDecoder().decode(slot.subarray(0, 8));
  if (magic !== MAGIC) return { kind: 'damaged', reason: `copy at byte ${at} is not a chorus hard state (magic ${JSON.stringify(magic)})` };
  const hardState = { term: readU64(view, 16), vote: view.getUint32(24) };
  return { kind: 'valid', seq: readU64(view, 8), state: { hardState, starts: readU64(view, 28) } };
}

function encodeSlot(seq: number, state: DurableHardState): Uint8Array {
  const slot = new Uint8Array(SLOT_BYTES);
  const view = new DataView(slot.buffer);
  slot.set(new TextEncoder().encode(MAGIC), 0);
  writeU64(view, 8, seq);
  writeU64(view, 16, state.hardState.term);
  view.setUint32(24, state.hardState.vote);
  writeU64(view, 28, state.starts);
  view.setUint32(CRC_AT, crc32(slot, 0, CRC_AT));
  return slot;
}
