import { describe, expect, it } from 'vitest';
import { appendResponse } from '../../src/raft/messages.js';
import { all, Cluster, from, GROUP, ofType, only, to } from './harness.js';

// Section 5.3 leaves the pacing of AppendEntries to the implementation; this core
// follows etcd-raft. A follower whose match is known (replicate state) gets a stream
// of AppendRequests without waiting for answers, bounded by inflightAppendsMax so a
// slow follower cannot make the leader buffer without limit. A follower whose match is
// unknown (probe state) gets one request at a time, since most of a blind stream
// would be rejected.

const inflightAppendsMax = 4;

function replicatingCluster(): Cluster {
  const cluster = new Cluster({ options: { inflightAppendsMax } });
  cluster.elect(1);
  cluster.stabilize();
  expect(cluster.node(1).progressOf(2)?.state).toBe('replicate');
  return cluster;
}

/** Proposals that arrive one at a time, each taken by the driver before the next: each makes an append of its own. */
function proposeMany(cluster: Cluster, count: number): void {
  for (let i = 0; i < count; i++) {
    expect(cluster.node(1).propose(new Uint8Array([i])).ok).toBe(true);
    cluster.flush(1);
  }
}

describe('5.3 pipelining AppendRequests in replicate state', () => {
  it('5.3 the leader streams several AppendRequests without waiting, at most inflightAppendsMax', () => {
    const cluster = replicatingCluster();
    proposeMany(cluster, 10);
    const appends = only(cluster.peek(to(2)), 'AppendRequest');
    expect(appends).toHaveLength(inflightAppendsMax);
    expect(appends.map((m) => m.prevLogIndex)).toEqual([1, 2, 3, 4]);
  });

  it('5.3 each acknowledgement frees one slot, and the next request carries the backlog', () => {
    const cluster = replicatingCluster();
    proposeMany(cluster, 10);
    cluster.drop(to(3));
    const first = cluster.take(to(2))[0]!;
    cluster.stepAll([first]);
    cluster.deliver(all(ofType('AppendResponse'), from(2)));
    const next = only(cluster.peek(to(2)), 'AppendRequest');
    expect(next).toHaveLength(1);
    expect(next[0]!.prevLogIndex).toBe(5);
    expect(next[0]!.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('5.3 a follower accepts the streamed requests in order and acknowledges each', () => {
    const cluster = replicatingCluster();
    proposeMany(cluster, 4);
    cluster.drop(to(3));
    cluster.deliver(to(2));
    const answers = only(cluster.peek(from(2)), 'AppendResponse');
    expect(answers.map((m) => [m.success, m.matchIndex])).toEqual([
      [true, 2],
      [true, 3],
      [true, 4],
      [true, 5],
    ]);
  });

  it('5.3 in probe state only one request is outstanding, however many proposals arrive', () => {
    const cluster = new Cluster({ options: { inflightAppendsMax } });
    cluster.elect(1);
    expect(cluster.node(1).progressOf(2)?.state).toBe('probe');
    proposeMany(cluster, 5);
    expect(only(cluster.peek(to(2)), 'AppendRequest')).toHaveLength(1);
  });

  it('5.3 a lost request in the stream makes the next one fail; the leader probes and resends from the gap', () => {
    const cluster = replicatingCluster();
    proposeMany(cluster, 3);
    cluster.drop(to(3));
    const [lost, ...rest] = cluster.take(to(2));
    expect(lost).toBeDefined();
    cluster.stepAll(rest);
    const rejections = only(cluster.peek(from(2)), 'AppendResponse');
    expect(rejections.map((m) => [m.success, m.conflictIndex])).toEqual([
      [false, 2],
      [false, 2],
    ]);
    cluster.deliver(from(2));
    expect(cluster.node(1).progressOf(2)?.state).toBe('probe');
    const resend = only(cluster.peek(to(2)), 'AppendRequest');
    expect(resend).toHaveLength(1);
    expect(resend[0]!.entries.map((e) => e.index)).toEqual([2, 3, 4]);
    cluster.stabilize(all(from(1, 2), to(1, 2)));
    expect(cluster.node(2).lastIndex()).toBe(4);
    expect(cluster.node(1).progressOf(2)?.state).toBe('replicate');
  });

  it('5.3 a heartbeat answered before a later append arrives does not make the leader resend that append', () => {
    // On a link that keeps order, the follower answers a heartbeat before it can see an
    // append sent after that heartbeat, so the answer says nothing about the append
    // being lost. Resending it anyway, and dropping to probe state, turns the pipeline
    // into stop-and-wait under steady load whenever a round trip exceeds heartbeatTicks.
    const cluster = replicatingCluster();
    cluster.tick(1);
    proposeMany(cluster, 1);
    const heartbeats = cluster.take((m) => m.type === 'Heartbeat' && m.to === 2);
    cluster.drop((m) => m.to === 3);
    cluster.stepAll(heartbeats);
    const before = cluster.sent.length;
    cluster.deliver((m) => m.type === 'HeartbeatResponse');
    const resent = only(cluster.sent.slice(before), 'AppendRequest');
    expect(resent).toEqual([]);
    expect(cluster.node(1).progressOf(2)?.state).toBe('replicate');
    // The append was never lost: it is still on its way and is accepted when it lands.
    cluster.deliver(to(2));
    cluster.deliver(from(2));
    expect(cluster.node(1).progressOf(2)).toMatchObject({ state: 'replicate', match: 2 });
  });

  it('5.3 an append that really was lost is resent once the heartbeat after the next one is answered', () => {
    const cluster = replicatingCluster();
    proposeMany(cluster, 1);
    cluster.drop(ofType('AppendRequest'));
    // The first heartbeat after the append may have overtaken it; only when the
    // follower answers the second one and the append is still unacknowledged does
    // the leader count it as lost.
    cluster.tick(1);
    cluster.stabilize(all(from(1, 2), to(1, 2)));
    expect(cluster.node(2).lastIndex()).toBe(1);
    cluster.tick(1);
    cluster.stabilize(all(from(1, 2), to(1, 2)));
    expect(cluster.node(2).lastIndex()).toBe(2);
    expect(cluster.node(1).progressOf(2)?.match).toBe(2);
  });
});

describe('5.3 a probe whose answer is lost', () => {
  it('5.3 resumes on an answer that confirms the match the leader has, as etcd-raft does', () => {
    const cluster = replicatingCluster();
    const leader = cluster.node(1);
    const match = leader.progressOf(2)!.match;
    proposeMany(cluster, 3);
    cluster.drop(to(2));
    // Node 2 rejects an append past its log: the leader falls back to probing it, one request at a time.
    leader.step(appendResponse(GROUP, 2, 1, leader.term(), false, 0, match + 2, 0, match + 1));
    cluster.flush(1);
    expect(leader.progressOf(2)?.state).toBe('probe');
    expect(only(cluster.peek(to(2)), 'AppendRequest')).toHaveLength(1);
    // That probe is lost; what arrives is a late copy of an earlier answer, at the match the leader already has.
    cluster.drop(to(2));
    leader.step(appendResponse(GROUP, 2, 1, leader.term(), true, match, 0, 0, 0));
    cluster.flush(1);
    expect(leader.progressOf(2)?.state).toBe('replicate');
    const resumed = only(cluster.peek(to(2)), 'AppendRequest');
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed[0]!.prevLogIndex).toBe(match);
  });
});

describe('proposals made in one go', () => {
  it('leave as one append per follower, carrying every new entry', () => {
    const cluster = replicatingCluster();
    for (let i = 0; i < 10; i++) expect(cluster.node(1).propose(new Uint8Array([i])).ok).toBe(true);
    cluster.flush(1);
    const appends = only(cluster.peek(to(2)), 'AppendRequest');
    expect(appends).toHaveLength(1);
    expect(appends[0]!.entries).toHaveLength(10);
  });
});
