import { describe, expect, it } from 'vitest';
import { appendRequest, Cluster, durable, entry, logOfTerms, only, termsOf } from './harness.js';
import type { AppendResponse, Entry } from '../../src/raft/types.js';

// Section 5.3 (Log Matching): an AppendRequest names the index and term of the entry
// just before its new ones, and a follower that does not hold that entry rejects it.
// The rejection carries the hint of the extended paper (end of section 5.3): the
// follower's term at that index and the first index it holds of that term, or, when
// its log is too short, its last index + 1, so the leader can skip a whole term at once.

/** Follower 1 in term 2 holding [1:1, 2:1, 3:2, 4:2, 5:2]. */
function follower(): Cluster {
  return new Cluster({ durable: { 1: durable(logOfTerms(1, 1, 2, 2, 2), 2) } });
}

function send(cluster: Cluster, prevLogIndex: number, prevLogTerm: number, entries: Entry[] = []): AppendResponse {
  cluster.node(1).step(appendRequest({ from: 2, to: 1, term: 3, prevLogIndex, prevLogTerm, entries }));
  cluster.flush(1);
  const answers = only(cluster.take(), 'AppendResponse');
  expect(answers).toHaveLength(1);
  return answers[0]!;
}

describe('5.3 AppendEntries consistency check', () => {
  it('5.3 rejects when the term at prevLogIndex differs, hinting that term and its first index', () => {
    const cluster = follower();
    const response = send(cluster, 4, 3, [entry(5, 3)]);
    expect(response).toMatchObject({ success: false, term: 3, rejectedIndex: 4, conflictTerm: 2, conflictIndex: 3 });
    // A rejected request changes nothing in the log.
    expect(termsOf(cluster.node(1).log.view())).toEqual([1, 1, 2, 2, 2]);
    expect(cluster.disk(1).entries).toHaveLength(5);
  });

  it('5.3 rejects when the log is too short to hold prevLogIndex, hinting lastIndex + 1', () => {
    const response = send(follower(), 8, 3);
    expect(response).toMatchObject({ success: false, rejectedIndex: 8, conflictTerm: 0, conflictIndex: 6 });
  });

  it('5.3 the hint names the first index of the conflicting term even deep inside a run', () => {
    const cluster = new Cluster({ durable: { 1: durable(logOfTerms(1, 2, 2, 2, 2, 2, 2, 2), 2) } });
    const response = send(cluster, 7, 3);
    expect(response).toMatchObject({ success: false, conflictTerm: 2, conflictIndex: 2 });
  });

  it('5.3 accepts when prevLogIndex and prevLogTerm match, and acknowledges up to its last new entry', () => {
    const cluster = follower();
    const response = send(cluster, 5, 2, [entry(6, 3), entry(7, 3)]);
    expect(response).toMatchObject({ success: true, matchIndex: 7 });
    expect(termsOf(cluster.disk(1).entries)).toEqual([1, 1, 2, 2, 2, 3, 3]);
  });

  it('5.3 a matching request with no entries acknowledges prevLogIndex, not the end of the follower log', () => {
    // Entries 3..5 are not known to match the leader, so they must not be claimed.
    const response = send(follower(), 2, 1);
    expect(response).toMatchObject({ success: true, matchIndex: 2 });
  });

  it('5.3 index 0 matches every log', () => {
    const cluster = new Cluster();
    const response = send(cluster, 0, 0, [entry(1, 3)]);
    expect(response).toMatchObject({ success: true, matchIndex: 1 });
  });

  it('5.3 a rejection still recognises the sender as leader of its term', () => {
    const cluster = follower();
    send(cluster, 4, 3);
    expect(cluster.node(1).leader()).toBe(2);
    expect(cluster.node(1).term()).toBe(3);
  });
});
