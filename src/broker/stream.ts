// One stream's messages, held to its limits: the store part of a stream,
// without the subjects routing or the commands around it (state-machine.ts).
//
// Every message gets the stream's next sequence number; sequences start at 1,
// only grow, and are never reused, even after a purge (JetStream's rule), so a
// sequence names one message for the stream's whole life. Messages leave in
// exactly these ways, each a function of the log alone:
//   - a limit with discard 'old': max_msgs and max_bytes remove the stream's
//     oldest, max_msgs_per_subject the subject's oldest, after each store and
//     after an update that lowers a limit;
//   - max_age: at every advance of the replicated clock (a publish's leader
//     timestamp, or a clock command), messages stamped max_age or longer ago;
//   - a purge: all, or a subject filter's, up to a sequence, or all but the
//     newest N.
// With discard 'new', a publish that would pass max_msgs or max_bytes is
// refused instead (max_msgs_per_subject still removes the subject's oldest, as
// nats-server does unless told otherwise), and nothing is removed.
//
// Each of those removes the oldest messages of the stream or of one subject,
// so a subject's sequences only ever leave from the front of its list; the
// stream's slots may leave holes in the middle, which reads skip.
//
// Digest: an order-free sum of per-message hashes, added on store and taken
// away on removal, so equal contents give equal digests however they were
// reached (a snapshot restored, or the log replayed).
//
// Memory. The stream keeps, for each sequence from its oldest live message
// to its last, only what its limits, reads and digest need: the subject (a
// reference to the subject's shared list), the stamp, the counted bytes and
// the message's hash, in columns (typed arrays where the values are numbers),
// about 36 bytes a message. Headers and payloads are in the stream's
// MessageStore (message-store.ts), on disk in a node, read back on demand.

import { assert } from '../raft/assert.js';
import type { MessageHeaders } from './commands.js';
import { DedupTable, type DedupEntry } from './dedup-table.js';
import { Hash64 } from './hash.js';
import { messageHash, type RecordSummary } from './message-record.js';
import { MemoryMessageStores, type MessageStore, type SeqRange } from './message-store.js';
import { storedMessageBytes, type StreamMessage } from './stream-message.js';
import { subjectMatches } from './subjects.js';
import type { StreamConfig } from './stream-config.js';
import { rejection, type Rejection } from './validation.js';

export { storedMessageBytes, type StreamMessage } from './stream-message.js';

export interface Stamp {
  readonly timestampMs: number;
  readonly logical: number;
}

export type StoreResult =
  | { readonly kind: 'stored'; readonly seq: number; readonly stamp: Stamp; readonly message: StreamMessage }
  | { readonly kind: 'duplicate'; readonly seq: number; readonly stamp: Stamp }
  | Rejection;

export interface PurgeRequest {
  /** Only messages whose subject matches this pattern. */
  readonly filter?: string;
  /** Up to but not including this sequence (JetStream's `seq`). */
  readonly upToSeq?: number;
  /** All but the newest this many (of the filter's messages, with a filter). */
  readonly keep?: number;
}

/**
 * Everything a stream holds that is not derived from the rest, but its
 * messages: what a snapshot carries (the messages go in the snapshot too, or
 * stay in the stream's store; see snapshot.ts). Counts, byte totals and the
 * per-subject lists are recomputed from the messages on restore.
 */
export interface StreamState {
  readonly config: StreamConfig;
  /** The index of the entry that created the stream: its store's name, unique over the machine's life. */
  readonly id: number;
  readonly createdMs: number;
  /** The last sequence ever assigned, which may be past the newest live message (sequences are never reused). */
  readonly lastSeq: number;
  /** The replicated clock the stream was last aged at, which max_age is held to. */
  readonly agedAtMs: number;
  /** The live messages' sequences, as ascending runs. */
  readonly live: readonly SeqRange[];
  readonly dedupWindowMs: number;
  /** The remembered message ids, oldest first (the order they expire in). */
  readonly dedupEntries: readonly DedupEntry[];
}

export interface StreamInfo {
  readonly messages: number;
  readonly bytes: number;
  /** The oldest message's sequence; lastSeq + 1 when the stream is empty. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstTimestampMs: number | undefined;
  readonly lastTimestampMs: number | undefined;
  readonly subjects: number;
}

/** Dead slots tolerated before the slot columns are compacted, so compaction stays amortised. */
const SLOT_COMPACT_MIN = 1024;
const TWO_POW_32 = 0x1_0000_0000;

interface SubjectSeqs {
  /** The subject itself: every stored message of it shares this one string. */
  readonly subject: string;
  /** The subject's sequences, ascending. Invariant: seqs[head..] are exactly its live messages. */
  seqs: number[];
  head: number;
}

/**
 * The per-message columns: slot i describes sequence slotBase + i. A slot
 * whose subject is undefined was removed (or never held a message: restored
 * streams keep slots for the holes between live messages).
 */
class SlotColumns {
  subjects: (SubjectSeqs | undefined)[] = [];
  times = new Float64Array(16);
  logicals = new Float64Array(16);
  bytes = new Uint32Array(16);
  /** Two words a slot: the message's hash, high then low. */
  hashes = new Uint32Array(32);

  get length(): number {
    return this.subjects.length;
  }

  push(subject: SubjectSeqs | undefined, timeMs: number, logical: number, bytes: number, hashHigh: number, hashLow: number): void {
    const at = this.subjects.length;
    if (at === this.times.length) this.grow(at * 2);
    this.subjects.push(subject);
    this.times[at] = timeMs;
    this.logicals[at] = logical;
    this.bytes[at] = bytes;
    this.hashes[2 * at] = hashHigh;
    this.hashes[2 * at + 1] = hashLow;
  }

  /** Drops the first `count` slots, moving the rest to the front. */
  dropFront(count: number): void {
    const length = this.subjects.length;
    this.subjects = this.subjects.slice(count);
    this.times.copyWithin(0, count, length);
    this.logicals.copyWithin(0, count, length);
    this.bytes.copyWithin(0, count, length);
    this.hashes.copyWithin(0, 2 * count, 2 * length);
    // Give memory back once the live slots fill less than a quarter of what is reserved.
    if (this.times.length > 64 && this.subjects.length * 4 < this.times.length) this.grow(Math.max(16, this.subjects.length * 2));
  }

  clear(): void {
    this.subjects = [];
    if (this.times.length > 16) this.grow(16);
  }

  private grow(capacity: number): void {
    const keep = Math.min(this.subjects.length, capacity);
    const times = new Float64Array(capacity);
    times.set(this.times.subarray(0, keep));
    this.times = times;
    const logicals = new Float64Array(capacity);
    logicals.set(this.logicals.subarray(0, keep));
    this.logicals = logicals;
    const bytes = new Uint32Array(capacity);
    bytes.set(this.bytes.subarray(0, keep));
    this.bytes = bytes;
    const hashes = new Uint32Array(2 * capacity);
    hashes.set(this.hashes.subarray(0, 2 * keep));
    this.hashes = hashes;
  }
}

export class Stream {
  private configValue: StreamConfig;
  private readonly slots = new SlotColumns();
  private slotBase = 1;
  /** Index of the first live slot, or slots.length when none is. */
  private head = 0;
  private lastSeqValue = 0;
  private count = 0;
  private bytesValue = 0;
  private readonly bySubject = new Map<string, SubjectSeqs>();
  private readonly dedup: DedupTable;
  /** The latest replicated clock this stream was aged at; see advanceClock. */
  private clockMs = 0;
  /** The sum of the live messages' hashes, two 32-bit lanes. */
  private digestLow = 0;
  private digestHigh = 0;

  constructor(
    config: StreamConfig,
    private readonly dedupEntriesMax: number,
    /** Where the messages' headers and payloads go. */
    private readonly messageStore: MessageStore = new MemoryMessageStores().create(0, config.name),
    /** The index of the entry that created the stream; see StreamState.id. */
    readonly id = 0,
    /** The replicated clock when the stream was created. */
    readonly createdMs = 0,
  ) {
    this.configValue = config;
    this.dedup = new DedupTable(Math.max(1, config.duplicateWindowMs), dedupEntriesMax);
  }

  /**
   * Rebuilds a stream from its state, as state() gave it, over a store that
   * already holds its messages; `messages` describes them, in sequence order
   * (the store reported them, or the caller stored them from a snapshot).
   * Counts, byte totals, the per-subject lists and the digest lanes are
   * recomputed by the same code that stores a message, so they cannot disagree
   * with the messages however the state was carried. Throws InvariantError on
   * a state no stream could hold; the caller runs invariants() for the rest.
   */
  static restore(state: StreamState, dedupEntriesMax: number, store: MessageStore, messages: Iterable<RecordSummary>): Stream {
    const stream = new Stream(state.config, dedupEntriesMax, store, state.id, state.createdMs);
    let expected = 0;
    for (const message of messages) {
      expected++;
      stream.appendRestored(message);
    }
    const live = state.live.reduce((total, range) => total + range.count, 0);
    assert(expected === live && stream.count === live, `stream ${stream.name} restores ${expected} messages, its state holds ${live} live`);
    assert(Number.isSafeInteger(state.lastSeq) && state.lastSeq >= stream.lastSeqValue, `stream ${stream.name} restores last seq ${state.lastSeq} below a live message`);
    // A stream that holds messages keeps a slot up to its last sequence, removed newest ones included, so the next append lands after them.
    if (stream.head < stream.slots.length) {
      while (stream.slotBase + stream.slots.length <= state.lastSeq) stream.slots.push(undefined, 0, 0, 0, 0, 0);
    }
    stream.lastSeqValue = state.lastSeq;
    stream.clockMs = state.agedAtMs;
    // The table is empty here, so setting its window expires nothing; the entries are taken as they were.
    stream.dedup.setWindow(state.dedupWindowMs, 0);
    for (const entry of state.dedupEntries) stream.dedup.record(entry.topic, entry.msgId, entry.offset, entry.recordedAtMs, entry.logical);
    return stream;
  }

  /** Everything the stream holds that is not derived from the rest, but its messages, for a snapshot; restore() takes it back. */
  state(): StreamState {
    return {
      config: this.configValue,
      id: this.id,
      createdMs: this.createdMs,
      lastSeq: this.lastSeqValue,
      agedAtMs: this.clockMs,
      live: this.liveRanges(),
      dedupWindowMs: this.dedup.windowMs,
      dedupEntries: this.dedup.entries(),
    };
  }

  /** The live messages' sequences, as ascending runs. */
  liveRanges(): SeqRange[] {
    const ranges: SeqRange[] = [];
    let first = 0;
    let count = 0;
    for (let i = this.head; i < this.slots.length; i++) {
      if (this.slots.subjects[i] === undefined) continue;
      const seq = this.slotBase + i;
      if (count > 0 && first + count === seq) {
        count++;
      } else {
        if (count > 0) ranges.push({ first, count });
        first = seq;
        count = 1;
      }
    }
    if (count > 0) ranges.push({ first, count });
    return ranges;
  }

  /** Each live message's record, in sequence order, for a snapshot that carries the messages. */
  *records(): Generator<Uint8Array> {
    for (let i = this.head; i < this.slots.length; i++) {
      if (this.slots.subjects[i] !== undefined) yield this.messageStore.record(this.slotBase + i);
    }
  }

  get config(): StreamConfig {
    return this.configValue;
  }

  get name(): string {
    return this.configValue.name;
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get firstSeq(): number {
    return this.head < this.slots.length ? this.slotBase + this.head : this.lastSeqValue + 1;
  }

  get messageCount(): number {
    return this.count;
  }

  info(): StreamInfo {
    let last = this.slots.length - 1;
    while (last >= this.head && this.slots.subjects[last] === undefined) last--;
    const holds = this.head < this.slots.length;
    return {
      messages: this.count,
      bytes: this.bytesValue,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeqValue,
      firstTimestampMs: holds ? this.slots.times[this.head] : undefined,
      lastTimestampMs: holds ? this.slots.times[last] : undefined,
      subjects: this.bySubject.size,
    };
  }

  /** The number of live messages per subject matching `filter` (all subjects without one), sorted by subject. */
  subjectCounts(filter?: string): { subject: string; messages: number }[] {
    const counts: { subject: string; messages: number }[] = [];
    for (const [subject, list] of this.bySubject) {
      if (filter === undefined || subjectMatches(filter, subject)) counts.push({ subject, messages: list.seqs.length - list.head });
    }
    return counts.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  }

  /** Message ids remembered for deduplication. */
  get dedupEntries(): number {
    return this.dedup.size;
  }

  /** The sequence of the subject's newest live message; 0 when it has none. */
  lastSeqOf(subject: string): number {
    const list = this.bySubject.get(subject);
    return list === undefined ? 0 : list.seqs[list.seqs.length - 1]!;
  }

  /** How many live messages of the subject have a sequence above `seq`. */
  messagesAfter(subject: string, seq: number): number {
    const list = this.bySubject.get(subject);
    return list === undefined ? 0 : list.seqs.length - lowerBound(list.seqs, list.head, seq + 1);
  }

  /** Every subject with live messages, and the sequence of its newest. */
  topics(): { name: string; lastOffset: number }[] {
    const topics: { name: string; lastOffset: number }[] = [];
    for (const [name, list] of this.bySubject) topics.push({ name, lastOffset: list.seqs[list.seqs.length - 1]! });
    return topics;
  }

  /**
   * The sequence of the subject's first live message stamped at or after
   * `timeMs`, or one past the stream's last sequence when none is. Stamps
   * never decrease along the stream, so this is a binary search.
   */
  firstSeqAtOrAfter(subject: string, timeMs: number): number {
    const list = this.bySubject.get(subject);
    if (list === undefined) return this.lastSeqValue + 1;
    let low = list.head;
    let high = list.seqs.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.slots.times[list.seqs[middle]! - this.slotBase]! < timeMs) low = middle + 1;
      else high = middle;
    }
    return low < list.seqs.length ? list.seqs[low]! : this.lastSeqValue + 1;
  }

  /** Whether the stream holds a live message with this sequence. */
  holds(seq: number): boolean {
    return Number.isSafeInteger(seq) && seq >= this.slotBase && this.slots.subjects[seq - this.slotBase] !== undefined;
  }

  /** The live message with this sequence, read from the store, or undefined. */
  get(seq: number): StreamMessage | undefined {
    return this.holds(seq) ? this.messageStore.read(seq) : undefined;
  }

  /** Up to `limit` live messages from `fromSeq` on whose subject matches `filter`, in sequence order, read from the store. */
  read(filter: string, fromSeq: number, limit: number): StreamMessage[] {
    const found: StreamMessage[] = [];
    if (limit <= 0) return found;
    const literal = this.bySubject.get(filter);
    if (literal !== undefined && !filter.includes('*') && !filter.includes('>')) {
      let i = lowerBound(literal.seqs, literal.head, Math.max(fromSeq, 1));
      for (; i < literal.seqs.length && found.length < limit; i++) found.push(this.messageStore.read(literal.seqs[i]!));
      return found;
    }
    for (let i = Math.max(this.head, fromSeq - this.slotBase); i < this.slots.length && found.length < limit; i++) {
      const subject = this.slots.subjects[i];
      if (subject !== undefined && subjectMatches(filter, subject.subject)) found.push(this.messageStore.read(this.slotBase + i));
    }
    return found;
  }

  /** The replicated clock moved to `nowMs`: forget expired message ids and remove messages past max_age. */
  advanceClock(nowMs: number): number {
    this.clockMs = Math.max(this.clockMs, nowMs);
    this.dedup.expire(nowMs);
    const maxAgeMs = this.configValue.maxAgeMs;
    if (maxAgeMs === 0) return 0;
    let removed = 0;
    while (this.head < this.slots.length && nowMs - this.slots.times[this.head]! >= maxAgeMs) {
      this.remove(this.slotBase + this.head);
      removed++;
    }
    return removed;
  }

  /**
   * Stores a message, or says why not. The caller moved the clock to the
   * message's stamp first (advanceClock), so age and dedup are current.
   */
  store(subject: string, headers: MessageHeaders, payload: Uint8Array, msgId: string | undefined, stamp: Stamp): StoreResult {
    const config = this.configValue;
    if (msgId !== undefined) {
      const seen = this.dedup.lookup('', msgId);
      if (seen !== undefined) return { kind: 'duplicate', seq: seen.offset, stamp: { timestampMs: seen.recordedAtMs, logical: seen.logical } };
    }
    const bytes = storedMessageBytes(subject, headers, payload);
    if (config.maxMsgSize !== -1 && bytes > config.maxMsgSize) {
      return rejection('max-msg-size', `message of ${bytes} bytes exceeds max_msg_size ${config.maxMsgSize} of stream ${config.name}`);
    }
    if (config.maxBytes !== -1 && bytes > config.maxBytes) {
      return rejection('max-bytes', `message of ${bytes} bytes is larger than max_bytes ${config.maxBytes} of stream ${config.name}`);
    }
    const refusal = config.discard === 'new' ? this.discardNewRefusal(subject, bytes) : undefined;
    if (refusal !== undefined) return refusal;
    if (msgId !== undefined && this.dedup.full) {
      return rejection('dedup-entries-max', `${this.dedup.size} message ids are remembered in stream ${config.name}, dedupEntriesMax ${this.dedupEntriesMax}; retry after the oldest expire, or publish without a message id`);
    }
    const seq = this.lastSeqValue + 1;
    // Each decoded command brings its own copy of the subject; the stream keeps one.
    const topic = this.bySubject.get(subject)?.subject ?? subject;
    const base = { stream: config.name, topic, offset: seq, timestampMs: stamp.timestampMs, logical: stamp.logical, headers, payload, bytes };
    const message: StreamMessage = msgId === undefined ? base : { ...base, msgId };
    const hash = messageHash(message);
    this.messageStore.append(message, hash.highWord, hash.lowWord);
    this.append(seq, topic, stamp.timestampMs, stamp.logical, bytes, hash.highWord, hash.lowWord);
    if (msgId !== undefined) this.dedup.record('', msgId, seq, stamp.timestampMs, stamp.logical);
    this.enforceLimits(subject);
    return { kind: 'stored', seq, stamp, message };
  }

  /** Removes what a purge names; returns how many messages it removed. */
  purge(request: PurgeRequest): number {
    const candidates: number[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const subject = this.slots.subjects[i];
      if (subject === undefined) continue;
      const seq = this.slotBase + i;
      if (request.upToSeq !== undefined && seq >= request.upToSeq) break;
      if (request.filter === undefined || subjectMatches(request.filter, subject.subject)) candidates.push(seq);
    }
    const keep = request.keep ?? 0;
    const doomed = candidates.slice(0, Math.max(0, candidates.length - keep));
    for (const seq of doomed) this.remove(seq);
    return doomed.length;
  }

  /**
   * Takes a new config (the caller checked that only editable fields changed)
   * and holds the messages to its limits at once: a lowered limit removes the
   * oldest, whatever the discard policy, as nats-server does.
   */
  update(config: StreamConfig, nowMs: number): void {
    assert(config.name === this.configValue.name, `stream ${this.configValue.name} cannot become ${config.name}`);
    this.configValue = config;
    this.dedup.setWindow(Math.max(1, config.duplicateWindowMs), nowMs);
    for (const subject of [...this.bySubject.keys()]) this.enforceSubjectLimit(subject);
    this.enforceStreamLimits();
    this.advanceClock(nowMs);
  }

  /** An order-free hash of the config, sequence position and live messages. */
  digest(hash: Hash64): void {
    const config = this.configValue;
    hash.text(JSON.stringify(config)).integer(this.lastSeqValue).integer(this.count).integer(this.bytesValue);
    hash.word(this.digestLow).word(this.digestHigh);
    const ids = [...this.dedup.entries()].sort((a, b) => (a.msgId < b.msgId ? -1 : a.msgId > b.msgId ? 1 : 0));
    hash.integer(ids.length);
    for (const id of ids) hash.text(id.msgId).integer(id.offset).integer(id.recordedAtMs);
  }

  invariants(): void {
    this.dedup.invariants();
    let live = 0;
    let bytes = 0;
    let previousMs = -1;
    let previousLogical = 0;
    for (let i = this.head; i < this.slots.length; i++) {
      const subject = this.slots.subjects[i];
      if (subject === undefined) continue;
      const seq = this.slotBase + i;
      const timeMs = this.slots.times[i]!;
      const logical = this.slots.logicals[i]!;
      const later = timeMs > previousMs || (timeMs === previousMs && logical > previousLogical);
      assert(later, `stream ${this.name} stamps do not increase at seq ${seq}`);
      assert(this.bySubject.get(subject.subject) === subject, `stream ${this.name} files seq ${seq} under a subject list it no longer keeps`);
      previousMs = timeMs;
      previousLogical = logical;
      live++;
      bytes += this.slots.bytes[i]!;
    }
    assert(this.head === this.slots.length || this.slots.subjects[this.head] !== undefined, `stream ${this.name} head points at a removed slot`);
    assert(live === this.count, `stream ${this.name} counts ${this.count} messages, holds ${live}`);
    assert(bytes === this.bytesValue, `stream ${this.name} counts ${this.bytesValue} bytes, holds ${bytes}`);
    assert(this.lastSeqValue >= this.slotBase + this.slots.length - 1, `stream ${this.name} holds a slot past its last seq`);
    const holdsMessages = this.head < this.slots.length;
    assert(!holdsMessages || this.slotBase + this.slots.length - 1 === this.lastSeqValue, `stream ${this.name} has no slot for its last seq ${this.lastSeqValue}`);
    let subjectTotal = 0;
    for (const [subject, list] of this.bySubject) {
      assert(list.head < list.seqs.length, `stream ${this.name} keeps empty subject ${subject}`);
      for (let i = list.head; i < list.seqs.length; i++) assert(this.slots.subjects[list.seqs[i]! - this.slotBase] === list, `stream ${this.name} lists a missing seq under ${subject}`);
      subjectTotal += list.seqs.length - list.head;
    }
    assert(subjectTotal === this.count, `stream ${this.name} lists ${subjectTotal} messages by subject, holds ${this.count}`);
    this.limitInvariants();
  }

  // ---- Helpers.

  private limitInvariants(): void {
    const config = this.configValue;
    assert(config.maxMsgs === -1 || this.count <= config.maxMsgs, `stream ${this.name} holds ${this.count} messages, max_msgs ${config.maxMsgs}`);
    assert(config.maxBytes === -1 || this.bytesValue <= config.maxBytes, `stream ${this.name} holds ${this.bytesValue} bytes, max_bytes ${config.maxBytes}`);
    const holds = this.head < this.slots.length;
    assert(config.maxAgeMs === 0 || !holds || this.clockMs - this.slots.times[this.head]! < config.maxAgeMs, `stream ${this.name} keeps seq ${this.firstSeq} past max_age ${config.maxAgeMs} ms`);
    if (config.maxMsgsPerSubject === -1) return;
    for (const [subject, list] of this.bySubject) {
      assert(list.seqs.length - list.head <= config.maxMsgsPerSubject, `stream ${this.name} holds more than max_msgs_per_subject of ${subject}`);
    }
  }

  /**
   * With discard 'new': a publish that would pass max_msgs or max_bytes is
   * refused, with JetStream's descriptions. One that replaces its subject's
   * oldest under max_msgs_per_subject adds nothing in count, so it passes.
   */
  private discardNewRefusal(subject: string, bytes: number): Rejection | undefined {
    const config = this.configValue;
    const list = this.bySubject.get(subject);
    const subjectCount = list === undefined ? 0 : list.seqs.length - list.head;
    if (config.maxMsgsPerSubject !== -1 && subjectCount >= config.maxMsgsPerSubject) return undefined;
    if (config.maxMsgs !== -1 && this.count + 1 > config.maxMsgs) return rejection('max-msgs', 'maximum messages exceeded');
    if (config.maxBytes !== -1 && this.bytesValue + bytes > config.maxBytes) return rejection('max-bytes', 'maximum bytes exceeded');
    return undefined;
  }

  private enforceLimits(subject: string): void {
    this.enforceSubjectLimit(subject);
    this.enforceStreamLimits();
  }

  private enforceSubjectLimit(subject: string): void {
    const limit = this.configValue.maxMsgsPerSubject;
    if (limit === -1) return;
    for (;;) {
      const list = this.bySubject.get(subject);
      if (list === undefined || list.seqs.length - list.head <= limit) return;
      this.remove(list.seqs[list.head]!);
    }
  }

  private enforceStreamLimits(): void {
    const { maxMsgs, maxBytes } = this.configValue;
    while ((maxMsgs !== -1 && this.count > maxMsgs) || (maxBytes !== -1 && this.bytesValue > maxBytes)) {
      this.remove(this.slotBase + this.head);
    }
  }

  private append(seq: number, topic: string, timeMs: number, logical: number, bytes: number, hashHigh: number, hashLow: number): void {
    assert(seq === this.lastSeqValue + 1, `stream ${this.name} appends seq ${seq} after ${this.lastSeqValue}`);
    if (this.head === this.slots.length) {
      // Empty: restart the slots at this sequence, so a purge leaves no dead run behind.
      this.slots.clear();
      this.slotBase = seq;
      this.head = 0;
    }
    assert(this.slotBase + this.slots.length === seq, `stream ${this.name} slots do not end before seq ${seq}`);
    let list = this.bySubject.get(topic);
    if (list === undefined) {
      list = { subject: topic, seqs: [], head: 0 };
      this.bySubject.set(topic, list);
    }
    list.seqs.push(seq);
    this.slots.push(list, timeMs, logical, bytes, hashHigh, hashLow);
    this.lastSeqValue = seq;
    this.count++;
    this.bytesValue += bytes;
    this.mixDigest(hashHigh, hashLow, 1);
  }

  /** Appends a restored message, leaving removed slots for the sequences between it and the one before. */
  private appendRestored(message: RecordSummary): void {
    assert(Number.isSafeInteger(message.seq) && message.seq > this.lastSeqValue, `stream ${this.name} restores seq ${message.seq} after ${this.lastSeqValue}`);
    // An empty stream starts its slots at the message (see append), so holes are only ever between live messages.
    if (this.head < this.slots.length) {
      while (this.slotBase + this.slots.length < message.seq) this.slots.push(undefined, 0, 0, 0, 0, 0);
    }
    this.lastSeqValue = message.seq - 1;
    const topic = this.bySubject.get(message.subject)?.subject ?? message.subject;
    this.append(message.seq, topic, message.timestampMs, message.logical, message.bytes, message.hashHigh, message.hashLow);
  }

  private remove(seq: number): void {
    const index = seq - this.slotBase;
    const list = this.slots.subjects[index];
    assert(list !== undefined, `stream ${this.name} removes seq ${seq}, which it does not hold`);
    this.slots.subjects[index] = undefined;
    this.count--;
    this.bytesValue -= this.slots.bytes[index]!;
    this.mixDigest(this.slots.hashes[2 * index]!, this.slots.hashes[2 * index + 1]!, -1);
    assert(list.seqs[list.head] === seq, `stream ${this.name} removes seq ${seq}, not the oldest of ${list.subject}`);
    list.head++;
    if (list.head === list.seqs.length) this.bySubject.delete(list.subject);
    else if (list.head >= SLOT_COMPACT_MIN && list.head * 2 >= list.seqs.length) {
      list.seqs = list.seqs.slice(list.head);
      list.head = 0;
    }
    while (this.head < this.slots.length && this.slots.subjects[this.head] === undefined) this.head++;
    if (this.head >= SLOT_COMPACT_MIN && this.head * 2 >= this.slots.length) {
      this.slots.dropFront(this.head);
      this.slotBase += this.head;
      this.head = 0;
    }
    this.messageStore.removed(seq);
  }

  private mixDigest(high: number, low: number, sign: 1 | -1): void {
    this.digestHigh = (((this.digestHigh + sign * high) % TWO_POW_32) + TWO_POW_32) % TWO_POW_32;
    this.digestLow = (((this.digestLow + sign * low) % TWO_POW_32) + TWO_POW_32) % TWO_POW_32;
  }
}

/** The first position at or after `from` in an ascending array whose value is at least `value`. */
function lowerBound(values: readonly number[], from: number, value: number): number {
  let low = from;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
