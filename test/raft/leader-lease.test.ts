import { describe, expect, it } from 'vitest';
import { Cluster, FixedRandom, heartbeat, only, voteRequest } from './harness.js';

// Thesis section 4.2.3: a server that has heard from a current leader within the
// minimum election timeout ignores RequestVote, even of a higher term, and does not
// update its term. A server that was removed or cut off therefore cannot depose a
// leader that still reaches a quorum. This core applies the lease with CheckQuorum.

const min = 10;

/** Node 1 follows leader 2 in term 3; every draw is 0.99, so its own timeout is 2*min-1 ticks. */
function followerOfLeader2(checkQuorum = true): Cluster {
  const cluster = new Cluster({
    options: { electionTicksMin: min, checkQuorum },
    random: () => new FixedRandom([0.99]),
  });
  cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 3 }));
  cluster.flush(1);
  cluster.drop();
  expect(cluster.node(1).leader()).toBe(2);
  return cluster;
}

describe('4.2.3 leader lease: a follower that hears from its leader ignores disruptive candidates', () => {
  for (const preVote of [false, true]) {
    it(`4.2.3 a follower in its lease ignores a higher-term ${preVote ? 'PreVote' : 'VoteRequest'} entirely`, () => {
      const cluster = followerOfLeader2();
      cluster.tick(1, min - 1);
      cluster.node(1).step(voteRequest({ from: 3, to: 1, term: 9, lastLogIndex: 5, lastLogTerm: 8, preVote }));
      cluster.flush(1);
      const node = cluster.node(1);
      expect(node.term()).toBe(3);
      expect(node.vote()).toBe(0);
      expect(node.leader()).toBe(2);
      expect(cluster.disk(1).hardState).toMatchObject({ term: 3, vote: 0 });
      expect(cluster.peek()).toEqual([]);
    });
  }

  it('4.2.3 once electionTicksMin ticks pass without the leader, the same request is heard and granted', () => {
    const cluster = followerOfLeader2();
    cluster.tick(1, min);
    // Its own timeout (2*min-1) has not fired yet: it is still a follower, out of its lease.
    expect(cluster.node(1).role()).toBe('follower');
    cluster.node(1).step(voteRequest({ from: 3, to: 1, term: 9, lastLogIndex: 5, lastLogTerm: 8 }));
    cluster.flush(1);
    expect(cluster.node(1).term()).toBe(9);
    expect(cluster.node(1).vote()).toBe(3);
    const answers = only(cluster.peek(), 'VoteResponse');
    expect(answers).toMatchObject([{ to: 3, granted: true, term: 9 }]);
  });

  it('4.2.3 the lease applies to the leader itself: it ignores a higher-term VoteRequest while it leads', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).step(voteRequest({ from: 3, to: 1, term: 7, lastLogIndex: 9, lastLogTerm: 6 }));
    cluster.flush(1);
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(1);
    expect(only(cluster.peek(), 'VoteResponse')).toEqual([]);
  });

  it('4.2.3 without CheckQuorum there is no lease: the higher term is adopted at once', () => {
    const cluster = followerOfLeader2(false);
    cluster.node(1).step(voteRequest({ from: 3, to: 1, term: 9, lastLogIndex: 5, lastLogTerm: 8 }));
    cluster.flush(1);
    expect(cluster.node(1).term()).toBe(9);
    expect(cluster.node(1).vote()).toBe(3);
  });

  it('4.2.3 a node that rejoins with a high term (PreVote off) cannot make the leader or its followers move on', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min, preVote: false } });
    cluster.elect(1);
    cluster.stabilize();
    // Node 3 is cut off for 100 ticks and campaigns again and again, raising its term
    // each time; the leader and node 2 tick alongside and keep talking.
    for (let tick = 0; tick < 100; tick++) {
      for (const id of [1, 2, 3]) cluster.tick(id);
      cluster.stabilize((m) => m.from !== 3 && m.to !== 3);
    }
    expect(cluster.node(3).term()).toBeGreaterThan(5);
    // It rejoins: its next VoteRequests reach the leader and the follower, which both heard from a leader lately.
    cluster.tick(3, 15);
    expect(only(cluster.peek(), 'VoteRequest')).toHaveLength(2);
    cluster.deliver((m) => m.type === 'VoteRequest' && m.from === 3);
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(1);
    expect(cluster.node(2).term()).toBe(1);
    expect(only(cluster.peek(), 'VoteResponse')).toEqual([]);
  });
});
