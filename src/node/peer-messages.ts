// The messages broker nodes send each other beside Raft's: forwarding a client's
// publish, acknowledgement or read barrier from a follower to the leader, the
// leader's answer, and the relay of unstored request/reply traffic. Like Raft
// messages they name their group. None of them promises anything about the
// sender's disk, so a driver sends them at once, with no persistence ordering.

import type { MessageHeaders } from '../broker/commands.js';
import type { GroupId, NodeId, RaftMessage } from '../raft/types.js';

interface BrokerMessageHeader {
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** What a follower asks the leader to propose for one of its clients. */
export type ForwardedCommand =
  | {
      readonly kind: 'publish';
      readonly topic: string;
      readonly headers: MessageHeaders;
      readonly payload: Uint8Array;
      readonly msgId?: string;
    }
  | { readonly kind: 'ack'; readonly consumer: string; readonly topic: string; readonly offset: number }
  /** A read barrier: an entry whose application means everything committed before it is applied. */
  | { readonly kind: 'barrier' };

/** A client's command made on a follower, for the leader to propose. */
export interface Forward extends BrokerMessageHeader {
  readonly type: 'Forward';
  /** Chosen by the follower to match the answer to its client; unique per follower incarnation. */
  readonly token: number;
  readonly command: ForwardedCommand;
}

/** The leader's answer to a Forward, sent once its entry is applied or refused. */
export interface ForwardResult extends BrokerMessageHeader {
  readonly type: 'ForwardResult';
  readonly token: number;
  readonly outcome: CommandOutcome;
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

/** t1 of an SNTP exchange: the sender's wall clock when it sent the ping. */
export interface ClockPing extends BrokerMessageHeader {
  readonly type: 'ClockPing';
  readonly sentMs: number;
}

/** The answer: t1 echoed, with t2 and t3 on the answering node's clock. */
export interface ClockPong extends BrokerMessageHeader {
  readonly type: 'ClockPong';
  readonly pingSentMs: number;
  readonly receivedMs: number;
  readonly answeredMs: number;
}

export type BrokerPeerMessage = Forward | ForwardResult | Relay | ClockPing | ClockPong;
export type PeerMessage = RaftMessage | BrokerPeerMessage;

const BROKER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['Forward', 'ForwardResult', 'Relay', 'ClockPing', 'ClockPong']);

export function isBrokerPeerMessage(message: PeerMessage): message is BrokerPeerMessage {
  return BROKER_MESSAGE_TYPES.has(message.type);
}

export type PublishFailure = 'no-leader' | 'not-leader' | 'too-large' | 'overloaded' | 'rejected' | 'superseded' | 'timeout' | 'leader-changed';

export interface PublishAcked {
  readonly kind: 'acked';
  readonly topic: string;
  readonly offset: number;
  readonly timestampMs: number;
  /** The HLC counter under timestampMs. */
  readonly logical: number;
  readonly duplicate: boolean;
}

/** A durable consumer's acknowledgement is applied; `offset` is its acknowledged offset after it. */
export interface AckRecorded {
  readonly kind: 'ack-recorded';
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

/** A read barrier was applied at `index`. */
export interface BarrierPassed {
  readonly kind: 'barrier';
  readonly index: number;
}

export interface CommandFailed {
  readonly kind: 'failed';
  readonly reason: PublishFailure;
  readonly message: string;
  /** Whether the same command (a publish with the same message id) may be sent again. */
  readonly retryable: boolean;
  /** The leader the answering node knows of, or 0. */
  readonly leaderHint: NodeId;
}

/** How a publish ended, as a client is told. */
export type PublishResult = PublishAcked | CommandFailed;
/** How any forwarded command ended. */
export type CommandOutcome = PublishAcked | AckRecorded | BarrierPassed | CommandFailed;
