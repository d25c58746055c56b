import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.js';
import { openNodeStorage, steppedDisk } from '../support/store-disk.js';

// Several Readies handed to storage before the first is durable (the core's
// readiesInFlightMax): their writes go in the order they came, a Ready's
// writes waiting while an earlier one still has a hard state to sync first,
// and a crash keeps exactly what the completed syncs covered.

const DIR = '/data';
const encoder = new TextEncoder();

function entry(index: number, term = 1): Entry {
  return { index, term, kind: 'command', data: encoder.encode(`e${index}t${term}`) };
}

describe('several Readies in flight to storage', () => {
  it('writes them in order behind a hard state sync, truncation included, and reports each one', () => {
    const { fs, runAll } = steppedDisk(5, 'pipelined');
    const { storage } = openNodeStorage(fs, DIR, 'always', runAll);
    const reported: string[] = [];
    const report = (name: string) => (error: Error | undefined): void => {
      if (error !== undefined) throw error;
      reported.push(name);
    };
    storage.persist({ hardState: { term: 2, vote: 1 }, truncateFrom: undefined, entries: [entry(1), entry(2), entry(3)] }, report('a'));
    // The hard state is being synced: b and c must not reach the log before a's entries.
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(4)] }, report('b'));
    storage.persist({ hardState: undefined, truncateFrom: 3, entries: [entry(3, 2)] }, report('c'));
    expect(reported).toEqual([]);
    runAll();
    expect([...reported].sort()).toEqual(['a', 'b', 'c']);
    fs.crash();
    const reopened = openNodeStorage(fs, DIR, 'always', runAll);
    expect(reopened.durable.hardState).toMatchObject({ term: 2, vote: 1 });
    expect(reopened.durable.entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
  });

  it("starts the next Ready's writes while an earlier sync is still running, and a crash then keeps only what was synced", () => {
    const { fs, runOne, runAll } = steppedDisk(5, 'pipelined');
    const { storage } = openNodeStorage(fs, DIR, 'always', runAll);
    const reported: string[] = [];
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(1)] }, () => reported.push('a'));
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(2)] }, () => reported.push('b'));
    // Both writes were issued at once, each with its own sync; complete only the first sync.
    expect(storage.lastIndex).toBe(2);
    while (!reported.includes('a') && runOne());
    expect(reported[0]).toBe('a');
    fs.crash();
    const kept = openNodeStorage(fs, DIR, 'always', runAll).durable.entries.map((e) => e.index);
    expect(kept[0]).toBe(1);
  });
});
