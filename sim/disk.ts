// What the checker knows of each node's disk: the term, vote and log length
// the node's storage has reported durable. The storage code itself runs over
// the simulated disk (sim-file-system.ts); this ledger follows its reports, so
// that a message promising more than the disk holds is caught as it leaves.

import type { DurableState } from '../src/raft/types.js';
import type { PersistWork } from '../src/storage/node-storage.js';

export { DEFAULT_DISK_OPTIONS, type DiskOptions } from './sim-file-system.js';

/** What a node's disk holds, in brief. */
export interface DurableView {
  readonly term: number;
  readonly vote: number;
  readonly lastIndex: number;
}

export class DurableLedger implements DurableView {
  term = 0;
  vote = 0;
  lastIndex = 0;

  /** A node started from `durable`, exactly what its storage recovered. */
  reset(durable: DurableState): void {
    this.term = durable.hardState.term;
    this.vote = durable.hardState.vote;
    const entries = durable.entries;
    this.lastIndex = Math.max(entries.length === 0 ? 0 : entries[entries.length - 1]!.index, durable.snapshot?.index ?? 0);
  }

  /** The storage reported one Ready's writes durable. */
  record(work: PersistWork): void {
    if (work.hardState !== undefined) {
      this.term = work.hardState.term;
      this.vote = work.hardState.vote;
    }
    // An installed snapshot holds every entry up to its index, and replaces the log unless it keeps it.
    const snapshot = work.snapshot;
    if (snapshot !== undefined) this.lastIndex = snapshot.keepsLog ? Math.max(this.lastIndex, snapshot.index) : snapshot.index;
    if (work.truncateFrom !== undefined) this.lastIndex = Math.min(this.lastIndex, work.truncateFrom - 1);
    const entries = work.entries;
    if (entries.length > 0) this.lastIndex = entries[entries.length - 1]!.index;
  }
}
