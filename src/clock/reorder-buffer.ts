// Bounded reordering: merges several streams of stamped items into one stream
// in stamp order, holding each item back at most a fixed time.
//
// Each source (a Raft group, in a node that hosts several) hands over its items
// in its own stamp order, so once a source has handed over an item stamped s,
// nothing earlier than s will come from it: s is the source's watermark. An
// item no source can still precede (its stamp is at or below every source's
// watermark) is released at once. One that some silent or slow source might
// still precede is held, but never longer than `boundMs`: then it goes anyway,
// with every held item earlier than it. An item that arrives after a later one
// was already released cannot be put in its place any more: it is released at
// once and marked late, so the reader knows the order broke there.
//
// With a single source the watermark is the stamp of the item just pushed, so
// nothing is ever held and nothing is ever late: the merge costs no delay.
//
// Pure: time comes in as arguments.

import { compareHlc, type HlcTimestamp } from './hlc.js';

export interface ReleasedItem<T> {
  readonly item: T;
  readonly stamp: HlcTimestamp;
  /** True when an item stamped later had already been released before this one arrived. */
  readonly late: boolean;
}

interface HeldItem<T> {
  readonly item: T;
  readonly stamp: HlcTimestamp;
  /** When it was pushed, on the reader's clock. */
  readonly heldSinceMs: number;
}

export class ReorderBuffer<T> {
  /** In stamp order; ties keep the order they were pushed in. */
  private held: HeldItem<T>[] = [];
  /** Late items, in the order they arrived, waiting for the next take. */
  private lateItems: ReleasedItem<T>[] = [];
  private readonly watermarks = new Map<string, HlcTimestamp>();
  private lastReleased: HlcTimestamp | undefined;

  constructor(
    /** The longest an item is held back, in ms of the reader's clock. */
    readonly boundMs: number,
    /** Every source the items come from; an item waits for all of them. */
    readonly sources: readonly string[],
  ) {
    if (!Number.isFinite(boundMs) || boundMs < 0) throw new Error(`the reorder bound must be a non-negative number of ms, got ${boundMs}`);
    if (sources.length === 0) throw new Error('a reorder buffer needs at least one source');
  }

  /** Items held or waiting to be taken. */
  get size(): number {
    return this.held.length + this.lateItems.length;
  }

  /**
   * An item from `source`, pushed at `nowMs`. Items of one source must come in
   * stamp order; the source's watermark moves up to this item's stamp.
   */
  push(item: T, stamp: HlcTimestamp, source: string, nowMs: number): void {
    this.advance(source, stamp);
    if (this.isLate(stamp)) {
      this.lateItems.push({ item, stamp, late: true });
      return;
    }
    let at = this.held.length;
    while (at > 0 && compareHlc(this.held[at - 1]!.stamp, stamp) > 0) at--;
    this.held.splice(at, 0, { item, stamp, heldSinceMs: nowMs });
  }

  /** Tells the buffer that `source` will send nothing earlier than `stamp`, without an item (an idle source's progress). */
  advance(source: string, stamp: HlcTimestamp): void {
    if (!this.sources.includes(source)) throw new Error(`unknown reorder source ${source}; the sources are ${this.sources.join(', ')}`);
    const current = this.watermarks.get(source);
    if (current === undefined || compareHlc(stamp, current) > 0) this.watermarks.set(source, stamp);
  }

  /**
   * What may go now: late items first, then, in stamp order, every held item
   * that no source can still precede or that has been held `boundMs`, with all
   * held items earlier than those.
   */
  take(nowMs: number): ReleasedItem<T>[] {
    const released = this.lateItems;
    this.lateItems = [];
    const low = this.lowWatermark();
    let due = 0;
    for (let i = 0; i < this.held.length; i++) {
      const held = this.held[i]!;
      const passed = low !== undefined && compareHlc(held.stamp, low) <= 0;
      if (passed || nowMs - held.heldSinceMs >= this.boundMs) due = i + 1;
    }
    for (const held of this.held.splice(0, due)) {
      released.push({ item: held.item, stamp: held.stamp, late: false });
      this.lastReleased = held.stamp;
    }
    return released;
  }

  /** Whether an item stamped `stamp` would come after a later-stamped one already released. */
  isLate(stamp: HlcTimestamp): boolean {
    return this.lastReleased !== undefined && compareHlc(stamp, this.lastReleased) < 0;
  }

  /** An item of these streams went out by another way (a replay): an item earlier than it is late from now on. */
  markDelivered(stamp: HlcTimestamp): void {
    if (this.lastReleased === undefined || compareHlc(stamp, this.lastReleased) > 0) this.lastReleased = stamp;
  }

  /** When the earliest held item falls due by the bound, or undefined when nothing is held. */
  nextDueMs(): number | undefined {
    if (this.held.length === 0) return undefined;
    return Math.min(...this.held.map((held) => held.heldSinceMs)) + this.boundMs;
  }

  /** Drops what is held, keeping the watermarks and the last released stamp. */
  clear(): void {
    this.held = [];
    this.lateItems = [];
  }

  /** The stamp no source can still precede: the lowest watermark, once every source has one. */
  private lowWatermark(): HlcTimestamp | undefined {
    let low: HlcTimestamp | undefined;
    for (const source of this.sources) {
      const mark = this.watermarks.get(source);
      if (mark === undefined) return undefined;
      if (low === undefined || compareHlc(mark, low) < 0) low = mark;
    }
    return low;
  }
}
