// A simulated disk for tests of the stream stores, and saving a metadata
// snapshot over it the way a node does.

import { expect } from 'vitest';
import { encodeBrokerSnapshot } from '../../src/broker/snapshot.js';
import type { BrokerStateMachine } from '../../src/broker/state-machine.js';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem } from '../../sim/sim-file-system.js';
import { NodeStorage, type LogSyncPolicy, type OpenedStorage } from '../../src/storage/node-storage.js';

/** A disk whose syncs complete when `completeSyncs()` runs them, in order. */
export function simulatedDisk(seed: number, readFlipChance = 0): { fs: SimFileSystem; completeSyncs: () => void } {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS, readFlipChance }, SimRandom.stream(seed, 'store-disk'), (_delay, action) => queued.push(action));
  return { fs, completeSyncs: () => queued.splice(0).forEach((action) => action()) };
}

/** Saves a metadata snapshot as a node does: the stores made durable first, then (the snapshot saved) what it no longer names released. */
export function saveMetadataSnapshot(machine: BrokerStateMachine, completeSyncs: () => void): Uint8Array {
  machine.stores.flush();
  const bytes = encodeBrokerSnapshot(machine);
  let synced = false;
  machine.stores.sync((error) => {
    expect(error).toBeUndefined();
    synced = true;
  });
  completeSyncs();
  expect(synced).toBe(true);
  machine.stores.release(machine.snapshotStreams());
  return bytes;
}

/**
 * A disk whose pending syncs run one at a time (`runOne`) or until none is
 * left (`runAll`; a completed sync may start another, a file then its
 * directory), for tests that stop between two syncs.
 */
export function steppedDisk(seed: number, label: string): { fs: SimFileSystem; runOne: () => boolean; runAll: () => void; pending: () => number } {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS }, SimRandom.stream(seed, label), (_delay, action) => queued.push(action));
  const runOne = (): boolean => {
    const next = queued.shift();
    next?.();
    return next !== undefined;
  };
  return { fs, runOne, runAll: () => { while (runOne()); }, pending: () => queued.length };
}

/** Opens a node's storage in `dir` on a stepped disk, running its syncs to the end, as a start does. */
export function openNodeStorage(fs: SimFileSystem, dir: string, logSync: LogSyncPolicy, runAll: () => void): OpenedStorage {
  let opened: OpenedStorage | undefined;
  NodeStorage.open(fs, dir, { segmentBytesMax: 4096, note: () => undefined, logSync }, (error, result) => {
    if (error !== undefined) throw error;
    opened = result;
  });
  runAll();
  return opened!;
}
