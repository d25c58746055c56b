import { describe, expect, it } from 'vitest';
import { all, appendRequest, between, Cluster, durable, from, logOfTerms, ofType, only, to } from './harness.js';

// Section 5.2: a candidate becomes leader once it holds votes from a majority of the
// voters in its term. Section 8: the new leader appends a no-op entry of its own term
// at once, because only an entry of its own term lets it commit (section 5.4.2) and
// so learn what earlier terms left committed.

describe('5.2 winning an election', () => {
  it('5.2 a candidate with a majority of votes becomes leader and appends a noop of its term (section 8)', () => {
    const cluster = new Cluster({
      ids: [1, 2, 3, 4, 5],
      durable: {
        1: durable(logOfTerms(1, 1), 1),
        2: durable(logOfTerms(1, 1), 1),
        3: durable(logOfTerms(1, 1), 1),
        4: durable(logOfTerms(1), 1),
        5: durable(logOfTerms(1), 1),
      },
    });
    cluster.tickUntilCampaign(1);
    // PreVote: grants from 2 and 3 make three of five.
    cluster.deliver(all(ofType('VoteRequest'), to(2, 3)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    expect(cluster.node(1).role()).toBe('candidate');
    expect(cluster.node(1).term()).toBe(2);
    // Real vote: one grant is not yet a majority of five.
    cluster.deliver(all(ofType('VoteRequest'), to(2)));
    cluster.deliver(all(ofType('VoteResponse'), from(2)));
    expect(cluster.node(1).role()).toBe('candidate');
    cluster.deliver(all(ofType('VoteRequest'), to(3)));
    cluster.deliver(all(ofType('VoteResponse'), from(3)));
    const leader = cluster.node(1);
    expect(leader.role()).toBe('leader');
    expect(leader.term()).toBe(2);
    expect(leader.leader()).toBe(1);
    // The noop of term 2 follows the two older entries, and it was handed to the disk.
    const noop = leader.log.entry(3)!;
    expect(noop).toMatchObject({ index: 3, term: 2, kind: 'noop' });
    expect(noop.data.length).toBe(0);
    expect(cluster.disk(1).entries.at(-1)).toEqual(noop);
    // Every follower is probed with an AppendRequest of the new term.
    const appends = only(cluster.peek(from(1)), 'AppendRequest');
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3, 4, 5]);
    for (const append of appends) {
      expect(append.term).toBe(2);
      expect(append.prevLogIndex).toBe(2);
      expect(append.entries.map((e) => e.kind)).toEqual(['noop']);
    }
  });

  it('5.2 of two candidates in one term, the one refused by a majority does not become leader', () => {
    const cluster = new Cluster();
    // Both reach their timeouts, and node 3 grants both PreVotes, as it may: a PreVote binds nothing.
    cluster.tickUntilCampaign(1);
    cluster.tickUntilCampaign(2);
    cluster.drop(between(1, 2));
    cluster.deliver(all(ofType('VoteRequest'), to(3)));
    cluster.deliver(all(ofType('VoteResponse'), to(1, 2)));
    expect(cluster.node(1).role()).toBe('candidate');
    expect(cluster.node(2).role()).toBe('candidate');
    expect(cluster.node(1).term()).toBe(1);
    expect(cluster.node(2).term()).toBe(1);
    // Node 2's request reaches node 3 first; node 1's request then finds node 3's vote taken.
    cluster.deliver(all(ofType('VoteRequest'), from(2), to(3)));
    cluster.deliver(all(ofType('VoteRequest'), from(1), to(3)));
    cluster.deliver(all(ofType('VoteRequest'), between(1, 2)));
    const answers = only(cluster.peek(), 'VoteResponse');
    expect(answers.filter((m) => m.to === 1).map((m) => m.granted)).toEqual([false, false]);
    expect(answers.filter((m) => m.to === 2).map((m) => [m.from, m.granted])).toEqual([
      [3, true],
      [1, false],
    ]);
    cluster.deliver(ofType('VoteResponse'));
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(2).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(1);
  });

  it('5.2 a candidate that hears from a leader of its own term steps down to follower', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    cluster.deliver(all(ofType('VoteRequest'), to(2)));
    cluster.deliver(all(ofType('VoteResponse'), to(1)));
    expect(cluster.node(1).role()).toBe('candidate');
    cluster.node(1).step(appendRequest({ from: 3, to: 1, term: 1, prevLogIndex: 0, prevLogTerm: 0 }));
    cluster.flush(1);
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(1).leader()).toBe(3);
    expect(cluster.node(1).term()).toBe(1);
  });

  it('5.2 the new leader commits its noop once a majority has it durably, and followers learn the commit', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    expect(cluster.node(1).commitIndex()).toBe(1);
    expect(cluster.applied.get(1)!.map((e) => e.kind)).toEqual(['noop']);
    // The followers hold the noop but learn that it is committed from the next message.
    expect(cluster.node(2).lastIndex()).toBe(1);
    cluster.tick(1);
    cluster.stabilize();
    for (const id of [2, 3]) {
      expect(cluster.node(id).commitIndex()).toBe(1);
      expect(cluster.applied.get(id)!.map((e) => e.kind)).toEqual(['noop']);
    }
  });
});
