import { describe, expect, it } from 'vitest';
import { Cluster, to } from './harness.js';

// Raft's proofs assume a disk keeps what it acknowledged. Real disks and real
// fsync bugs break that promise, and the leader's match for such a follower is
// then higher than the follower's log. Replication must not stall on it: the
// heartbeat answer carries where the follower's log ends, and the leader starts
// over from there.

describe('5.3 a follower that lost acknowledged entries is repaired, not stalled', () => {
  it('the leader lowers match to where the follower log really ends and replicates again', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    for (let i = 0; i < 5; i++) cluster.node(1).propose(new Uint8Array([i]));
    cluster.flush(1);
    cluster.stabilize();
    expect(cluster.node(1).progressOf(2)?.match).toBe(6);
    // Node 3 goes away, so node 2 is needed for every commit; node 2's disk loses
    // entries 4..6, which it had acknowledged.
    cluster.crash(3);
    cluster.crash(2);
    cluster.disk(2).entries.length = 3;
    cluster.restart(2);
    for (let i = 0; i < 3; i++) cluster.node(1).propose(new Uint8Array([10 + i]));
    cluster.flush(1);
    const commitBefore = cluster.node(1).commitIndex();
    for (let round = 0; round < 4; round++) {
      cluster.tick(1);
      cluster.stabilize((m) => m.to !== 3 && m.from !== 3);
    }
    expect(cluster.node(2).lastIndex()).toBe(9);
    expect(cluster.node(1).progressOf(2)?.match).toBe(9);
    expect(cluster.node(1).commitIndex()).toBe(9);
    expect(commitBefore).toBe(6);
  });

  it('an answer to an old heartbeat does not lower match (the follower had not acknowledged yet)', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    // A heartbeat goes out while node 2 still lacks the next entries.
    cluster.tick(1);
    const oldAnswers = () => cluster.take((m) => m.type === 'HeartbeatResponse' && m.from === 2);
    cluster.deliver(to(2, 3));
    const stale = oldAnswers();
    expect(stale).toHaveLength(1);
    for (let i = 0; i < 3; i++) cluster.node(1).propose(new Uint8Array([i]));
    cluster.flush(1);
    cluster.stabilize();
    expect(cluster.node(1).progressOf(2)?.match).toBe(4);
    cluster.stepAll(stale);
    expect(cluster.node(1).progressOf(2)?.match).toBe(4);
    expect(cluster.node(1).progressOf(2)?.state).toBe('replicate');
  });
});
