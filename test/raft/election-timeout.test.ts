import { describe, expect, it } from 'vitest';
import { Cluster, FixedRandom, heartbeat, only } from './harness.js';

// Section 5.2: a follower that hears from no leader for an election timeout starts
// an election, and each timeout is drawn at random from a fixed range so that
// split votes are rare. This core draws it from [electionTicksMin, 2*electionTicksMin).

describe('5.2 election timeout: a follower campaigns after its randomized timeout', () => {
  const min = 10;

  for (const draw of [0, 0.25, 0.5, 0.999]) {
    it(`5.2 campaigns after exactly min + floor(${draw} * min) ticks, inside [min, 2*min)`, () => {
      const cluster = new Cluster({ options: { electionTicksMin: min }, random: () => new FixedRandom([draw]) });
      const expected = min + Math.floor(draw * min);
      const ticks = cluster.tickUntilCampaign(1);
      expect(ticks).toBe(expected);
      expect(ticks).toBeGreaterThanOrEqual(min);
      expect(ticks).toBeLessThan(2 * min);
      // PreVote is on by default, so the first step of a campaign is a PreVote round.
      expect(cluster.node(1).role()).toBe('precandidate');
      const requests = only(cluster.peek(), 'VoteRequest');
      expect(requests.map((m) => m.to).sort()).toEqual([2, 3]);
    });
  }

  it('5.2 does not campaign one tick before its timeout', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min }, random: () => new FixedRandom([0.999]) });
    cluster.tick(1, 2 * min - 2);
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.peek()).toEqual([]);
    cluster.tick(1);
    expect(cluster.node(1).role()).toBe('precandidate');
  });

  it('5.2 a heartbeat from the leader restarts the timeout, so a follower that hears one never campaigns', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min }, random: () => new FixedRandom([0]) });
    cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 1 }));
    cluster.flush(1);
    for (let round = 0; round < 10; round++) {
      cluster.tick(1, min - 1);
      cluster.node(1).step(heartbeat({ from: 2, to: 1, term: 1 }));
      cluster.flush(1);
    }
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(1).leader()).toBe(2);
    expect(only(cluster.peek(), 'VoteRequest')).toEqual([]);
  });

  it('5.2 each new campaign draws a fresh timeout, so retries are spread out too', () => {
    // The constructor draws 0 (timeout 10); the campaign itself draws 0.9 (timeout 19).
    const cluster = new Cluster({ options: { electionTicksMin: min }, random: () => new FixedRandom([0, 0.9]) });
    expect(cluster.tickUntilCampaign(1)).toBe(10);
    cluster.drop();
    cluster.tick(1, 18);
    expect(only(cluster.peek(), 'VoteRequest')).toEqual([]);
    cluster.tick(1);
    expect(only(cluster.peek(), 'VoteRequest')).toHaveLength(2);
  });
});
