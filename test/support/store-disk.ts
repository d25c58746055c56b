// A simulated disk for tests of the stream stores, and saving a metadata
// snapshot over it the way a node does.

import { expect } from 'vitest';
import { encodeBrokerSnapshot } from '../../src/broker/snapshot.js';
import type { BrokerStateMachine } from '../../src/broker/state-machine.js';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem } from '../../sim/sim-file-system.js';

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
