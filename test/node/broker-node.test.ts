import { describe, expect, it } from 'vitest';
import { DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';
import type { DurableState, NodeId, RaftMessage } from '../../src/raft/types.js';
import { BrokerNode, type PublishOutcome, type PublishRequest } from '../../src/node/broker-node.js';

/** Each node always draws the same number, a different one per node, so election timeouts are exact and never tie. */
function fixedRandom(id: NodeId): { nextFloat: () => number } {
  return { nextFloat: () => (id - 1) * 0.3 };
}

/**
 * Three broker nodes on an in-memory network that delivers in order, with disks
 * that write at once: enough to drive the Ready contract by hand.
 */
class MiniCluster {
  readonly ids: readonly NodeId[] = [1, 2, 3];
  readonly nodes = new Map<NodeId, BrokerNode>();
  readonly outcomes = new Map<NodeId, PublishOutcome[]>();
  network: RaftMessage[] = [];

  constructor() {
    const empty: DurableState = { hardState: { term: 0, vote: 0 }, entries: [] };
    for (const id of this.ids) {
      const config = { id, group: 1, peers: this.ids, options: DEFAULT_RAFT_OPTIONS, random: fixedRandom(id) };
      this.nodes.set(id, new BrokerNode(config, empty));
      this.outcomes.set(id, []);
    }
  }

  node(id: NodeId): BrokerNode {
    return this.nodes.get(id)!;
  }

  /** Performs every Ready of a node: its writes are durable at once, then messages go and entries apply. */
  flush(id: NodeId): void {
    const node = this.node(id);
    this.network.push(...node.takeImmediateMessages());
    while (node.hasReady()) {
      const ready = node.ready();
      this.network.push(...ready.messages);
      this.outcomes.get(id)!.push(...node.advance(ready));
      this.network.push(...node.takeImmediateMessages());
    }
  }

  /** Delivers until the network is quiet, dropping what `drop` selects. */
  settle(drop: (message: RaftMessage) => boolean = () => false): void {
    for (let round = 0; round < 100 && this.network.length > 0; round++) {
      const batch = this.network;
      this.network = [];
      for (const message of batch) {
        if (drop(message)) continue;
        this.node(message.to).step(message);
        this.flush(message.to);
      }
    }
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.node(id).tick();
      this.flush(id);
    }
  }

  electLeader(id: NodeId): void {
    for (let round = 0; round < 200 && this.node(id).raft.role() !== 'leader'; round++) {
      this.tick(id);
      this.settle();
    }
    if (this.node(id).raft.role() !== 'leader') throw new Error(`node ${id} was not elected`);
    this.settle();
  }

  publish(id: NodeId, requestId: number, request: PublishRequest): PublishOutcome | undefined {
    const outcome = this.node(id).publish(requestId, request, 1_000_000 + requestId);
    this.flush(id);
    return outcome;
  }
}

const encoder = new TextEncoder();

function message(topic: string, text: string, msgId?: string): PublishRequest {
  return { topic, headers: new Map(), payload: encoder.encode(text), ...(msgId === undefined ? {} : { msgId }) };
}

describe('BrokerNode: publishes on the leader', () => {
  it('acknowledges a publish only after its entry is committed and applied', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    expect(cluster.publish(1, 7, message('orders', 'first'))).toBeUndefined();
    // The followers have not answered yet: nothing is acknowledged.
    expect(cluster.outcomes.get(1)).toEqual([]);
    cluster.settle();
    expect(cluster.outcomes.get(1)).toEqual([{ kind: 'acked', requestId: 7, topic: 'orders', offset: 1, duplicate: false }]);
  });

  it('gives successive offsets, and the original offset with duplicate: true for a repeated message id', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    cluster.publish(1, 1, message('orders', 'a', 'id-a'));
    cluster.publish(1, 2, message('orders', 'b', 'id-b'));
    cluster.publish(1, 3, message('orders', 'a again', 'id-a'));
    cluster.settle();
    const acked = cluster.outcomes.get(1)!.map((o) => (o.kind === 'acked' ? [o.requestId, o.offset, o.duplicate] : o));
    expect(acked).toEqual([
      [1, 1, false],
      [2, 2, false],
      [3, 1, true],
    ]);
    expect(cluster.node(1).state.history('orders', 1, 10)).toMatchObject({ messages: [{ offset: 1 }, { offset: 2 }] });
  });

  it('every node applies the same messages and reaches the same state', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    for (let i = 0; i < 20; i++) cluster.publish(1, i, message(i % 2 === 0 ? 'even' : 'odd', `m${i}`, `id${i}`));
    cluster.settle();
    // Followers learn the last commit index from the next heartbeat.
    cluster.tick(1);
    cluster.settle();
    const digests = cluster.ids.map((id) => cluster.node(id).state.digest());
    expect(new Set(digests).size).toBe(1);
    expect(cluster.node(2).state.history('odd', 1, 100)).toMatchObject({ messages: { length: 10 } });
  });

  it('refuses a publish on a follower at once, naming the leader', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    const outcome = cluster.publish(2, 9, message('orders', 'x'));
    expect(outcome).toMatchObject({ kind: 'failed', requestId: 9, reason: 'not-leader', retryable: true, leaderHint: 1 });
  });

  it('rejects an invalid publish before proposing it', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    const lastIndex = cluster.node(1).raft.lastIndex();
    const outcome = cluster.publish(1, 4, message('bad..topic', 'x'));
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'rejected', retryable: false });
    expect(cluster.node(1).raft.lastIndex()).toBe(lastIndex);
  });

  it('fails a publish as superseded when a new leader overwrites its entry', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(1);
    // Node 1 proposes, but its appends never leave; then nodes 2 and 3 elect node 2.
    cluster.publish(1, 5, message('orders', 'lost', 'id-lost'));
    cluster.network = [];
    const isolated = (m: RaftMessage): boolean => m.from === 1 || m.to === 1;
    // Node 3 must tick too: until its leader lease runs out it ignores candidates.
    for (let round = 0; round < 200 && cluster.node(2).raft.role() !== 'leader'; round++) {
      cluster.tick(3);
      cluster.tick(2);
      cluster.settle(isolated);
    }
    expect(cluster.node(2).raft.role()).toBe('leader');
    cluster.publish(2, 6, message('orders', 'kept', 'id-kept'));
    cluster.settle(isolated);
    // Node 1 rejoins, learns the new leader's log, and applies node 2's entry at its index.
    for (let i = 0; i < 3; i++) {
      cluster.tick(2);
      cluster.settle();
    }
    expect(cluster.outcomes.get(1)).toContainEqual(
      expect.objectContaining({ kind: 'failed', requestId: 5, reason: 'superseded', retryable: true }),
    );
    expect(cluster.outcomes.get(2)).toContainEqual({ kind: 'acked', requestId: 6, topic: 'orders', offset: 1, duplicate: false });
    expect(cluster.node(1).state.digest()).toBe(cluster.node(2).state.digest());
  });
});
