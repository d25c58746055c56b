// The broker's replicated state machine: topics with their messages, the
// message-id dedup table, and durable consumer offsets, changed only by
// committed commands applied in log order.
//
// Determinism. Every replica applies the same commands in the same order and
// must reach the same state, and a restarted replica rebuilds its state by
// replaying the log from the start (there are no snapshots yet). So apply()
// reads nothing but its arguments and its own state: no clock, no randomness,
// no iteration order that is not itself a function of the applied commands.
// Time enters only as the leader-assigned timestamps inside commands.
//
// Offsets start at 1, for three reasons: it is what JetStream does (a stream's
// first sequence is 1), so clients see familiar numbers; a consumer's
// acknowledged offset can then start at 0, meaning "nothing acknowledged",
// without a sentinel or an optional; and resuming is uniformly "read from
// acknowledged + 1", for a new consumer too. Offsets are dense: message k of a
// topic has offset k.
//
// The replicated clock, clockMs, is the largest timestamp of any Publish or
// DedupExpire applied so far. It never goes backwards, even when a new leader's
// clock is behind the old one's, and it ages the dedup table, so expiry depends
// on the log alone. A stored message's timestamp is the replicated clock after
// its Publish is applied: the leader's timestamp, raised if needed so that
// timestamps never decrease along the log.
//
// Dedup rules, for a Publish of topic T with message id M (JetStream's
// Nats-Msg-Id semantics, window in leader time):
//   1. The clock is raised to the command's timestamp, and every id recorded
//      at r with clockMs - r >= dedupWindowMs is forgotten.
//   2. A publish failing a stateless check (validation.ts) is rejected, and
//      its id is not recorded: nothing was stored under it.
//   3. If (T, M) is remembered, nothing is stored and the answer is the
//      original message's offset and timestamp with duplicate: true. Payload
//      and headers are not compared, and the window is not extended.
//   4. Otherwise, if dedupEntriesMax ids are remembered, the publish is
//      rejected (dedup-entries-max) rather than silently forgetting an id
//      early: a promise the broker cannot keep is refused, not broken.
//   5. Otherwise (topicsMax permitting) the message is stored and (T, M)
//      recorded at clockMs; the same id on another topic is unrelated.
//
// Options are not in the log: every replica must run with the same options,
// and changing one changes what a replay of old commands produces.

import { assert, unreachable } from '../raft/assert.js';
import type { Entry } from '../raft/types.js';
import {
  decodeBrokerCommand,
  type BrokerCommand,
  type ConsumerAckCommand,
  type DedupExpireCommand,
  type MessageHeaders,
  type PublishCommand,
} from './commands.js';
import { DedupTable } from './dedup-table.js';
import { Hash64 } from './hash.js';
import { DEFAULT_BROKER_OPTIONS, validateBrokerOptions, type BrokerOptions } from './options.js';
import { consumerAckProblem, publishProblem, rejection, type Rejection } from './validation.js';

/** One stored message. The state machine owns the arrays it holds; callers must not mutate them. */
export interface StoredMessage {
  readonly topic: string;
  readonly offset: number;
  readonly timestampMs: number;
  /** The hybrid logical clock's counter: (timestampMs, logical) strictly increases along the log. */
  readonly logical: number;
  readonly headers: MessageHeaders;
  readonly payload: Uint8Array;
  readonly msgId?: string;
}

export interface PublishApplied {
  readonly kind: 'published';
  readonly topic: string;
  /** The new message's offset, or for a duplicate the offset of the message that first carried the id. */
  readonly offset: number;
  readonly timestampMs: number;
  readonly logical: number;
  readonly duplicate: boolean;
  readonly requestId?: number;
}

export interface AckApplied {
  readonly kind: 'acked';
  readonly consumer: string;
  readonly topic: string;
  /** The consumer's acknowledged offset after this ack (unchanged when the ack was older). */
  readonly offset: number;
  readonly advanced: boolean;
}

export interface ExpireApplied {
  readonly kind: 'expired';
  readonly nowMs: number;
  readonly removed: number;
}

export interface PublishRejected extends Rejection {
  readonly requestId?: number;
}

export type ApplyResult = PublishApplied | AckApplied | ExpireApplied | PublishRejected | { readonly kind: 'noop' };

export type HistoryResult =
  | { readonly ok: true; readonly messages: readonly StoredMessage[]; readonly lastOffset: number }
  | { readonly ok: false; readonly reason: string };

export interface TopicInfo {
  readonly name: string;
  /** The offset of the topic's newest message, which is also its message count. */
  readonly lastOffset: number;
}

interface TopicLog {
  readonly name: string;
  /** Invariant: messages[k].offset === k + 1. */
  readonly messages: StoredMessage[];
  /** A running hash of the messages, appended to as they are stored, so digest() need not rehash payloads. */
  readonly chain: Hash64;
}

export class BrokerStateMachine {
  readonly options: BrokerOptions;
  private readonly topicLogs = new Map<string, TopicLog>();
  private readonly dedup: DedupTable;
  /** consumer -> topic -> acknowledged offset. Invariant: every stored offset is >= 1 and <= its topic's last offset. */
  private readonly consumerOffsets = new Map<string, Map<string, number>>();
  /** Invariant: equals the number of (consumer, topic) pairs in consumerOffsets. */
  private consumerOffsetCount = 0;
  /** Invariant: never decreases; the largest timestamp applied so far. */
  private clockMs = 0;
  /** The counter under clockMs; (clockMs, clockLogical) is the latest stamp. */
  private clockLogical = 0;
  /** Invariant: increases with every apply. */
  private lastAppliedIndex = 0;

  constructor(options: BrokerOptions = DEFAULT_BROKER_OPTIONS) {
    const problems = validateBrokerOptions(options);
    assert(problems.length === 0, `invalid broker options: ${problems.join('; ')}`);
    this.options = options;
    this.dedup = new DedupTable(options.dedupWindowMs, options.dedupEntriesMax);
  }

  /** The index of the last entry applied. */
  get appliedIndex(): number {
    return this.lastAppliedIndex;
  }

  /** The replicated clock: the largest leader timestamp applied so far. */
  get nowMs(): number {
    return this.clockMs;
  }

  get dedupEntries(): number {
    return this.dedup.size;
  }

  /**
   * Applies one committed entry. A noop changes nothing. Bytes that do not
   * decode give a rejection, not an exception: the entry is committed, so every
   * replica would meet it again on every replay, and throwing would stop the
   * whole cluster for good instead of skipping one bad command everywhere alike.
   */
  applyEntry(entry: Entry): ApplyResult {
    if (entry.kind === 'noop') {
      this.advanceIndex(entry.index);
      return { kind: 'noop' };
    }
    const decoded = decodeBrokerCommand(entry.data);
    if (!decoded.ok) {
      this.advanceIndex(entry.index);
      return rejection('undecodable', `entry ${entry.index} holds no broker command: ${decoded.error}`);
    }
    return this.apply(entry.index, decoded.command);
  }

  /** Applies one committed command. Call in log order, each index once per incarnation. */
  apply(index: number, command: BrokerCommand): ApplyResult {
    this.advanceIndex(index);
    switch (command.type) {
      case 'Publish':
        return this.applyPublish(command);
      case 'ConsumerAck':
        return this.applyConsumerAck(command);
      case 'DedupExpire':
        return this.applyDedupExpire(command);
      default:
        return unreachable(command);
    }
  }

  /**
   * Up to `limit` committed messages of `topic` from `fromOffset` on, oldest
   * first. A limit above historyMessagesMax is clamped to it, as any paged read
   * may return fewer than asked; `lastOffset` tells the caller whether more
   * exist. An unknown topic has no messages yet, which is not an error.
   */
  history(topic: string, fromOffset: number, limit: number): HistoryResult {
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 1) {
      return { ok: false, reason: `history from offset ${fromOffset}: offsets are integers from 1` };
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      return { ok: false, reason: `history limit ${limit} is not a non-negative integer` };
    }
    const messages = this.topicLogs.get(topic)?.messages ?? [];
    const count = Math.min(limit, this.options.historyMessagesMax);
    return { ok: true, messages: messages.slice(fromOffset - 1, fromOffset - 1 + count), lastOffset: messages.length };
  }

  /**
   * The offset of the topic's first message stamped at or after `timeMs`, or
   * one past the last when none is. Timestamps never decrease along a topic,
   * so this is a binary search.
   */
  offsetAtTime(topic: string, timeMs: number): number {
    const messages = this.topicLogs.get(topic)?.messages ?? [];
    let low = 0;
    let high = messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (messages[middle]!.timestampMs < timeMs) low = middle + 1;
      else high = middle;
    }
    return low + 1;
  }

  /** Every topic, sorted by name (by UTF-16 code units, which is locale-free). */
  topics(): TopicInfo[] {
    return [...this.topicLogs.values()]
      .map((log) => ({ name: log.name, lastOffset: log.messages.length }))
      .sort((a, b) => compareText(a.name, b.name));
  }

  /** The offset of the topic's newest message; 0 when it has none. */
  lastOffset(topic: string): number {
    return this.topicLogs.get(topic)?.messages.length ?? 0;
  }

  /** The consumer's acknowledged offset on the topic; 0 when it acknowledged nothing. It resumes at this + 1. */
  consumerOffset(consumer: string, topic: string): number {
    return this.consumerOffsets.get(consumer)?.get(topic) ?? 0;
  }

  /**
   * A canonical hash of the whole replicated state: equal states give equal
   * digests whatever the order they were built in, so the simulator can
   * compare replicas at the same applied index.
   */
  digest(): string {
    const hash = new Hash64().integer(this.lastAppliedIndex).integer(this.clockMs);
    const logs = [...this.topicLogs.values()].sort((a, b) => compareText(a.name, b.name));
    hash.integer(logs.length);
    for (const log of logs) hash.text(log.name).integer(log.messages.length).hash(log.chain);
    const consumers = [...this.consumerOffsets].sort(([a], [b]) => compareText(a, b));
    hash.integer(this.consumerOffsetCount);
    for (const [consumer, offsets] of consumers) {
      const sorted = [...offsets].sort(([a], [b]) => compareText(a, b));
      for (const [topic, offset] of sorted) hash.text(consumer).text(topic).integer(offset);
    }
    const entries = [...this.dedup.entries()].sort((a, b) => compareText(a.topic, b.topic) || compareText(a.msgId, b.msgId));
    hash.integer(entries.length);
    for (const entry of entries) hash.text(entry.topic).text(entry.msgId).integer(entry.offset).integer(entry.recordedAtMs);
    return hash.hex();
  }

  /** Checks every invariant; throws InvariantError on the first broken one. Cost is linear in the state. */
  invariants(): void {
    this.dedup.invariants();
    assert(this.topicLogs.size <= this.options.topicsMax, `${this.topicLogs.size} topics exceed topicsMax`);
    for (const log of this.topicLogs.values()) topicInvariants(log);
    this.consumerInvariants();
    for (const entry of this.dedup.entries()) {
      assert(entry.recordedAtMs <= this.clockMs, 'a dedup entry is recorded after the replicated clock');
      const message = this.topicLogs.get(entry.topic)?.messages[entry.offset - 1];
      assert(message?.msgId === entry.msgId, `dedup entry ${entry.msgId} names the wrong message`);
    }
  }

  private consumerInvariants(): void {
    let pairs = 0;
    for (const offsets of this.consumerOffsets.values()) {
      assert(offsets.size > 0, 'a consumer without offsets is kept');
      for (const [topic, offset] of offsets) {
        assert(offset >= 1 && offset <= this.lastOffset(topic), `consumer offset ${offset} on ${topic} is out of range`);
        pairs += 1;
      }
    }
    assert(pairs === this.consumerOffsetCount, `consumer offsets counted ${this.consumerOffsetCount}, held ${pairs}`);
    assert(pairs <= this.options.consumerOffsetsMax, `${pairs} consumer offsets exceed consumerOffsetsMax`);
  }

  // ---- Apply, one function per command.

  private applyPublish(command: PublishCommand): PublishApplied | PublishRejected {
    // The clock moves first, whatever the verdict: the timestamp is committed leader time either way.
    const stamp = this.advanceStamp(command.timestampMs, command.logical ?? 0);
    const nowMs = stamp.timestampMs;
    const tag = command.requestId === undefined ? {} : { requestId: command.requestId };
    const problem = publishProblem(command, this.options);
    if (problem !== undefined) return { ...problem, ...tag };
    const log = this.topicLogs.get(command.topic);
    if (command.msgId !== undefined) {
      const seen = this.dedup.lookup(command.topic, command.msgId);
      if (seen !== undefined) {
        const original = log?.messages[seen.offset - 1];
        assert(original !== undefined, `dedup entry ${command.msgId} on ${command.topic} names missing offset ${seen.offset}`);
        const { offset, timestampMs, logical } = original;
        return { kind: 'published', topic: command.topic, offset, timestampMs, logical, duplicate: true, ...tag };
      }
      if (this.dedup.full) {
        const reason =
          `${this.dedup.size} message ids are remembered, dedupEntriesMax ${this.options.dedupEntriesMax}; ` +
          'retry after the oldest expire, or publish without a message id';
        return { ...rejection('dedup-entries-max', reason), ...tag };
      }
    }
    if (log === undefined && this.topicLogs.size >= this.options.topicsMax) {
      const reason = `${this.topicLogs.size} topics exist, topicsMax ${this.options.topicsMax}`;
      return { ...rejection('topics-max', reason), ...tag };
    }
    const offset = this.store(log ?? this.createTopic(command.topic), command, stamp);
    if (command.msgId !== undefined) this.dedup.record(command.topic, command.msgId, offset, nowMs);
    return { kind: 'published', topic: command.topic, offset, timestampMs: nowMs, logical: stamp.logical, duplicate: false, ...tag };
  }

  private applyConsumerAck(command: ConsumerAckCommand): AckApplied | Rejection {
    const problem = consumerAckProblem(command, this.options);
    if (problem !== undefined) return problem;
    const lastOffset = this.lastOffset(command.topic);
    if (lastOffset === 0) return rejection('topic-unknown', `topic ${command.topic} has no messages to acknowledge`);
    if (command.offset > lastOffset) {
      const reason = `acknowledged offset ${command.offset} is beyond ${command.topic}'s last offset ${lastOffset}`;
      return rejection('offset-out-of-range', reason);
    }
    const acked = { kind: 'acked', consumer: command.consumer, topic: command.topic } as const;
    const current = this.consumerOffset(command.consumer, command.topic);
    // Monotonic: acks may be retried or reordered by a reconnecting client, and an older one must not rewind.
    if (command.offset <= current) return { ...acked, offset: current, advanced: false };
    if (current === 0 && this.consumerOffsetCount >= this.options.consumerOffsetsMax) {
      const reason = `${this.consumerOffsetCount} consumer offsets are stored, consumerOffsetsMax ${this.options.consumerOffsetsMax}`;
      return rejection('consumer-offsets-max', reason);
    }
    let offsets = this.consumerOffsets.get(command.consumer);
    if (offsets === undefined) {
      offsets = new Map();
      this.consumerOffsets.set(command.consumer, offsets);
    }
    if (current === 0) this.consumerOffsetCount += 1;
    offsets.set(command.topic, command.offset);
    return { ...acked, offset: command.offset, advanced: true };
  }

  private applyDedupExpire(command: DedupExpireCommand): ExpireApplied {
    const before = this.dedup.size;
    const nowMs = this.advanceClock(command.nowMs);
    return { kind: 'expired', nowMs, removed: before - this.dedup.size };
  }

  // ---- Helpers.

  private advanceIndex(index: number): void {
    assert(Number.isSafeInteger(index), `entry index ${index} is not an integer`);
    assert(index > this.lastAppliedIndex, `entry ${index} applied after entry ${this.lastAppliedIndex}: apply in log order, once`);
    this.lastAppliedIndex = index;
  }

  /** Moves the replicated clock up to `timestampMs` (never down) and expires dedup entries at the result. */
  private advanceClock(timestampMs: number): number {
    assert(Number.isSafeInteger(timestampMs) && timestampMs >= 0, `timestamp ${timestampMs} is not a non-negative integer`);
    if (timestampMs > this.clockMs) {
      this.clockMs = timestampMs;
      this.clockLogical = 0;
    }
    this.dedup.expire(this.clockMs);
    return this.clockMs;
  }

  /**
   * The hybrid logical clock of the log: a publish's stamp is the leader's
   * (timestampMs, logical) when that is later than every stamp before it, and
   * otherwise one tick of the counter past the latest. So stamps strictly
   * increase along the log, across leader changes, whatever the leaders' clocks.
   */
  private advanceStamp(timestampMs: number, logical: number): { timestampMs: number; logical: number } {
    assert(Number.isSafeInteger(logical) && logical >= 0, `logical clock ${logical} is not a non-negative integer`);
    const previousMs = this.clockMs;
    const previousLogical = this.clockLogical;
    this.advanceClock(timestampMs);
    const later = timestampMs > previousMs || (timestampMs === previousMs && logical > previousLogical);
    this.clockLogical = later ? logical : previousLogical + 1;
    return { timestampMs: this.clockMs, logical: this.clockLogical };
  }

  private createTopic(name: string): TopicLog {
    const log: TopicLog = { name, messages: [], chain: new Hash64() };
    this.topicLogs.set(name, log);
    return log;
  }

  private store(log: TopicLog, command: PublishCommand, stamp: { timestampMs: number; logical: number }): number {
    const offset = log.messages.length + 1;
    const base = { topic: log.name, offset, timestampMs: stamp.timestampMs, logical: stamp.logical, headers: command.headers, payload: command.payload };
    const message: StoredMessage = command.msgId === undefined ? base : { ...base, msgId: command.msgId };
    log.messages.push(message);
    mixMessage(log.chain, message);
    return offset;
  }
}

function topicInvariants(log: TopicLog): void {
  assert(log.messages.length >= 1, `topic ${log.name} exists without a message`);
  let previous: StoredMessage | undefined;
  log.messages.forEach((message, k) => {
    assert(message.offset === k + 1, `topic ${log.name} has offset ${message.offset} at position ${k + 1}`);
    const later = previous === undefined || message.timestampMs > previous.timestampMs || (message.timestampMs === previous.timestampMs && message.logical > previous.logical);
    assert(later, `topic ${log.name} stamps do not increase at offset ${k + 1}`);
    previous = message;
  });
}

function mixMessage(hash: Hash64, message: StoredMessage): void {
  hash.integer(message.offset).integer(message.timestampMs).integer(message.logical);
  if (message.msgId === undefined) hash.word(0);
  else hash.word(1).text(message.msgId);
  hash.integer(message.headers.size);
  for (const [name, values] of message.headers) {
    hash.text(name).integer(values.length);
    for (const value of values) hash.text(value);
  }
  hash.bytes(message.payload);
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
