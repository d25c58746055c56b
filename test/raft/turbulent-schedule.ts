// One fixed, busy schedule shared by the contract tests: five nodes, two leaders,
// lost, duplicated and reordered messages, a partition, crashes and restarts. It is
// deterministic, so a failure replays exactly. The tests hook the Ready loop
// (Cluster.onPersisted) and read Cluster.incarnations afterwards.

import { between, Cluster, from, to, type Disk } from './harness.js';
import type { NodeId, RaftMessage, Ready } from '../../src/raft/types.js';

const encoder = new TextEncoder();

export function runTurbulentSchedule(
  onPersisted?: (id: NodeId, ready: Ready, disk: Disk) => void,
  onImmediate?: (id: NodeId, messages: readonly RaftMessage[], disk: Disk) => void,
): Cluster {
  const cluster = new Cluster({ ids: [1, 2, 3, 4, 5], options: { entriesPerMessageMax: 2, inflightAppendsMax: 3 } });
  cluster.onPersisted = onPersisted;
  cluster.onImmediate = onImmediate;
  const inMajority = (m: { from: NodeId; to: NodeId }): boolean => m.from <= 3 && m.to <= 3;

  // Node 1 leads; nodes 4 and 5 are cut off while five commands commit on 1, 2, 3.
  cluster.elect(1);
  cluster.stabilize(inMajority);
  for (let i = 0; i < 5; i++) cluster.node(1).propose(encoder.encode(`a${i}`));
  cluster.flush(1);
  cluster.duplicate(to(2));
  cluster.reverse();
  cluster.stabilize(inMajority);
  cluster.tick(1);
  cluster.stabilize(inMajority);

  // Three more reach nodes 2 and 4 only, and no answer comes back.
  for (let i = 0; i < 3; i++) cluster.node(1).propose(encoder.encode(`b${i}`));
  cluster.flush(1);
  cluster.drop(to(3, 5));
  cluster.reverse();
  cluster.deliver(from(1));
  cluster.drop();

  // Node 1 crashes; node 2 waits out its lease and wins with nodes 3 and 4.
  cluster.crash(1);
  for (const id of [3, 4]) cluster.tick(id, 10);
  cluster.elect(2, [3, 4]);
  cluster.stabilize((m) => m.from !== 5 && m.to !== 5);

  // Node 1 comes back; node 2 goes on with duplicates and reordering, and node 3 crashes and restarts midway.
  cluster.restart(1);
  for (let i = 0; i < 6; i++) {
    cluster.node(2).propose(encoder.encode(`c${i}`));
    cluster.flush(2);
    if (i % 2 === 0) cluster.duplicate(from(2));
    cluster.reverse();
    cluster.deliver();
    if (i === 3) {
      cluster.crash(3);
      cluster.restart(3);
    }
    cluster.tick(2);
    cluster.deliver();
  }
  cluster.stabilize();

  // The partition heals: node 5 catches up through heartbeats. An append counts
  // as lost only when a heartbeat sent after the next one is answered, so give
  // the leader a few rounds.
  for (let i = 0; i < 6; i++) {
    cluster.tick(2);
    cluster.stabilize();
  }
  cluster.stabilize(between(2, 5));
  return cluster;
}
