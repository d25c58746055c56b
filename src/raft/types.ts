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

/**
 * Where a snapshot of the state machine stands in the log: it holds the
 * effect of every entry up to `index`, whose term is `term`.
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
}

export const NO_SNAPSHOT: SnapshotMeta = { index: 0, term: 0 };

/** Everything a node restarts from: exactly what a driver made durable. */
export interface DurableState {
  readonly hardState: HardState;
  /** The newest durable snapshot; absent or NO_SNAPSHOT when there is none. */
  readonly snapshot?: SnapshotMeta;
  /**
   * Log entries in order, gap-free. Without a snapshot they start at index 1;
   * with one they start at or before snapshot.index + 1 (the log may keep
   * entries the snapshot covers), and may be empty.
   */
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

/**
 * One chunk of the leader's snapshot, for a follower whose next entry the
 * leader's log no longer holds (thesis section 5.4.1, in chunks as in the
 * paper's InstallSnapshot RPC). `crc` is the CRC-32 of the whole snapshot,
 * on every chunk, so the follower can check what it assembled.
 */
export interface InstallSnapshot extends MessageHeader, SnapshotChunk {
  readonly type: 'InstallSnapshot';
}

/**
 * The follower's answer: the offset it expects next (so a lost chunk is sent
 * again from there), or, once the snapshot is installed, `installed`.
 */
export interface InstallSnapshotResponse extends MessageHeader {
  readonly type: 'InstallSnapshotResponse';
  readonly snapshotIndex: number;
  readonly nextOffset: number;
  readonly installed: boolean;
}

export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | TimeoutNow
  | InstallSnapshot
  | InstallSnapshotResponse;

export type RaftMessageType = RaftMessage['type'];

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'VoteRequest',
  'VoteResponse',
  'AppendRequest',
  'AppendResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'TimeoutNow',
  'InstallSnapshot',
  'InstallSnapshotResponse',
];

/** A small number per message type (1..9, in the order above), for wire codes and trace hashes. */
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
    case 'InstallSnapshot':
      return 8;
    case 'InstallSnapshotResponse':
      return 9;
  }
}

/** Bytes of a snapshot, to be written at `offset` of the snapshot `snapshotIndex`: what InstallSnapshot carries, and a Ready hands on. */
export interface SnapshotChunk {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** The snapshot's length in bytes. */
  readonly size: number;
  /** The CRC-32 of the whole snapshot. */
  readonly crc: number;
  /** Where `data` goes in the snapshot. */
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A received snapshot, complete, for the driver to check and install. */
export interface SnapshotToInstall extends SnapshotMeta {
  readonly size: number;
  readonly crc: number;
  /**
   * Whether the durable log holds the snapshot's last entry (same index and
   * term): then the entries after it stay, and only those up to it may go;
   * otherwise the whole durable log goes.
   */
  readonly keepsLog: boolean;
}

/**
 * One batch of work for the driver, in the etcd-raft manner.
 *
 * Contract (both drivers honour it, the simulator proves it):
 * 1. Make `hardState` durable.
 * 2. Write `snapshotChunks` into the incoming snapshot they name. When
 *    `snapshot` is set, check the assembled snapshot against its size and CRC
 *    and install it: restore the state machine from it and make it the node's
 *    durable snapshot, with the log's durable entries up to its index dropped
 *    (all of them, unless `keepsLog`). A
 *    snapshot that fails its check is not installed: call
 *    RaftNode.snapshotFailed() BEFORE advance().
 * 3. Make the truncation and `entries` durable, in that order.
 * 4. Only AFTER all of that is durable, send `messages` and apply
 *    `committedEntries` in order (they follow the snapshot's index).
 * 5. Then call `advance()`.
 * Up to readiesInFlightMax Readies may be in flight at once: the driver issues
 * their writes in the order it got them, and does steps 4 and 5 for each only
 * once it and every Ready before it are durable, advancing oldest first.
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
  /** Chunks of a snapshot being received, in order. */
  readonly snapshotChunks: readonly SnapshotChunk[];
  /** A received snapshot to install, BEFORE anything else in this Ready. */
  readonly snapshot: SnapshotToInstall | undefined;
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
