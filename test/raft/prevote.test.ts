import { describe, expect, it } from 'vitest';
import { all, Cluster, durable, from, logOfTerms, ofType, only, to } from './harness.js';

// Thesis section 9.6 (PreVote): before a real election a node asks whether it could
// win one, in the term it would campaign in, without changing any term. Only a quorum
// of PreVote grants starts the real election of section 5.2. So a node that cannot
// win (cut off, or with a stale log) never raises the cluster's term.

describe('9.6 PreVote: a pre-campaign changes no term', () => {
  it('9.6 a precandidate keeps its term and vote and asks in its next term', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    const node = cluster.node(1);
    expect(node.role()).toBe('precandidate');
    expect(node.term()).toBe(0);
    expect(node.vote()).toBe(0);
    // Nothing durable changed: there is nothing to write, and the PreVotes did not
    // wait for a Ready.
    expect(node.hasReady()).toBe(false);
    expect(cluster.readies.get(1)!.every((ready) => ready.hardState === undefined)).toBe(true);
    const requests = only(cluster.peek(), 'VoteRequest');
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.preVote).toBe(true);
      expect(request.term).toBe(1);
    }
  });

  it('9.6 a voter that grants a PreVote keeps its own term and vote', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    cluster.deliver(ofType('VoteRequest'));
    for (const id of [2, 3]) {
      expect(cluster.node(id).term()).toBe(0);
      expect(cluster.node(id).vote()).toBe(0);
      expect(cluster.disk(id).hardState).toMatchObject({ term: 0, vote: 0 });
    }
    const responses = only(cluster.peek(), 'VoteResponse');
    expect(responses).toHaveLength(2);
    for (const response of responses) {
      expect(response.preVote).toBe(true);
      expect(response.granted).toBe(true);
      expect(response.term).toBe(1);
    }
  });

  it('5.2 + 9.6 a real election in term+1 follows a PreVote quorum, and the term and self-vote are persisted', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    cluster.deliver(all(ofType('VoteRequest'), to(2)));
    // One grant plus its own makes a quorum of three.
    cluster.deliver(all(ofType('VoteResponse'), from(2)));
    const node = cluster.node(1);
    expect(node.role()).toBe('candidate');
    expect(node.term()).toBe(1);
    expect(node.vote()).toBe(1);
    expect(cluster.disk(1).hardState).toMatchObject({ term: 1, vote: 1 });
    const real = only(cluster.peek(from(1)), 'VoteRequest').filter((m) => !m.preVote);
    expect(real.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const request of real) expect(request.term).toBe(1);
  });

  it('9.6 a precandidate without a quorum of grants never starts a real election', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    // Only the grant of a minority arrives: nothing happens beyond the precandidate state.
    cluster.drop(to(3));
    cluster.deliver(to(2));
    cluster.drop(to(1));
    expect(cluster.node(1).role()).toBe('precandidate');
    expect(cluster.node(1).term()).toBe(0);
  });

  it('9.6 a node cut off from the cluster keeps retrying PreVote without inflating its term', () => {
    const cluster = new Cluster();
    for (let attempt = 0; attempt < 20; attempt++) {
      cluster.tick(1, 30);
      cluster.drop();
    }
    expect(cluster.node(1).term()).toBe(0);
    expect(cluster.disk(1).hardState.term).toBe(0);
    const voteRequests = only(cluster.sent, 'VoteRequest');
    expect(voteRequests.length).toBeGreaterThan(20);
    expect(voteRequests.every((m) => m.preVote)).toBe(true);
  });

  it('9.6 a PreVote refused by a majority (its log is stale) sends the node back to follower in the same term', () => {
    // Nodes 2 and 3 hold an entry of term 2 that node 1 lacks, so node 1 could never win.
    const cluster = new Cluster({
      durable: {
        1: durable(logOfTerms(1), 2),
        2: durable(logOfTerms(1, 2), 2),
        3: durable(logOfTerms(1, 2), 2),
      },
    });
    cluster.tickUntilCampaign(1);
    cluster.deliver(ofType('VoteRequest'));
    const responses = only(cluster.peek(), 'VoteResponse');
    expect(responses.map((m) => m.granted)).toEqual([false, false]);
    cluster.deliver(ofType('VoteResponse'));
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(1).term()).toBe(2);
    expect(cluster.node(2).term()).toBe(2);
    expect(cluster.node(3).term()).toBe(2);
  });
});
