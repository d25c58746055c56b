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
