import { fail } from './assert.js';
import type { Entry } from './types.js';

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
 * Indices start at 1; index 0 is a virtual entry of term 0 that every log shares.
 * There is no compaction yet, so the whole log is in memory.
 */
export class RaftLog {
  /** Invariant: entries[i].index === i + 1, and terms never decrease along the array. */
  private readonly entries: Entry[];
  /**
   * Invariant: every entry with index <= handedIndex was given to a driver in a Ready
   * (its write is under way or done) and still sits in memory unchanged.
   */
  private handedIndex: number;
  /** Invariant: stableIndex <= handedIndex; entries up to it are durable exactly as in memory. */
  private stableIndexValue: number;
  /** The lowest durable index a truncation removed since the last Ready, if any. */
  private pendingTruncateFrom: number | undefined = undefined;
  /** The last index handed in the Ready that is being persisted now. */
  private inflightReadyLast = 0;
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

  constructor(restored: readonly Entry[]) {
    for (let i = 0; i < restored.length; i++) {
      const entry = restored[i]!;
      if (entry.index !== i + 1) fail(`restored log has index ${entry.index} at position ${i + 1}`);
      const previousTerm = i === 0 ? 0 : restored[i - 1]!.term;
      if (!(entry.term >= previousTerm)) fail(`restored log term goes back at index ${entry.index}`);
    }
    this.entries = restored.slice();
    this.handedIndex = this.entries.length;
    this.stableIndexValue = this.entries.length;
  }

  lastIndex(): number {
    return this.entries.length;
  }

  lastTerm(): number {
    // Never index -1: a negative key is a property name, not an element, and one
    // such lookup on an empty log turns this load megamorphic for the whole run.
    const length = this.entries.length;
    return length === 0 ? 0 : this.entries[length - 1]!.term;
  }

  /** The term at index, 0 for index 0; undefined beyond the end. */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    return this.entries[index - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - 1];
  }

  stableIndex(): number {
    return this.stableIndexValue;
  }

  /** A read-only view of every entry, for checkers and tests. */
  view(): readonly Entry[] {
    return this.entries;
  }

  /** Entries from..to inclusive; an empty range is shared rather than allocated. */
  range(from: number, to: number): readonly Entry[] {
    if (to < from) return NO_ENTRIES;
    if (!(from >= 1 && to <= this.entries.length)) fail(`range ${from}..${to} outside 1..${this.entries.length}`);
    return copyEntries(this.entries, from - 1, to);
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
    let count = 0;
    let bytes = 0;
    for (let index = from; index <= this.entries.length && count < countMax; index++) {
      bytes += this.entries[index - 1]!.data.length;
      if (count > 0 && bytes > bytesMax) break;
      count++;
    }
    return copyEntries(this.entries, from - 1, from - 1 + count);
  }

  /** The first index of the run of entries that share the term at `index`. */
  firstIndexOfTermAt(index: number): number {
    const term = this.term(index);
    if (term === undefined) fail(`firstIndexOfTermAt(${index}) beyond last index ${this.lastIndex()}`);
    let first = index;
    while (first > 1 && this.entries[first - 2]!.term === term) first--;
    return first;
  }

  /** The last index whose entry has exactly `term`, or 0 when there is none. */
  lastIndexOfTerm(term: number): number {
    for (let index = this.entries.length; index >= 1; index--) {
      const entryTerm = this.entries[index - 1]!.term;
      if (entryTerm === term) return index;
      if (entryTerm < term) return 0;
    }
    return 0;
  }

  /** Section 5.4.1: is a log ending at (lastTerm, lastIndex) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  append(entry: Entry): void {
    if (entry.index !== this.entries.length + 1) fail(`append of index ${entry.index} after ${this.entries.length}`);
    if (!(entry.term >= this.lastTerm())) fail(`append of term ${entry.term} after term ${this.lastTerm()}`);
    this.entries.push(entry);
    this.sliceCache = undefined;
  }

  /** Deletes every entry with index >= from, noting what the durable log must drop too. */
  truncateFrom(from: number): void {
    if (!(from >= 1)) fail(`truncateFrom(${from})`);
    if (from > this.entries.length) return;
    this.entries.length = from - 1;
    this.sliceCache = undefined;
    if (from <= this.handedIndex) {
      this.pendingTruncateFrom = Math.min(this.pendingTruncateFrom ?? from, from);
      this.handedIndex = from - 1;
      this.stableIndexValue = Math.min(this.stableIndexValue, from - 1);
    }
  }

  hasUnpersisted(): boolean {
    return this.pendingTruncateFrom !== undefined || this.handedIndex < this.entries.length;
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
    const length = this.entries.length;
    const entries = this.handedIndex === length ? NO_ENTRIES : copyEntries(this.entries, this.handedIndex, length);
    this.handedIndex = length;
    this.inflightReadyLast = length;
    return entries;
  }

  /**
   * Called when the last Ready's writes are durable. Entries truncated while the
   * write was under way are not stable even though they reached the disk: the next
   * Ready's truncation removes them.
   */
  markPersisted(): void {
    this.stableIndexValue = Math.max(this.stableIndexValue, Math.min(this.inflightReadyLast, this.handedIndex));
  }
}
