// The state machine of a Raft-only simulated node: it remembers, for every
// entry it applied, the entry's term and a hash of its data, and the prefix
// hash through them, computed exactly as the safety checker computes its own.
// So a snapshot of it can be checked against the committed log: a node that
// restores one holds precisely the committed prefix, or the checker says so.
//
// Snapshot format (big-endian): "CHRSCM01", index u64, chain u32, then per
// applied entry term u32 and data hash u32. The per-entry part makes a
// snapshot grow with the log, so transfers take many chunks, as a real
// state machine's do.

import type { Entry } from '../src/raft/types.js';
import { chainHash, hashBytes } from './hash.js';

const MAGIC = 'CHRSCM01';
const HEADER_BYTES = 8 + 8 + 4;

export class ChainMachine {
  /** terms[i] and dataHashes[i] belong to the entry at index i + 1. */
  private readonly terms: number[] = [];
  private readonly dataHashes: number[] = [];
  private chainValue = 0;

  get appliedIndex(): number {
    return this.terms.length;
  }

  /** The prefix hash through the last applied entry (0 before any). */
  get chain(): number {
    return this.chainValue;
  }

  apply(entry: Entry): void {
    if (entry.index !== this.terms.length + 1) throw new Error(`chain machine applies index ${entry.index} after ${this.terms.length}`);
    const dataHash = hashBytes(entry.data);
    this.terms.push(entry.term);
    this.dataHashes.push(dataHash);
    this.chainValue = chainHash(this.chainValue, entry.term, entry.index, dataHash);
  }

  encode(): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + this.terms.length * 8);
    const view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode(MAGIC), 0);
    view.setUint32(8, Math.floor(this.terms.length / 2 ** 32));
    view.setUint32(12, this.terms.length >>> 0);
    view.setUint32(16, this.chainValue);
    for (let i = 0; i < this.terms.length; i++) {
      view.setUint32(HEADER_BYTES + i * 8, this.terms[i]!);
      view.setUint32(HEADER_BYTES + i * 8 + 4, this.dataHashes[i]!);
    }
    return bytes;
  }

  /** The machine a snapshot holds; throws when its bytes do not agree with themselves. */
  static decode(bytes: Uint8Array): ChainMachine {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error('not a chain machine snapshot');
    const count = view.getUint32(8) * 2 ** 32 + view.getUint32(12);
    if (bytes.length !== HEADER_BYTES + count * 8) throw new Error(`chain machine snapshot of ${count} entries is ${bytes.length} bytes`);
    const machine = new ChainMachine();
    for (let i = 0; i < count; i++) {
      const term = view.getUint32(HEADER_BYTES + i * 8);
      const dataHash = view.getUint32(HEADER_BYTES + i * 8 + 4);
      machine.terms.push(term);
      machine.dataHashes.push(dataHash);
      machine.chainValue = chainHash(machine.chainValue, term, i + 1, dataHash);
    }
    if (machine.chainValue !== view.getUint32(16)) throw new Error('chain machine snapshot does not agree with its own chain');
    return machine;
  }
}
