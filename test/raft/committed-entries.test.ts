import { describe, expect, it } from 'vitest';
import { Cluster } from './harness.js';
import { runTurbulentSchedule } from './turbulent-schedule.js';
import type { Entry } from '../../src/raft/types.js';

// Section 5.3 and Figure 2 ("if commitIndex > lastApplied: increment lastApplied,
// apply log[lastApplied]"): a state machine applies committed entries in log order,
// each once, with no gaps. Section 5.4.3 (State Machine Safety): no two servers apply
// different entries at one index. The Ready contract restates it: committedEntries
// are gap-free, ascending, and each comes once per incarnation (a restarted node
// applies from the start again, because the commit index is volatile).

function describeEntry(e: Entry): string {
  return `${e.index}:${e.term}:${e.kind}:${new TextDecoder().decode(e.data)}`;
}

describe('5.3 committed entries come out of ready() in order, gap-free, once each', () => {
  it('5.3 every incarnation of every node applies 1, 2, 3, ... with no gap and no repeat', () => {
    const cluster = runTurbulentSchedule();
    for (const id of cluster.ids) {
      const incarnations = cluster.incarnations.get(id)!;
      for (const applied of incarnations) {
        expect(applied.map((e) => e.index)).toEqual(applied.map((_, position) => position + 1));
      }
      // The last incarnation caught up with everything committed.
      expect(incarnations.at(-1)!.length).toBe(cluster.node(id).commitIndex());
    }
    // Restarts really happened, so "once per incarnation" was exercised.
    expect(cluster.incarnations.get(1)!.length).toBe(2);
    expect(cluster.incarnations.get(3)!.length).toBe(2);
  });

  it('5.4.3 every node applies the same entry at each index', () => {
    const cluster = runTurbulentSchedule();
    const reference = cluster.incarnations.get(2)!.at(-1)!.map(describeEntry);
    expect(reference.length).toBeGreaterThan(10);
    for (const id of cluster.ids) {
      for (const applied of cluster.incarnations.get(id)!) {
        expect(applied.map(describeEntry)).toEqual(reference.slice(0, applied.length));
      }
    }
  });

  it('5.3 a commit that jumps over several entries hands them all out at once, in order', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    for (let i = 0; i < 5; i++) cluster.node(1).propose(new Uint8Array([i]));
    cluster.flush(1);
    // Followers write all five; the acknowledgement of the last arrives first.
    cluster.deliver((m) => m.type === 'AppendRequest');
    cluster.reverse();
    cluster.deliver();
    const readies = cluster.readies.get(1)!;
    const committedBatches = readies.map((r) => r.committedEntries.map((e) => e.index)).filter((b) => b.length > 0);
    expect(committedBatches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(committedBatches.at(-1)).toEqual([2, 3, 4, 5, 6]);
  });

  it('5.3 an entry is handed out once: further Readies without new commits carry no committed entries', () => {
    const cluster = new Cluster();
    cluster.elect(1);
    cluster.stabilize();
    const before = cluster.readies.get(1)!.length;
    for (let i = 0; i < 3; i++) {
      cluster.tick(1);
      cluster.stabilize();
    }
    const later = cluster.readies.get(1)!.slice(before);
    // Heartbeats went out and were answered, yet no Ready hands out an entry again.
    expect(cluster.sent.filter((m) => m.type === 'HeartbeatResponse' && m.to === 1).length).toBeGreaterThanOrEqual(6);
    expect(later.flatMap((r) => r.committedEntries)).toEqual([]);
    expect(cluster.applied.get(1)!.map((e) => e.index)).toEqual([1]);
  });

  it('limits a Ready to committedEntriesPerReadyMax entries and hands out the rest in later Readies', () => {
    const cluster = new Cluster({ options: { committedEntriesPerReadyMax: 2 } });
    cluster.elect(1);
    cluster.stabilize();
    for (let i = 0; i < 5; i++) cluster.node(1).propose(new Uint8Array([i]));
    cluster.flush(1);
    cluster.stabilize();
    // Followers learn the new commit index from the next heartbeat; a driver keeps
    // taking Readies while hasReady() says there is more to apply.
    cluster.tick(1);
    cluster.stabilize();
    cluster.flushAll();
    for (const id of cluster.ids) {
      const batches = cluster.readies.get(id)!.map((ready) => ready.committedEntries.length);
      expect(Math.max(...batches)).toBeLessThanOrEqual(2);
      expect(cluster.applied.get(id)!.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });
});
