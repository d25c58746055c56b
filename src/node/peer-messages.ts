// The messages broker nodes send each other beside Raft's: forwarding a client's
// publish or acknowledgement from a follower to the leader, the leader's answer,
// and the relay of unstored request/reply traffic. Like Raft messages they name
// their group. None of them promises anything about the sender's disk, so a
// driver sends them at once, with no persistence ordering.

import type { MessageHeaders } from '../broker/commands.js';
import type { GroupId, NodeId, RaftMessage } from '../raft/types.js';

interface BrokerMessageHeader {
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** A publish a client made on a follower, for the leader to propose. */
export interface ForwardPublish extends BrokerMessageHeader {
  readonly type: 'ForwardPublish';
  /** Chosen by the follower to match the answer to its client; unique per follower incarnation. */
  readonly token: number;
  readonly topic: string;
  readonly headers: MessageHeaders;
  readonly payload: Uint8Array;
  readonly msgId?: string;
}

/** A durable consumer's acknowledgement made on a follower. Nobody waits for its result. */
export interface ForwardAck extends BrokerMessageHeader {
  readonly type: 'ForwardAck';
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

/** The leader's answer to a ForwardPublish, sent once its entry is applied or refused. */
export interface ForwardResult extends BrokerMessageHeader {
  readonly type: 'ForwardResult';
  readonly token: number;
  readonly result: PublishResult;
}

/** An unstored message (a request/reply subject) for the receiver's local subscribers. */
export interface Relay extends BrokerMessageHeader {
  readonly type: 'Relay';
  readonly subject: string;
  readonly replyTo?: string;
  /** The header block as published; empty when there was none. */
  readonly headerBytes: Uint8Array;
  readonly payload: Uint8Array;
}

export type BrokerPeerMessage = ForwardPublish | ForwardAck | ForwardResult | Relay;
export type PeerMessage = RaftMessage | BrokerPeerMessage;

const BROKER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['ForwardPublish', 'ForwardAck', 'ForwardResult', 'Relay']);

export function isBrokerPeerMessage(message: PeerMessage): message is BrokerPeerMessage {
  return BROKER_MESSAGE_TYPES.has(message.type);
}

export type PublishFailure = 'no-leader' | 'not-leader' | 'too-large' | 'overloaded' | 'rejected' | 'superseded' | 'timeout';

/** How a publish ended, as a client is told. */
export type PublishResult =
  | {
      readonly kind: 'acked';
      readonly topic: string;
      readonly offset: number;
      readonly timestampMs: number;
      readonly duplicate: boolean;
    }
  | {
      readonly kind: 'failed';
      readonly reason: PublishFailure;
      readonly message: string;
      /** Whether the same publish (with the same message id) may be sent again. */
      readonly retryable: boolean;
      /** The leader the answering node knows of, or 0. */
      readonly leaderHint: NodeId;
    };
