import type {
  AppendRequest,
  AppendResponse,
  Entry,
  GroupId,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  NodeId,
  RaftMessage,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from './types.js';

/**
 * Builds every message the core sends, whatever its type, as one object shape:
 * all fields of all message types in one fixed order, those the type does not
 * use left undefined. Drivers, checkers and the core itself read the header of
 * every message in shared code; with one shape those reads stay monomorphic,
 * where six shapes would make them megamorphic and slow. Undefined fields are
 * invisible to the code that matters: each reader switches on `type` first, and
 * deep equality in tests ignores undefined properties.
 */
function build(
  type: RaftMessage['type'],
  group: GroupId,
  from: NodeId,
  to: NodeId,
  term: number,
  preVote: boolean | undefined,
  granted: boolean | undefined,
  lastLogIndex: number | undefined,
  lastLogTerm: number | undefined,
  prevLogIndex: number | undefined,
  prevLogTerm: number | undefined,
  entries: readonly Entry[] | undefined,
  leaderCommit: number | undefined,
  success: boolean | undefined,
  matchIndex: number | undefined,
  rejectedIndex: number | undefined,
  conflictTerm: number | undefined,
  conflictIndex: number | undefined,
  commit: number | undefined,
  seq: number | undefined,
  lastIndex: number | undefined,
  lastTerm: number | undefined,
  transfer: boolean | undefined,
  snapshot: SnapshotFields | undefined,
): RaftMessage {
  const message = {
    type,
    group,
    from,
    to,
    term,
    preVote,
    granted,
    lastLogIndex,
    lastLogTerm,
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit,
    success,
    matchIndex,
    rejectedIndex,
    conflictTerm,
    conflictIndex,
    commit,
    seq,
    lastIndex,
    lastTerm,
    transfer,
    snapshotIndex: snapshot?.snapshotIndex,
    snapshotTerm: snapshot?.snapshotTerm,
    size: snapshot?.size,
    crc: snapshot?.crc,
    offset: snapshot?.offset,
    data: snapshot?.data,
    nextOffset: snapshot?.nextOffset,
    installed: snapshot?.installed,
  };
  return message as unknown as RaftMessage;
}

/** The fields of the two snapshot messages, passed as one object: they are rare, unlike the rest. */
interface SnapshotFields {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number | undefined;
  readonly size: number | undefined;
  readonly crc: number | undefined;
  readonly offset: number | undefined;
  readonly data: Uint8Array | undefined;
  readonly nextOffset: number | undefined;
  readonly installed: boolean | undefined;
}

const U = undefined;

export function voteRequest(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  term: number,
  preVote: boolean,
  lastLogIndex: number,
  lastLogTerm: number,
  transfer = false,
): VoteRequest {
  return build('VoteRequest', group, from, to, term, preVote, U, lastLogIndex, lastLogTerm, U, U, U, U, U, U, U, U, U, U, U, U, U, transfer, U) as VoteRequest;
}

export function voteResponse(group: GroupId, from: NodeId, to: NodeId, term: number, preVote: boolean, granted: boolean): VoteResponse {
  return build('VoteResponse', group, from, to, term, preVote, granted, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U) as VoteResponse;
}

export function appendRequest(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
  entries: readonly Entry[],
  leaderCommit: number,
): AppendRequest {
  return build('AppendRequest', group, from, to, term, U, U, U, U, prevLogIndex, prevLogTerm, entries, leaderCommit, U, U, U, U, U, U, U, U, U, U, U) as AppendRequest;
}

export function appendResponse(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  term: number,
  success: boolean,
  matchIndex: number,
  rejectedIndex: number,
  conflictTerm: number,
  conflictIndex: number,
): AppendResponse {
  return build('AppendResponse', group, from, to, term, U, U, U, U, U, U, U, U, success, matchIndex, rejectedIndex, conflictTerm, conflictIndex, U, U, U, U, U, U) as AppendResponse;
}

export function heartbeat(group: GroupId, from: NodeId, to: NodeId, term: number, commit: number, seq: number): Heartbeat {
  return build('Heartbeat', group, from, to, term, U, U, U, U, U, U, U, U, U, U, U, U, U, commit, seq, U, U, U, U) as Heartbeat;
}

export function heartbeatResponse(group: GroupId, from: NodeId, to: NodeId, term: number, seq: number, lastIndex: number, lastTerm: number): HeartbeatResponse {
  return build('HeartbeatResponse', group, from, to, term, U, U, U, U, U, U, U, U, U, U, U, U, U, U, seq, lastIndex, lastTerm, U, U) as HeartbeatResponse;
}

export function timeoutNow(group: GroupId, from: NodeId, to: NodeId, term: number): TimeoutNow {
  return build('TimeoutNow', group, from, to, term, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U) as TimeoutNow;
}

export function installSnapshot(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  term: number,
  meta: { readonly index: number; readonly term: number; readonly size: number; readonly crc: number },
  offset: number,
  data: Uint8Array,
): InstallSnapshot {
  const fields = { snapshotIndex: meta.index, snapshotTerm: meta.term, size: meta.size, crc: meta.crc, offset, data, nextOffset: U, installed: U };
  return build('InstallSnapshot', group, from, to, term, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, fields) as InstallSnapshot;
}

export function installSnapshotResponse(group: GroupId, from: NodeId, to: NodeId, term: number, snapshotIndex: number, nextOffset: number, installed: boolean): InstallSnapshotResponse {
  const fields = { snapshotIndex, snapshotTerm: U, size: U, crc: U, offset: U, data: U, nextOffset, installed };
  return build('InstallSnapshotResponse', group, from, to, term, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, fields) as InstallSnapshotResponse;
}
