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
    // As the simulator does: every message is checked as it leaves (votes are recorded), every node after each step.
    let checkedSends = 0;
    const checkAll = (): void => {
      for (const message of cluster.sent.slice(checkedSends)) checker.checkSend(message);
      checkedSends = cluster.sent.length;
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

describe('Apply Order', () => {
  it("flags an applied entry that is not the one the node's log holds at its index", () => {
    const cluster = new Cluster({ ids: [1, 2, 3] });
    cluster.elect(1);
    cluster.stabilize();
    const node = cluster.node(1);
    expect(node.commitIndex()).toBeGreaterThan(0);
    const own = node.log.entry(1)!;
    const checker = new SafetyChecker(() => 0);
    for (const message of cluster.sent) checker.checkSend(message);
    checker.checkNode(node, 0);
    checker.checkApply(node, 0, own);
    expect(checker.violations).toEqual([]);
    // A copy with equal fields is still not the entry the log holds.
    const other = new SafetyChecker(() => 0);
    for (const message of cluster.sent) other.checkSend(message);
    other.checkNode(node, 0);
    other.checkApply(node, 0, { ...own });
    expect(other.violations.map((v) => `${v.property}: ${v.detail}`)).toEqual([
      'Apply Order: n1 applied an entry at index 1 that is not the one its log holds there',
    ]);
  });
});

describe('Durable Before Send', () => {
  const base = { group: 1, from: 2, to: 1 } as const;

  it('flags a vote grant, a request for votes and an acknowledgement the disk does not back', () => {
    const checker = new SafetyChecker(() => 0);
    const disk = { term: 3, vote: 0, lastIndex: 5 };
    checker.checkDurableBeforeSend({ ...base, type: 'VoteResponse', term: 3, preVote: false, granted: true }, disk);
    checker.checkDurableBeforeSend({ ...base, type: 'VoteRequest', term: 3, preVote: false, lastLogIndex: 5, lastLogTerm: 3, transfer: false }, disk);
    const ack = { ...base, type: 'AppendResponse', term: 3, success: true, matchIndex: 7, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 } as const;
    checker.checkDurableBeforeSend(ack, disk);
    checker.checkDurableBeforeSend({ ...base, type: 'HeartbeatResponse', term: 4, seq: 1, lastIndex: 5, lastTerm: 3 }, disk);
    expect(checker.violations.map((v) => v.property)).toEqual([
      'Durable Before Send',
      'Durable Before Send',
      'Durable Before Send',
      'Durable Before Send',
    ]);
  });

  it('accepts what the disk backs, and PreVotes, which promise nothing', () => {
    const checker = new SafetyChecker(() => 0);
    checker.checkDurableBeforeSend({ ...base, type: 'VoteResponse', term: 3, preVote: false, granted: true }, { term: 3, vote: 1, lastIndex: 0 });
    checker.checkDurableBeforeSend({ ...base, type: 'VoteRequest', term: 9, preVote: true, lastLogIndex: 0, lastLogTerm: 0, transfer: false }, { term: 3, vote: 0, lastIndex: 0 });
    const ack = { ...base, type: 'AppendResponse', term: 3, success: true, matchIndex: 5, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0 } as const;
    checker.checkDurableBeforeSend(ack, { term: 3, vote: 0, lastIndex: 5 });
    // A grant of term 3 queued before the node moved on to term 4: the durable
    // term 4 keeps the promise, since the node can never vote in term 3 again.
    checker.checkDurableBeforeSend({ ...base, type: 'VoteResponse', term: 3, preVote: false, granted: true }, { term: 4, vote: 0, lastIndex: 0 });
    expect(checker.violations).toEqual([]);
  });
});

describe('Election Quorum', () => {
  it('passes a leader whose votes of its term were seen leaving, and flags one whose quorum was not', () => {
    const cluster = new Cluster({ ids: [1, 2, 3] });
    cluster.elect(1);
    const seen = new SafetyChecker(() => 0);
    for (const message of cluster.sent) seen.checkSend(message);
    seen.checkNode(cluster.node(1), 0);
    expect(seen.violations).toEqual([]);
    // The same election with the voters' grants never seen sent: the candidate had only its own vote.
    const unseen = new SafetyChecker(() => 0);
    for (const message of cluster.sent) if (message.type !== 'VoteResponse') unseen.checkSend(message);
    unseen.checkNode(cluster.node(1), 0);
    expect(unseen.violations.map((v) => `${v.property}: ${v.detail}`)).toEqual([
      `Election Quorum: n1 became leader of term ${cluster.node(1).term()} with 1 of the 2 votes of that term a quorum needs`,
    ]);
  });
});

describe('Clock Covers Applied', () => {
  it('flags a hybrid clock behind a stamp the node applied, and passes one at or after it', () => {
    const checker = new SafetyChecker(() => 0);
    checker.checkAppliedStamp(2, { l: 100, c: 3 }, { l: 100, c: 3 }, 7);
    checker.checkAppliedStamp(2, { l: 101, c: 0 }, { l: 100, c: 9 }, 8);
    expect(checker.violations).toEqual([]);
    checker.checkAppliedStamp(3, { l: 100, c: 2 }, { l: 100, c: 3 }, 9);
    expect(checker.violations.map((v) => v.detail)).toEqual(['n3 applied a message stamped 100.3 at index 9, and its hybrid clock reads 100.2, behind it']);
  });
});
