import { describe, expect, it } from 'vitest';
import { between, Cluster, durable, logOfTerms, only, to, voteRequest } from './harness.js';

// Section 5.4.1: a voter denies its vote to a candidate whose log is less up-to-date
// than its own. Logs are compared by the term of their last entries first, and by
// length only when those terms are equal. Since a committed entry sits on a majority,
// and a winner needs a majority of votes, every leader holds every committed entry.

/** Node 1's log ends with index 3 of term 2: [1:1, 2:1, 3:2]. */
function voterWithLog(): Cluster {
  return new Cluster({ durable: { 1: durable(logOfTerms(1, 1, 2), 2) } });
}

function answer(cluster: Cluster, lastLogIndex: number, lastLogTerm: number, preVote = false): boolean {
  cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 3, lastLogIndex, lastLogTerm, preVote }));
  cluster.flush(1);
  const answers = only(cluster.take(), 'VoteResponse');
  expect(answers).toHaveLength(1);
  return answers[0]!.granted;
}

describe('5.4.1 election restriction: votes only for an at-least-as-up-to-date log', () => {
  it('5.4.1 refuses a candidate whose last term is lower, even if its log is longer', () => {
    const cluster = voterWithLog();
    expect(answer(cluster, 10, 1)).toBe(false);
    // The real request still carried a higher term, which the voter adopts without voting.
    expect(cluster.node(1).term()).toBe(3);
    expect(cluster.node(1).vote()).toBe(0);
  });

  it('5.4.1 refuses a candidate with the same last term but a shorter log', () => {
    expect(answer(voterWithLog(), 2, 2)).toBe(false);
  });

  it('5.4.1 grants a candidate with the same last term and the same length', () => {
    expect(answer(voterWithLog(), 3, 2)).toBe(true);
  });

  it('5.4.1 grants a candidate with the same last term and a longer log', () => {
    expect(answer(voterWithLog(), 7, 2)).toBe(true);
  });

  it('5.4.1 grants a candidate with a higher last term, even if its log is shorter', () => {
    expect(answer(voterWithLog(), 1, 3)).toBe(true);
  });

  it('5.4.1 + 9.6 a PreVote obeys the same restriction and leaves the term alone when refused', () => {
    const cluster = voterWithLog();
    expect(answer(cluster, 2, 2, true)).toBe(false);
    expect(cluster.node(1).term()).toBe(2);
    expect(answer(cluster, 3, 2, true)).toBe(true);
    expect(cluster.node(1).term()).toBe(2);
  });

  it('5.4.1 a node that lacks a committed entry cannot be elected; the node that has it is', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    // Entry 2 commits on nodes 1 and 2 while node 3 hears nothing.
    expect(cluster.node(1).propose(new TextEncoder().encode('x')).ok).toBe(true);
    cluster.stabilize(between(1, 2));
    expect(cluster.node(1).commitIndex()).toBe(2);
    expect(cluster.node(3).lastIndex()).toBe(1);
    cluster.crash(1);
    // Node 2 lets its lease run out (its own timeout is 15 ticks), then node 3 campaigns.
    cluster.tick(2, 10);
    cluster.tickUntilCampaign(3);
    cluster.deliver(to(2));
    const refusal = only(cluster.peek(), 'VoteResponse');
    expect(refusal).toMatchObject([{ from: 2, to: 3, granted: false }]);
    cluster.deliver(to(3));
    // With node 1 down, the refusal leaves node 3 without a quorum: it never reaches a real election.
    expect(cluster.node(3).role()).toBe('precandidate');
    expect(cluster.node(3).term()).toBe(1);
    // Node 2 holds the committed entry, so node 3 votes for it and it keeps that entry.
    cluster.elect(2, [3]);
    cluster.stabilize();
    expect(cluster.node(3).log.entry(2)?.data).toEqual(new TextEncoder().encode('x'));
  });
});
