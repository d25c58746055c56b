import { assert } from './assert.js';

/**
 * A leader's view of one follower's log (etcd-raft's Progress).
 *
 * probe:     we do not know where the follower's log matches ours; send one
 *            AppendRequest at a time and wait for its answer or a heartbeat answer.
 * replicate: the follower is known to match up to `match`; stream appends
 *            optimistically, at most inflightAppendsMax unanswered at once.
 */
export type ProgressState = 'probe' | 'replicate';

export class Progress {
  state: ProgressState = 'probe';
  /** Invariant: match < next. The highest index known to be durable in the follower's log and to match ours. */
  match = 0;
  /** The next index to send. */
  next: number;
  /** In probe: an AppendRequest is unanswered, so do not send another. */
  probeSent = false;
  /**
   * `next` when the last heartbeat went out. An answer to that heartbeat proves
   * lost only the appends sent before it: those below this index.
   */
  nextAtHeartbeat = 0;
  /** Heard from in the current CheckQuorum window. */
  recentActive = false;
  /** Last indices of the unanswered AppendRequests in replicate state, ascending. */
  private readonly inflight: number[] = [];

  constructor(
    next: number,
    private readonly inflightMax: number,
  ) {
    this.next = next;
  }

  isPaused(): boolean {
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.inflightMax;
  }

  inflightFull(): boolean {
    return this.inflight.length >= this.inflightMax;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.nextAtHeartbeat = 0;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.nextAtHeartbeat = 0;
    this.inflight.length = 0;
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
      if (rejectedIndex <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(this.match + 1, Math.min(hintNext, rejectedIndex));
      return true;
    }
    if (this.next - 1 !== rejectedIndex) return false;
    const next = Math.max(this.match + 1, Math.min(hintNext, rejectedIndex));
    // Only a follower that lost entries it acknowledged rejects the probe right
    // after match. Probing again at once would answer every duplicated rejection
    // with another probe, so wait for the next heartbeat answer instead.
    if (next === this.next) return false;
    this.next = next;
    this.probeSent = false;
    assert(this.next > this.match, `progress next ${this.next} <= match ${this.match}`);
    return true;
  }
}
