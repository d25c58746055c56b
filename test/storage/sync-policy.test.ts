import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem } from '../../sim/sim-file-system.js';
import type { Entry } from '../../src/raft/types.js';
import { NodeStorage, type LogSyncPolicy, type OpenedStorage } from '../../src/storage/node-storage.js';

// The log sync policy: 'always' reports a Ready's entries durable only once
// fdatasynced; 'interval' reports them once written, and they are durable
// after the driver's next syncLog. What a crash of the machine keeps (the
// simulated disk's crash drops what was not synced) shows the difference.

const DIR = '/data';
const encoder = new TextEncoder();

function entry(index: number): Entry {
  return { index, term: 1, kind: 'command', data: encoder.encode(`e${index}`) };
}

function disk(): { fs: SimFileSystem; completeSyncs: () => void; pendingSyncs: () => number } {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS }, SimRandom.stream(3, 'sync-policy'), (_delay, action) => queued.push(action));
  const completeSyncs = (): void => {
    // A completed sync may start another (a file, then its directory): run until none is left.
    while (queued.length > 0) queued.shift()!();
  };
  return { fs, completeSyncs, pendingSyncs: () => queued.length };
}

function open(fs: SimFileSystem, completeSyncs: () => void, logSync: LogSyncPolicy): OpenedStorage {
  let opened: OpenedStorage | undefined;
  NodeStorage.open(fs, DIR, { segmentBytesMax: 4096, note: () => undefined, logSync }, (error, result) => {
    if (error !== undefined) throw error;
    opened = result;
  });
  completeSyncs();
  return opened!;
}

describe('the log sync policy', () => {
  it('always: a Ready is durable when reported so, and survives a crash of the machine', () => {
    const { fs, completeSyncs, pendingSyncs } = disk();
    const { storage } = open(fs, completeSyncs, 'always');
    let reported = false;
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(1), entry(2)] }, () => (reported = true));
    // Reported only once the sync completes.
    expect(reported).toBe(false);
    expect(pendingSyncs()).toBeGreaterThan(0);
    completeSyncs();
    expect(reported).toBe(true);
    fs.crash();
    expect(open(fs, completeSyncs, 'always').durable.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('interval: a Ready is reported at once, lost in a crash before the next syncLog, and kept after it', () => {
    const { fs, completeSyncs, pendingSyncs } = disk();
    const { storage } = open(fs, completeSyncs, 'interval');
    let reported = false;
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(1), entry(2)] }, () => (reported = true));
    expect(reported).toBe(true);
    expect(pendingSyncs()).toBe(0);
    let synced = false;
    storage.syncLog((error) => {
      expect(error).toBeUndefined();
      synced = true;
    });
    completeSyncs();
    expect(synced).toBe(true);
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(3)] }, () => undefined);
    // The machine crashes before the next period: entry 3 was acknowledged-able, and is gone.
    fs.crash();
    expect(open(fs, completeSyncs, 'interval').durable.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('interval: a change of term or vote is still synced before it is reported', () => {
    const { fs, completeSyncs } = disk();
    const { storage } = open(fs, completeSyncs, 'interval');
    let reported = false;
    storage.persist({ hardState: { term: 2, vote: 1 }, truncateFrom: undefined, entries: [] }, () => (reported = true));
    expect(reported).toBe(false);
    completeSyncs();
    expect(reported).toBe(true);
  });
});
