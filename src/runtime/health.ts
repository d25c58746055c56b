// Whether a node is fit to serve, for /healthz and the chorus_ready metric.

import type { BrokerNode } from '../node/broker-node.js';

export interface NodeHealth {
  readonly ready: boolean;
  /** 'ok', or why not: 'recovering' or 'no-leader'. */
  readonly status: 'ok' | 'recovering' | 'no-leader';
  readonly detail: string;
}

/**
 * Ready when the node has caught up since it started (it has applied all its
 * leader had committed when it first heard from it; BrokerNode.recoveryState)
 * and it leads or hears from a leader now: a node re-applying its log, or cut
 * off from the leader, would serve reads from behind and cannot take
 * publishes, so a load balancer should send clients elsewhere.
 */
export function nodeHealth(core: BrokerNode): NodeHealth {
  const raft = core.raft;
  if (core.recoveryState() === 'recovering') {
    const known = raft.leaderCommitKnown();
    const behind = known > 0 ? `; applied ${core.state.appliedIndex} of the ${known} its leader has committed` : '; it has heard from no leader yet';
    return { ready: false, status: 'recovering', detail: `node ${raft.id} is catching up after its start${behind}` };
  }
  if (!raft.hearsFromLeader()) return { ready: false, status: 'no-leader', detail: `node ${raft.id} hears from no leader: an election is under way, or it is cut off` };
  return { ready: true, status: 'ok', detail: raft.role() === 'leader' ? `node ${raft.id} leads in term ${raft.term()}` : `node ${raft.id} follows n${raft.leader()} in term ${raft.term()}` };
}
