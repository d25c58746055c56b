// How each planted bug is hunted: the simulator run (a fault mix that
// exercises the rule it breaks) that seed after seed must catch it, and the
// properties allowed to catch it. Shared by the planted-bug tests, which hold
// each bug to a few seeds, and by `npm run mutants`, which prints the table.

import type { SafetyProperty } from '../../sim/checker.js';
import { drawSwarm, swarmRunOptions } from '../../sim/fuzz.js';
import type { HistoryProperty } from '../../sim/history-checker.js';
import { runSimulation, type SimRunOptions, type SimRunResult } from '../../sim/run.js';
import { brokerOverRaftFactory, plantedBrokerFactory, type PlantedBrokerBugName } from './planted-broker-bugs.js';
import { paperHeartbeatsFactory, plantedNodeFactory, type PlantedBugName } from './planted-bugs.js';

type NodeFactory = NonNullable<NonNullable<SimRunOptions['cluster']>['createNode']>;

/** What caught a run: a safety or history property, or 'liveness' for a run that stopped making progress. */
export type Catcher = SafetyProperty | HistoryProperty | 'liveness' | 'exception';

export interface RaftHunt {
  readonly bug: PlantedBugName;
  readonly expected: readonly Catcher[];
  readonly run: Partial<SimRunOptions>;
  /** A correct core the planted one differs from in just its bug, when that is not the production core. */
  readonly baseline?: NodeFactory;
}

/**
 * Quick elections on a network that delays and duplicates, with nodes
 * restarting: where a vote a node forgot or a grant of an earlier term can
 * reach a candidate.
 */
const ELECTION_RACES: RaftHunt['run'] = {
  nodes: 3,
  durationMs: 10_000,
  meanFaultIntervalMs: 100,
  proposalsPerSecond: 200,
  faultKinds: ['bounce', 'crash-leader', 'delay', 'duplicate', 'restart'],
  cluster: { raft: { entriesPerMessageMax: 2 } },
};

export const RAFT_HUNTS: readonly RaftHunt[] = [
  {
    // Figure 8 needs a leader to re-replicate an old term's entries to a majority
    // and lose office before its own entry follows: churn the leader hard, send one
    // entry per request, and slow the network so the window stays open. One entry
    // per request on a reordering network makes a lagging follower slow to catch
    // up once the load stops, hence the longer bound for converging.
    bug: 'figure-8-commit',
    expected: ['Leader Completeness', 'State Machine Safety', 'Log Matching'],
    run: {
      nodes: 3,
      durationMs: 10_000,
      convergeBoundMs: 30_000,
      meanFaultIntervalMs: 100,
      proposalsPerSecond: 500,
      faultKinds: ['isolate-leader', 'heal', 'crash-leader', 'restart'],
      cluster: { raft: { entriesPerMessageMax: 1 }, network: { delayMinMs: 5, delayMeanMs: 20 } },
    },
  },
  {
    // A forgotten vote matters only when a node restarts inside an election and a
    // second candidate's request of the same term reaches it late.
    bug: 'forget-vote-on-restart',
    expected: ['Single Vote Per Term', 'Election Safety'],
    run: ELECTION_RACES,
  },
  {
    // A stale request only arrives late on a network that reorders and duplicates.
    bug: 'truncate-on-stale-append',
    // Dropping acknowledged entries can also surface as an acknowledgement the
    // disk no longer backs, or as a leader's match index past the follower's log.
    expected: ['Leader Completeness', 'State Machine Safety', 'Log Matching', 'Durable Before Send', 'Match Within Shared Log'],
    run: {
      nodes: 3,
      durationMs: 10_000,
      meanFaultIntervalMs: 200,
      proposalsPerSecond: 200,
      cluster: { raft: { entriesPerMessageMax: 2 } },
    },
  },
  {
    // The planted follower also heartbeats like the paper (empty appends with the
    // leader's whole commit index); our own heartbeats make the bug unreachable.
    // It surfaces when a follower holding a deposed leader's uncommitted suffix
    // gets such a heartbeat before the append that would truncate that suffix.
    bug: 'commit-beyond-last-new-entry',
    expected: ['State Machine Safety', 'Leader Completeness', 'Log Matching'],
    run: { nodes: 5, durationMs: 10_000, meanFaultIntervalMs: 200, proposalsPerSecond: 200 },
    baseline: paperHeartbeatsFactory(),
  },
  {
    // A grant of an earlier term reaches a candidate only when its campaigns
    // follow each other quickly and the network delays and duplicates answers.
    bug: 'count-stale-vote',
    expected: ['Election Quorum'],
    run: ELECTION_RACES,
  },
  {
    // Pipelined appends (several in flight, two entries each) leave a gap
    // between what was sent and what a follower has acknowledged.
    bug: 'count-sent-as-matched',
    expected: ['Match Within Shared Log'],
    run: { nodes: 3, durationMs: 10_000, meanFaultIntervalMs: 200, proposalsPerSecond: 200, cluster: { raft: { entriesPerMessageMax: 2 } } },
  },
  {
    // A leader cut off from the majority (isolated, or on the small side of a
    // partition) must step down within two election timeouts.
    bug: 'ignore-check-quorum',
    expected: ['Leadership'],
    run: { nodes: 3, durationMs: 10_000, meanFaultIntervalMs: 200, proposalsPerSecond: 200 },
  },
  {
    // Safe, but nothing commits: only the liveness phase can tell.
    bug: 'never-commit',
    expected: ['liveness'],
    run: { nodes: 3, durationMs: 5000 },
  },
];

export interface BrokerHunt {
  readonly bug: PlantedBrokerBugName;
  /** The properties that may catch it; the first is the one the bug was planted for. */
  readonly expected: readonly Catcher[];
}

/** Broker bugs are hunted by swarm fuzzing: seed k runs the swarm draw of seed k (sim/fuzz.ts). */
export const BROKER_HUNTS: readonly BrokerHunt[] = [
  { bug: 'ack-before-commit', expected: ['Acknowledged Publish Lost', 'Real-Time Order', 'Divergent Topic Order', 'Delivery Mismatch'] },
  { bug: 'clock-ahead', expected: ['Timestamp Bound'] },
  { bug: 'forget-applied-stamps', expected: ['Clock Covers Applied'] },
  // A payload no client sent is acknowledged too, so Acknowledged Publish Lost may see it first.
  { bug: 'truncate-payload', expected: ['Unpublished Message', 'Acknowledged Publish Lost'] },
  { bug: 'ack-next-offset', expected: ['Consumer Ack', 'Ordered Skip', 'Subscription Start'] },
  { bug: 'ack-stamp-without-counter', expected: ['Timestamp Order'] },
  // Only a client over its output budget meets it: the draws' small budgets and slow-client faults.
  { bug: 'drop-when-full', expected: ['Subscription Gap'] },
];

export interface RaftUnderBrokerHunt {
  /** The name the mutants table gives it, apart from the Raft-only hunt of the same bug. */
  readonly name: string;
  readonly bug: PlantedBugName;
  readonly expected: readonly Catcher[];
}

/**
 * Raft bugs hunted under the correct broker (brokerOverRaftFactory) by the
 * swarm draws of `chorus sim fuzz`: seed k runs the swarm draw of seed k, as a
 * broker bug's hunt does. Figure 8 needs a leader to commit an old term's
 * entry by counting and lose office before its own term's entry follows; only
 * the draws' leader-churn mix (sim/fuzz.ts) moves leaders that way.
 */
export const RAFT_UNDER_BROKER_HUNTS: readonly RaftUnderBrokerHunt[] = [
  { name: 'figure-8-commit-under-broker', bug: 'figure-8-commit', expected: ['Leader Completeness', 'State Machine Safety', 'Log Matching'] },
];

/** Runs the swarm draw of `seed` with the correct broker over the planted Raft core `bug`, or over the production core when undefined. */
export function runRaftUnderBrokerHunt(bug: PlantedBugName | undefined, seed: number): SimRunResult {
  const draw = drawSwarm(seed);
  const plants = bug === undefined ? {} : { broker: { createBroker: brokerOverRaftFactory(plantedNodeFactory(bug)) } };
  return runSimulation(swarmRunOptions(draw, draw.faults, plants));
}

/** Every property a run reports, in the order found (safety first), and 'liveness' or 'exception' when that is how it failed. */
export function catchersOf(result: SimRunResult): Catcher[] {
  const found: Catcher[] = [];
  if (result.exception !== undefined) found.push('exception');
  for (const violation of result.violations) found.push(violation.property);
  if (result.liveness.problems.length > 0) found.push('liveness');
  for (const violation of result.broker?.violations ?? []) found.push(violation.property);
  return [...new Set(found)];
}

/** Runs a hunt's seed with its planted core, or with `core` instead (undefined for the production core). */
export function runRaftHunt(hunt: RaftHunt, seed: number, core?: { readonly createNode: NodeFactory | undefined }): SimRunResult {
  const createNode = core === undefined ? plantedNodeFactory(hunt.bug) : core.createNode;
  return runSimulation({ ...hunt.run, seed, cluster: { ...hunt.run.cluster, createNode } });
}

export function runBrokerHunt(bug: PlantedBrokerBugName | undefined, seed: number): SimRunResult {
  const draw = drawSwarm(seed);
  const plants = bug === undefined ? {} : { broker: { createBroker: plantedBrokerFactory(bug) } };
  return runSimulation(swarmRunOptions(draw, draw.faults, plants));
}
