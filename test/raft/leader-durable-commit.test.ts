import { describe, expect, it } from 'vitest';
import { all, Cluster, from, ofType, to } from './harness.js';

// Section 5.3 and the Ready contract: an entry is committed once it is durable on a
// majority, and the leader's own copy counts toward that majority only after the
// driver reports the write durable by calling advance(). Before that, the leader's
// copy may still be lost in a crash, so counting it could commit an entry that only a
// minority will ever hold.

describe('5.3 the leader counts its own copy toward commit only after advance()', () => {
  it('5.3 one follower acknowledgement plus an unacknowledged leader write is not a majority of three', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    expect(cluster.node(1).commitIndex()).toBe(1);
    cluster.node(1).propose(new Uint8Array([1]));
    // The Ready is written and its messages sent, but advance() has not been called yet.
    cluster.persistAndSend(1);
    cluster.drop(to(3));
    cluster.deliver(all(ofType('AppendRequest'), to(2)));
    cluster.deliver(all(ofType('AppendResponse'), from(2)));
    expect(cluster.node(1).progressOf(2)?.match).toBe(2);
    expect(cluster.node(1).commitIndex()).toBe(1);
    // Now the driver acknowledges the leader's own write.
    cluster.node(1).advance();
    expect(cluster.node(1).commitIndex()).toBe(2);
    const next = cluster.flush(1);
    expect(next?.committedEntries.map((e) => e.index)).toEqual([2]);
  });

  it('5.3 acknowledgements from a majority of followers commit without the leader copy', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).propose(new Uint8Array([1]));
    cluster.persistAndSend(1);
    cluster.deliver(ofType('AppendRequest'));
    cluster.deliver(ofType('AppendResponse'));
    // Two of three durable copies, neither of them the leader's own: a majority.
    expect(cluster.node(1).commitIndex()).toBe(2);
    cluster.node(1).advance();
  });

  it('5.3 a single-node cluster commits its own entry only after advance()', () => {
    const cluster = new Cluster({ ids: [1] });
    cluster.tickUntilCampaign(1);
    expect(cluster.node(1).role()).toBe('leader');
    cluster.flush(1);
    const result = cluster.node(1).propose(new Uint8Array([1]));
    expect(result).toMatchObject({ ok: true, index: 2 });
    const node = cluster.node(1);
    const written = node.ready();
    expect(written.entries.map((e) => e.index)).toEqual([2]);
    expect(written.committedEntries.map((e) => e.index)).not.toContain(2);
    expect(node.commitIndex()).toBe(1);
    node.advance();
    expect(node.commitIndex()).toBe(2);
    expect(node.ready().committedEntries.map((e) => e.index)).toEqual([2]);
    node.advance();
  });
});
