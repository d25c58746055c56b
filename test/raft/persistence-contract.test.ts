import { describe, expect, it } from 'vitest';
import { appendRequest, Cluster, entry, GROUP, heartbeat, only, voteRequest, type Disk } from './harness.js';
import { runTurbulentSchedule } from './turbulent-schedule.js';
import type { NodeId, Ready } from '../../src/raft/types.js';

// Figure 2 ("updated on stable storage before responding to RPCs") and the Ready
// contract in src/raft/types.ts: a driver makes a Ready's hardState, truncation and
// entries durable BEFORE it sends that Ready's messages or applies its committed
// entries. That is only safe if the core never puts a message into a Ready ahead of the
// state it depends on: a vote grant before the vote, an acknowledgement before the
// acknowledged entries. These tests check the core's side of the bargain.

/** What a sent message or applied entry claims that the disk (already written for this Ready) does not back. */
function unbackedClaims(id: NodeId, ready: Pick<Ready, 'messages' | 'committedEntries'>, disk: Disk): string[] {
  const problems: string[] = [];
  const { term, vote } = disk.hardState;
  for (const m of ready.messages) {
    if (!(m.type === 'VoteRequest' && m.preVote) && !(m.type === 'VoteResponse' && m.preVote) && m.term > term) {
      problems.push(`n${id} sent ${m.type} in term ${m.term} with durable term ${term}`);
    }
    if (m.type === 'VoteResponse' && !m.preVote && m.granted && m.term === term && vote !== m.to) {
      problems.push(`n${id} granted n${m.to} a vote in term ${m.term} but its durable vote is n${vote}`);
    }
    if (m.type === 'VoteRequest' && !m.preVote && m.term === term && vote !== id) {
      problems.push(`n${id} asked for votes in term ${m.term} without a durable vote for itself`);
    }
    if (m.type === 'AppendResponse' && m.success && m.matchIndex > disk.entries.length) {
      problems.push(`n${id} acknowledged index ${m.matchIndex} with ${disk.entries.length} durable entries`);
    }
    // A leader's appends may leave before its own write (thesis 10.2.1); it only
    // counts itself toward commit once the write is durable (leader-durable-commit).
  }
  for (const e of ready.committedEntries) {
    if (disk.entries[e.index - 1]?.term !== e.term) problems.push(`n${id} applies entry ${e.index} that is not durable`);
  }
  return problems;
}

describe('Figure 2 persistence contract: a Ready sends only what its own writes back', () => {
  it('5.2 a vote grant travels in the same Ready as the hardState that records the vote', () => {
    const cluster = new Cluster();
    cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0 }));
    const ready = cluster.node(1).ready();
    expect(ready.hardState).toMatchObject({ term: 1, vote: 2 });
    expect(only(ready.messages, 'VoteResponse')).toMatchObject([{ to: 2, granted: true, preVote: false }]);
  });

  it('5.2 a candidate asks for votes in the same Ready that records its new term and its vote for itself', () => {
    const cluster = new Cluster({ options: { preVote: false } });
    cluster.tickUntilCampaign(1);
    const ready = cluster.readies.get(1)!.at(-1)!;
    expect(ready.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(only(ready.messages, 'VoteRequest')).toHaveLength(2);
  });

  it('5.2 with one Ready in flight at most, a vote granted while it is being written waits for the next Ready, together with the vote', () => {
    // The lease is not what this test is about, so CheckQuorum is off.
    const cluster = new Cluster({ options: { checkQuorum: false, readiesInFlightMax: 1 } });
    cluster.node(1).step(heartbeat({ from: 3, to: 1, term: 1 }));
    const first = cluster.persistAndSend(1)!;
    cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 2, lastLogIndex: 0, lastLogTerm: 0 }));
    // No second Ready until the first is acknowledged, so the grant cannot overtake its write.
    expect(cluster.node(1).hasReady()).toBe(false);
    expect(only(first.messages, 'VoteResponse')).toEqual([]);
    cluster.node(1).advance();
    const second = cluster.flush(1)!;
    expect(second.hardState).toMatchObject({ term: 2, vote: 2 });
    expect(only(second.messages, 'VoteResponse')).toMatchObject([{ to: 2, granted: true }]);
  });

  it('5.2 with Readies pipelined, a vote granted while one is being written leaves in the next, with the hardState that records it', () => {
    const cluster = new Cluster({ options: { checkQuorum: false, readiesInFlightMax: 2 } });
    cluster.node(1).step(heartbeat({ from: 3, to: 1, term: 1 }));
    const first = cluster.persistAndSend(1)!;
    cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 2, lastLogIndex: 0, lastLogTerm: 0 }));
    expect(only(first.messages, 'VoteResponse')).toEqual([]);
    const second = cluster.persistAndSend(1)!;
    expect(second.hardState).toMatchObject({ term: 2, vote: 2 });
    expect(only(second.messages, 'VoteResponse')).toMatchObject([{ to: 2, granted: true }]);
    // The limit holds: a third Ready waits for the first to be advanced.
    cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 2 }));
    expect(cluster.node(1).hasReady()).toBe(false);
    cluster.node(1).advance();
    expect(cluster.node(1).hasReady()).toBe(true);
  });

  it('10.2.1 with Readies pipelined, a leader counts its own entries toward commit only as each Ready that wrote them is advanced', () => {
    const cluster = new Cluster({ ids: [1, 2, 3, 4, 5] });
    cluster.elect(1);
    cluster.stabilize();
    const base = cluster.node(1).lastIndex();
    cluster.node(1).propose(new Uint8Array([1]));
    cluster.persistAndSend(1);
    cluster.node(1).propose(new Uint8Array([2]));
    cluster.persistAndSend(1);
    // Two followers acknowledge both entries: with the leader's own copy that would be a quorum of five.
    cluster.deliver((m) => m.type === 'AppendRequest' && (m.to === 2 || m.to === 3));
    cluster.flush(2);
    cluster.flush(3);
    cluster.deliver((m) => m.type === 'AppendResponse' && m.to === 1);
    expect(cluster.node(1).commitIndex()).toBe(base);
    cluster.node(1).advance();
    expect(cluster.node(1).commitIndex()).toBe(base + 1);
    cluster.node(1).advance();
    expect(cluster.node(1).commitIndex()).toBe(base + 2);
  });

  it('a snapshot install waits until the Readies before it are advanced, and goes alone', () => {
    const cluster = new Cluster({ options: { readiesInFlightMax: 4 } });
    cluster.node(1).step(appendRequest({ from: 2, to: 1, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1)] }));
    cluster.persistAndSend(1);
    cluster.node(1).step({ type: 'InstallSnapshot', group: GROUP, from: 2, to: 1, term: 1, snapshotIndex: 10, snapshotTerm: 1, size: 1, crc: 0, offset: 0, data: new Uint8Array([7]) });
    expect(cluster.node(1).hasReady()).toBe(false);
    cluster.node(1).advance();
    const install = cluster.node(1).ready();
    expect(install.snapshot).toMatchObject({ index: 10 });
    cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 1 }));
    expect(cluster.node(1).hasReady()).toBe(false);
  });

  it('5.3 a follower acknowledges new entries only in the Ready that writes them', () => {
    const cluster = new Cluster();
    cluster.node(1).step(appendRequest({ from: 2, to: 1, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, 1), entry(2, 1)] }));
    const ready = cluster.node(1).ready();
    expect(ready.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(only(ready.messages, 'AppendResponse')).toMatchObject([{ success: true, matchIndex: 2 }]);
  });

  it('10.2.1 a leader sends its new entries at once, in parallel with writing them itself', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).propose(new Uint8Array([9]));
    const immediate = cluster.node(1).takeImmediateMessages();
    expect(only(immediate, 'AppendRequest').map((m) => m.entries.map((e) => e.index))).toEqual([[2], [2]]);
    const ready = cluster.node(1).ready();
    expect(ready.entries.map((e) => e.index)).toEqual([2]);
    expect(ready.messages).toEqual([]);
  });

  it('Figure 2 every message and applied entry of a busy schedule is backed by the disk when it leaves', () => {
    const problems: string[] = [];
    let checked = 0;
    const cluster = runTurbulentSchedule(
      (id, ready, disk) => {
        checked += ready.messages.length + ready.committedEntries.length;
        problems.push(...unbackedClaims(id, ready, disk));
      },
      (id, messages, disk) => {
        checked += messages.length;
        problems.push(...unbackedClaims(id, { messages, committedEntries: [] }, disk));
      },
    );
    expect(problems).toEqual([]);
    // The schedule really exercised the contract: votes, appends, truncation, restarts.
    expect(checked).toBeGreaterThan(200);
    expect(cluster.node(2).role()).toBe('leader');
    const readies = [...cluster.readies.values()].flat();
    expect(readies.some((r) => r.truncateFrom !== undefined)).toBe(true);
  });

  it('Figure 2 the contract check itself reports a grant whose vote is not on disk (so it can fail)', () => {
    const cluster = new Cluster();
    cluster.node(1).step(voteRequest({ from: 2, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0 }));
    const ready = cluster.node(1).ready();
    // A driver that skipped the hardState write: the disk still holds term 0 and no vote.
    const stale: Disk = { hardState: { term: 0, vote: 0 }, entries: [] };
    expect(unbackedClaims(1, ready, stale)).toHaveLength(1);
    const voteless: Disk = { hardState: { term: 1, vote: 0 }, entries: [] };
    expect(unbackedClaims(1, ready, voteless)).toEqual(['n1 granted n2 a vote in term 1 but its durable vote is n0']);
  });
});
