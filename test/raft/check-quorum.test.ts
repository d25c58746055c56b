import { describe, expect, it } from 'vitest';
import { between, Cluster, from, to } from './harness.js';

// Thesis section 6.2 (CheckQuorum): a leader that has not heard from a quorum for an
// election timeout steps down. Otherwise a leader cut off by a partition would go on
// accepting proposals it can never commit, and, with the lease of section 4.2.3,
// followers would keep refusing the votes that could elect a reachable leader.

describe('6.2 CheckQuorum: a leader without a quorum steps down', () => {
  const min = 10;

  it('6.2 a new leader that hears from no follower steps down after exactly electionTicksMin ticks', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.drop();
    for (let tick = 1; tick < min; tick++) {
      cluster.tick(1);
      cluster.drop();
    }
    expect(cluster.node(1).role()).toBe('leader');
    cluster.tick(1);
    const node = cluster.node(1);
    expect(node.role()).toBe('follower');
    // Stepping down is not a new term: nobody deposed it.
    expect(node.term()).toBe(1);
    expect(node.leader()).toBe(0);
    const refused = node.propose(new Uint8Array([1]));
    expect(refused).toMatchObject({ ok: false, reason: 'not-leader' });
  });

  it('6.2 a leader judged on a full silent window: it survives the window in which followers answered, not the next', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    // The followers acknowledge the noop within the first window.
    cluster.stabilize();
    for (let tick = 1; tick < 2 * min; tick++) {
      cluster.tick(1);
      cluster.drop();
    }
    expect(cluster.node(1).role()).toBe('leader');
    cluster.tick(1);
    expect(cluster.node(1).role()).toBe('follower');
  });

  it('6.2 a leader that hears from one follower of two (a quorum with itself) stays leader', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    for (let tick = 0; tick < 10 * min; tick++) {
      cluster.tick(1);
      cluster.drop(between(1, 3));
      cluster.stabilize(between(1, 2));
    }
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(1);
  });

  it('6.2 in five nodes, hearing from one follower is not a quorum', () => {
    const cluster = new Cluster({ ids: [1, 2, 3, 4, 5], options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.drop();
    for (let tick = 1; tick <= min; tick++) {
      cluster.tick(1);
      cluster.drop(to(3, 4, 5));
      cluster.stabilize(between(1, 2));
    }
    expect(cluster.node(1).role()).toBe('follower');
  });

  it('6.2 with checkQuorum off, a silent leader stays leader (the option is what the test above checks)', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min, checkQuorum: false } });
    cluster.elect(1);
    for (let tick = 0; tick < 5 * min; tick++) {
      cluster.tick(1);
      cluster.drop(from(1));
    }
    expect(cluster.node(1).role()).toBe('leader');
  });
});

describe('a follower told that its connection to the leader closed', () => {
  it('campaigns after one tick (the lowest survivor) or two, and the survivors elect one of them in a single term', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const term = cluster.node(2).term();
    cluster.crash(1);
    // Both survivors see the closed socket at once, as after kill -9 of the leader.
    cluster.node(2).peerUnreachable(1);
    cluster.node(3).peerUnreachable(1);
    for (let tick = 0; tick < 3 && cluster.node(2).role() !== 'leader' && cluster.node(3).role() !== 'leader'; tick++) {
      cluster.tick(2);
      cluster.tick(3);
      cluster.stabilize();
    }
    expect(cluster.node(2).role()).toBe('leader');
    expect(cluster.node(2).term()).toBe(term + 1);
    expect(cluster.node(3).leader()).toBe(2);
  });

  it('is only a hint: a survivor that still hears the leader turns the campaign away, and nothing changes', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const term = cluster.node(1).term();
    // Only node 2 lost its connection; the leader is alive and node 3 hears it.
    cluster.node(2).peerUnreachable(1);
    cluster.tick(2, 2);
    cluster.stabilize();
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).term()).toBe(term);
    expect(cluster.node(3).term()).toBe(term);
  });
});
