import type { NodeId, RaftMessageType } from '../src/raft/types.js';
import type { SafetyProperty, Violation } from './checker.js';
import { SimCluster, type SimClusterOptions, type TrafficCounter } from './cluster.js';
import {
  ALL_FAULT_KINDS,
  randomFaultSchedule,
  ROLE_FAULT_KINDS,
  scheduleFaults,
  type FaultCounts,
  type FaultKind,
  type ScheduledFault,
} from './faults.js';
import { SimRandom } from './random.js';
import { SteadyProposer } from './workload.js';
import { BrokerWorkload, DEFAULT_BROKER_WORKLOAD, simulatedFinalLogs, type BrokerWorkloadOptions, type BrokerWorkloadStats } from './broker-workload.js';
import { judgeHistory, type HistoryJudged, type HistoryViolation } from './history-checker.js';
import type { History } from './history.js';
import { DEFAULT_BROKER_OPTIONS } from '../src/broker/options.js';
import { DEFAULT_BROKER_NODE_OPTIONS } from '../src/node/broker-node.js';
import { encodeBrokerCommand } from '../src/broker/commands.js';

export interface SimRunOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  /** Faults are drawn for [0, faultFraction * duration); then everything heals. */
  readonly faultFraction: number;
  readonly meanFaultIntervalMs: number;
  readonly faultKinds: readonly FaultKind[];
  /** A fixed schedule instead of a random one. */
  readonly faults: readonly ScheduledFault[] | undefined;
  readonly proposalsPerSecond: number;
  /**
   * 'raft': a client proposes opaque commands to the Raft cores (proposalsPerSecond).
   * 'broker': every node runs the broker core, and simulated publishers,
   * subscribers and readers use it over the wire protocol; their history is
   * checked at the end.
   */
  readonly workload: 'raft' | 'broker';
  readonly broker: BrokerWorkloadOptions;
  /** After healing, a leader must be elected within this much simulated time. */
  readonly leaderBoundMs: number;
  /** After the run, a fresh command must be committed and applied on every live node within this much simulated time. */
  readonly convergeBoundMs: number;
  readonly cluster: Partial<Omit<SimClusterOptions, 'nodes' | 'seed'>>;
  /** Called now and then with the simulated time reached, for progress output. */
  readonly onProgress: ((simulatedMs: number) => void) | undefined;
  /**
   * When set, every node's role, term and commit index are sampled this often
   * (for the timeline of a report). Sampling reads state between runs of
   * events and adds none, so it does not change the trace.
   */
  readonly sampleEveryMs: number | undefined;
  /** Called with the cluster before it runs, for callers that look inside (replay). */
  readonly onCluster: ((cluster: SimCluster) => void) | undefined;
}

export interface StateSample {
  readonly timeMs: number;
  /** clockAheadMs: how far the node's clock read ahead of true time (negative: behind). */
  readonly nodes: readonly { readonly role: string; readonly term: number; readonly commitIndex: number; readonly clockAheadMs: number }[];
}

export const DEFAULT_SIM_RUN_OPTIONS: SimRunOptions = {
  seed: 1,
  nodes: 5,
  durationMs: 60_000,
  faultFraction: 0.75,
  meanFaultIntervalMs: 1500,
  faultKinds: ALL_FAULT_KINDS,
  faults: undefined,
  proposalsPerSecond: 100,
  workload: 'raft',
  broker: DEFAULT_BROKER_WORKLOAD,
  leaderBoundMs: 10_000,
  convergeBoundMs: 10_000,
  // Every node's clock starts a little off and runs a little fast or slow.
  // Snapshots every few hundred entries, so that every run compacts logs and
  // sends snapshots to followers that fall behind the compaction point.
  cluster: { clocks: { offsetMsMax: 100, driftPpmMax: 200 }, snapshotEveryEntries: 150 },
  onProgress: undefined,
  sampleEveryMs: undefined,
  onCluster: undefined,
};

export interface LivenessResult {
  /** Simulated ms from healing to a leader; undefined when none came within the bound. */
  readonly leaderAfterHealMs: number | undefined;
  /** Simulated ms past the end until a fresh command was applied on every live node; undefined when it was not. */
  readonly convergedAfterEndMs: number | undefined;
  readonly problems: readonly string[];
}

export interface SimRunResult {
  readonly options: SimRunOptions;
  /** What a core (or the simulator) threw, with where the run was; the run stopped there. */
  readonly exception: string | undefined;
  /** How many times each safety property had something to judge: one at 0 was never tested by this run. */
  readonly judged: Readonly<Record<SafetyProperty, number>>;
  readonly faults: readonly ScheduledFault[];
  /**
   * For each of `faults`, in order: the node a fault aimed at a role
   * (crash-leader, isolate-leader, crash-follower, wipe-follower) struck when
   * it fired, or null when no node filled the role; undefined for every other
   * fault and for a fault that never fired.
   */
  readonly faultTargets: readonly (NodeId | null | undefined)[];
  /** How many faults of each kind fired (a fault that found nothing to act on, such as crash-leader without a leader, did not). */
  readonly faultsFired: FaultCounts;
  readonly healAtMs: number;
  readonly elections: readonly { term: number; node: number; timeUs: number }[];
  readonly proposalAttempts: number;
  readonly proposalsAccepted: number;
  readonly committedIndex: number;
  readonly appliedIndexByNode: readonly number[];
  readonly violations: readonly Violation[];
  readonly liveness: LivenessResult;
  readonly traffic: ReadonlyMap<RaftMessageType, Readonly<TrafficCounter>>;
  /** The broker's own messages (forwarding, results, relays), by type; empty in a 'raft' run. */
  readonly brokerTraffic: ReadonlyMap<string, Readonly<TrafficCounter>>;
  readonly messagesDropped: number;
  readonly messagesDuplicated: number;
  readonly events: number;
  readonly simulatedMs: number;
  readonly wallMs: number;
  readonly traceHash: string;
  /** The broker workload's outcome, in a 'broker' run. */
  readonly broker: BrokerRunResult | undefined;
  /** Node states over time, when sampleEveryMs was set. */
  readonly samples: readonly StateSample[];
}

export interface BrokerRunResult {
  readonly stats: BrokerWorkloadStats;
  readonly history: History;
  readonly violations: readonly HistoryViolation[];
  /** How many things each history property judged. */
  readonly judged: HistoryJudged;
}

/**
 * The entry at (index, term) is committed and every live node has applied it.
 * A node's own log cannot show that once it has compacted past the index (a
 * broker with max_age limits proposes its removals all the time, so snapshots
 * are taken while the probe waits), so the entry is looked up among what the
 * checker saw committed, and a node counts once it has applied that far:
 * State Machine Safety holds every node to the committed entry at each index.
 */
function appliedEverywhere(cluster: SimCluster, index: number, term: number): boolean {
  if (cluster.checker.committedEntry(index)?.term !== term) return false;
  return cluster.nodeIds.every((id) => !cluster.isUp(id) || cluster.status(id).appliedIndex >= index);
}

/**
 * Proves progress: proposes `command` to the leader of the moment until one
 * accepts it, and waits until every live node has applied it, re-proposing when
 * leadership moves on. Applying is in log order, so every live node has then
 * also applied everything committed before it. Returns whether that happened
 * within boundMs of simulated time.
 */
export function commitEverywhere(cluster: SimCluster, command: string | Uint8Array, boundMs: number): boolean {
  const deadline = cluster.nowMs() + boundMs;
  let accepted: { index: number; term: number } | undefined;
  // Everything ever committed must be applied too: a fresh command that lands
  // below the highest commit index seen means committed entries were lost.
  const done = (): boolean =>
    accepted !== undefined &&
    appliedEverywhere(cluster, accepted.index, accepted.term) &&
    cluster.nodeIds.every((id) => !cluster.isUp(id) || cluster.status(id).appliedIndex >= cluster.checker.committedIndex());
  while (!done() && cluster.nowMs() < deadline) {
    const leader = cluster.leader();
    if (leader !== undefined && (accepted === undefined || cluster.status(leader).term !== accepted.term)) {
      const outcome = cluster.propose(leader, command);
      if (outcome.accepted) accepted = { index: outcome.index, term: outcome.term };
    }
    cluster.runUntil(done, Math.min(100, deadline - cluster.nowMs()));
  }
  return done();
}

/**
 * The standard run: a steady workload through a random mix of faults, then a
 * heal, then the liveness phase. Safety is checked after every event throughout.
 */
export function runSimulation(overrides: Partial<SimRunOptions> = {}, clock: () => number = () => 0): SimRunResult {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  // Cluster options merge with the defaults rather than replace them, so that
  // passing only createNode keeps the default clock skew.
  const options: SimRunOptions = {
    ...DEFAULT_SIM_RUN_OPTIONS,
    ...Object.fromEntries(defined),
    cluster: { ...DEFAULT_SIM_RUN_OPTIONS.cluster, ...overrides.cluster },
  };
  const startedWall = clock();
  const brokerMode = options.workload === 'broker';
  const clusterOptions = brokerMode ? { ...options.cluster, broker: { ...options.cluster.broker } } : options.cluster;
  const cluster = new SimCluster({ ...clusterOptions, nodes: options.nodes, seed: options.seed });
  options.onCluster?.(cluster);
  const samples: StateSample[] = [];
  const sampler = options.sampleEveryMs === undefined ? undefined : { everyMs: options.sampleEveryMs, samples };
  const healAtMs = Math.round(options.durationMs * options.faultFraction);
  const faults =
    options.faults ??
    randomFaultSchedule(SimRandom.stream(options.seed, 'faults'), {
      nodes: options.nodes,
      durationMs: healAtMs,
      meanIntervalMs: options.meanFaultIntervalMs,
      kinds: options.faultKinds,
    });
  const faultTargets: (NodeId | null | undefined)[] = faults.map(() => undefined);
  const aimsAtRole = (fault: ScheduledFault): boolean => ROLE_FAULT_KINDS.includes(fault.action.kind);
  const faultsFired: FaultCounts = {};
  scheduleFaults(cluster, faults, faultsFired, (index, struck) => {
    if (aimsAtRole(faults[index]!)) faultTargets[index] = struck ?? null;
  });
  const proposer = new SteadyProposer(cluster, SimRandom.stream(options.seed, 'workload'), {
    proposalsPerSecond: options.proposalsPerSecond,
    startMs: 0,
    stopMs: options.durationMs,
  });
  const brokerWorkload = brokerMode ? newBrokerWorkload(cluster, options) : undefined;
  if (brokerWorkload !== undefined) brokerWorkload.start();
  else proposer.start();

  const problems: string[] = [];
  let leaderAfterHealMs: number | undefined;
  let convergedAfterEndMs: number | undefined;
  let exception: string | undefined;
  try {
    runWithProgress(cluster, healAtMs, options.onProgress, sampler);
    cluster.resetFaults();
    cluster.checker.noteHealed();
    const healedAt = cluster.nowMs();
    const electedWithinBound = cluster.runUntil((c) => c.leader() !== undefined, options.leaderBoundMs);
    leaderAfterHealMs = electedWithinBound ? cluster.nowMs() - healedAt : undefined;
    if (!electedWithinBound) problems.push(`no leader within ${options.leaderBoundMs} ms of healing`);
    runWithProgress(cluster, options.durationMs, options.onProgress, sampler);
    // Clients stop before the liveness probe, so that once every node has applied
    // everything committed, nothing more arrives before the final logs are taken.
    brokerWorkload?.stop();
    const endedAt = cluster.nowMs();
    // A broker core applies only broker commands; a DedupExpire at time 0 changes nothing.
    const probe = brokerMode ? encodeBrokerCommand({ type: 'DedupExpire', nowMs: 0 }) : 'liveness check';
    const converged = commitEverywhere(cluster, probe, options.convergeBoundMs);
    convergedAfterEndMs = converged ? cluster.nowMs() - endedAt : undefined;
    if (!converged) {
      problems.push(`a command proposed after the end was not committed and applied on every live node within ${options.convergeBoundMs} ms`);
    }
    cluster.checker.checkAfterHeal();
  } catch (error) {
    // A core (or the simulator) threw: that is this run's failure, reported with
    // its seed and replay line like any other, not the end of a sweep.
    exception = describeException(error, cluster.nowMs());
  }
  let broker: BrokerRunResult | undefined;
  if (brokerWorkload !== undefined && exception === undefined) {
    const history = brokerWorkload.finish(cluster.nowMs(), simulatedFinalLogs(cluster));
    broker = { stats: brokerWorkload.stats(), history, ...judgeHistory(history) };
  }
  return {
    exception,
    judged: { ...cluster.checker.judged },
    options,
    faults,
    faultTargets,
    faultsFired: { ...faultsFired },
    healAtMs,
    elections: cluster.checker.elections,
    proposalAttempts: proposer.attempts,
    proposalsAccepted: proposer.acceptedCount,
    committedIndex: cluster.checker.committedIndex(),
    appliedIndexByNode: cluster.statuses().map((status) => status.appliedIndex),
    violations: cluster.violations(),
    liveness: { leaderAfterHealMs, convergedAfterEndMs, problems },
    traffic: cluster.trafficByType(),
    brokerTraffic: cluster.brokerTrafficByType(),
    messagesDropped: cluster.messagesDropped(),
    messagesDuplicated: cluster.messagesDuplicated(),
    events: cluster.eventsProcessed(),
    simulatedMs: cluster.nowMs(),
    wallMs: clock() - startedWall,
    traceHash: cluster.traceHashHex(),
    broker,
    samples,
  };
}

/** An exception as a run's failure: its type, message and the first frames of its stack. */
function describeException(error: unknown, simulatedMs: number): string {
  const at = `at ${(simulatedMs / 1000).toFixed(3)}s simulated`;
  if (!(error instanceof Error)) return `threw ${String(error)} ${at}`;
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trim().startsWith('at ')).slice(0, 3).map((line) => line.trim());
  return `${error.name}: ${error.message} (${at}${frames.length > 0 ? `; ${frames.join('; ')}` : ''})`;
}

/**
 * The dedup window the history checker holds the broker to: the broker counts
 * its window in leader time, and leaders' clocks differ from simulated time by
 * their offsets and drift, so the checker uses half the window, which covers
 * any skew these runs allow.
 */
function newBrokerWorkload(cluster: SimCluster, options: SimRunOptions): BrokerWorkload {
  const brokerOptions = { ...DEFAULT_BROKER_OPTIONS, ...options.cluster.broker?.node?.broker };
  const outputBytesMax = options.cluster.broker?.node?.sessionOutputBytesMax ?? DEFAULT_BROKER_NODE_OPTIONS.sessionOutputBytesMax;
  const window = { dedupWindowMs: brokerOptions.dedupWindowMs / 2, historyMessagesMax: brokerOptions.historyMessagesMax, outputBytesMax };
  return new BrokerWorkload(cluster.clients, options.seed, options.broker, window, options.durationMs);
}

/**
 * Every live broker node's state machine, whole: among much else, each
 * stream within its max_msgs, max_bytes and max_age. Linear in the state, so
 * it runs once a simulated second rather than after every event; a broken
 * invariant throws, naming it.
 */
function checkBrokerInvariants(cluster: SimCluster): void {
  for (const id of cluster.nodeIds) cluster.broker(id)?.state.invariants();
}

function runWithProgress(
  cluster: SimCluster,
  untilMs: number,
  onProgress: ((ms: number) => void) | undefined,
  sampler: { everyMs: number; samples: StateSample[] } | undefined,
): void {
  const stepMs = sampler === undefined ? 1000 : Math.min(1000, sampler.everyMs);
  let reportedMs = cluster.nowMs();
  while (cluster.nowMs() < untilMs) {
    cluster.runFor(Math.min(stepMs, untilMs - cluster.nowMs()));
    checkBrokerInvariants(cluster);
    if (sampler !== undefined) {
      const nodes = cluster.statuses().map((status) => ({ role: status.role, term: status.term, commitIndex: status.commitIndex, clockAheadMs: cluster.clockAheadMs(status.id) }));
      sampler.samples.push({ timeMs: cluster.nowMs(), nodes });
    }
    if (cluster.nowMs() - reportedMs >= 1000 || cluster.nowMs() >= untilMs) {
      reportedMs = cluster.nowMs();
      onProgress?.(cluster.nowMs());
    }
  }
}

export function runPassed(result: SimRunResult): boolean {
  return result.exception === undefined && result.violations.length === 0 && result.liveness.problems.length === 0 && (result.broker?.violations.length ?? 0) === 0;
}
