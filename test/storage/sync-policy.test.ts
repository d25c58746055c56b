import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.js';
import { openNodeStorage, steppedDisk } from '../support/store-disk.js';

// The log sync policy: 'always' reports a Ready's entries durable only once
// fdatasynced; 'interval' reports them once written, and they are durable
// after the driver's next syncLog. What a crash of the machine keeps (the
// simulated disk's crash drops what was not synced) shows the difference.

const DIR = '/data';
const encoder = new TextEncoder();

function entry(index: number): Entry {
  return { index, term: 1, kind: 'command', data: encoder.encode(`e${index}`) };
}

describe('the log sync policy', () => {
  it('always: a Ready is durable when reported so, and survives a crash of the machine', () => {
    const { fs, runAll: completeSyncs, pending: pendingSyncs } = steppedDisk(3, 'sync-policy');
    const { storage } = openNodeStorage(fs, DIR, 'always', completeSyncs);
    let reported = false;
    storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(1), entry(2)] }, () => (reported = true));
    // Reported only once the sync completes.
    expect(reported).toBe(false);
    expect(pendingSyncs()).toBeGreaterThan(0);
    completeSyncs();
    expect(reported).toBe(true);
    fs.crash();
    expect(openNodeStorage(fs, DIR, 'always', completeSyncs).durable.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('interval: a Ready is reported at once, lost in a crash before the next syncLog, and kept after it', () => {
    const { fs, runAll: completeSyncs, pending: pendingSyncs } = steppedDisk(3, 'sync-policy');
    const { storage } = openNodeStorage(fs, DIR, 'interval', completeSyncs);
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
    expect(openNodeStorage(fs, DIR, 'interval', completeSyncs).durable.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('interval: a change of term or vote is still synced before it is reported', () => {
    const { fs, runAll: completeSyncs } = steppedDisk(3, 'sync-policy');
    const { storage } = openNodeStorage(fs, DIR, 'interval', completeSyncs);
    let reported = false;
    storage.persist({ hardState: { term: 2, vote: 1 }, truncateFrom: undefined, entries: [] }, () => (reported = true));
    expect(reported).toBe(false);
    completeSyncs();
    expect(reported).toBe(true);
  });
});
