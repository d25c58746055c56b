import { describe, expect, it } from 'vitest';
import { Cluster, ofType } from './harness.js';

// A follower learns the commit index from the leader's appends. When the
// commit advances and the leader has no new entries to send, it tells the
// followers at once with an append that carries none, instead of leaving them
// to the next heartbeat: a follower's subscribers then see a message about
// one round trip after the leader's, not a heartbeat interval later.

const encoder = new TextEncoder();

describe('the commit index reaches the followers', () => {
  it('with the acknowledgements, without a tick: every follower commits what the leader committed', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const proposed = cluster.node(1).propose(encoder.encode('x'));
    expect(proposed.ok).toBe(true);
    // No tick, so no heartbeat: only appends and their answers move.
    cluster.stabilize();
    const leaderCommit = cluster.node(1).commitIndex();
    expect(proposed.ok && leaderCommit).toBeGreaterThanOrEqual(proposed.ok ? proposed.index : 0);
    expect(cluster.node(2).commitIndex()).toBe(leaderCommit);
    expect(cluster.node(3).commitIndex()).toBe(leaderCommit);
  });

  it('once per commit index: a follower that was told is not told again', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).propose(encoder.encode('x'));
    cluster.stabilize();
    // Nothing new was committed: answers to the empty appends send nothing more.
    cluster.flushAll();
    expect(cluster.peek(ofType('AppendRequest'))).toEqual([]);
  });
});
