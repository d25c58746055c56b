import { describe, expect, it } from 'vitest';
import { plantedNodeFactory } from '../support/planted-bugs.js';
import type { Entry } from '../../src/raft/types.js';
import { appendRequest, Cluster, durable, entry, logOfTerms, type NodeFactory } from './harness.js';

// Figure 2, AppendEntries rule 5: if leaderCommit > commitIndex, set commitIndex =
// min(leaderCommit, index of last new entry). The bound is the last entry this request
// proved to match the leader, not the end of the follower's log: entries beyond it may
// be stale leftovers of an old term that the leader has not yet overwritten.

/** Follower 1 holds [1:1, 2:1, 3:2, 4:2]; entries 3 and 4 are leftovers of a deposed leader of term 2. */
function followerWithLeftovers(create?: NodeFactory): Cluster {
  return new Cluster({ durable: { 1: durable(logOfTerms(1, 1, 2, 2), 2) }, ...(create ? { create } : {}) });
}

function append(cluster: Cluster, prevLogIndex: number, prevLogTerm: number, entries: Entry[], leaderCommit: number): void {
  cluster.node(1).step(appendRequest({ from: 2, to: 1, term: 3, prevLogIndex, prevLogTerm, entries, leaderCommit }));
  cluster.flush(1);
  cluster.drop();
}

const commitsToLastIndex: NodeFactory = plantedNodeFactory('commit-beyond-last-new-entry');

describe('5.3 / Figure 2 follower commit = min(leaderCommit, index of last new entry)', () => {
  it('5.3 a leaderCommit beyond the request does not commit the stale entries after it', () => {
    const cluster = followerWithLeftovers();
    // The new leader's log is [1:1, 2:1, 3:3, 4:3, 5:3] with commit 5; this request carries entry 2 only.
    append(cluster, 1, 1, [entry(2, 1)], 5);
    expect(cluster.node(1).commitIndex()).toBe(2);
    expect(cluster.applied.get(1)!.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('5.3 an empty request commits up to its prevLogIndex only', () => {
    const cluster = followerWithLeftovers();
    append(cluster, 2, 1, [], 5);
    expect(cluster.node(1).commitIndex()).toBe(2);
  });

  it('5.3 a leaderCommit below the last new entry is the bound', () => {
    const cluster = new Cluster();
    append(cluster, 0, 0, [entry(1, 3), entry(2, 3), entry(3, 3)], 2);
    expect(cluster.node(1).commitIndex()).toBe(2);
    expect(cluster.applied.get(1)!.map((e) => e.index)).toEqual([1, 2]);
  });

  it('5.3 the commit index never goes back when a request with a lower leaderCommit arrives late', () => {
    const cluster = new Cluster();
    append(cluster, 0, 0, [entry(1, 3), entry(2, 3), entry(3, 3)], 3);
    append(cluster, 0, 0, [entry(1, 3)], 1);
    expect(cluster.node(1).commitIndex()).toBe(3);
  });

  it('5.3 the leftover test catches a planted bug that bounds the commit by the last index (so it can fail)', () => {
    const cluster = followerWithLeftovers(commitsToLastIndex);
    append(cluster, 1, 1, [entry(2, 1)], 5);
    // The broken variant commits and applies entries 3 and 4 of term 2, which the leader will overwrite.
    expect(cluster.node(1).commitIndex()).toBe(4);
  });
});
