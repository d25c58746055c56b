// What each durable consumer has yet to take, as this node sees it, for
// monitoring: read from the replicated acknowledged offsets and this node's
// durable subscriptions, never kept up to date on the message path.
//
// On each topic a consumer has acknowledged, or one of its subscriptions on
// this node has reached, offsets are stream sequences (a stream interleaves
// its subjects), so what lies between two of them is counted, not subtracted:
//   acked      the replicated acknowledged offset (0 when none);
//   delivered  the last offset a subscription of it on this node delivered
//              (acked when none delivers it here).
// ackPending counts the topic's messages after acked up to delivered, pending
// those after delivered: nats-server's num_ack_pending and num_pending.

import type { BrokerStateMachine } from '../broker/state-machine.js';
import type { SubscriptionTable } from './subscriptions.js';

export interface ConsumerStats {
  readonly consumer: string;
  /** Messages stored after what the consumer was delivered: not yet sent to it. */
  readonly pending: number;
  /** Messages delivered to it on this node and not acknowledged yet. */
  readonly ackPending: number;
}

export function consumerStats(state: BrokerStateMachine, subscriptions: SubscriptionTable): ConsumerStats[] {
  // consumer -> topic -> the last offset delivered (or acknowledged).
  const reached = new Map<string, Map<string, number>>();
  const topicsOf = (consumer: string): Map<string, number> => {
    let topics = reached.get(consumer);
    if (topics === undefined) reached.set(consumer, (topics = new Map()));
    return topics;
  };
  state.forEachConsumerOffset((consumer, topic, offset) => topicsOf(consumer).set(topic, offset));
  for (const { consumer, cursors } of subscriptions.durableCursors()) {
    const topics = topicsOf(consumer);
    for (const [topic, next] of cursors) topics.set(topic, Math.max(topics.get(topic) ?? 0, next - 1));
  }
  const stats: ConsumerStats[] = [];
  for (const [consumer, topics] of reached) {
    let pending = 0;
    let ackPending = 0;
    for (const [topic, delivered] of topics) {
      const acked = state.consumerOffset(consumer, topic);
      const notDelivered = state.messagesAfter(topic, Math.max(delivered, acked));
      pending += notDelivered;
      ackPending += state.messagesAfter(topic, acked) - notDelivered;
    }
    stats.push({ consumer, pending, ackPending });
  }
  return stats.sort((a, b) => (a.consumer < b.consumer ? -1 : a.consumer > b.consumer ? 1 : 0));
}
