import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';
import { commitEverywhere, runSimulation } from '../../sim/run.js';
import { plantedNodeFactory } from '../support/planted-bugs.js';

describe('liveness phase', () => {
  it('fails a core that is safe but never commits', () => {
    const result = runSimulation({ seed: 1, nodes: 3, durationMs: 5000, cluster: { createNode: plantedNodeFactory('never-commit') } });
    expect(result.violations).toEqual([]);
    expect(result.committedIndex).toBe(0);
    expect(result.liveness.problems).toHaveLength(1);
    expect(result.liveness.problems[0]).toContain('was not committed and applied on every live node');
  });

  it('passes the correct core on the same run, with a fresh command applied everywhere', () => {
    const result = runSimulation({ seed: 1, nodes: 3, durationMs: 5000 });
    expect(result.liveness.problems).toEqual([]);
    expect(result.liveness.convergedAfterEndMs).toBeDefined();
  });

  it('commitEverywhere re-proposes when leadership moves and waits for every live node', () => {
    const cluster = new SimCluster({ nodes: 5, seed: 4 });
    cluster.runUntil((c) => c.leader() !== undefined, 5000);
    const leader = cluster.leader()!;
    cluster.disconnect(leader);
    cluster.after(20, 'reconnect', () => cluster.reconnect(leader));
    expect(commitEverywhere(cluster, 'probe', 5000)).toBe(true);
    const last = (id: number) => cluster.applied(id).at(-1)!;
    const decoder = new TextDecoder();
    for (const id of cluster.nodeIds) expect(decoder.decode(last(id).data)).toBe('probe');
  });
});

describe('slow disks', () => {
  it('heartbeats do not wait behind a slow fsync, so followers keep their leader', () => {
    // Sync latency up to 150 ms against elections after 150 to 300 ms: if
    // heartbeats and their answers queued behind the leader's writes, followers
    // would time out and call elections again and again.
    const cluster = new SimCluster({ nodes: 3, seed: 1, disk: { syncLatencyMinMs: 75, syncLatencyMaxMs: 150 } });
    cluster.runUntil((c) => c.leader() !== undefined, 5000);
    const leader = cluster.leader()!;
    for (let i = 0; i < 200; i++) {
      cluster.propose(leader, `command ${i}`);
      cluster.runFor(50);
    }
    expect(cluster.checker.elections).toHaveLength(1);
    expect(cluster.checker.committedIndex()).toBeGreaterThan(190);
    expect(cluster.violations()).toEqual([]);
  });
});
