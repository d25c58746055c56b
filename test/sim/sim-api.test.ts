import { describe, expect, it } from 'vitest';
import { formatViolation } from '../../sim/checker.js';
import { REAL_MODE_TIMING, SIM_DEFAULT_TIMING, SimCluster, type ApplyEvent } from '../../sim/cluster.js';
import { longDelaysNetworkModel, networkModelByType, STANDARD_NETWORK_MODEL, type NetworkModel } from '../../sim/network.js';
import { builtInClusterConfig } from '../../src/runtime/config.js';

/** Wraps a model to record the delay it gave each message, by type. */
function recording(model: NetworkModel): { model: NetworkModel; delays: Map<string, number[]> } {
  const delays = new Map<string, number[]>();
  return {
    delays,
    model: {
      ...model,
      transitMs: (message, context) => {
        const delay = model.transitMs(message, context);
        if (delay !== undefined) delays.set(message.type, [...(delays.get(message.type) ?? []), delay]);
        return delay;
      },
    },
  };
}

function electAndCommit(cluster: SimCluster, commands: number): void {
  expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
  for (let i = 0; i < commands; i++) expect(cluster.propose(cluster.leader()!, `c${i}`).accepted).toBe(true);
  cluster.runFor(500);
}

describe('network models', () => {
  it('the standard model, passed explicitly, gives the very trace of a cluster without one', () => {
    const plain = new SimCluster({ nodes: 3, seed: 5, network: { loss: 0.02, duplicate: 0.02 } });
    const explicit = new SimCluster({ nodes: 3, seed: 5, network: { loss: 0.02, duplicate: 0.02 }, networkModel: STANDARD_NETWORK_MODEL });
    electAndCommit(plain, 20);
    electAndCommit(explicit, 20);
    expect(explicit.traceHashHex()).toBe(plain.traceHashHex());
    expect(explicit.messagesDuplicated()).toBeGreaterThan(0);
  });

  it('a model by message type slows the types it names and no other', () => {
    const { model, delays } = recording(networkModelByType({ VoteRequest: { delayMinMs: 50, delayMeanMs: 60 } }));
    const cluster = new SimCluster({ nodes: 5, seed: 3, networkModel: model });
    electAndCommit(cluster, 10);
    const votes = delays.get('VoteRequest') ?? [];
    expect(votes.length).toBeGreaterThan(0);
    expect(Math.min(...votes)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...votes)).toBeLessThanOrEqual(100);
    const appends = delays.get('AppendRequest') ?? [];
    expect(appends.length).toBeGreaterThan(0);
    expect(Math.max(...appends)).toBeLessThan(50);
    expect(cluster.violations().map(formatViolation)).toEqual([]);
  });

  it('refuses options that make a type\'s delays impossible, naming the type', () => {
    const model = networkModelByType({ HeartbeatResponse: { delayMinMs: 20 } });
    expect(() => new SimCluster({ nodes: 3, seed: 1, networkModel: model })).toThrow(
      'bad network options: HeartbeatResponse: delayMeanMs (3) must be >= delayMinMs (20)',
    );
    const cluster = new SimCluster({ nodes: 3, seed: 1, networkModel: model, network: { delayMeanMs: 30 } });
    expect(() => cluster.setNetwork({ delayMeanMs: 10 })).toThrow('HeartbeatResponse: delayMeanMs (10) must be >= delayMinMs (20)');
  });

  it('long delays hold back the share of messages asked for, within their bounds, the same way for the same seed', () => {
    const run = (): { hash: string; delays: number[] } => {
      const { model, delays } = recording(longDelaysNetworkModel({ fraction: 0.5, minMs: 200, maxMs: 400 }));
      const cluster = new SimCluster({ nodes: 3, seed: 8, networkModel: model, onWarning: () => undefined, ...REAL_MODE_TIMING });
      cluster.runFor(10_000);
      return { hash: cluster.traceHashHex(), delays: [...delays.values()].flat() };
    };
    const first = run();
    const held = first.delays.filter((delay) => delay >= 200);
    expect(first.delays.length).toBeGreaterThan(100);
    expect(held.length / first.delays.length).toBeGreaterThan(0.4);
    expect(held.length / first.delays.length).toBeLessThan(0.6);
    expect(Math.max(...held)).toBeLessThanOrEqual(400);
    expect(run()).toEqual(first);
  });

  it('a model that gives a delay that is not a number >= 0 is stopped with its message named', () => {
    const broken: NetworkModel = { transitMs: () => -1, duplicates: () => false };
    expect(() => new SimCluster({ nodes: 3, seed: 1, networkModel: broken }).runFor(1_000)).toThrow(
      /the network model gave a VoteRequest n\d->n\d a delay of -1 ms/,
    );
  });
});

describe('the apply listener and command indices', () => {
  it('keeps reporting through a crash and a restart, and numbers commands without the leaders\' noops', () => {
    const events: ApplyEvent[] = [];
    const cluster = new SimCluster({ nodes: 3, seed: 2, onApply: (event) => events.push(event) });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const firstLeader = cluster.leader()!;
    const proposed = new Map<string, number>();
    for (let i = 1; i <= 5; i++) proposed.set(`a${i}`, cluster.propose(firstLeader, `a${i}`).commandIndex);
    cluster.runFor(500);
    // A new leader (and its noop) between two batches of commands.
    cluster.crash(firstLeader);
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const secondLeader = cluster.leader()!;
    for (let i = 1; i <= 5; i++) proposed.set(`b${i}`, cluster.propose(secondLeader, `b${i}`).commandIndex);
    cluster.restart(firstLeader);
    // Ten commands and two noops.
    expect(cluster.runUntil((c) => c.statuses().every((s) => s.appliedIndex === 12), 5_000)).toBe(true);

    // The ten commands are numbered 1..10 as proposed, everywhere; the two noops are 0.
    expect([...proposed.values()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const id of cluster.nodeIds) {
      const latest = events.filter((e) => e.type === 'entry' && e.node === id && e.incarnation === (id === firstLeader ? 1 : 0));
      const commands = latest.flatMap((e) => (e.type === 'entry' && e.entry.kind === 'command' ? [[new TextDecoder().decode(e.entry.data), e.commandIndex] as const] : []));
      expect(new Map(commands)).toEqual(proposed);
      const noops = latest.filter((e) => e.type === 'entry' && e.entry.kind === 'noop');
      expect(noops.map((e) => (e.type === 'entry' ? e.commandIndex : -1))).toEqual([0, 0]);
    }
    // The restarted node applied its log again from index 1, and the listener saw it.
    const restartedIndices = events.filter((e) => e.node === firstLeader && e.incarnation === 1).map((e) => (e.type === 'entry' ? e.entry.index : -1));
    expect(restartedIndices).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(cluster.commandsCommitted()).toBe(10);
    expect(cluster.commandIndexOf(1)).toBe(0);
    expect(cluster.commandIndexOf(2)).toBe(1);
    expect(cluster.commandIndexOf(13)).toBeUndefined();
  });

  it('reports a snapshot\'s state with the commands it covers, and numbers the commands after it on', () => {
    const events: ApplyEvent[] = [];
    const cluster = new SimCluster({ nodes: 3, seed: 4, snapshotEveryEntries: 20, onApply: (event) => events.push(event) });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const follower = cluster.nodeIds.find((id) => id !== cluster.leader())!;
    cluster.crash(follower);
    for (let i = 1; i <= 120; i++) cluster.propose(cluster.leader()!, `c${i}`);
    cluster.runFor(1_000);
    cluster.restart(follower);
    for (let i = 121; i <= 130; i++) cluster.propose(cluster.leader()!, `c${i}`);
    // 130 commands and the leader's noop.
    expect(cluster.runUntil((c) => c.status(follower).appliedIndex === 131, 5_000)).toBe(true);
    const afterRestart = events.filter((e) => e.node === follower && e.incarnation === 1);
    const snapshot = afterRestart[0];
    expect(snapshot?.type).toBe('snapshot');
    if (snapshot?.type !== 'snapshot') return;
    expect(snapshot.index).toBeGreaterThan(1);
    // One leader, so one noop, at index 1.
    expect(snapshot.commandsThrough).toBe(snapshot.index - 1);
    const commandIndices = afterRestart.flatMap((e) => (e.type === 'entry' && e.entry.kind === 'command' ? [e.commandIndex] : []));
    expect(commandIndices[0]).toBe(snapshot.commandsThrough + 1);
    expect(commandIndices.at(-1)).toBe(130);
    expect(commandIndices).toEqual(Array.from({ length: commandIndices.length }, (_, i) => snapshot.commandsThrough + 1 + i));
  });

  it('a refused proposal has command index 0', () => {
    const cluster = new SimCluster({ nodes: 3, seed: 1 });
    expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
    const follower = cluster.nodeIds.find((id) => id !== cluster.leader())!;
    expect(cluster.propose(follower, 'x')).toMatchObject({ accepted: false, commandIndex: 0 });
  });
});

describe('timing', () => {
  it('REAL_MODE_TIMING is what real mode runs with', () => {
    const config = builtInClusterConfig('/base');
    expect(REAL_MODE_TIMING.tickMs).toBe(config.tickMs);
    expect(REAL_MODE_TIMING.raft.electionTicksMin).toBe(config.raft.electionTicksMin);
    expect(REAL_MODE_TIMING.raft.heartbeatTicks).toBe(config.raft.heartbeatTicks);
    const cluster = new SimCluster({ nodes: 3, seed: 1, ...REAL_MODE_TIMING });
    expect(cluster.options.tickMs).toBe(100);
    expect(cluster.runUntil((c) => c.leader() !== undefined, 10_000)).toBe(true);
    expect(cluster.nowMs()).toBeGreaterThanOrEqual(1_000);
  });

  it('SIM_DEFAULT_TIMING is the default', () => {
    const cluster = new SimCluster({ nodes: 3, seed: 1 });
    expect(cluster.options.tickMs).toBe(SIM_DEFAULT_TIMING.tickMs);
    // Every node runs once its storage has recovered, a few simulated milliseconds in.
    cluster.runFor(10);
    expect(cluster.core(1)!.options.electionTicksMin).toBe(SIM_DEFAULT_TIMING.raft.electionTicksMin);
    expect(cluster.core(1)!.options.heartbeatTicks).toBe(SIM_DEFAULT_TIMING.raft.heartbeatTicks);
  });

  it('warns in one line when delays are too long for the election timeout, and not otherwise', () => {
    const warnings: string[] = [];
    const onWarning = (line: string): void => void warnings.push(line);
    new SimCluster({ nodes: 3, seed: 1, onWarning });
    new SimCluster({ nodes: 3, seed: 1, onWarning, network: { delayMinMs: 5, delayMeanMs: 25 } });
    expect(warnings).toEqual([]);
    const long = longDelaysNetworkModel({ fraction: 2 / 3, minMs: 200, maxMs: 2200 });
    const cluster = new SimCluster({ nodes: 3, seed: 1, onWarning, networkModel: long });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: network delays average 801 ms one way, .* \(150 ms = raft\.electionTicksMin x tickMs\)/);
    expect(warnings[0]).not.toContain('\n');
    expect(cluster.timingWarning()).toBe(warnings[0]);
    // A model that says nothing of its delays is not judged.
    new SimCluster({ nodes: 3, seed: 1, onWarning, networkModel: { transitMs: () => 5_000, duplicates: () => false } });
    expect(warnings).toHaveLength(1);
  });
});
