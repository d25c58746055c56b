import type { NodeId } from '../src/raft/types.js';
import type { SimCluster } from './cluster.js';
import type { SimRandom } from './random.js';

/** One fault, as plain data so schedules can be printed, stored, generated and shrunk. */
export type FaultAction =
  | { readonly kind: 'crash'; readonly node: NodeId }
  | { readonly kind: 'restart'; readonly node: NodeId }
  /** Crash and restart after downMs: a process that dies and is brought back at once. */
  | { readonly kind: 'bounce'; readonly node: NodeId; readonly downMs: number }
  /** Whichever node leads when the fault fires; nothing happens when none does. */
  | { readonly kind: 'crash-leader' }
  /** A node that is not the leader when the fault fires (the lowest-numbered live one). */
  | { readonly kind: 'crash-follower' }
  | { readonly kind: 'isolate-leader' }
  | { readonly kind: 'isolate'; readonly node: NodeId }
  | { readonly kind: 'reconnect'; readonly node: NodeId }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly NodeId[])[] }
  | { readonly kind: 'one-way'; readonly from: readonly NodeId[]; readonly to: readonly NodeId[] }
  | { readonly kind: 'heal' }
  | { readonly kind: 'loss'; readonly rate: number }
  | { readonly kind: 'duplicate'; readonly rate: number }
  | { readonly kind: 'delay'; readonly minMs: number; readonly meanMs: number }
  | { readonly kind: 'slow-disk'; readonly node: NodeId; readonly syncMs: number }
  | { readonly kind: 'clock-drift'; readonly node: NodeId; readonly driftPpm: number }
  /** Sets the node's clock to read offsetMs from true time. */
  | { readonly kind: 'clock-offset'; readonly node: NodeId; readonly offsetMs: number }
  /** Moves the node's clock by jumpMs at once (an NTP step, a VM resumed). */
  | { readonly kind: 'clock-jump'; readonly node: NodeId; readonly jumpMs: number }
  /** A crash in the middle of a write: part of what was written but not synced survives. */
  | { readonly kind: 'torn-crash'; readonly node: NodeId }
  /**
   * The node is stopped and its data directory emptied, as an operator does to
   * rebuild a node from its peers; it stays down until restarted. Only
   * scripted: a wiped node no longer knows whom it voted for, so wiping one
   * while elections may come is unsafe by nature (see docs/storage.md).
   */
  | { readonly kind: 'wipe'; readonly node: NodeId }
  /** The same for a node that is not the leader when the fault fires (the lowest-numbered live one). */
  | { readonly kind: 'wipe-follower' }
  /** The node's disk fills up: writes that would grow its files fail with ENOSPC. */
  | { readonly kind: 'disk-full'; readonly node: NodeId }
  /**
   * A slow client: the workload client named `client` (p1, live1, reader1, ...)
   * stops reading its connections for forMs, so the nodes' output to it
   * waits (SimCluster.pauseClientReads).
   */
  | { readonly kind: 'slow-client'; readonly client: string; readonly forMs: number };

export type FaultKind = FaultAction['kind'];

export interface ScheduledFault {
  readonly atMs: number;
  readonly action: FaultAction;
}

/** What applying a fault came to: whether it fired, and the node a fault aimed at a role struck. */
export interface AppliedFault {
  readonly fired: boolean;
  readonly struck: NodeId | undefined;
}

const FIRED: AppliedFault = { fired: true, struck: undefined };
const NOT_FIRED: AppliedFault = { fired: false, struck: undefined };

/** Long delays are bounded so that a "delay" fault slows the cluster without stopping it for good. */
const DELAY_MAX_MS = 500;

/**
 * Applies a fault now. Says whether it fired (false when it found nothing to
 * act on: no leader to crash or isolate, no follower, no clients) and, for a
 * fault aimed at a role (crash-leader, isolate-leader, crash-follower,
 * wipe-follower), the node it struck; other faults name their nodes.
 */
export function applyFault(cluster: SimCluster, action: FaultAction): AppliedFault {
  switch (action.kind) {
    case 'crash':
      cluster.crash(action.node);
      break;
    case 'restart':
      cluster.restart(action.node);
      break;
    case 'bounce': {
      const node = action.node;
      cluster.crash(node);
      cluster.after(action.downMs, `restart n${node}`, () => cluster.restart(node));
      break;
    }
    case 'crash-leader': {
      const leader = cluster.leader();
      if (leader === undefined) return NOT_FIRED;
      cluster.crash(leader);
      return { fired: true, struck: leader };
    }
    case 'isolate-leader': {
      const leader = cluster.leader();
      if (leader === undefined) return NOT_FIRED;
      cluster.disconnect(leader);
      return { fired: true, struck: leader };
    }
    case 'crash-follower':
    case 'wipe-follower': {
      const leader = cluster.leader();
      const follower = cluster.nodeIds.find((id) => id !== leader && cluster.isUp(id));
      if (follower === undefined) return NOT_FIRED;
      if (action.kind === 'wipe-follower') cluster.wipe(follower);
      else cluster.crash(follower);
      return { fired: true, struck: follower };
    }
    case 'isolate':
      cluster.disconnect(action.node);
      break;
    case 'reconnect':
      cluster.reconnect(action.node);
      break;
    case 'partition':
      cluster.partition(action.groups);
      break;
    case 'one-way':
      cluster.partitionOneWay(action.from, action.to);
      break;
    case 'heal':
      cluster.heal();
      break;
    case 'loss':
      cluster.setNetwork({ loss: action.rate });
      break;
    case 'duplicate':
      cluster.setNetwork({ duplicate: action.rate });
      break;
    case 'delay':
      cluster.setNetwork({ delayMinMs: action.minMs, delayMeanMs: action.meanMs, delayMaxMs: Math.max(DELAY_MAX_MS, action.meanMs) });
      break;
    case 'slow-disk':
      cluster.setDisk(action.node, { syncLatencyMinMs: action.syncMs / 2, syncLatencyMaxMs: action.syncMs });
      break;
    case 'clock-drift':
      cluster.setClock(action.node, { driftPpm: action.driftPpm });
      break;
    case 'clock-offset':
      cluster.setClock(action.node, { offsetMs: action.offsetMs });
      break;
    case 'clock-jump':
      cluster.setClock(action.node, { offsetMs: cluster.clockOffsetMs(action.node) + action.jumpMs });
      break;
    case 'torn-crash':
      cluster.crash(action.node, { torn: true });
      break;
    case 'wipe':
      cluster.wipe(action.node);
      break;
    case 'disk-full':
      cluster.setDisk(action.node, { spaceBytes: Math.max(1, cluster.disk(action.node).usedBytes()) });
      break;
    case 'slow-client':
      return { fired: cluster.pauseClientReads(action.client, action.forMs), struck: undefined };
    default: {
      const unknown: never = action;
      throw new Error(`unknown fault ${JSON.stringify(unknown)}`);
    }
  }
  return FIRED;
}

/**
 * A fault as one line. `struck` is what applying a fault aimed at a role
 * returned: given (a node, or null when no node filled the role), the line
 * names it, as in `crash-leader n3`.
 */
export function describeFault(action: FaultAction, struck?: NodeId | null): string {
  const groups = (ids: readonly NodeId[]): string => ids.map((id) => `n${id}`).join(',');
  switch (action.kind) {
    case 'crash':
    case 'restart':
    case 'isolate':
    case 'reconnect':
      return `${action.kind} n${action.node}`;
    case 'bounce':
      return `bounce n${action.node} for ${action.downMs}ms`;
    case 'crash-leader':
    case 'crash-follower':
    case 'isolate-leader':
    case 'wipe-follower':
      if (struck === undefined) return action.kind;
      return struck === null ? `${action.kind} (none: no node filled the role)` : `${action.kind} n${struck}`;
    case 'partition':
      return `partition ${action.groups.map((group) => `{${groups(group)}}`).join(' ')}`;
    case 'one-way':
      return `one-way {${groups(action.from)}} -/-> {${groups(action.to)}}`;
    case 'heal':
      return 'heal';
    case 'loss':
    case 'duplicate':
      return `${action.kind} ${(action.rate * 100).toFixed(1)}%`;
    case 'delay':
      return `delay min ${action.minMs}ms mean ${action.meanMs}ms`;
    case 'slow-disk':
      return `slow-disk n${action.node} sync ${action.syncMs}ms`;
    case 'clock-drift':
      return `clock-drift n${action.node} ${action.driftPpm}ppm`;
    case 'clock-offset':
      return `clock-offset n${action.node} ${action.offsetMs}ms`;
    case 'clock-jump':
      return `clock-jump n${action.node} ${action.jumpMs > 0 ? '+' : ''}${action.jumpMs}ms`;
    case 'torn-crash':
    case 'wipe':
    case 'disk-full':
      return `${action.kind} n${action.node}`;
    case 'slow-client':
      return `slow-client ${action.client} for ${action.forMs}ms`;
  }
}

/** How many faults of each kind fired in a run; a kind that never fired is absent. */
export type FaultCounts = Partial<Record<FaultKind, number>>;

/**
 * Schedules every fault on the cluster at its time. Each that fires is
 * counted in `fired`, and `onApplied` hears each as it fires, with its index
 * in `faults` and the node a role fault struck. The event labels stay the
 * schedule's (`fault crash-leader`): they are part of the trace hash, and a
 * seed's trace must not change.
 */
export function scheduleFaults(
  cluster: SimCluster,
  faults: readonly ScheduledFault[],
  fired: FaultCounts = {},
  onApplied?: (index: number, struck: NodeId | undefined) => void,
): void {
  faults.forEach((fault, index) => {
    cluster.at(fault.atMs, `fault ${describeFault(fault.action)}`, () => {
      const applied = applyFault(cluster, fault.action);
      if (applied.fired) fired[fault.action.kind] = (fired[fault.action.kind] ?? 0) + 1;
      onApplied?.(index, applied.struck);
    });
  });
}

/** The faults that pick their node as they fire, by the role it has then. */
export const ROLE_FAULT_KINDS: readonly FaultKind[] = ['crash-leader', 'isolate-leader', 'crash-follower', 'wipe-follower'];

export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  'crash',
  'restart',
  'bounce',
  'crash-leader',
  'isolate-leader',
  'isolate',
  'reconnect',
  'partition',
  'one-way',
  'heal',
  'loss',
  'duplicate',
  'delay',
  'slow-disk',
  'clock-drift',
];

/**
 * Every fault kind that may strike at random: the default mix above, and the
 * clock, torn-write, full-disk and slow-client faults that scenarios and swarm
 * fuzzing draw on (not 'wipe', which only a script may ask for). The default mix stays as it was so
 * that the seeds of `chorus sim run` keep their meaning.
 */
export const EVERY_FAULT_KIND: readonly FaultKind[] = [...ALL_FAULT_KINDS, 'crash-follower', 'clock-offset', 'clock-jump', 'torn-crash', 'disk-full', 'slow-client'];

/**
 * The clients of the broker workload a random slow-client fault may pick:
 * the first publisher (every workload has one), each subscriber and the
 * history reader (sim/broker-workload.ts names them).
 */
export const SLOW_CLIENT_NAMES: readonly string[] = ['p1', 'live1', 'live2', 'replay1', 'durable1', 'ordered1', 'reader1'];

export interface RandomFaultOptions {
  readonly nodes: number;
  /** Faults happen in [0, durationMs). */
  readonly durationMs: number;
  /** The mean time between two faults. */
  readonly meanIntervalMs: number;
  readonly kinds: readonly FaultKind[];
}

/** A random schedule drawn from one stream: the "mix of faults" of `chorus sim run`. */
export function randomFaultSchedule(random: SimRandom, options: RandomFaultOptions): ScheduledFault[] {
  const faults: ScheduledFault[] = [];
  if (options.kinds.length === 0) return faults;
  let atMs = random.exponential(options.meanIntervalMs);
  while (atMs < options.durationMs) {
    faults.push({ atMs: Math.round(atMs), action: randomFault(random, options.nodes, random.pick(options.kinds)) });
    atMs += random.exponential(options.meanIntervalMs);
  }
  return faults;
}

export function randomFault(random: SimRandom, nodes: number, kind: FaultKind): FaultAction {
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const node = random.pick(ids);
  switch (kind) {
    case 'crash':
    case 'restart':
    case 'isolate':
    case 'reconnect':
      return { kind, node };
    case 'bounce':
      return { kind, node, downMs: random.pick([0, 5, 50, 500]) };
    case 'crash-leader':
    case 'crash-follower':
    case 'isolate-leader':
    case 'wipe-follower':
      return { kind };
    case 'partition': {
      const shuffled = random.shuffle(ids);
      const cut = random.int(1, Math.max(1, nodes - 1));
      return { kind, groups: [shuffled.slice(0, cut), shuffled.slice(cut)] };
    }
    case 'one-way': {
      const shuffled = random.shuffle(ids);
      const cut = random.int(1, Math.max(1, nodes - 1));
      return { kind, from: shuffled.slice(0, cut), to: shuffled.slice(cut) };
    }
    case 'heal':
      return { kind };
    case 'loss':
      return { kind, rate: random.pick([0, 0.01, 0.05, 0.2]) };
    case 'duplicate':
      return { kind, rate: random.pick([0, 0.02, 0.1]) };
    case 'delay': {
      const minMs = random.pick([1, 5, 20]);
      return { kind, minMs, meanMs: minMs * random.pick([1, 3, 10]) };
    }
    case 'slow-disk':
      return { kind, node, syncMs: random.pick([2, 20, 100]) };
    case 'clock-drift':
      return { kind, node, driftPpm: random.pick([-200_000, -1000, 0, 1000, 200_000]) };
    case 'clock-offset':
      return { kind, node, offsetMs: random.pick([-5000, -500, 0, 500, 5000]) };
    case 'clock-jump':
      return { kind, node, jumpMs: random.pick([-10_000, -1000, 1000, 10_000]) };
    case 'torn-crash':
    case 'wipe':
    case 'disk-full':
      return { kind, node };
    case 'slow-client':
      return { kind, client: random.pick(SLOW_CLIENT_NAMES), forMs: random.pick([100, 500, 2000, 5000]) };
  }
}
