import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';
import { formatViolation } from '../../sim/checker.js';
import { commitEverywhere } from '../../sim/run.js';
import { encodeBrokerCommand } from '../../src/broker/commands.js';
import type { NodeId } from '../../src/raft/types.js';

// A node whose clock is far off the majority's refuses to serve as leader. If
// the only node allowed to lead has the shortest log, it cannot win a vote from
// the others, and nobody else may lead: without a way out the cluster never
// elects a leader again (clock-skew.yaml seeds 45, 52 and 53 did this). The way
// out: a refused node campaigns as a last resort, leads only to bring the
// others' logs up to its own, and hands leadership to the allowed node.

const probe = (): Uint8Array => encodeBrokerCommand({ type: 'DedupExpire', nowMs: 0 });

/**
 * Three nodes; two clocks pulled 2 s apart in opposite directions, so only the
 * node in the middle is within maxClockOffsetMs (500 ms) of the majority's
 * clock. That node leads, and crashes right after both others made its last
 * entry durable but before its own slow disk did: the two refused nodes now
 * hold a newer log than the only node allowed to lead.
 */
function refusedHoldTheNewestLog(seed: number): { cluster: SimCluster; allowed: NodeId } {
  const cluster = new SimCluster({ nodes: 3, seed, broker: {} });
  expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
  cluster.setClock(1, { offsetMs: -2_000 });
  cluster.setClock(3, { offsetMs: 2_000 });
  const allowed = 2;
  expect(cluster.runUntil((c) => c.leader() === allowed && c.broker(1)!.raft.leadershipRefused() !== undefined && c.broker(3)!.raft.leadershipRefused() !== undefined, 20_000)).toBe(true);
  expect(cluster.runUntil((c) => c.status(allowed).commitIndex === c.status(allowed).lastIndex, 1_000)).toBe(true);
  cluster.setDisk(allowed, { syncLatencyMinMs: 500, syncLatencyMaxMs: 500 });
  const proposed = cluster.propose(allowed, probe());
  expect(proposed.accepted).toBe(true);
  // Committed by the two others alone: the leader's own copy is not durable yet.
  expect(cluster.runUntil((c) => c.status(allowed).commitIndex >= proposed.index, 400)).toBe(true);
  cluster.crash(allowed);
  cluster.setDisk(allowed, { syncLatencyMinMs: 0.5, syncLatencyMaxMs: 2 });
  cluster.restart(allowed);
  expect(cluster.status(allowed).lastIndex).toBeLessThan(proposed.index);
  return { cluster, allowed };
}

describe('nodes refused leadership by their clocks, holding the newest log', () => {
  it.each([1, 2, 3, 4, 5, 6])('bring the allowed node up to date and hand it leadership (seed %i)', (seed) => {
    const { cluster, allowed } = refusedHoldTheNewestLog(seed);
    expect(cluster.runUntil((c) => c.leader() === allowed, 20_000), 'the allowed node never led').toBe(true);
    for (const id of cluster.nodeIds) {
      const refusal = cluster.broker(id)!.raft.leadershipRefused();
      expect(refusal === undefined, `n${id}: ${refusal ?? 'allowed'}`).toBe(id === allowed);
    }
    expect(commitEverywhere(cluster, probe(), 10_000), 'a new command did not commit everywhere').toBe(true);
    expect(cluster.violations().map(formatViolation)).toEqual([]);
  });
});
