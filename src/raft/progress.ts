import { fail } from './assert.js';

/**
 * A leader's view of one follower's log (etcd-raft's Progress).
 *
 * probe:     we do not know where the follower's log matches ours; send one
 *            AppendRequest at a time and wait for its answer or a heartbeat answer.
 * replicate: the follower is known to match up to `match`; stream appends
 *            optimistically, at most inflightAppendsMax unanswered at once.
 * snapshot:  the follower needs entries the log no longer holds; send it the
 *            newest snapshot in chunks, a window of them at a time.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The snapshot a follower in snapshot state is being sent. */
export interface SnapshotTransfer {
  readonly index: number;
  readonly term: number;
  readonly size: number;
  readonly crc: number;
  /** The next byte to send. Invariant: acked <= sent <= size. */
  sent: number;
  /** The highest offset the follower has said it expects. */
  acked: number;
  /**
   * The offset named by the follower's latest answer, in the order answers
   * came. Below `acked` when that answer was overtaken on the network, or when
   * the follower lost ground (it restarted, and an answer from before the
   * restart came late); a stall tells the two apart.
   */
  lastAnswered: number;
  /** `acked` when the last heartbeat answer came: no change by the next one means chunks were lost. */
  ackedAtLastHeartbeat: number;
}

/** Heartbeats whose answers are still judged; older answers only show the follower is alive. */
export const HEARTBEATS_REMEMBERED = 16;

export class Progress {
  state: ProgressState = 'probe';
  /** Invariant: match < next. The highest index known to be durable in the follower's log and to match ours. */
  match = 0;
  /** The next index to send. */
  next: number;
  /** In probe: an AppendRequest is unanswered, so do not send another. */
  probeSent = false;
  /** The sequence number of the last heartbeat sent to this follower. */
  heartbeatSeq = 0;
  /**
   * What match and next were when each of the last HEARTBEATS_REMEMBERED
   * heartbeats went out, indexed by seq modulo that count. Answers can arrive
   * after later heartbeats left, on a slow network, and are judged by what the
   * leader knew when the answered heartbeat went out.
   */
  private readonly heartbeatMatch = new Array<number>(HEARTBEATS_REMEMBERED).fill(0);
  private readonly heartbeatNext = new Array<number>(HEARTBEATS_REMEMBERED).fill(0);
  private readonly heartbeatEpoch = new Array<number>(HEARTBEATS_REMEMBERED).fill(-1);
  /** Changes with every state change, so snapshots from an earlier state are not used. */
  private epoch = 0;
  /** Heard from in the current CheckQuorum window. */
  recentActive = false;
  /** Last indices of the unanswered AppendRequests in replicate state, ascending. */
  private readonly inflight: number[] = [];
  /** In snapshot state: what is being sent. */
  transfer: SnapshotTransfer | undefined = undefined;

  constructor(
    next: number,
    private readonly inflightMax: number,
  ) {
    this.next = next;
  }

  /** The highest commit index this follower was sent in a way it can commit up to (bounded by what the message let it match). */
  commitSent = 0;

  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.inflightMax;
  }

  inflightFull(): boolean {
    return this.inflight.length >= this.inflightMax;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.epoch++;
    this.inflight.length = 0;
    this.transfer = undefined;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.epoch++;
    this.inflight.length = 0;
    this.transfer = undefined;
  }

  /** Starts sending `snapshot` from its first byte. */
  becomeSnapshot(snapshot: { readonly index: number; readonly term: number; readonly size: number; readonly crc: number }): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.epoch++;
    this.inflight.length = 0;
    this.transfer = { index: snapshot.index, term: snapshot.term, size: snapshot.size, crc: snapshot.crc, sent: 0, acked: 0, lastAnswered: 0, ackedAtLastHeartbeat: -1 };
  }

  /** The follower installed the snapshot at `index`: it matches up to there, and is probed from the next entry. */
  snapshotInstalled(index: number): void {
    this.match = Math.max(this.match, index);
    this.becomeProbe();
  }

  /** Records an AppendRequest whose last entry is lastIndex (or whose prev is lastIndex when empty). */
  sentAppend(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** Records a heartbeat going out. */
  sentHeartbeat(seq: number): void {
    this.heartbeatSeq = seq;
    const slot = seq % HEARTBEATS_REMEMBERED;
    this.heartbeatMatch[slot] = this.match;
    this.heartbeatNext[slot] = this.next;
    this.heartbeatEpoch[slot] = this.epoch;
  }

  /** match when heartbeat `seq` went out, or undefined when that is no longer known. */
  matchAtHeartbeat(seq: number): number | undefined {
    if (seq < 1 || this.heartbeatSeq - seq >= HEARTBEATS_REMEMBERED) return undefined;
    return this.heartbeatMatch[seq % HEARTBEATS_REMEMBERED];
  }

  /** next when heartbeat `seq` went out, if that was in the current state. */
  nextAtHeartbeatInThisState(seq: number): number | undefined {
    if (seq < 1 || this.heartbeatSeq - seq >= HEARTBEATS_REMEMBERED) return undefined;
    const slot = seq % HEARTBEATS_REMEMBERED;
    return this.heartbeatEpoch[slot] === this.epoch ? this.heartbeatNext[slot] : undefined;
  }

  /**
   * The follower lost entries it had acknowledged (a disk that broke its promise).
   * Raft's safety assumes durable storage, but replication must not stall on it:
   * start over from where the follower's log really ends.
   */
  resetMatchTo(lastIndex: number): void {
    if (!(lastIndex < this.match)) fail(`resetMatchTo(${lastIndex}) with match ${this.match}`);
    this.match = lastIndex;
    this.becomeProbe();
  }

  /** Returns false when the acknowledgement tells nothing new (a stale or duplicated response). */
  maybeUpdate(matchIndex: number): boolean {
    if (matchIndex <= this.match) return false;
    this.match = matchIndex;
    this.next = Math.max(this.next, matchIndex + 1);
    this.probeSent = false;
    while (this.inflight.length > 0 && this.inflight[0]! <= matchIndex) this.inflight.shift();
    return true;
  }

  /**
   * Handles a rejection of the AppendRequest whose prevLogIndex was rejectedIndex.
   * Returns false when the rejection is stale. `hintNext` is where the conflict
   * hint says to resume; it is clamped so that next never passes below match + 1.
   */
  maybeDecreaseTo(rejectedIndex: number, hintNext: number): boolean {
    if (this.state === 'replicate') {
      // A follower rejects an append that overtook its predecessor, so the
      // appends behind it are wasted too: resume from where its log ends.
      if (rejectedIndex <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(this.match + 1, Math.min(hintNext, rejectedIndex));
      return true;
    }
    if (this.next - 1 !== rejectedIndex) return false;
    const next = Math.max(this.match + 1, Math.min(hintNext, rejectedIndex));
    // Only a follower that lost entries it acknowledged rejects the probe right
    // after match; the heartbeat answer shows where its log really ends.
    if (next === this.next) return false;
    this.next = next;
    this.probeSent = false;
    if (!(this.next > this.match)) fail(`progress next ${this.next} <= match ${this.match}`);
    return true;
  }
}
