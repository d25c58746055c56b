import { describe, expect, it } from 'vitest';
import { BrokerStateMachine, type StoredMessage } from '../../src/broker/state-machine.js';
import { SubscriptionTable, type Member } from '../../src/node/subscriptions.js';

// An ORDERED subscription's live path with two sources, as a node hosting two
// Raft groups would feed it: the table's reorder buffer holds, releases and
// marks late exactly as docs/protocol.md says. (A node hosts one group today;
// broker-node.test.ts covers that case end to end.)

function message(topic: string, offset: number, timestampMs: number): StoredMessage {
  return { stream: 'ORDERS', topic, offset, timestampMs, logical: 0, headers: new Map(), payload: new Uint8Array(0), bytes: topic.length };
}

describe('SubscriptionTable: ORDERED live delivery through the reorder buffer', () => {
  const state = new BrokerStateMachine();
  const setUp = (boundMs: number) => {
    const table = new SubscriptionTable();
    table.add(1, 's', 'orders.*', undefined, { kind: 'live' }, state, { boundMs, sources: ['group 1', 'group 2'] });
    const out: string[] = [];
    const deliver = (_member: Member, stored: StoredMessage, late: boolean): boolean => {
      out.push(`${stored.topic}@${stored.timestampMs}${late ? ' late' : ''}`);
      return true;
    };
    const store = (stored: StoredMessage, source: string, nowMs: number): void => table.onStored(stored, source, nowMs, state, deliver, () => true);
    const tick = (nowMs: number): void => table.releaseDue(nowMs, deliver, () => true);
    return { table, out, store, tick };
  };

  it('holds a message until the other group has moved past it, then delivers both groups merged by stamp', () => {
    const { out, store } = setUp(1000);
    store(message('orders.eu', 1, 100), 'group 1', 0);
    store(message('orders.eu', 2, 300), 'group 1', 1);
    expect(out).toEqual([]); // group 2 might still send something earlier.
    store(message('orders.us', 1, 200), 'group 2', 2);
    expect(out).toEqual(['orders.eu@100', 'orders.us@200']);
    store(message('orders.us', 2, 400), 'group 2', 3);
    expect(out).toEqual(['orders.eu@100', 'orders.us@200', 'orders.eu@300']);
  });

  it('delivers a held message once it has waited the bound, and marks a message that comes after a later one late', () => {
    const { out, store, tick } = setUp(50);
    store(message('orders.eu', 1, 100), 'group 1', 0);
    tick(49);
    expect(out).toEqual([]);
    tick(50);
    expect(out).toEqual(['orders.eu@100']);
    store(message('orders.us', 1, 90), 'group 2', 60);
    expect(out).toEqual(['orders.eu@100', 'orders.us@90 late']);
  });

  it('drops what a removed subscription held', () => {
    const { table, out, store, tick } = setUp(50);
    store(message('orders.eu', 1, 100), 'group 1', 0);
    table.remove(table.member(1, 's')!);
    tick(1000);
    expect(out).toEqual([]);
  });
});
