import { DEFAULT_RAFT_OPTIONS, type RaftOptions } from '../raft/config.js';

/**
 * How fast a cluster's clocks tick and how many ticks its elections and
 * heartbeats take: the timing that decides which network delays Raft tolerates.
 */
export interface ClusterTiming {
  /** Time between two ticks of a node's Raft core, in ms. */
  readonly tickMs: number;
  readonly raft: Readonly<Pick<RaftOptions, 'electionTicksMin' | 'heartbeatTicks'>>;
}

/**
 * Real mode's timing, which `builtInClusterConfig()` and a cluster.yaml
 * without `tickMs` or `raft` use: 100 ms ticks, elections after 1 to 2 s
 * without a leader, heartbeats every 100 ms. Built from constants only, so
 * the simulator can offer it without loading real mode's I/O.
 */
export const REAL_MODE_TIMING: ClusterTiming = {
  tickMs: 100,
  raft: { electionTicksMin: DEFAULT_RAFT_OPTIONS.electionTicksMin, heartbeatTicks: DEFAULT_RAFT_OPTIONS.heartbeatTicks },
};
