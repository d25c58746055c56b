import { describe, expect, it } from 'vitest';
import { streamsForTopics } from '../../sim/broker-workload.js';
import { SimCluster } from '../../sim/cluster.js';
import type { ServerFrame } from '../../src/protocol/server-parser.js';
import { simClient as client } from '../support/sim-client.js';

// A live SUB means "from now". A node that has just restarted re-applies its
// log; a live subscription made there meanwhile must not receive the messages
// it re-applies, which were all stored before the subscription.


function deliveredOffsets(frames: readonly ServerFrame[]): number[] {
  return frames.flatMap((frame) => (frame.type === 'Msg' && frame.subject === 'orders.eu' ? [Number(new TextDecoder().decode(frame.payload))] : []));
}

describe('a live subscription on a node that has just restarted', () => {
  it.each([1, 2, 3, 4])('receives only what is published after it subscribed (seed %i)', (seed) => {
    const cluster = new SimCluster({ nodes: 3, seed, broker: { node: { streams: streamsForTopics(['orders.eu'], 3) } } });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const leader = cluster.leader()!;
    const follower = cluster.nodeIds.find((id) => id !== leader)!;
    const publisher = client(cluster, leader);
    for (let i = 1; i <= 300; i++) publisher.send(`PUB orders.eu ${String(i).length}\r\n${i}\r\n`);
    expect(cluster.runUntil((c) => c.status(follower).appliedIndex >= c.status(leader).commitIndex && c.broker(follower)!.state.lastOffset('orders.eu') === 300, 5_000)).toBe(true);
    cluster.crash(follower);
    cluster.restart(follower);
    // A restart recovers the node's storage first; the node serves once that is durable.
    expect(cluster.runUntil((c) => c.isUp(follower), 1_000)).toBe(true);
    const subscriber = client(cluster, follower);
    subscriber.send('SUB orders.eu 1\r\n');
    cluster.runFor(500);
    publisher.send('PUB orders.eu 3\r\n301\r\n');
    cluster.runFor(1_000);
    expect(deliveredOffsets(subscriber.frames)).toEqual([301]);
    expect(cluster.violations()).toEqual([]);
  });
});
