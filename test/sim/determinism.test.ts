import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';

function runSteady(seed: number): SimCluster {
  const cluster = new SimCluster({ nodes: 5, seed, network: { loss: 0.02, duplicate: 0.02 } });
  for (let step = 0; step < 300; step++) {
    const leader = cluster.leader();
    if (leader !== undefined) cluster.propose(leader, `command ${step}`);
    if (step === 150 && leader !== undefined) cluster.crash(leader);
    cluster.runFor(10);
  }
  cluster.runFor(2000);
  return cluster;
}

describe('simulator determinism', () => {
  it('gives the identical trace hash for the same seed', () => {
    const first = runSteady(7);
    const second = runSteady(7);
    expect(first.eventsProcessed()).toBeGreaterThan(1000);
    expect(second.traceHashHex()).toBe(first.traceHashHex());
    expect(second.statuses()).toEqual(first.statuses());
  });

  it('gives different trace hashes for different seeds', () => {
    const hashes = new Set([1, 2, 3, 4].map((seed) => runSteady(seed).traceHashHex()));
    expect(hashes.size).toBe(4);
  });

  it('keeps every safety property through a leader crash on a lossy network', () => {
    const cluster = runSteady(11);
    expect(cluster.violations()).toEqual([]);
    expect(cluster.checker.committedIndex()).toBeGreaterThan(100);
  });
});

describe('recent events', () => {
  it('keeps the last recentEventsMax events, oldest first', () => {
    const cluster = new SimCluster({ nodes: 3, seed: 5, recentEventsMax: 7 });
    cluster.runFor(500);
    const recent = cluster.recentEvents();
    expect(recent).toHaveLength(7);
    for (let i = 1; i < recent.length; i++) {
      const ordered = recent[i - 1]!.time < recent[i]!.time || (recent[i - 1]!.time === recent[i]!.time && recent[i - 1]!.seq < recent[i]!.seq);
      expect(ordered).toBe(true);
    }
    expect(recent[6]!.time).toBeLessThanOrEqual(cluster.nowMs() * 1000);
  });
});

describe('bad simulator options', () => {
  it('names what is wrong', () => {
    expect(() => new SimCluster({ nodes: 0, seed: 1 })).toThrow(/nodes must be an integer from 1 to 15, got 0/);
    expect(() => new SimCluster({ nodes: 3, seed: 1, network: { loss: 2 } })).toThrow(/loss must be within \[0, 1\], got 2/);
    expect(() => new SimCluster({ nodes: 3, seed: 1, raft: { electionTicksMin: 4 } })).toThrow(/heartbeatTicks \(5\) must be below electionTicksMin \(4\)/);
    expect(() => new SimCluster({ nodes: 3, seed: 1, clocks: { driftPpmMax: 2_000_000 } })).toThrow(/clock drift must be within/);
    const cluster = new SimCluster({ nodes: 3, seed: 1 });
    expect(() => cluster.setClock(1, { driftPpm: -1_000_000 })).toThrow(/clock drift must be within/);
    expect(() => cluster.crash(4)).toThrow(/no node 4; nodes are 1\.\.3/);
    expect(() => cluster.partition([[1, 2], [2, 3]])).toThrow(/node 2 is in two partition groups/);
  });
});
