import { describe, expect, it } from 'vitest';
import { SafetyChecker } from '../../sim/checker.js';
import type { RaftMessage } from '../../src/raft/types.js';
import { Cluster } from '../raft/harness.js';

describe('SafetyChecker', () => {
  it('does not call a leader of a lower term, elected late, a Leader Completeness violation', () => {
    // Section 5.4 promises committed entries to leaders of later terms only. Here
    // node 1's term-1 votes are delayed while node 4 is elected in term 2 and
    // commits; when the old grants land, node 1 leads term 1 without node 4's
    // entries, which is legal Raft (its term can commit nothing any more).
    const cluster = new Cluster({ ids: [1, 2, 3, 4, 5] });
    const checker = new SafetyChecker(() => 0);
    const checkAll = (): void => {
      for (const id of cluster.ids) checker.checkNode(cluster.node(id), 0);
    };
    const is =
      (type: RaftMessage['type'], from: number) =>
      (m: RaftMessage): boolean =>
        m.type === type && m.from === from;
    while (cluster.peek(is('VoteRequest', 1)).length === 0) cluster.tick(1);
    cluster.deliver((m) => m.type === 'VoteRequest' && m.from === 1 && m.preVote && (m.to === 2 || m.to === 3));
    cluster.deliver((m) => m.type === 'VoteResponse' && m.to === 1 && m.preVote);
    cluster.deliver((m) => m.type === 'VoteRequest' && m.from === 1 && !m.preVote && (m.to === 2 || m.to === 3));
    const delayedGrants = cluster.take((m) => m.type === 'VoteResponse' && m.to === 1);
    cluster.drop((m) => m.to === 1 || m.from === 1);
    cluster.elect(4, [2, 3, 5]);
    for (let i = 0; i < 6; i++) {
      cluster.drop((m) => m.to === 1);
      cluster.deliver((m) => m.to !== 1 && m.from !== 1);
    }
    cluster.tick(4, 1);
    for (let i = 0; i < 3; i++) cluster.deliver((m) => m.to !== 1 && m.from !== 1);
    checkAll();
    expect(cluster.node(4).term()).toBe(2);
    expect(checker.committedIndex()).toBeGreaterThan(0);
    cluster.stepAll(delayedGrants);
    checkAll();
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(1);
    expect(checker.violations).toEqual([]);
  });
});
