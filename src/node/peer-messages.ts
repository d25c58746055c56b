// The messages broker nodes send each other beside Raft's: forwarding a client's
// publish, acknowledgement or read barrier from a follower to the leader, the
// leader's answer, and the relay of unstored request/reply traffic. Like Raft
// messages they name their group. None of them promises anything about the
// sender's disk, so a driver sends them at once, with no persistence ordering.
//
// Every message between broker nodes, Raft's and these alike, travels with a
// ClockStamp: the sender's clocks at the moment it went out. The stamp belongs
// to the transmission, not to the message, so the driver takes it when it sends
// (BrokerNode.clockStampFor) and hands it back on delivery (BrokerNode.step).

import type { MessageHeaders, StreamCommand } from '../broker/commands.js';
import type { HlcTimestamp } from '../clock/hlc.js';
import type { GroupId, NodeId, RaftMessage } from '../raft/types.js';
import type { InterestUpdate } from './interest.js';

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
  | { readonly kind: 'barrier' }
  /** A stream's creation, update, deletion or purge, from the stream API. */
  | { readonly kind: 'stream'; readonly command: StreamCommand };

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

/** An unstored (NATS core) message for the receiver's local subscribers. */
export interface Relay extends BrokerMessageHeader {
  readonly type: 'Relay';
  readonly subject: string;
  readonly replyTo?: string;
  /** The header block as published; empty when there was none. */
  readonly headerBytes: Uint8Array;
  readonly payload: Uint8Array;
  /**
   * The queue groups (interestKey: pattern and queue name) the sender chose the
   * receiver to serve: one member of each gets the message. Plain
   * subscriptions get it regardless.
   */
  readonly queues: readonly string[];
}

/** A node's live subscriptions, for routing NATS core traffic; see interest.ts. */
export interface Interest extends BrokerMessageHeader, InterestUpdate {
  readonly type: 'Interest';
}

/**
 * Nothing but its clock stamp: sent to a peer this node has sent nothing else
 * to for clockSyncTicks, so two followers, which Raft keeps silent to each
 * other, still measure each other's clocks.
 */
export interface ClockProbe extends BrokerMessageHeader {
  readonly type: 'ClockProbe';
}

export type BrokerPeerMessage = Forward | ForwardResult | Relay | ClockProbe | Interest;
export type PeerMessage = RaftMessage | BrokerPeerMessage;

/**
 * The sender's clocks, carried by every message between broker nodes. The
 * receiver merges `hlc` into its hybrid logical clock, and takes an SNTP sample
 * of the sender's clock offset whenever the stamp echoes one of its own
 * messages: t1 = echoSentMs and t4 = now on its clock, t2 = echoReceivedMs and
 * t3 = sentMs on the sender's. Heartbeats flow every tick, so samples do too,
 * with no message of their own. Readings are whole ms, never below 0.
 */
export interface ClockStamp {
  /** The sender's hybrid logical clock at the send. */
  readonly hlc: HlcTimestamp;
  /** The sender's physical clock at the send. */
  readonly sentMs: number;
  /** The sentMs of the newest message the sender had from the receiver, or -1 when it has had none since it started. */
  readonly echoSentMs: number;
  /** When the sender received that message, on the sender's clock; 0 with no echo. */
  readonly echoReceivedMs: number;
}

const BROKER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['Forward', 'ForwardResult', 'Relay', 'ClockProbe', 'Interest']);

export function isBrokerPeerMessage(message: PeerMessage): message is BrokerPeerMessage {
  return BROKER_MESSAGE_TYPES.has(message.type);
}

export type PublishFailure = 'no-leader' | 'not-leader' | 'too-large' | 'overloaded' | 'rejected' | 'superseded' | 'timeout' | 'leader-changed';

export interface PublishAcked {
  readonly kind: 'acked';
  readonly stream: string;
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

/** A stream command was applied at `index`; a purge says how many messages it removed. */
export interface StreamChanged {
  readonly kind: 'stream-changed';
  readonly index: number;
  readonly purged: number;
}

export interface CommandFailed {
  readonly kind: 'failed';
  readonly reason: PublishFailure;
  readonly message: string;
  /** Whether the same command (a publish with the same message id) may be sent again. */
  readonly retryable: boolean;
  /** The leader the answering node knows of, or 0. */
  readonly leaderHint: NodeId;
  /** JetStream's err_code for the same refusal (10077 a full stream, say), when it has one. */
  readonly errCode?: number;
}

/** How a publish ended, as a client is told. */
export type PublishResult = PublishAcked | CommandFailed;
/** How any forwarded command ended. */
export type CommandOutcome = PublishAcked | AckRecorded | BarrierPassed | StreamChanged | CommandFailed;
