// The random fault schedules of the property tests, shared by the Raft and the
// broker properties: crashes and restarts, partitions (one-way too), loss,
// duplication, long delays and slow disks, at random times.

import fc from 'fast-check';
import type { FaultAction, ScheduledFault } from '../../sim/faults.js';

function nodeArbitrary(nodes: number): fc.Arbitrary<number> {
  return fc.integer({ min: 1, max: nodes });
}

function groupsArbitrary(nodes: number): fc.Arbitrary<number[][]> {
  // Each node draws a side; empty sides are dropped.
  return fc.array(fc.integer({ min: 0, max: 2 }), { minLength: nodes, maxLength: nodes }).map((sides) => {
    const groups: number[][] = [[], [], []];
    sides.forEach((side, index) => groups[side]!.push(index + 1));
    return groups.filter((group) => group.length > 0);
  });
}

function faultArbitrary(nodes: number): fc.Arbitrary<FaultAction> {
  const node = nodeArbitrary(nodes);
  return fc.oneof(
    node.map((id): FaultAction => ({ kind: 'crash', node: id })),
    node.map((id): FaultAction => ({ kind: 'restart', node: id })),
    fc.record({ id: node, downMs: fc.integer({ min: 0, max: 1000 }) }).map(({ id, downMs }): FaultAction => ({ kind: 'bounce', node: id, downMs })),
    fc.constant<FaultAction>({ kind: 'crash-leader' }),
    fc.constant<FaultAction>({ kind: 'isolate-leader' }),
    node.map((id): FaultAction => ({ kind: 'isolate', node: id })),
    node.map((id): FaultAction => ({ kind: 'reconnect', node: id })),
    groupsArbitrary(nodes).map((groups): FaultAction => ({ kind: 'partition', groups })),
    groupsArbitrary(nodes)
      .filter((groups) => groups.length >= 2)
      .map((groups): FaultAction => ({ kind: 'one-way', from: groups[0]!, to: groups[1]! })),
    fc.constant<FaultAction>({ kind: 'heal' }),
    fc.double({ min: 0, max: 0.3, noNaN: true }).map((rate): FaultAction => ({ kind: 'loss', rate })),
    fc.double({ min: 0, max: 0.2, noNaN: true }).map((rate): FaultAction => ({ kind: 'duplicate', rate })),
    fc
      .record({ minMs: fc.integer({ min: 0, max: 30 }), spreadMs: fc.integer({ min: 0, max: 300 }) })
      .map(({ minMs, spreadMs }): FaultAction => ({ kind: 'delay', minMs, meanMs: minMs + spreadMs })),
    fc.record({ id: node, syncMs: fc.integer({ min: 1, max: 200 }) }).map(({ id, syncMs }): FaultAction => ({ kind: 'slow-disk', node: id, syncMs })),
  );
}

/** Up to 40 faults of every kind at random times in [0, untilMs), in time order. */
export function scheduleArbitrary(nodes: number, untilMs: number): fc.Arbitrary<ScheduledFault[]> {
  const fault = fc.record({ atMs: fc.integer({ min: 0, max: untilMs - 1 }), action: faultArbitrary(nodes) });
  return fc.array(fault, { maxLength: 40 }).map((faults) => [...faults].sort((a, b) => a.atMs - b.atMs));
}
