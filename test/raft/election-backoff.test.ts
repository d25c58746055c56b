import { describe, expect, it } from 'vitest';
import type { RaftOptions } from '../../src/raft/config.js';
import { validateRaftOptions, DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';
import { all, Cluster, FixedRandom, heartbeat, ofType, to } from './harness.js';

// Election backoff: where an election's round trip takes longer than the
// election timeout, a candidate gives up just before its votes come back, and
// elections fail for ever. A vote that arrives for a candidacy the node gave
// up on is the evidence; each such vote doubles the range the next timeout is
// drawn from, up to 2^electionBackoffMax, and hearing from a leader ends it.

const min = 10;

/** Node 1 wins its PreVote round, becomes candidate in term 1, and its vote requests are held back. */
function candidateWithVotesHeldBack(options: Partial<RaftOptions> = {}): Cluster {
  // Every draw is 0, so every timeout is exactly its range's minimum.
  const cluster = new Cluster({ options: { electionTicksMin: min, ...options }, random: () => new FixedRandom([0]) });
  cluster.tickUntilCampaign(1);
  cluster.deliver(all(ofType('VoteRequest'), to(2, 3)));
  cluster.deliver(all(ofType('VoteResponse'), to(1)));
  expect(cluster.node(1).role()).toBe('candidate');
  expect(cluster.node(1).term()).toBe(1);
  return cluster;
}

/** Lets node 1's candidacy time out, then delivers the votes it asked for: they are granted, too late. */
function giveUpThenReceiveVotes(cluster: Cluster): void {
  const requests = cluster.take(all(ofType('VoteRequest'), to(2, 3)));
  cluster.tick(1, cluster.node(1).ticksUntilActive());
  expect(cluster.node(1).role()).toBe('precandidate');
  cluster.drop(ofType('VoteRequest'));
  cluster.stepAll(requests);
  cluster.deliver(all(ofType('VoteResponse'), to(1)));
}

describe('election backoff', () => {
  it('a vote granted for a candidacy given up on doubles the next election timeout', () => {
    const cluster = candidateWithVotesHeldBack();
    giveUpThenReceiveVotes(cluster);
    // The timeout running now was drawn before the late votes came: still min.
    expect(cluster.node(1).ticksUntilActive()).toBe(min);
    cluster.tick(1, min);
    expect(cluster.node(1).ticksUntilActive()).toBe(2 * min);
  });

  it('without late votes the timeout keeps its range, however often the node campaigns', () => {
    const cluster = candidateWithVotesHeldBack();
    cluster.drop(ofType('VoteRequest'));
    for (let round = 0; round < 5; round++) {
      cluster.tick(1, cluster.node(1).ticksUntilActive());
      cluster.drop();
      expect(cluster.node(1).ticksUntilActive()).toBe(min);
    }
  });

  it('stops at 2^electionBackoffMax', () => {
    const cluster = candidateWithVotesHeldBack({ electionBackoffMax: 1 });
    giveUpThenReceiveVotes(cluster);
    cluster.tick(1, cluster.node(1).ticksUntilActive());
    expect(cluster.node(1).ticksUntilActive()).toBe(2 * min);
    // A second late candidacy: the PreVote round wins again, the candidacy in term 2 times out, its votes come late.
    cluster.deliver(all(ofType('VoteRequest'), to(2, 3)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    expect(cluster.node(1).role()).toBe('candidate');
    giveUpThenReceiveVotes(cluster);
    cluster.tick(1, cluster.node(1).ticksUntilActive());
    expect(cluster.node(1).ticksUntilActive()).toBe(2 * min);
  });

  it('electionBackoffMax 0 never stretches the timeout', () => {
    const cluster = candidateWithVotesHeldBack({ electionBackoffMax: 0 });
    giveUpThenReceiveVotes(cluster);
    cluster.tick(1, min);
    expect(cluster.node(1).ticksUntilActive()).toBe(min);
  });

  it('hearing from a leader brings the timeout back to its normal range', () => {
    const cluster = candidateWithVotesHeldBack();
    giveUpThenReceiveVotes(cluster);
    cluster.tick(1, min);
    expect(cluster.node(1).ticksUntilActive()).toBe(2 * min);
    cluster.node(1).step(heartbeat({ from: 2, to: 1, term: cluster.node(1).term() }));
    cluster.flush(1);
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(1).ticksUntilActive()).toBe(min);
  });

  it('a leader elected with a stretched timeout checks its quorum as far apart, then back to normal as checks pass', () => {
    const cluster = candidateWithVotesHeldBack();
    giveUpThenReceiveVotes(cluster);
    cluster.tick(1, min);
    // Win the next election: PreVote, then the real vote in term 2.
    cluster.deliver(all(ofType('VoteRequest'), to(2, 3)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    cluster.deliver(all(ofType('VoteRequest'), to(2, 3)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    expect(cluster.node(1).role()).toBe('leader');
    // Followers answer every heartbeat, so each quorum check passes; with heartbeats
    // every tick, count the ticks between checks through a leader left alone by them.
    const leader = cluster.node(1);
    let ticks = 0;
    for (; ticks < 10 * min && leader.role() === 'leader'; ticks++) {
      cluster.tick(1);
      cluster.drop();
    }
    // No answers at all: the first check after the stretched window (2 * min) deposes it.
    expect(leader.role()).toBe('follower');
    expect(ticks).toBe(2 * min);
  });

  it('validates electionBackoffMax', () => {
    expect(validateRaftOptions({ ...DEFAULT_RAFT_OPTIONS, electionBackoffMax: -1 })).toEqual(['electionBackoffMax must be an integer from 0 to 8, got -1']);
    expect(validateRaftOptions({ ...DEFAULT_RAFT_OPTIONS, electionBackoffMax: 1.5 })).toEqual(['electionBackoffMax must be an integer from 0 to 8, got 1.5']);
  });
});
