import { fail } from './assert.js';
import { NO_SNAPSHOT, type Entry, type SnapshotMeta } from './types.js';

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * entries[start..end) as a new array. A run of one entry, what nearly every
 * Ready and message carries under steady load, is built as a literal: calling
 * the slice builtin costs several times more than the copy itself.
 */
function copyEntries(entries: readonly Entry[], start: number, end: number): Entry[] {
  if (end - start === 1) return [entries[start]!];
  return entries.slice(start, end);
}

/**
 * The in-memory Raft log together with its persistence bookkeeping.
 *
 * Indices start at 1; index 0 is a virtual entry of term 0 that every log
 * shares. After a snapshot the log may drop its oldest entries (compact):
 * it then holds the entries after `offset`, and knows the term at `offset`
 * itself, which is all an append starting right after it needs. Entries up to
 * the newest snapshot's index may still be held (the trailing entries that
 * spare a follower a little behind a whole snapshot).
 */
export class RaftLog {
  /**
   * Invariant: entries[i].index === offset + 1 + i, and terms never decrease
   * along the array, nor from offsetTerm to entries[0].
   */
  private readonly entries: Entry[];
  /** The index of the last entry dropped (0 when none was); its term is offsetTerm. */
  private offset: number;
  private offsetTerm: number;
  /** The newest snapshot. Invariant: offset <= snapshot.index <= lastIndex(). */
  private snapshot: SnapshotMeta;
  /**
   * Invariant: every entry with index <= handedIndex was given to a driver in a Ready
   * (its write is under way or done) and still sits in memory unchanged.
   */
  private handedIndex: number;
  /** Invariant: stableIndex <= handedIndex; entries up to it are durable exactly as in memory. */
  private stableIndexValue: number;
  /** The lowest durable index a truncation removed since the last Ready, if any. */
  private pendingTruncateFrom: number | undefined = undefined;
  /**
   * For each Ready handed and not yet durable, oldest first: the last index
   * its writes leave durable, lowered when a truncation removes entries it
   * wrote (the next Ready's truncation removes them from the disk too).
   */
  private readonly inflightReadyLasts: number[] = [];
  /**
   * The last result of slice() and what it was asked, so that a leader sending
   * the same new entries to every follower builds one array rather than one per
   * follower. Invariant: cleared whenever the log changes, so a cached array
   * always holds exactly what slice() would return now.
   */
  private sliceCache: readonly Entry[] | undefined = undefined;
  private sliceCacheFrom = 0;
  private sliceCacheCountMax = 0;
  private sliceCacheBytesMax = 0;

  /**
   * A log restarted from what the driver made durable: the newest snapshot and
   * the entries kept beside it (see DurableState). Entries the snapshot
   * contradicts (a crash between installing a snapshot and dropping the old
   * log) are dropped.
   */
  constructor(restored: readonly Entry[], snapshot: SnapshotMeta = NO_SNAPSHOT) {
    let entries = restored;
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.index !== entries[i - 1]!.index + 1) fail(`restored log has index ${entries[i]!.index} after ${entries[i - 1]!.index}`);
      if (!(entries[i]!.term >= entries[i - 1]!.term)) fail(`restored log term goes back at index ${entries[i]!.index}`);
    }
    const atSnapshot = entries.find((entry) => entry.index === snapshot.index);
    const lastRestored = entries.length === 0 ? 0 : entries[entries.length - 1]!.index;
    if (snapshot.index > 0 && (lastRestored < snapshot.index || (atSnapshot !== undefined && atSnapshot.term !== snapshot.term))) entries = [];
    if (entries.length === 0) {
      this.offset = snapshot.index;
      this.offsetTerm = snapshot.term;
    } else if (entries[0]!.index === 1) {
      this.offset = 0;
      this.offsetTerm = 0;
    } else if (entries[0]!.index === snapshot.index + 1) {
      this.offset = snapshot.index;
      this.offsetTerm = snapshot.term;
    } else {
      // The first restored entry anchors the rest: its term is the one an append after it needs.
      const first = entries[0]!;
      if (!(first.index <= snapshot.index + 1)) fail(`restored log starts at index ${first.index}, after the snapshot at ${snapshot.index}`);
      this.offset = first.index;
      this.offsetTerm = first.term;
      entries = entries.slice(1);
    }
    if (!(this.offset <= snapshot.index || snapshot.index === 0)) fail(`restored log offset ${this.offset} is past the snapshot at ${snapshot.index}`);
    this.snapshot = snapshot.index >= this.offset ? snapshot : { index: this.offset, term: this.offsetTerm };
    this.entries = entries.slice();
    this.handedIndex = this.lastIndex();
    this.stableIndexValue = this.lastIndex();
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    // Never index -1: a negative key is a property name, not an element, and one
    // such lookup on an empty log turns this load megamorphic for the whole run.
    const length = this.entries.length;
    return length === 0 ? this.offsetTerm : this.entries[length - 1]!.term;
  }

  /** The first index whose entry the log still holds (lastIndex() + 1 when it holds none). */
  firstIndex(): number {
    return this.offset + 1;
  }

  /** The newest snapshot the log knows of: the one a follower behind firstIndex() needs. */
  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }

  /**
   * The term at index, 0 for index 0; undefined beyond the end, and before
   * the log's offset (compacted away: ask firstIndex() to tell the two apart).
   */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset) return undefined;
    return this.entries[index - this.offset - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return index > this.offset ? this.entries[index - this.offset - 1] : undefined;
  }

  stableIndex(): number {
    return this.stableIndexValue;
  }

  /** A read-only view of the entries held, from firstIndex() on, for checkers and tests. */
  view(): readonly Entry[] {
    return this.entries;
  }

  /** Entries from..to inclusive; an empty range is shared rather than allocated. */
  range(from: number, to: number): readonly Entry[] {
    if (to < from) return NO_ENTRIES;
    if (!(from > this.offset && to <= this.lastIndex())) fail(`range ${from}..${to} outside ${this.offset + 1}..${this.lastIndex()}`);
    return copyEntries(this.entries, from - this.offset - 1, to - this.offset);
  }

  /**
   * Entries from `from` on, at most countMax of them and bytesMax of payload (but
   * at least one). The array may be shared with earlier and later callers, so
   * nobody may change it; messages carry it read-only.
   */
  slice(from: number, countMax: number, bytesMax: number): readonly Entry[] {
    const cached = this.sliceCache;
    if (cached !== undefined && from === this.sliceCacheFrom && countMax === this.sliceCacheCountMax && bytesMax === this.sliceCacheBytesMax) {
      return cached;
    }
    const entries = this.sliceAfresh(from, countMax, bytesMax);
    this.sliceCache = entries;
    this.sliceCacheFrom = from;
    this.sliceCacheCountMax = countMax;
    this.sliceCacheBytesMax = bytesMax;
    return entries;
  }

  private sliceAfresh(from: number, countMax: number, bytesMax: number): readonly Entry[] {
    // Count first and copy once, so the result is allocated at its exact size
    // rather than grown element by element.
    if (!(from > this.offset)) fail(`slice from ${from}, at or before the log's offset ${this.offset}`);
    let count = 0;
    let bytes = 0;
    const start = from - this.offset - 1;
    for (let position = start; position < this.entries.length && count < countMax; position++) {
      bytes += this.entries[position]!.data.length;
      if (count > 0 && bytes > bytesMax) break;
      count++;
    }
    return copyEntries(this.entries, start, start + count);
  }

  /** The first index of the run of entries that share the term at `index`. */
  firstIndexOfTermAt(index: number): number {
    const term = this.term(index);
    if (term === undefined) fail(`firstIndexOfTermAt(${index}) beyond last index ${this.lastIndex()}`);
    let first = index;
    while (first > this.offset + 1 && this.entries[first - this.offset - 2]!.term === term) first--;
    return first;
  }

  /** The last index whose entry has exactly `term`, or 0 when there is none. */
  lastIndexOfTerm(term: number): number {
    for (let index = this.lastIndex(); index > this.offset; index--) {
      const entryTerm = this.entries[index - this.offset - 1]!.term;
      if (entryTerm === term) return index;
      if (entryTerm < term) return 0;
    }
    return this.offsetTerm === term && this.offset > 0 ? this.offset : 0;
  }

  /** Section 5.4.1: is a log ending at (lastTerm, lastIndex) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  append(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1) fail(`append of index ${entry.index} after ${this.lastIndex()}`);
    if (!(entry.term >= this.lastTerm())) fail(`append of term ${entry.term} after term ${this.lastTerm()}`);
    this.entries.push(entry);
    this.sliceCache = undefined;
  }

  /** Deletes every entry with index >= from, noting what the durable log must drop too. */
  truncateFrom(from: number): void {
    if (!(from > this.snapshot.index)) fail(`truncateFrom(${from}) at or before the snapshot at ${this.snapshot.index}`);
    if (from > this.lastIndex()) return;
    this.entries.length = from - this.offset - 1;
    this.sliceCache = undefined;
    if (from <= this.handedIndex) {
      this.pendingTruncateFrom = Math.min(this.pendingTruncateFrom ?? from, from);
      this.handedIndex = from - 1;
      this.stableIndexValue = Math.min(this.stableIndexValue, from - 1);
      for (let i = 0; i < this.inflightReadyLasts.length; i++) this.inflightReadyLasts[i] = Math.min(this.inflightReadyLasts[i]!, from - 1);
    }
  }

  hasUnpersisted(): boolean {
    return this.pendingTruncateFrom !== undefined || this.handedIndex < this.lastIndex();
  }

  /**
   * Hands out the persistence work for one Ready: the truncation first (see
   * takeUnpersistedEntries, which must follow at once). Two calls instead of one
   * returned pair keep a Ready from allocating a throwaway object.
   */
  takeUnpersistedTruncation(): number | undefined {
    const truncateFrom = this.pendingTruncateFrom;
    this.pendingTruncateFrom = undefined;
    return truncateFrom;
  }

  /** The entries of the Ready whose truncation takeUnpersistedTruncation just handed out. */
  takeUnpersistedEntries(): readonly Entry[] {
    const last = this.lastIndex();
    const entries = this.handedIndex === last ? NO_ENTRIES : copyEntries(this.entries, this.handedIndex - this.offset, this.entries.length);
    this.handedIndex = last;
    this.inflightReadyLasts.push(last);
    return entries;
  }

  /** A Ready that writes nothing of the log (one that installs a snapshot) was handed out. */
  handReadyWithoutEntries(): void {
    this.inflightReadyLasts.push(this.stableIndexValue);
  }

  /**
   * Called when the oldest Ready in flight is durable. Entries truncated while
   * its write was under way are not stable even though they reached the disk:
   * a later Ready's truncation removes them. A later Ready's entries are not
   * stable yet either, which is why each Ready's own last index is kept.
   */
  markPersisted(): void {
    const last = this.inflightReadyLasts.shift();
    if (last === undefined) fail('markPersisted() without a Ready in flight');
    this.stableIndexValue = Math.max(this.stableIndexValue, Math.min(last, this.handedIndex));
  }

  /**
   * A snapshot at `index` is durable: remember it, and drop the entries up to
   * `keepFrom` - 1 (the caller keeps some trailing entries behind the
   * snapshot). Only entries that are durable and applied may go.
   */
  compact(snapshot: SnapshotMeta, keepFrom: number, appliedIndex: number): void {
    if (!(snapshot.index >= this.snapshot.index)) fail(`snapshot at ${snapshot.index} is older than the one at ${this.snapshot.index}`);
    if (this.term(snapshot.index) !== snapshot.term) fail(`snapshot at ${snapshot.index} says term ${snapshot.term}, the log ${String(this.term(snapshot.index))}`);
    this.snapshot = snapshot;
    const dropTo = Math.min(keepFrom - 1, snapshot.index, this.stableIndexValue, appliedIndex);
    if (dropTo <= this.offset) return;
    this.offsetTerm = this.term(dropTo)!;
    this.entries.splice(0, dropTo - this.offset);
    this.offset = dropTo;
    this.sliceCache = undefined;
  }

  /**
   * Whether installing `snapshot` keeps the entries after it: only when the
   * log holds its last entry durably. An entry there that is not yet durable
   * goes with the rest, so that the log in memory and the durable log agree.
   */
  keepsAfterSnapshot(snapshot: SnapshotMeta): boolean {
    return snapshot.index <= this.stableIndexValue && this.term(snapshot.index) === snapshot.term;
  }

  /**
   * A snapshot received from the leader was installed (durably, with the
   * durable log made to agree). Section 7 of the extended paper: if the log
   * holds the snapshot's last entry, the entries after it stay; otherwise the
   * whole log is gone and the snapshot stands in for it.
   */
  installSnapshot(snapshot: SnapshotMeta, keepsLog: boolean): void {
    if (keepsLog) {
      this.snapshot = snapshot.index > this.snapshot.index ? snapshot : this.snapshot;
      return;
    }
    this.entries.length = 0;
    this.offset = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.snapshot = snapshot;
    this.handedIndex = snapshot.index;
    this.stableIndexValue = snapshot.index;
    for (let i = 0; i < this.inflightReadyLasts.length; i++) this.inflightReadyLasts[i] = Math.min(this.inflightReadyLasts[i]!, snapshot.index);
    this.pendingTruncateFrom = undefined;
    this.sliceCache = undefined;
  }
}
