import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';

// A full disk is an operating error: the node whose write fails stops with
// the reason rather than acknowledge what it could not store, the others go
// on, and once it has space again it starts and catches up, losing nothing.

describe('a node whose disk fills up', () => {
  // Snapshots every 5 entries make a snapshot's write the first to meet the full disk, now and then.
  it.each([
    [1, 40],
    [2, 40],
    [3, 40],
    [4, 5],
    [5, 5],
    [6, 5],
  ])('stops with ENOSPC, cannot start until it has space, then catches up (seed %i, a snapshot every %i entries)', (seed, snapshotEveryEntries) => {
    const cluster = new SimCluster({ nodes: 3, seed, snapshotEveryEntries });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const full = cluster.leader()!;
    cluster.setDisk(full, { spaceBytes: cluster.disk(full).usedBytes() });
    for (let i = 0; i < 100; i++) {
      const leader = cluster.leader();
      if (leader !== undefined) cluster.propose(leader, `command ${i}`);
      cluster.runFor(20);
    }
    expect(cluster.isUp(full)).toBe(false);
    expect(cluster.stopReason(full)).toMatch(/(disk|snapshot) write failed: ENOSPC/);
    const committed = cluster.checker.committedIndex();
    expect(committed).toBeGreaterThan(60);

    cluster.restart(full);
    cluster.runFor(1_000);
    expect(cluster.isUp(full)).toBe(false);

    cluster.setDisk(full, { spaceBytes: Number.POSITIVE_INFINITY });
    cluster.restart(full);
    expect(cluster.runUntil((c) => c.isUp(full) && c.status(full).appliedIndex >= committed, 5_000)).toBe(true);
    expect(cluster.violations()).toEqual([]);
  });
});
