import { describe, expect, it } from 'vitest';
import { plantedNodeFactory } from '../support/planted-bugs.js';
import type { NodeId } from '../../src/raft/types.js';
import { all, Cluster, ofType, only, to, voteRequest, type NodeFactory } from './harness.js';

// Section 5.2 and Figure 2: each server votes for at most one candidate in a given
// term, first come first served, and votedFor is persistent state, so a restart in
// the middle of a term cannot hand out a second vote. Two leaders in one term would
// otherwise be possible.

/** Sends a real VoteRequest for `term` from `candidate` to node 1 and returns whether it was granted. */
function ask(cluster: Cluster, candidate: NodeId, term: number): boolean {
  cluster.node(1).step(voteRequest({ from: candidate, to: 1, term, lastLogIndex: 0, lastLogTerm: 0 }));
  cluster.flush(1);
  const answers = only(cluster.take(), 'VoteResponse');
  expect(answers).toHaveLength(1);
  return answers[0]!.granted;
}

const forgetful: NodeFactory = plantedNodeFactory('forget-vote-on-restart');

describe('5.2 a node grants at most one vote per term', () => {
  it('5.2 the first candidate of a term gets the vote, a second candidate of that term is refused', () => {
    const cluster = new Cluster();
    expect(ask(cluster, 2, 1)).toBe(true);
    expect(ask(cluster, 3, 1)).toBe(false);
    expect(cluster.node(1).vote()).toBe(2);
    expect(cluster.disk(1).hardState).toMatchObject({ term: 1, vote: 2 });
  });

  it('5.2 a retransmitted request from the candidate it voted for is granted again (the answer may have been lost)', () => {
    const cluster = new Cluster();
    expect(ask(cluster, 2, 1)).toBe(true);
    expect(ask(cluster, 2, 1)).toBe(true);
    expect(ask(cluster, 3, 1)).toBe(false);
  });

  it('5.2 a new term frees the vote', () => {
    const cluster = new Cluster();
    expect(ask(cluster, 2, 1)).toBe(true);
    expect(ask(cluster, 3, 2)).toBe(true);
    expect(cluster.disk(1).hardState).toMatchObject({ term: 2, vote: 3 });
  });

  it('5.2 + 9.6 granting a PreVote is not a vote: the real vote of that term is still free', () => {
    const cluster = new Cluster();
    cluster.node(1).step(voteRequest({ from: 3, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: true }));
    cluster.flush(1);
    expect(only(cluster.take(), 'VoteResponse')).toMatchObject([{ to: 3, preVote: true, granted: true }]);
    expect(cluster.node(1).vote()).toBe(0);
    expect(ask(cluster, 2, 1)).toBe(true);
  });

  it('5.2 a candidate has voted for itself, so it refuses another candidate of its term', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    cluster.deliver(all(ofType('VoteRequest'), to(2)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    expect(cluster.node(1).role()).toBe('candidate');
    cluster.drop();
    expect(ask(cluster, 3, 1)).toBe(false);
  });
});

describe('5.2 / Figure 2 votedFor survives a restart', () => {
  it('5.2 a node restarted from its persisted DurableState still refuses a second candidate in that term', () => {
    const cluster = new Cluster();
    expect(ask(cluster, 2, 1)).toBe(true);
    cluster.crash(1);
    const restarted = cluster.restart(1);
    expect(restarted.term()).toBe(1);
    expect(restarted.vote()).toBe(2);
    expect(ask(cluster, 3, 1)).toBe(false);
    expect(ask(cluster, 2, 1)).toBe(true);
  });

  it('5.2 the restart test catches a planted bug that forgets votedFor (so it can fail)', () => {
    const cluster = new Cluster({ create: forgetful });
    expect(ask(cluster, 2, 1)).toBe(true);
    cluster.crash(1);
    cluster.restart(1);
    // The broken variant hands out a second vote in term 1: exactly what the test above forbids.
    expect(ask(cluster, 3, 1)).toBe(true);
  });

  it('5.2 a vote that never reached the disk was never announced, so a crash before persisting may vote again', () => {
    const cluster = new Cluster();
    cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0 }));
    // Crash before the Ready is taken: the grant was never sent.
    cluster.crash(1);
    expect(cluster.sent).toEqual([]);
    cluster.restart(1);
    expect(cluster.node(1).vote()).toBe(0);
    expect(ask(cluster, 3, 1)).toBe(true);
  });
});
