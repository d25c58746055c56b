import { describe, expect, it } from 'vitest';
import { Cluster, ofType } from './harness.js';

// A follower learns the commit index from the leader's appends. When the
// commit advances and the leader has no new entries to send, it tells the
// followers at once with an append that carries none, instead of leaving them
// to the next heartbeat: a follower's subscribers then see a message about
// one round trip after the leader's, not a heartbeat interval later.

const encoder = new TextEncoder();

describe('the commit index reaches the followers', () => {
  it('with the acknowledgements, without a tick: every follower commits what the leader committed', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const proposed = cluster.node(1).propose(encoder.encode('x'));
    expect(proposed.ok).toBe(true);
    // No tick, so no heartbeat: only appends and their answers move.
    cluster.stabilize();
    const leaderCommit = cluster.node(1).commitIndex();
    expect(proposed.ok && leaderCommit).toBeGreaterThanOrEqual(proposed.ok ? proposed.index : 0);
    expect(cluster.node(2).commitIndex()).toBe(leaderCommit);
    expect(cluster.node(3).commitIndex()).toBe(leaderCommit);
  });

  it('once per commit index: a follower that was told is not told again', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).propose(encoder.encode('x'));
    cluster.stabilize();
    // Nothing new was committed: answers to the empty appends send nothing more.
    cluster.flushAll();
    expect(cluster.peek(ofType('AppendRequest'))).toEqual([]);
  });
});

describe('committed entries taken as they commit', () => {
  it('are handed while the Ready carrying them is still being written, once a quorum of followers holds them', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const leader = cluster.node(1);
    const proposed = leader.propose(encoder.encode('x'));
    if (!proposed.ok) throw new Error(proposed.message);
    // The leader's own write is slow: its Ready is taken (the appends go out at once) but never finished.
    const ready = cluster.persistAndSend(1);
    expect(ready?.entries.map((entry) => entry.index)).toContain(proposed.index);
    // Both followers write and answer; the leader counts them, not its own disk.
    cluster.deliver((message) => message.to !== 1);
    for (const answer of cluster.take((message) => message.to === 1)) leader.step(answer);
    expect(leader.commitIndex()).toBe(proposed.index);
    const taken = leader.takeCommittedEntries();
    expect(taken.map((entry) => entry.index)).toEqual([proposed.index]);
    expect(leader.takeCommittedEntries()).toEqual([]);
    leader.advance();
    // Once taken, they are not carried again by a Ready.
    expect(leader.hasReady() ? leader.ready().committedEntries : []).toEqual([]);
  });

  it('wait while the Ready in flight carries committed entries of its own, which come first', () => {
    // One committed entry a Ready, so that a Ready leaves committed entries behind it.
    const cluster = new Cluster({ options: { committedEntriesPerReadyMax: 1 } });
    cluster.elect(1);
    cluster.stabilize();
    const leader = cluster.node(1);
    const first = leader.propose(encoder.encode('a'));
    const second = leader.propose(encoder.encode('b'));
    if (!first.ok || !second.ok) throw new Error('proposals refused');
    cluster.flush(1);
    cluster.deliver((message) => message.to !== 1);
    for (const answer of cluster.take((message) => message.to === 1)) leader.step(answer);
    expect(leader.commitIndex()).toBe(second.index);
    const ready = leader.ready();
    expect(ready.committedEntries.map((entry) => entry.index)).toEqual([first.index]);
    // The next committed entry must not be applied before the one this Ready carries.
    expect(leader.takeCommittedEntries()).toEqual([]);
    leader.advance();
    expect(leader.takeCommittedEntries().map((entry) => entry.index)).toEqual([second.index]);
  });
});
