// The replicated table of recent message ids, per topic.
//
// It lives inside the state machine, so it is rebuilt exactly by replaying the
// log: a duplicate is recognised the same way on every replica, after a leader
// change and after a restart, because the table and the clock that ages it are
// both functions of the applied commands alone.
//
// Entries are recorded with the replicated clock, which never goes backwards,
// so the insertion queue is also ordered by time and expiry only ever pops
// from its head: O(1) amortised per entry, with no scan and no timer.

import { assert } from '../raft/assert.js';

export interface DedupEntry {
  readonly topic: string;
  readonly msgId: string;
  /** The offset of the message the id stored; a duplicate is acknowledged with it. */
  readonly offset: number;
  /** The replicated clock when the id was stored. The window runs from here and a duplicate does not extend it. */
  readonly recordedAtMs: number;
  /** The stored message's clock counter under recordedAtMs, so a duplicate can be answered with its stamp. */
  readonly logical: number;
}

/** Dead queue slots tolerated before the queue is compacted, so compaction stays amortised. */
const QUEUE_COMPACT_SLOTS_MIN = 1024;

export class DedupTable {
  /** Invariant: holds exactly the entries of queue[head..], each once. */
  private readonly byTopic = new Map<string, Map<string, DedupEntry>>();
  /** Invariant: queue[head..] is ordered by recordedAtMs, ascending. */
  private queue: DedupEntry[] = [];
  private head = 0;
  private windowMsValue: number;

  constructor(
    windowMs: number,
    private readonly entriesMax: number,
  ) {
    assert(Number.isSafeInteger(windowMs) && windowMs >= 1, `dedup windowMs must be a positive integer, got ${windowMs}`);
    assert(Number.isSafeInteger(entriesMax) && entriesMax >= 1, `dedup entriesMax must be a positive integer, got ${entriesMax}`);
    this.windowMsValue = windowMs;
  }

  /** How long an id is remembered from the publish that stored it; a snapshot carries it with the entries. */
  get windowMs(): number {
    return this.windowMsValue;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.size >= this.entriesMax;
  }

  lookup(topic: string, msgId: string): DedupEntry | undefined {
    return this.byTopic.get(topic)?.get(msgId);
  }

  /** A new window from now on; ids already recorded are kept or forgotten by it as of `nowMs`. */
  setWindow(windowMs: number, nowMs: number): void {
    assert(Number.isSafeInteger(windowMs) && windowMs >= 1, `dedup windowMs must be a positive integer, got ${windowMs}`);
    this.windowMsValue = windowMs;
    this.expire(nowMs);
  }

  /** Records a newly stored message's id. The caller expired old entries at `nowMs` first. */
  record(topic: string, msgId: string, offset: number, nowMs: number, logical = 0): void {
    assert(!this.full, `dedup table is full (${this.entriesMax}); the caller must reject first`);
    assert(this.lookup(topic, msgId) === undefined, `message id ${msgId} on ${topic} is already recorded`);
    const last = this.queue[this.queue.length - 1];
    assert(last === undefined || last.recordedAtMs <= nowMs, `dedup clock went back from ${last?.recordedAtMs} to ${nowMs}`);
    const entry: DedupEntry = { topic, msgId, offset, recordedAtMs: nowMs, logical };
    let ids = this.byTopic.get(topic);
    if (ids === undefined) {
      ids = new Map();
      this.byTopic.set(topic, ids);
    }
    ids.set(msgId, entry);
    this.queue.push(entry);
  }

  /**
   * Forgets every id whose window has closed at `nowMs`: an id recorded at r is
   * remembered while nowMs - r < windowMs, and forgotten from r + windowMs on.
   * Returns how many were forgotten.
   */
  expire(nowMs: number): number {
    let removed = 0;
    for (;;) {
      const entry = this.queue[this.head];
      if (entry === undefined || nowMs - entry.recordedAtMs < this.windowMsValue) break;
      this.forget(entry);
      // The slot keeps its reference until the next compaction, which bounds dead slots to half the queue.
      this.head += 1;
      removed += 1;
    }
    this.maybeCompact();
    return removed;
  }

  /** Live entries, oldest first. */
  entries(): readonly DedupEntry[] {
    return this.queue.slice(this.head);
  }

  invariants(): void {
    let mapped = 0;
    for (const ids of this.byTopic.values()) {
      assert(ids.size > 0, 'an empty per-topic dedup map is kept');
      mapped += ids.size;
    }
    assert(mapped === this.size, `dedup maps hold ${mapped} ids, the queue ${this.size}`);
    assert(this.size <= this.entriesMax, `dedup table holds ${this.size} ids, over entriesMax ${this.entriesMax}`);
    let previous = -Infinity;
    for (const entry of this.entries()) {
      assert(entry.recordedAtMs >= previous, 'dedup queue is out of time order');
      assert(this.lookup(entry.topic, entry.msgId) === entry, `queued id ${entry.msgId} on ${entry.topic} is not mapped`);
      previous = entry.recordedAtMs;
    }
  }

  private forget(entry: DedupEntry): void {
    const ids = this.byTopic.get(entry.topic);
    assert(ids?.get(entry.msgId) === entry, `expiring id ${entry.msgId} on ${entry.topic} is not mapped`);
    ids.delete(entry.msgId);
    if (ids.size === 0) this.byTopic.delete(entry.topic);
  }

  private maybeCompact(): void {
    if (this.head < QUEUE_COMPACT_SLOTS_MIN || this.head * 2 < this.queue.length) return;
    this.queue = this.queue.slice(this.head);
    this.head = 0;
  }
}
