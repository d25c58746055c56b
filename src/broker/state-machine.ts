// The broker's replicated state machine: streams with their messages and
// limits, and durable consumer offsets, changed only by committed commands
// applied in log order.
//
// Determinism. Every replica applies the same commands in the same order and
// must reach the same state, and a restarted replica rebuilds its state by
// replaying the log, from the start or from a snapshot (state() and
// restore(), as bytes in snapshot.ts) and the entries after it. So apply()
// reads nothing but its arguments and its own state: no clock, no randomness,
// no iteration order that is not itself a function of the applied commands.
// Time enters only as the leader-assigned timestamps inside commands.
//
// Streams. A stream captures the subjects its config names (wildcards
// allowed) and no two streams capture one subject, so a published subject
// belongs to at most one stream; a publish to a subject no stream captures is
// refused here (the node core never proposes one: such subjects are NATS core,
// delivered and forgotten). A stored message's number is its stream's sequence
// (docs/protocol.md says why); for the rest of chorus a message's subject is
// its `topic` and its sequence its `offset`. Sequences start at 1, as
// JetStream's do, so a consumer's acknowledged offset can start at 0 meaning
// "nothing acknowledged", and resuming is uniformly "read from acknowledged + 1".
//
// The replicated clock, clockMs, is the largest timestamp of any Publish or
// DedupExpire applied so far. It never goes backwards, even when a new leader's
// clock is behind the old one's; every advance ages each stream's message ids
// and removes messages past its max_age, so both depend on the log alone. A
// stored message's timestamp is the replicated clock after its Publish is
// applied: the leader's timestamp, raised if needed so that stamps never
// decrease along the log.
//
// Dedup, JetStream's Nats-Msg-Id semantics, per stream, with the stream's
// duplicate_window in leader time: a publish whose id the stream remembers
// stores nothing and is answered with the original sequence and duplicate:
// true (payload and headers are not compared, the window is not extended);
// a new id beyond dedupEntriesMax is refused rather than forgetting one early.
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
  type PublishCommand,
  type StreamCreateCommand,
  type StreamDeleteCommand,
  type StreamPurgeCommand,
  type StreamUpdateCommand,
} from './commands.js';
import { Hash64 } from './hash.js';
import { DEFAULT_BROKER_OPTIONS, validateBrokerOptions, type BrokerOptions } from './options.js';
import type { RecordSummary } from './message-record.js';
import { MemoryMessageStores, type MessageStore, type MessageStores, type SnapshotStream } from './message-store.js';
import { Stream, type StreamInfo, type StreamMessage, type StreamState } from './stream.js';
import { overlappingSubjects, streamConfigProblems, uneditableChanges, type StreamConfig } from './stream-config.js';
import { SubjectIndex, subjectMatches } from './subjects.js';
import { consumerAckProblem, publishProblem, rejection, type Rejection } from './validation.js';

/** One stored message: its subject is `topic`, its stream sequence `offset`. */
export type StoredMessage = StreamMessage;

export interface PublishApplied {
  readonly kind: 'published';
  readonly stream: string;
  readonly topic: string;
  /** The new message's stream sequence, or for a duplicate the sequence of the message that first carried the id. */
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
}

export interface StreamApplied {
  readonly kind: 'stream-created' | 'stream-updated' | 'stream-deleted';
  readonly stream: string;
}

export interface PurgeApplied {
  readonly kind: 'stream-purged';
  readonly stream: string;
  readonly purged: number;
}

export interface PublishRejected extends Rejection {
  readonly requestId?: number;
}

export type ApplyResult =
  | PublishApplied
  | AckApplied
  | ExpireApplied
  | StreamApplied
  | PurgeApplied
  | PublishRejected
  | { readonly kind: 'noop' };

export type HistoryResult =
  | { readonly ok: true; readonly messages: readonly StoredMessage[]; readonly lastOffset: number }
  | { readonly ok: false; readonly reason: string };

/** One durable consumer's acknowledged offset on one topic. */
export interface ConsumerOffset {
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

/**
 * Everything the state machine holds that is not derived from the rest, in
 * canonical order (streams by name, consumer offsets by consumer then topic,
 * by code units): what a snapshot carries. The subject index, the set of
 * aged streams and the offset count are rebuilt from it by restore().
 */
export interface BrokerState {
  readonly appliedIndex: number;
  readonly clockMs: number;
  readonly clockLogical: number;
  readonly streams: readonly StreamState[];
  readonly consumerOffsets: readonly ConsumerOffset[];
}

export interface TopicInfo {
  readonly name: string;
  /** The stream sequence of the topic's newest message. */
  readonly lastOffset: number;
}

export class BrokerStateMachine {
  readonly options: BrokerOptions;
  private readonly streams = new Map<string, Stream>();
  /** Each stream under each of its subject patterns. Invariant: a literal subject matches at most one stream. */
  private readonly streamIndex = new SubjectIndex<Stream>();
  /** Streams with a max_age, which every clock advance must visit. */
  private readonly agedStreams = new Set<Stream>();
  /** consumer -> topic -> acknowledged offset. Invariant: every stored offset is >= 1 and <= its topic's stream's last sequence. */
  private readonly consumerOffsets = new Map<string, Map<string, number>>();
  /** Invariant: equals the number of (consumer, topic) pairs in consumerOffsets. */
  private consumerOffsetCount = 0;
  /** Invariant: never decreases; the largest timestamp applied so far. */
  private clockMs = 0;
  /** The counter under clockMs; (clockMs, clockLogical) is the latest stamp. */
  private clockLogical = 0;
  /** Invariant: increases with every apply. */
  private lastAppliedIndex = 0;

  constructor(
    options: BrokerOptions = DEFAULT_BROKER_OPTIONS,
    /** Where the streams keep their messages' headers and payloads. */
    readonly stores: MessageStores = new MemoryMessageStores(),
  ) {
    const problems = validateBrokerOptions(options);
    assert(problems.length === 0, `invalid broker options: ${problems.join('; ')}`);
    this.options = options;
  }

  /**
   * A machine holding `state`, as state() gave it, whose next apply continues
   * from state.appliedIndex exactly as the machine that gave it would. The
   * options must be those of every replica (they are not in the state). Checks
   * every invariant before returning; throws InvariantError on a state no
   * machine could hold. Each stream's messages are in the store that
   * `messagesOf` gives for it, with what they are (in sequence order).
   */
  static restore(
    options: BrokerOptions,
    state: BrokerState,
    stores: MessageStores,
    messagesOf: (stream: StreamState, index: number) => { store: MessageStore; messages: Iterable<RecordSummary> },
  ): BrokerStateMachine {
    const machine = new BrokerStateMachine(options, stores);
    assert(Number.isSafeInteger(state.appliedIndex) && state.appliedIndex >= 0, `restored applied index ${state.appliedIndex} is not a non-negative integer`);
    machine.lastAppliedIndex = state.appliedIndex;
    machine.clockMs = state.clockMs;
    machine.clockLogical = state.clockLogical;
    const ids = new Set<number>();
    state.streams.forEach((streamState, i) => {
      assert(!machine.streams.has(streamState.config.name), `restored stream ${streamState.config.name} twice`);
      assert(Number.isSafeInteger(streamState.id) && streamState.id >= 1 && streamState.id <= state.appliedIndex && !ids.has(streamState.id), `restored stream ${streamState.config.name} has id ${streamState.id}, not a unique index up to ${state.appliedIndex}`);
      ids.add(streamState.id);
      const { store, messages } = messagesOf(streamState, i);
      machine.addStream(Stream.restore(streamState, options.dedupEntriesMax, store, messages));
    });
    for (const { consumer, topic, offset } of state.consumerOffsets) machine.restoreConsumerOffset(consumer, topic, offset);
    machine.invariants();
    return machine;
  }

  /** Everything the machine holds that is not derived from the rest, in canonical order, for a snapshot. */
  state(): BrokerState {
    const consumerOffsets: ConsumerOffset[] = [];
    const consumers = [...this.consumerOffsets].sort(([a], [b]) => compareText(a, b));
    for (const [consumer, offsets] of consumers) {
      const sorted = [...offsets].sort(([a], [b]) => compareText(a, b));
      for (const [topic, offset] of sorted) consumerOffsets.push({ consumer, topic, offset });
    }
    const streams = this.streamList().map((stream) => stream.state());
    return { appliedIndex: this.lastAppliedIndex, clockMs: this.clockMs, clockLogical: this.clockLogical, streams, consumerOffsets };
  }

  /** The index of the last entry applied. */
  get appliedIndex(): number {
    return this.lastAppliedIndex;
  }

  /** The replicated clock: the largest leader timestamp applied so far. */
  get nowMs(): number {
    return this.clockMs;
  }

  /** Message ids remembered, over every stream. */
  get dedupEntries(): number {
    let entries = 0;
    for (const stream of this.streams.values()) entries += stream.dedupEntries;
    return entries;
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
      case 'StreamCreate':
        return this.applyStreamCreate(index, command);
      case 'StreamUpdate':
        return this.applyStreamUpdate(command);
      case 'StreamDelete':
        return this.applyStreamDelete(command);
      case 'StreamPurge':
        return this.applyStreamPurge(command);
      default:
        return unreachable(command);
    }
  }

  // ---- Streams.

  /** The stream that captures a literal subject, or undefined when none does (the subject is NATS core). */
  streamFor(subject: string): Stream | undefined {
    const matches = this.streamIndex.match(subject);
    assert(matches.length <= 1, `subject ${subject} is captured by ${matches.length} streams`);
    return matches[0];
  }

  stream(name: string): Stream | undefined {
    return this.streams.get(name);
  }

  /** Every stream, sorted by name (by UTF-16 code units, which is locale-free). */
  streamList(): Stream[] {
    return [...this.streams.values()].sort((a, b) => compareText(a.name, b.name));
  }

  /** What each stream's store must keep for a snapshot of the machine as it is now (see MessageStores.release). */
  snapshotStreams(): SnapshotStream[] {
    return this.streamList().map((stream) => ({ id: stream.id, lastSeq: stream.lastSeq, live: stream.liveRanges() }));
  }

  /** Whether some stream has a max_age, which only the passing of leader time enforces. */
  hasAgedStreams(): boolean {
    return this.agedStreams.size > 0;
  }

  /** Totals over every stream, for a short status line. */
  totals(): { streams: number; messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const stream of this.streams.values()) {
      const info: StreamInfo = stream.info();
      messages += info.messages;
      bytes += info.bytes;
    }
    return { streams: this.streams.size, messages, bytes };
  }

  /** Consumers with an acknowledged offset on a subject of `stream`. */
  consumerCount(stream: Stream): number {
    let count = 0;
    for (const offsets of this.consumerOffsets.values()) {
      for (const topic of offsets.keys()) {
        if (this.streamFor(topic) === stream) {
          count++;
          break;
        }
      }
    }
    return count;
  }

  /** Why a new stream with this config could not be made now, or undefined. The node asks before it proposes. */
  streamCreateProblem(config: StreamConfig): Rejection | undefined {
    const problems = streamConfigProblems(config);
    if (problems.length > 0) return rejection('stream-invalid', `stream ${config.name}: ${problems.join('; ')}`);
    const existing = this.streams.get(config.name);
    if (existing !== undefined) {
      if (JSON.stringify(existing.config) === JSON.stringify(config)) return undefined;
      return rejection('stream-exists', `stream name already in use with a different configuration: ${config.name}`);
    }
    if (this.streams.size >= this.options.streamsMax) return rejection('streams-max', `${this.streams.size} streams exist, streamsMax ${this.options.streamsMax}`);
    return this.overlapProblem(config);
  }

  /** Why this update could not be made now, or undefined. */
  streamUpdateProblem(config: StreamConfig): Rejection | undefined {
    const existing = this.streams.get(config.name);
    if (existing === undefined) return rejection('stream-not-found', `stream not found: ${config.name}`);
    const problems = streamConfigProblems(config);
    if (problems.length > 0) return rejection('stream-invalid', `stream ${config.name}: ${problems.join('; ')}`);
    const fixed = uneditableChanges(existing.config, config);
    if (fixed.length > 0) return rejection('stream-invalid', `stream configuration update can not change ${fixed.join(', ')} of stream ${config.name}`);
    return this.overlapProblem(config);
  }

  // ---- Reads.

  /**
   * Up to `limit` committed messages of `topic` from `fromOffset` on, oldest
   * first. A limit above historyMessagesMax is clamped to it, as any paged read
   * may return fewer than asked; `lastOffset` tells the caller whether more
   * exist. A topic with no messages yet is not an error.
   */
  history(topic: string, fromOffset: number, limit: number): HistoryResult {
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 1) {
      return { ok: false, reason: `history from offset ${fromOffset}: offsets are integers from 1` };
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      return { ok: false, reason: `history limit ${limit} is not a non-negative integer` };
    }
    const stream = this.streamFor(topic);
    const count = Math.min(limit, this.options.historyMessagesMax);
    const messages = stream === undefined ? [] : stream.read(topic, fromOffset, count);
    return { ok: true, messages, lastOffset: this.lastOffset(topic) };
  }

  /**
   * The offset of the topic's first message stamped at or after `timeMs`, or
   * one past its stream's last sequence when none is.
   */
  offsetAtTime(topic: string, timeMs: number): number {
    const stream = this.streamFor(topic);
    return stream === undefined ? 1 : stream.firstSeqAtOrAfter(topic, timeMs);
  }

  /** Every topic (subject) that holds messages, sorted by name. */
  topics(): TopicInfo[] {
    const topics: TopicInfo[] = [];
    for (const stream of this.streams.values()) topics.push(...stream.topics());
    return topics.sort((a, b) => compareText(a.name, b.name));
  }

  /** The stream sequence of the topic's newest message; 0 when it has none. */
  lastOffset(topic: string): number {
    return this.streamFor(topic)?.lastSeqOf(topic) ?? 0;
  }

  /** How many live messages of the topic have an offset above `offset`. */
  messagesAfter(topic: string, offset: number): number {
    return this.streamFor(topic)?.messagesAfter(topic, offset) ?? 0;
  }

  /** Visits every durable consumer's acknowledged offset on each topic it acknowledged, in no set order. */
  forEachConsumerOffset(visit: (consumer: string, topic: string, offset: number) => void): void {
    for (const [consumer, offsets] of this.consumerOffsets) for (const [topic, offset] of offsets) visit(consumer, topic, offset);
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
    const hash = new Hash64().integer(this.lastAppliedIndex).integer(this.clockMs).integer(this.clockLogical);
    const streams = this.streamList();
    hash.integer(streams.length);
    for (const stream of streams) stream.digest(hash);
    const consumers = [...this.consumerOffsets].sort(([a], [b]) => compareText(a, b));
    hash.integer(this.consumerOffsetCount);
    for (const [consumer, offsets] of consumers) {
      const sorted = [...offsets].sort(([a], [b]) => compareText(a, b));
      for (const [topic, offset] of sorted) hash.text(consumer).text(topic).integer(offset);
    }
    return hash.hex();
  }

  /** Checks every invariant; throws InvariantError on the first broken one. Cost is linear in the state. */
  invariants(): void {
    assert(this.streams.size <= this.options.streamsMax, `${this.streams.size} streams exceed streamsMax`);
    const streams = this.streamList();
    for (const stream of streams) {
      stream.invariants();
      assert(this.agedStreams.has(stream) === stream.config.maxAgeMs > 0, `stream ${stream.name} is misfiled by max_age`);
    }
    for (let i = 0; i < streams.length; i++) {
      for (let j = i + 1; j < streams.length; j++) {
        const overlap = overlappingSubjects(streams[i]!.config, streams[j]!.config);
        assert(overlap === undefined, `streams ${streams[i]!.name} and ${streams[j]!.name} both capture ${overlap?.ours}`);
      }
    }
    this.consumerInvariants();
  }

  private consumerInvariants(): void {
    let pairs = 0;
    for (const offsets of this.consumerOffsets.values()) {
      assert(offsets.size > 0, 'a consumer without offsets is kept');
      for (const [topic, offset] of offsets) {
        const lastSeq = this.streamFor(topic)?.lastSeq ?? 0;
        assert(offset >= 1 && offset <= lastSeq, `consumer offset ${offset} on ${topic} is out of range`);
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
    const tag = command.requestId === undefined ? {} : { requestId: command.requestId };
    const problem = publishProblem(command, this.options);
    if (problem !== undefined) return { ...problem, ...tag };
    const stream = this.streamFor(command.topic);
    if (stream === undefined) return { ...rejection('no-stream', `no stream captures subject ${command.topic}`), ...tag };
    stream.advanceClock(stamp.timestampMs);
    const stored = stream.store(command.topic, command.headers, command.payload, command.msgId, stamp);
    if (stored.kind === 'rejected') return { ...stored, ...tag };
    const { timestampMs, logical } = stored.stamp;
    const duplicate = stored.kind === 'duplicate';
    return { kind: 'published', stream: stream.name, topic: command.topic, offset: stored.seq, timestampMs, logical, duplicate, ...tag };
  }

  private applyConsumerAck(command: ConsumerAckCommand): AckApplied | Rejection {
    const problem = consumerAckProblem(command, this.options);
    if (problem !== undefined) return problem;
    const stream = this.streamFor(command.topic);
    if (stream === undefined) return rejection('no-stream', `no stream captures subject ${command.topic}`);
    if (stream.lastSeq === 0) return rejection('topic-unknown', `stream ${stream.name} has no messages to acknowledge`);
    if (command.offset > stream.lastSeq) {
      const reason = `acknowledged offset ${command.offset} is beyond the last sequence ${stream.lastSeq} of stream ${stream.name}`;
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
    const nowMs = this.advanceClock(command.nowMs);
    for (const stream of this.streamList()) stream.advanceClock(nowMs);
    return { kind: 'expired', nowMs };
  }

  private applyStreamCreate(index: number, command: StreamCreateCommand): StreamApplied | Rejection {
    const problem = this.streamCreateProblem(command.config);
    if (problem !== undefined) return problem;
    const name = command.config.name;
    if (this.streams.has(name)) return { kind: 'stream-created', stream: name };
    // The entry's index names the stream's store: unique, and the same on every replica.
    this.addStream(new Stream(command.config, this.options.dedupEntriesMax, this.stores.create(index, name), index, this.clockMs));
    return { kind: 'stream-created', stream: name };
  }

  private applyStreamUpdate(command: StreamUpdateCommand): StreamApplied | Rejection {
    const problem = this.streamUpdateProblem(command.config);
    if (problem !== undefined) return problem;
    const stream = this.streams.get(command.config.name)!;
    const orphaned = this.topicsLeaving(stream, command.config.subjects);
    for (const subject of stream.config.subjects) this.streamIndex.remove(subject, stream);
    stream.update(command.config, this.clockMs);
    for (const subject of command.config.subjects) this.streamIndex.add(subject, stream);
    if (command.config.maxAgeMs > 0) this.agedStreams.add(stream);
    else this.agedStreams.delete(stream);
    this.dropConsumerOffsets(orphaned);
    return { kind: 'stream-updated', stream: stream.name };
  }

  private applyStreamDelete(command: StreamDeleteCommand): StreamApplied | Rejection {
    const stream = this.streams.get(command.name);
    if (stream === undefined) return rejection('stream-not-found', `stream not found: ${command.name}`);
    const orphaned = this.topicsLeaving(stream, []);
    for (const subject of stream.config.subjects) this.streamIndex.remove(subject, stream);
    this.streams.delete(command.name);
    this.agedStreams.delete(stream);
    this.stores.deleted(stream.id);
    this.dropConsumerOffsets(orphaned);
    return { kind: 'stream-deleted', stream: command.name };
  }

  private applyStreamPurge(command: StreamPurgeCommand): PurgeApplied | Rejection {
    const stream = this.streams.get(command.name);
    if (stream === undefined) return rejection('stream-not-found', `stream not found: ${command.name}`);
    if (command.upToSeq !== undefined && command.keep !== undefined) return rejection('stream-invalid', 'a purge takes seq or keep, not both');
    const purged = stream.purge(command);
    return { kind: 'stream-purged', stream: stream.name, purged };
  }

  // ---- Helpers.

  /** Files a new stream under its name, its subjects and, with a max_age, among the aged. */
  private addStream(stream: Stream): void {
    this.streams.set(stream.name, stream);
    for (const subject of stream.config.subjects) this.streamIndex.add(subject, stream);
    if (stream.config.maxAgeMs > 0) this.agedStreams.add(stream);
  }

  private restoreConsumerOffset(consumer: string, topic: string, offset: number): void {
    let offsets = this.consumerOffsets.get(consumer);
    if (offsets === undefined) {
      offsets = new Map();
      this.consumerOffsets.set(consumer, offsets);
    }
    assert(!offsets.has(topic), `restored consumer ${consumer}'s offset on ${topic} twice`);
    offsets.set(topic, offset);
    this.consumerOffsetCount += 1;
  }

  private overlapProblem(config: StreamConfig): Rejection | undefined {
    for (const other of this.streamList()) {
      if (other.name === config.name) continue;
      const overlap = overlappingSubjects(config, other.config);
      if (overlap !== undefined) {
        const reason = `subjects overlap with an existing stream: ${config.name}'s ${overlap.ours} and ${other.name}'s ${overlap.theirs}`;
        return rejection('subjects-overlap', reason);
      }
    }
    return undefined;
  }

  /** Consumers' topics that `stream` captures and `subjects` would not: their offsets go with the stream. */
  private topicsLeaving(stream: Stream, subjects: readonly string[]): string[] {
    const leaving: string[] = [];
    for (const offsets of this.consumerOffsets.values()) {
      for (const topic of offsets.keys()) {
        if (this.streamFor(topic) === stream && !subjects.some((pattern) => subjectMatches(pattern, topic))) leaving.push(topic);
      }
    }
    return leaving;
  }

  private dropConsumerOffsets(topics: readonly string[]): void {
    if (topics.length === 0) return;
    const doomed = new Set(topics);
    for (const [consumer, offsets] of this.consumerOffsets) {
      for (const topic of [...offsets.keys()]) {
        if (!doomed.has(topic)) continue;
        offsets.delete(topic);
        this.consumerOffsetCount -= 1;
      }
      if (offsets.size === 0) this.consumerOffsets.delete(consumer);
    }
  }

  private advanceIndex(index: number): void {
    assert(Number.isSafeInteger(index), `entry index ${index} is not an integer`);
    assert(index > this.lastAppliedIndex, `entry ${index} applied after entry ${this.lastAppliedIndex}: apply in log order, once`);
    this.lastAppliedIndex = index;
  }

  /**
   * Moves the replicated clock up to `timestampMs` (never down). Streams with
   * a max_age lose what it expires at once, on every replica at this same log
   * position; message ids expire when their stream is next published to, or
   * at a DedupExpire for all streams, which is as deterministic and cheaper.
   */
  private advanceClock(timestampMs: number): number {
    assert(Number.isSafeInteger(timestampMs) && timestampMs >= 0, `timestamp ${timestampMs} is not a non-negative integer`);
    if (timestampMs > this.clockMs) {
      this.clockMs = timestampMs;
      this.clockLogical = 0;
    }
    for (const stream of this.agedStreams) stream.advanceClock(this.clockMs);
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
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
