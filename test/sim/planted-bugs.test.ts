import { describe, expect, it } from 'vitest';
import type { SafetyProperty } from '../../sim/checker.js';
import { runSimulation, type SimRunOptions } from '../../sim/run.js';
import { paperHeartbeatsFactory, plantedNodeFactory, type PlantedBugName } from '../support/planted-bugs.js';

// Each planted bug breaks one Raft rule. The simulator's checkers must catch it
// within a bounded number of seeds of a fault mix that exercises that rule, and
// the correct core must pass exactly those seeds: the checkers catch the bug, not
// the fault mix.

const SEEDS_MAX = 30;

interface Hunt {
  readonly bug: PlantedBugName;
  readonly expected: readonly SafetyProperty[];
  readonly run: Partial<SimRunOptions>;
  /** A correct core the planted one differs from in just its bug, when that is not the production core. */
  readonly baseline?: NodeFactory;
}

type NodeFactory = NonNullable<NonNullable<SimRunOptions['cluster']>['createNode']>;

const HUNTS: readonly Hunt[] = [
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
    run: {
      nodes: 3,
      durationMs: 10_000,
      meanFaultIntervalMs: 100,
      proposalsPerSecond: 200,
      faultKinds: ['bounce', 'crash-leader', 'delay', 'duplicate', 'restart'],
      cluster: { raft: { entriesPerMessageMax: 2 } },
    },
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
    run: {
      nodes: 3,
      durationMs: 10_000,
      meanFaultIntervalMs: 100,
      proposalsPerSecond: 200,
      faultKinds: ['bounce', 'crash-leader', 'delay', 'duplicate', 'restart'],
      cluster: { raft: { entriesPerMessageMax: 2 } },
    },
  },
  {
    // Pipelined appends (several in flight, two entries each) leave a gap
    // between what was sent and what a follower has acknowledged.
    bug: 'count-sent-as-matched',
    expected: ['Match Within Shared Log'],
    run: { nodes: 3, durationMs: 10_000, meanFaultIntervalMs: 200, proposalsPerSecond: 200, cluster: { raft: { entriesPerMessageMax: 2 } } },
  },
];

function firstCaughtSeed(hunt: Hunt): { seed: number; property: SafetyProperty } | undefined {
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const result = runSimulation({ ...hunt.run, seed, cluster: { ...hunt.run.cluster, createNode: plantedNodeFactory(hunt.bug) } });
    const first = result.violations[0];
    if (first !== undefined) return { seed, property: first.property };
  }
  return undefined;
}

describe('planted bugs are caught by the checkers (simulator)', () => {
  for (const hunt of HUNTS) {
    it(`catches ${hunt.bug} within ${SEEDS_MAX} seeds, and the correct core passes those seeds`, () => {
      const caught = firstCaughtSeed(hunt);
      expect(caught, `${hunt.bug} was not caught in seeds 1..${SEEDS_MAX}`).toBeDefined();
      expect(hunt.expected).toContain(caught!.property);
      const correctCores: { name: string; createNode: NodeFactory | undefined }[] = [{ name: 'correct core', createNode: undefined }];
      if (hunt.baseline !== undefined) correctCores.push({ name: "correct core with the paper's heartbeats", createNode: hunt.baseline });
      for (const core of correctCores) {
        for (let seed = 1; seed <= caught!.seed; seed++) {
          const result = runSimulation({ ...hunt.run, seed, cluster: { ...hunt.run.cluster, createNode: core.createNode } });
          expect(result.violations, `${core.name}, seed ${seed}`).toEqual([]);
          expect(result.liveness.problems, `${core.name}, seed ${seed}`).toEqual([]);
        }
      }
    });
  }
});
