import { describe, expect, it } from 'vitest';
import { streamsForTopics } from '../../sim/broker-workload.js';
import { SimCluster } from '../../sim/cluster.js';
import { simClient as client } from '../support/sim-client.js';

// A node that has just restarted holds its snapshot and re-applies its log's
// tail once it learns the commit index from a leader. A HISTORY read it gets
// meanwhile waits until it is ready, so it answers with everything that was
// stored before the read, not with the older prefix the node starts from.


describe('a HISTORY read on a node that has just restarted', () => {
  it.each([1, 2, 3])('waits until the node is ready and sees everything stored before it (seed %i)', (seed) => {
    const cluster = new SimCluster({ nodes: 3, seed, snapshotEveryEntries: 50, broker: { node: { streams: streamsForTopics(['orders.eu'], 3) } } });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const leader = cluster.leader()!;
    const follower = cluster.nodeIds.find((id) => id !== leader)!;
    const publisher = client(cluster, leader);
    for (let i = 1; i <= 180; i++) publisher.send(`PUB orders.eu ${String(i).length}\r\n${i}\r\n`);
    expect(cluster.runUntil((c) => c.broker(follower)?.state.lastOffset('orders.eu') === 180 && c.broker(leader)?.state.lastOffset('orders.eu') === 180, 5_000)).toBe(true);
    cluster.crash(follower);
    cluster.restart(follower);
    expect(cluster.runUntil((c) => c.isUp(follower), 1_000)).toBe(true);
    // It starts from its snapshot, behind what was stored.
    expect(cluster.broker(follower)!.state.lastOffset('orders.eu')).toBeLessThan(180);
    expect(cluster.broker(follower)!.recoveryState()).toBe('recovering');
    const reader = client(cluster, follower);
    reader.send('HISTORY orders.eu 1 1000\r\n');
    cluster.runFor(1_000);
    const entries = reader.frames.filter((frame) => frame.type === 'Entry');
    expect(entries).toHaveLength(180);
    expect(cluster.broker(follower)!.recoveryState()).toBe('ready');
    expect(cluster.violations()).toEqual([]);
  });
});
