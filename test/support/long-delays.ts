import { SimCluster, type ClusterTiming } from '../../sim/cluster.js';
import { longDelaysNetworkModel } from '../../sim/network.js';
import { SimRandom } from '../../sim/random.js';
import { SteadyProposer } from '../../sim/workload.js';

/** Long reordering as an external Raft test suite found it: two thirds of the messages held back 200 to 2,200 ms. */
export const LONG_REORDERING = { fraction: 2 / 3, minMs: 200, maxMs: 2200 } as const;

export interface AvailabilityFigures {
  /** The share of sampled moments at which a live node led in the newest term any live node held. */
  readonly leaderShare: number;
  /** Commands committed, out of those the client proposed. */
  readonly commandsCommitted: number;
  readonly proposals: number;
  readonly elections: number;
  readonly violations: number;
}

/**
 * Runs a 5-node cluster under long reordering with a client proposing 20
 * commands a second, and samples every 10 ms whether it has a leader.
 * `timing` undefined keeps the simulator's default timing.
 */
export function measureUnderLongReordering(seed: number, timing: ClusterTiming | undefined, durationMs: number): AvailabilityFigures {
  const cluster = new SimCluster({
    nodes: 5,
    seed,
    ...timing,
    networkModel: longDelaysNetworkModel(LONG_REORDERING),
    onWarning: () => undefined,
  });
  const proposer = new SteadyProposer(cluster, SimRandom.stream(seed, 'workload'), { proposalsPerSecond: 20, startMs: 0, stopMs: durationMs });
  proposer.start();
  let samples = 0;
  let withLeader = 0;
  for (let t = 0; t < durationMs; t += 10) {
    cluster.runFor(10);
    samples++;
    const leader = cluster.leader();
    const newestTerm = Math.max(...cluster.statuses().map((status) => status.term));
    if (leader !== undefined && cluster.status(leader).term === newestTerm) withLeader++;
  }
  return {
    leaderShare: withLeader / samples,
    commandsCommitted: cluster.commandsCommitted(),
    proposals: proposer.attempts,
    elections: cluster.checker.elections.length,
    violations: cluster.violations().length,
  };
}
