import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';
import { STANDARD_NETWORK_MODEL, type NetworkModel } from '../../sim/network.js';
import type { NodeId } from '../../src/raft/types.js';

// Faults that cut links compose: each keeps its own reason, and undoing one
// removes only its own. Reconnecting a node inside a partition must not
// reopen the links the partition holds (the adapter of an external Raft
// test suite found that it did).

const NODES = 5;

type LinkOp =
  | { readonly kind: 'disconnect'; readonly node: NodeId }
  | { readonly kind: 'reconnect'; readonly node: NodeId }
  | { readonly kind: 'partition'; readonly groupOf: readonly (number | undefined)[] }
  | { readonly kind: 'one-way'; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: 'heal-one-way'; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: 'heal' };

const nodeArbitrary = fc.integer({ min: 1, max: NODES });
const opArbitrary: fc.Arbitrary<LinkOp> = fc.oneof(
  fc.record({ kind: fc.constant('disconnect' as const), node: nodeArbitrary }),
  fc.record({ kind: fc.constant('reconnect' as const), node: nodeArbitrary }),
  // Each node's group, or undefined for a node left in no group (isolated).
  fc.record({ kind: fc.constant('partition' as const), groupOf: fc.array(fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), { minLength: NODES, maxLength: NODES }) }),
  fc.record({ kind: fc.constant('one-way' as const), from: nodeArbitrary, to: nodeArbitrary }),
  fc.record({ kind: fc.constant('heal-one-way' as const), from: nodeArbitrary, to: nodeArbitrary }),
  fc.record({ kind: fc.constant('heal' as const) }),
);

/** The rules written plainly: a link is open when neither end is disconnected, the partition puts both ends together, and no one-way cut holds it. */
class ReferenceLinks {
  readonly disconnected = new Set<NodeId>();
  /** The current partition's group of each node; all in one group when there is no partition. */
  groupOf: (number | undefined)[] = Array.from({ length: NODES + 1 }, () => 0);
  readonly oneWay = new Set<string>();

  apply(op: LinkOp): void {
    switch (op.kind) {
      case 'disconnect':
        this.disconnected.add(op.node);
        break;
      case 'reconnect':
        this.disconnected.delete(op.node);
        break;
      case 'partition':
        this.groupOf = [undefined, ...op.groupOf];
        break;
      case 'one-way':
        if (op.from !== op.to) this.oneWay.add(`${op.from}>${op.to}`);
        break;
      case 'heal-one-way':
        this.oneWay.delete(`${op.from}>${op.to}`);
        break;
      case 'heal':
        this.disconnected.clear();
        this.groupOf = this.groupOf.map(() => 0);
        this.oneWay.clear();
        break;
    }
  }

  open(from: NodeId, to: NodeId): boolean {
    const group = this.groupOf[from];
    return (
      !this.disconnected.has(from) &&
      !this.disconnected.has(to) &&
      group !== undefined &&
      group === this.groupOf[to] &&
      !this.oneWay.has(`${from}>${to}`)
    );
  }
}

function applyToCluster(cluster: SimCluster, op: LinkOp): void {
  switch (op.kind) {
    case 'disconnect':
      cluster.disconnect(op.node);
      break;
    case 'reconnect':
      cluster.reconnect(op.node);
      break;
    case 'partition': {
      const groups: NodeId[][] = [[], [], []];
      op.groupOf.forEach((group, i) => {
        if (group !== undefined) groups[group]!.push(i + 1);
      });
      cluster.partition(groups);
      break;
    }
    case 'one-way':
      cluster.partitionOneWay([op.from], [op.to]);
      break;
    case 'heal-one-way':
      cluster.healOneWay([op.from], [op.to]);
      break;
    case 'heal':
      cluster.heal();
      break;
  }
}

describe('links cut for several reasons', () => {
  it('reconnecting a node keeps the links a partition or a one-way cut still holds', () => {
    const cluster = new SimCluster({ nodes: 3, seed: 1 });
    cluster.disconnect(1);
    expect(cluster.isConnected(1)).toBe(false);
    expect(cluster.cutReasons(1, 2)).toEqual(['sender-disconnected']);
    expect(cluster.cutReasons(2, 1)).toEqual(['receiver-disconnected']);
    cluster.partition([[1, 2], [3]]);
    cluster.partitionOneWay([2], [1]);
    cluster.reconnect(1);
    expect(cluster.isConnected(1)).toBe(true);
    expect(cluster.linkOpen(1, 2)).toBe(true);
    expect(cluster.cutReasons(2, 1)).toEqual(['one-way']);
    expect(cluster.cutReasons(1, 3)).toEqual(['partition']);
    cluster.healOneWay([2], [1]);
    expect(cluster.linkOpen(2, 1)).toBe(true);
    // A link between two disconnected nodes stays cut until both reconnect.
    cluster.partition([[1, 2, 3]]);
    cluster.disconnect(2);
    cluster.disconnect(3);
    cluster.reconnect(2);
    expect(cluster.cutReasons(2, 3)).toEqual(['receiver-disconnected']);
    cluster.heal();
    expect(cluster.nodeIds.every((id) => cluster.isConnected(id))).toBe(true);
    expect(cluster.linkOpen(2, 3) && cluster.linkOpen(3, 1)).toBe(true);
  });

  it('names a node that does not exist', () => {
    const cluster = new SimCluster({ nodes: 3, seed: 1 });
    expect(() => cluster.disconnect(4)).toThrow('no node 4; nodes are 1..3');
    expect(() => cluster.isConnected(0)).toThrow('no node 0');
    expect(() => cluster.linkOpen(1, 9)).toThrow('no node 9');
  });

  it('any sequence of cuts and repairs leaves each link open exactly when no reason holds it', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 30 }), (ops) => {
        const cluster = new SimCluster({ nodes: NODES, seed: 1 });
        const reference = new ReferenceLinks();
        for (const op of ops) {
          applyToCluster(cluster, op);
          reference.apply(op);
          for (const from of cluster.nodeIds) {
            expect(cluster.isConnected(from)).toBe(!reference.disconnected.has(from));
            for (const to of cluster.nodeIds) {
              if (from === to) continue;
              expect(cluster.linkOpen(from, to), `n${from}->n${to} after ${JSON.stringify(ops)}`).toBe(reference.open(from, to));
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the network is asked about messages on open links only, while a run cuts and repairs them', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
        // The network model decides the fate of every message sent on a link
        // that is not cut; a message on a cut link is dropped before it.
        const sentOnCutLinks: string[] = [];
        let asked = 0;
        const clusterRef: { cluster?: SimCluster } = {};
        const watching: NetworkModel = {
          transitMs: (message, context) => {
            asked++;
            if (!clusterRef.cluster!.linkOpen(message.from, message.to)) sentOnCutLinks.push(`${message.type} n${message.from}->n${message.to}`);
            return STANDARD_NETWORK_MODEL.transitMs(message, context);
          },
          duplicates: (message, context) => STANDARD_NETWORK_MODEL.duplicates(message, context),
        };
        const cluster = new SimCluster({ nodes: NODES, seed, networkModel: watching });
        clusterRef.cluster = cluster;
        ops.forEach((op, i) => cluster.at(300 + i * 150, `links ${i}`, () => applyToCluster(cluster, op)));
        cluster.runFor(300 + ops.length * 150 + 500);
        expect(sentOnCutLinks).toEqual([]);
        // Nothing is lost by the standard model without loss: every message sent was either asked about or dropped at a cut link.
        const sent = [...cluster.trafficByType().values()].reduce((sum, counter) => sum + counter.count, 0);
        expect(asked).toBeGreaterThan(0);
        expect(asked).toBeLessThanOrEqual(sent);
      }),
      { numRuns: 25 },
    );
  });
});
