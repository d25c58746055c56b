import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem } from '../../sim/sim-file-system.js';
import type { Entry } from '../../src/raft/types.js';
import { crc32 } from '../../src/storage/crc32.js';
import { NodeStorage, type OpenedStorage, type PersistWork } from '../../src/storage/node-storage.js';

// Installing a snapshot received from a leader is atomic: a crash at any point
// of it, torn or not, leaves the node with its old state (old snapshot, old
// log) or the new one (the new snapshot, and a log that agrees with it), never
// a mix, and the storage always starts again.

const DIR = '/data';
const encoder = new TextEncoder();

function entry(index: number, term: number): Entry {
  return { index, term, kind: 'command', data: encoder.encode(`e${index}t${term}`) };
}

function harness(seed: number): { fs: SimFileSystem; queued: (() => void)[]; open: () => OpenedStorage; flush: (count?: number) => void } {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS }, SimRandom.stream(seed, 'disk'), (_delay, action) => queued.push(action));
  const flush = (count = Number.POSITIVE_INFINITY): void => {
    for (let i = 0; i < count && queued.length > 0; i++) queued.shift()!();
  };
  const open = (): OpenedStorage => {
    let opened: OpenedStorage | undefined;
    let failure: Error | undefined;
    NodeStorage.open(fs, DIR, { segmentBytesMax: 200, note: () => undefined }, (error, result) => {
      failure = error;
      opened = result;
    });
    flush();
    if (failure !== undefined) throw failure;
    return opened!;
  };
  return { fs, queued, open, flush };
}

function persist(storage: NodeStorage, work: PersistWork, flush: () => void): void {
  let finished = false;
  storage.persist(work, (error) => {
    if (error !== undefined) throw error;
    finished = true;
  });
  flush();
  expect(finished).toBe(true);
}

describe('installing a received snapshot', () => {
  it('leaves the old state or the new one after a crash at any point, never a mix', () => {
    const oldSnapshot = encoder.encode('old state at 3');
    const newSnapshot = encoder.encode('the new state at index 12, in several chunks of this text');
    const outcomes = new Set<string>();
    for (let stopAfter = 0; stopAfter <= 12; stopAfter++) {
      for (const torn of [false, true]) {
        const { fs, queued, open, flush } = harness(stopAfter * 2 + (torn ? 1 : 0));
        const first = open().storage;
        // The old state: a snapshot at 3 and a log of term 1 up to 8, in several segments.
        let saved = false;
        first.saveSnapshot({ index: 3, term: 1, size: oldSnapshot.length, crc: crc32(oldSnapshot) }, oldSnapshot, () => (saved = true));
        flush();
        expect(saved).toBe(true);
        persist(first, { hardState: { term: 2, vote: 1 }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => entry(i, 1)) }, flush);
        // The new snapshot at 12, term 2: its index is past the log, so the whole log goes.
        const meta = { snapshotIndex: 12, snapshotTerm: 2, size: newSnapshot.length, crc: crc32(newSnapshot) };
        const chunks = [0, 20, 40].map((offset) => ({ ...meta, offset, data: newSnapshot.subarray(offset, Math.min(offset + 20, newSnapshot.length)) }));
        first.persist(
          { hardState: undefined, truncateFrom: undefined, entries: [], snapshotChunks: chunks, snapshot: { index: 12, term: 2, size: newSnapshot.length, crc: meta.crc, keepsLog: false } },
          () => undefined,
        );
        flush(stopAfter);
        queued.length = 0;
        if (torn) fs.tornCrash(SimRandom.stream(stopAfter, 'tear'));
        else fs.crash();
        const again = open();
        const snapshot = new TextDecoder().decode(again.snapshotData);
        const indices = again.durable.entries.map((e) => e.index);
        if (snapshot === 'old state at 3') {
          expect(again.durable.snapshot).toEqual({ index: 3, term: 1 });
          expect(indices.at(-1)).toBe(8);
          outcomes.add('old');
        } else {
          expect(snapshot).toBe('the new state at index 12, in several chunks of this text');
          expect(again.durable.snapshot).toEqual({ index: 12, term: 2 });
          expect(indices).toEqual([]);
          outcomes.add('new');
        }
        again.storage.close();
      }
    }
    expect([...outcomes].sort()).toEqual(['new', 'old']);
  });
});
