// The vocabulary of the Raft core: entries, durable state, messages and the
// Ready batch a driver acts on. Everything here is plain data so that both
// drivers (simulator and real mode) and the wire codecs can share it.

/** Node ids are small positive integers; 0 means "nobody". */
export type NodeId = number;
export const NO_NODE: NodeId = 0;

/** A Raft group id. Every node-to-node message names one so a node can later host many groups. */
export type GroupId = number;

export type EntryKind = 'noop' | 'command';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** The command's bytes; empty for a noop. */
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log (Raft Figure 2 "persistent state"). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
}

/*
 * The commit index is volatile (Figure 2): a restarted node learns it again from
 * the leader. Keeping it out of HardState means advancing it never costs a write.
 */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE };

/** Everything a node restarts from: exactly what a driver made durable. */
export interface DurableState {
  readonly hardState: HardState;
  /** Entries 1..n in order, gap-free. */
  readonly entries: readonly Entry[];
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

interface MessageHeader {
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (section 5.2) and its PreVote twin (thesis section 9.6). */
export interface VoteRequest extends MessageHeader {
  readonly type: 'VoteRequest';
  readonly preVote: boolean;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /**
   * Sent by a candidate that the leader asked to take over (TimeoutNow): voters
   * answer it even while they still hear from that leader (thesis section 3.10).
   */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageHeader {
  readonly type: 'VoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** AppendEntries (section 5.3). */
export interface AppendRequest extends MessageHeader {
  readonly type: 'AppendRequest';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
}

export interface AppendResponse extends MessageHeader {
  readonly type: 'AppendResponse';
  readonly success: boolean;
  /** On success: the index of the last entry known to match the leader. */
  readonly matchIndex: number;
  /** On rejection: the prevLogIndex of the rejected request, so stale rejections can be told apart. */
  readonly rejectedIndex: number;
  /** On rejection: the follower's term at rejectedIndex, or 0 when its log is shorter. */
  readonly conflictTerm: number;
  /**
   * On rejection: the first index of conflictTerm in the follower's log, or the
   * follower's last index + 1 when its log is too short.
   */
  readonly conflictIndex: number;
}

/**
 * A heartbeat carries min(follower's match, commit) rather than the leader's
 * commit, so a follower may adopt it without checking its log (etcd's rule).
 */
export interface Heartbeat extends MessageHeader {
  readonly type: 'Heartbeat';
  readonly commit: number;
  /** Counts the leader's heartbeats in its term, so an answer names the heartbeat it answers. */
  readonly seq: number;
}

/**
 * The answer tells the leader where the follower's log ends, so the leader can
 * tell appends that were lost from appends still on their way, and notice a
 * follower whose log has entries the leader lacks or lost entries it acknowledged.
 */
export interface HeartbeatResponse extends MessageHeader {
  readonly type: 'HeartbeatResponse';
  readonly seq: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/**
 * The leader tells a follower whose log it has brought up to date to campaign at
 * once, handing leadership over (thesis section 3.10, etcd's MsgTimeoutNow).
 */
export interface TimeoutNow extends MessageHeader {
  readonly type: 'TimeoutNow';
}

export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | TimeoutNow;

export type RaftMessageType = RaftMessage['type'];

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'VoteRequest',
  'VoteResponse',
  'AppendRequest',
  'AppendResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'TimeoutNow',
];

/** A small number per message type (1..7, in the order above), for wire codes and trace hashes. */
export const RAFT_MESSAGE_TYPE_CODES: Readonly<Record<RaftMessageType, number>> = Object.fromEntries(
  RAFT_MESSAGE_TYPES.map((type, index) => [type, index + 1]),
) as Record<RaftMessageType, number>;

/**
 * RAFT_MESSAGE_TYPE_CODES[type] as a switch, for code that runs once per message:
 * comparing interned strings is cheaper than a keyed lookup whose key varies.
 * A test checks that the two agree.
 */
export function raftMessageTypeCode(type: RaftMessageType): number {
  switch (type) {
    case 'VoteRequest':
      return 1;
    case 'VoteResponse':
      return 2;
    case 'AppendRequest':
      return 3;
    case 'AppendResponse':
      return 4;
    case 'Heartbeat':
      return 5;
    case 'HeartbeatResponse':
      return 6;
    case 'TimeoutNow':
      return 7;
  }
}

/**
 * One batch of work for the driver, in the etcd-raft manner.
 *
 * Contract (both drivers honour it, the simulator proves it):
 * 1. Make `hardState`, the truncation and `entries` durable, in that order.
 * 2. Only AFTER they are durable, send `messages` and apply `committedEntries` in order.
 * 3. Then call `advance()`. No new Ready is handed out until then.
 * Besides Readies, RaftNode.takeImmediateMessages() hands out messages that
 * promise nothing unwritten; a driver sends those at once after every input.
 */
export interface Ready {
  /** Set when term or vote changed since the last Ready. */
  readonly hardState: HardState | undefined;
  /** Delete every durable entry with index >= truncateFrom BEFORE appending `entries`. */
  readonly truncateFrom: number | undefined;
  /** New entries to append to the durable log, contiguous and ascending. */
  readonly entries: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  /** Committed entries to apply, gap-free and ascending, each once per incarnation. */
  readonly committedEntries: readonly Entry[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'too-large' | 'overloaded';
      readonly message: string;
      /** The leader this node knows of, or NO_NODE. */
      readonly leaderHint: NodeId;
      readonly term: number;
    };
