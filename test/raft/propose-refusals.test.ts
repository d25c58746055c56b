import { describe, expect, it } from 'vitest';
import { bytes, Cluster, heartbeat } from './harness.js';
import { DEFAULT_RAFT_OPTIONS, validateRaftOptions } from '../../src/raft/config.js';

// Section 8 (client interaction): a client that contacts a follower is told who the
// leader is, so a proposal on a non-leader fails at once with a hint instead of
// waiting. TIGER_STYLE limits: commandBytesMax refuses a command too large to
// replicate sensibly ('too-large'), and uncommittedBytesMax refuses new work while a
// leader already holds that much uncommitted data ('overloaded'), so a leader cut off
// from its followers cannot buffer without bound.

describe('8 proposals on a non-leader fail at once', () => {
  it('8 a follower refuses with reason not-leader and names the leader it follows', () => {
    const cluster = new Cluster();
    cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 4 }));
    cluster.flush(1);
    const result = cluster.node(1).propose(new Uint8Array([1]));
    expect(result).toMatchObject({ ok: false, reason: 'not-leader', leaderHint: 2, term: 4 });
    expect(result.ok === false && result.message).toMatch(/node 2/);
    // Nothing was appended and nothing waits to be written or sent.
    expect(cluster.node(1).lastIndex()).toBe(0);
    expect(cluster.node(1).hasReady()).toBe(false);
  });

  it('8 a node that knows no leader refuses with leaderHint 0', () => {
    const cluster = new Cluster();
    const result = cluster.node(1).propose(new Uint8Array([1]));
    expect(result).toMatchObject({ ok: false, reason: 'not-leader', leaderHint: 0 });
  });

  it('8 a precandidate refuses too, naming no leader', () => {
    const cluster = new Cluster();
    cluster.tickUntilCampaign(1);
    expect(cluster.node(1).propose(new Uint8Array([1]))).toMatchObject({ ok: false, reason: 'not-leader', leaderHint: 0 });
  });

  it('8 the leader accepts and reports the index and term of the new entry', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    expect(cluster.node(1).propose(new Uint8Array([1]))).toEqual({ ok: true, index: 2, term: 1 });
  });
});

describe('limits: commandBytesMax and uncommittedBytesMax', () => {
  function leader(commandBytesMax: number, uncommittedBytesMax: number): Cluster {
    const cluster = new Cluster({ options: { commandBytesMax, uncommittedBytesMax } });
    cluster.elect(1);
    cluster.stabilize();
    return cluster;
  }

  it('limits a command above commandBytesMax is refused as too-large; one at the limit is accepted', () => {
    const cluster = leader(100, 10_000);
    const refused = cluster.node(1).propose(bytes(101));
    expect(refused).toMatchObject({ ok: false, reason: 'too-large', leaderHint: 1 });
    expect(cluster.node(1).lastIndex()).toBe(1);
    expect(cluster.node(1).propose(bytes(100))).toMatchObject({ ok: true, index: 2 });
  });

  it('limits proposals beyond uncommittedBytesMax are refused as overloaded until entries commit', () => {
    const cluster = leader(100, 250);
    const node = cluster.node(1);
    expect(node.propose(bytes(100)).ok).toBe(true);
    expect(node.propose(bytes(100)).ok).toBe(true);
    expect(node.propose(bytes(100))).toMatchObject({ ok: false, reason: 'overloaded', leaderHint: 1 });
    // What still fits is accepted: 250 bytes exactly.
    expect(node.propose(bytes(50)).ok).toBe(true);
    expect(node.propose(bytes(1))).toMatchObject({ ok: false, reason: 'overloaded' });
    expect(node.lastIndex()).toBe(4);
    // Once they commit, the room is free again.
    cluster.stabilize();
    expect(node.commitIndex()).toBe(4);
    expect(node.propose(bytes(100)).ok).toBe(true);
    expect(node.propose(bytes(100)).ok).toBe(true);
  });

  it('limits a leader cut off from its followers stops accepting once uncommittedBytesMax is reached', () => {
    const cluster = leader(100, 1000);
    let accepted = 0;
    for (let i = 0; i < 50; i++) {
      if (cluster.node(1).propose(bytes(100)).ok) accepted++;
      cluster.flush(1);
      cluster.drop();
    }
    expect(accepted).toBe(10);
  });
});

describe('option checks', () => {
  it('refuses options under which a command of allowed size could never be accepted', () => {
    const problems = validateRaftOptions({ ...DEFAULT_RAFT_OPTIONS, commandBytesMax: 2048, uncommittedBytesMax: 1024 });
    expect(problems.join('\n')).toContain('uncommittedBytesMax (1024) must be at least commandBytesMax (2048)');
    expect(validateRaftOptions(DEFAULT_RAFT_OPTIONS)).toEqual([]);
  });
});
