// Snapshots of the broker's replicated state machine: its whole state at its
// applied index as bytes, and back. A node that restores a snapshot taken at
// index i and then applies entries i+1.. reaches exactly the state, digest and
// apply results of a node that applied every entry from the start, so the log
// before i can be compacted away.
//
// Layout (all integers big-endian, no padding, exactly one encoding per state):
//
//   offset size  field
//   0      8     magic "CHRSSM01" (ASCII)
//   8      2     format version (u16): 1
//   10     8     total length in bytes, this header and the CRC included (u64)
//   18     8     applied index (u64)
//   26     8     clockMs (u64): the replicated clock
//   34     8     clockLogical (u64): the counter under clockMs
//   42     4     stream count (u32), then each stream, by name ascending:
//                  config (below)
//                  8    createdMs (u64)
//                  8    lastSeq (u64): the last sequence ever assigned
//                  8    agedAtMs (u64): the replicated clock the stream was last aged at
//                  4    live message count (u32), then each message by sequence:
//                         8    sequence (u64)
//                         8    timestampMs (u64)
//                         8    logical (u64)
//                         1    flags: bit 0 msgId present, bit 1 headers present, other bits 0
//                         2+n  topic: u16 length, UTF-8 bytes
//                         2+n  msgId: u16 length, UTF-8 bytes            (only with flag bit 0)
//                         4    header field count (u32, at least 1)      (only with flag bit 1)
//                              then per field in the message's order:
//                                4+n name, 4 value count (at least 1), per value 4+n
//                         4    bytes counted toward the stream's limits (u32)
//                         4+n  payload: u32 length, bytes
//                  8    dedup window ms (u64)
//                  4    dedup entry count (u32), then each entry, oldest first:
//                         2+n topic, 2+n msgId, 8 offset, 8 recordedAtMs, 8 logical
//          4     consumer count (u32), then each consumer, by name ascending:
//                  2+n  consumer name
//                  4    topic count (u32, at least 1), then each topic ascending:
//                         2+n topic, 8 acknowledged offset (u64)
//   end-4  4     CRC-32 (IEEE) of every byte before it
//
//   config:      2+n name; 2 subject count (u16, at least 1), each subject 4+n;
//                maxMsgs, maxBytes, maxMsgsPerSubject, maxMsgSize, each as a
//                limit: 1 byte, 0 for -1 (no limit) or 1 and a u64 value;
//                8 maxAgeMs; 8 duplicateWindowMs; 1 discard (0 old, 1 new); 8 replicas
//
// Sorting is by UTF-16 code units, as everywhere in the state machine, so two
// equal states encode to identical bytes; the decoder refuses any other order.
// A u64 is two u32 halves, high first, at most 2^53-1. Strings are strict UTF-8.
//
// Derived state is not carried: the streams' counts, byte totals, per-subject
// lists and digest lanes, the subject index and the consumer offset count are
// recomputed on restore from what is (see Stream.restore). Recomputing the
// digest lanes costs what checking stored ones would, and leaves one source of
// truth. A message's counted bytes are carried and checked against its subject,
// headers and payload, which catches a codec that drops or adds a field.
//
// Trust boundary: the encoder sees only our own state, so a state it cannot
// represent is a programmer error that throws. The decoder reads bytes from a
// disk or a peer and never throws on them: truncation, a bad magic or CRC, an
// impossible length or count, a config no stream could have, an order that is
// not canonical and a state that breaks an invariant all come back as an error
// value naming what is wrong and, where the bytes say it, the byte offset.

import { ByteReader, ByteWriter, utf8 } from '../protocol/bytes.js';
import { assert, InvariantError } from '../raft/assert.js';
import { crc32 } from '../storage/crc32.js';
import { NO_HEADERS, readHeaders, readLong, readShort, type MessageHeaders } from './commands.js';
import type { DedupEntry } from './dedup-table.js';
import { validateBrokerOptions, type BrokerOptions } from './options.js';
import { BrokerStateMachine, type BrokerState, type ConsumerOffset } from './state-machine.js';
import { storedMessageBytes, type StreamMessage, type StreamState } from './stream.js';
import { streamConfigProblems, type DiscardPolicy, type StreamConfig } from './stream-config.js';

export type SnapshotDecodeResult =
  | { readonly ok: true; readonly machine: BrokerStateMachine }
  | { readonly ok: false; readonly error: string };

const MAGIC = new TextEncoder().encode('CHRSSM01');
const FORMAT_VERSION = 1;
const VERSION_AT = 8;
const LENGTH_AT = 10;
const HEADER_BYTES = 18;
const CRC_BYTES = 4;

const FLAG_MSG_ID = 0b01;
const FLAG_HEADERS = 0b10;
const LIMIT_NONE = 0;
const LIMIT_VALUE = 1;
const DISCARD_BYTES: Readonly<Record<DiscardPolicy, number>> = { old: 0, new: 1 };
const DISCARDS_BY_BYTE: readonly DiscardPolicy[] = ['old', 'new'];

// The fewest bytes one item can take, to bound a count by the bytes left before any loop.
const CONFIG_BYTES_MIN = 2 + 1 + 2 + 4 + 1 + 4 * 1 + 8 + 8 + 1 + 8;
const STREAM_BYTES_MIN = CONFIG_BYTES_MIN + 8 + 8 + 8 + 4 + 8 + 4;
const MESSAGE_BYTES_MIN = 8 + 8 + 8 + 1 + 2 + 4 + 4;
const SUBJECT_BYTES_MIN = 4;
const DEDUP_ENTRY_BYTES_MIN = 2 + 2 + 8 + 8 + 8;
const CONSUMER_BYTES_MIN = 2 + 4 + 2 + 8;
const CONSUMER_TOPIC_BYTES_MIN = 2 + 8;
/** Encoded bytes per message besides its topic, headers, msgId and payload: what the first buffer is sized with. */
const MESSAGE_OVERHEAD_BYTES = 8 + 8 + 8 + 1 + 2 + 4 + 4;
/**
 * A stream that holds messages keeps one slot for every sequence from its
 * oldest live message to its last sequence, removed ones included (see
 * Stream), and a restore allocates them all. V8 aborts the process when an
 * array grows much past 2^27 elements, so no running stream spans more than
 * this; refusing a longer span keeps a corrupt length from costing more than
 * 512 MiB of slots, or the process.
 */
const SLOT_SPAN_MAX = 2 ** 26;

// ---- Encoding.

/** The machine's whole state at its applied index, in the layout above. Throws InvariantError on a state with no encoding. */
export function encodeBrokerSnapshot(machine: BrokerStateMachine): Uint8Array {
  const state = machine.state();
  const totals = machine.totals();
  const writer = new GrowingWriter(HEADER_BYTES + totals.bytes + totals.messages * MESSAGE_OVERHEAD_BYTES + 4096);
  writer.raw(MAGIC);
  writer.u16(FORMAT_VERSION, 'format version');
  writer.u64(0, 'length'); // Patched below, once the length is known.
  writer.u64(state.appliedIndex, 'applied index');
  writer.u64(state.clockMs, 'clockMs');
  writer.u64(state.clockLogical, 'clockLogical');
  writer.u32(state.streams.length, 'stream count');
  for (const stream of state.streams) writeStream(writer, stream);
  writeConsumerOffsets(writer, state.consumerOffsets);
  return writer.finish();
}

function writeStream(writer: GrowingWriter, stream: StreamState): void {
  writeConfig(writer, stream.config);
  writer.u64(stream.createdMs, 'createdMs');
  writer.u64(stream.lastSeq, 'lastSeq');
  writer.u64(stream.agedAtMs, 'agedAtMs');
  writer.u32(stream.messages.length, 'message count');
  for (const message of stream.messages) writeMessage(writer, message);
  writer.u64(stream.dedupWindowMs, 'dedup window');
  writer.u32(stream.dedupEntries.length, 'dedup entry count');
  for (const entry of stream.dedupEntries) {
    writer.text16(entry.topic, 'dedup topic');
    writer.text16(entry.msgId, 'dedup msgId');
    writer.u64(entry.offset, 'dedup offset');
    writer.u64(entry.recordedAtMs, 'dedup recordedAtMs');
    writer.u64(entry.logical, 'dedup logical');
  }
}

function writeConfig(writer: GrowingWriter, config: StreamConfig): void {
  writer.text16(config.name, 'stream name');
  writer.u16(config.subjects.length, 'subject count');
  for (const subject of config.subjects) writer.text32(subject, 'subject');
  for (const limit of [config.maxMsgs, config.maxBytes, config.maxMsgsPerSubject, config.maxMsgSize]) {
    if (limit === -1) {
      writer.u8(LIMIT_NONE);
    } else {
      writer.u8(LIMIT_VALUE);
      writer.u64(limit, `stream ${config.name} limit`);
    }
  }
  writer.u64(config.maxAgeMs, 'maxAgeMs');
  writer.u64(config.duplicateWindowMs, 'duplicateWindowMs');
  writer.u8(DISCARD_BYTES[config.discard]);
  writer.u64(config.replicas, 'replicas');
}

function writeMessage(writer: GrowingWriter, message: StreamMessage): void {
  writer.u64(message.offset, 'sequence');
  writer.u64(message.timestampMs, 'timestampMs');
  writer.u64(message.logical, 'logical');
  writer.u8((message.msgId === undefined ? 0 : FLAG_MSG_ID) | (message.headers.size === 0 ? 0 : FLAG_HEADERS));
  writer.topic(message.topic);
  if (message.msgId !== undefined) writer.text16(message.msgId, 'msgId');
  if (message.headers.size > 0) {
    writer.u32(message.headers.size, 'header field count');
    for (const [name, values] of message.headers) {
      writer.text32(name, 'header name');
      writer.u32(values.length, 'header value count');
      for (const value of values) writer.text32(value, 'header value');
    }
  }
  writer.u32(message.bytes, 'message bytes');
  writer.u32(message.payload.length, 'payload length');
  writer.raw(message.payload);
}

/** The offsets come sorted by consumer, then topic; they are written grouped by consumer. */
function writeConsumerOffsets(writer: GrowingWriter, offsets: readonly ConsumerOffset[]): void {
  const consumers = new Map<string, ConsumerOffset[]>();
  for (const offset of offsets) {
    const list = consumers.get(offset.consumer);
    if (list === undefined) consumers.set(offset.consumer, [offset]);
    else list.push(offset);
  }
  writer.u32(consumers.size, 'consumer count');
  for (const [consumer, topics] of consumers) {
    writer.text16(consumer, 'consumer');
    writer.u32(topics.length, 'consumer topic count');
    for (const { topic, offset } of topics) {
      writer.text16(topic, 'consumer topic');
      writer.u64(offset, 'consumer offset');
    }
  }
}

/**
 * A ByteWriter that grows, since a snapshot's size is known only once it is
 * written. Topics repeat across messages, so their UTF-8 forms are kept.
 */
class GrowingWriter {
  private writer: ByteWriter;
  private readonly topicBytes = new Map<string, Uint8Array>();

  constructor(capacity: number) {
    this.writer = new ByteWriter(new Uint8Array(capacity));
  }

  u8(value: number): void {
    this.reserve(1);
    this.writer.u8(value);
  }

  u16(value: number, what: string): void {
    this.reserve(2);
    this.writer.u16(value, what);
  }

  u32(value: number, what: string): void {
    this.reserve(4);
    this.writer.u32(value, what);
  }

  u64(value: number, what: string): void {
    this.reserve(8);
    this.writer.u64(value, what);
  }

  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.writer.raw(data);
  }

  text16(text: string, what: string): void {
    const bytes = utf8(text, what);
    this.u16(bytes.length, `${what} length`);
    this.raw(bytes);
  }

  text32(text: string, what: string): void {
    const bytes = utf8(text, what);
    this.u32(bytes.length, `${what} length`);
    this.raw(bytes);
  }

  topic(topic: string): void {
    let bytes = this.topicBytes.get(topic);
    if (bytes === undefined) {
      bytes = utf8(topic, 'topic');
      this.topicBytes.set(topic, bytes);
    }
    this.u16(bytes.length, 'topic length');
    this.raw(bytes);
  }

  /** Patches the length into the header, appends the CRC, and returns exactly the bytes written. */
  finish(): Uint8Array {
    const length = this.writer.offset + CRC_BYTES;
    this.reserve(CRC_BYTES);
    const end = this.writer.offset;
    this.writer.offset = LENGTH_AT;
    this.writer.u64(length, 'length');
    this.writer.offset = end;
    this.writer.u32(crc32(this.writer.bytes, 0, end), 'crc');
    const bytes = this.writer.bytes;
    return bytes.length === length ? bytes : bytes.slice(0, length);
  }

  private reserve(count: number): void {
    const { bytes, offset } = this.writer;
    if (offset + count <= bytes.length) return;
    const larger = new Uint8Array(Math.max(bytes.length * 2, offset + count));
    larger.set(bytes.subarray(0, offset));
    this.writer = new ByteWriter(larger, offset);
  }
}

// ---- Decoding.

/**
 * A machine holding the state `bytes` carry, under `options` (which must be
 * every replica's: they are not in the snapshot). Never throws on bad bytes:
 * each problem comes back as an error value. Options that are themselves
 * invalid are a programmer error and throw, as the state machine's
 * constructor does.
 */
export function decodeBrokerSnapshot(bytes: Uint8Array, options: BrokerOptions): SnapshotDecodeResult {
  const optionProblems = validateBrokerOptions(options);
  assert(optionProblems.length === 0, `invalid broker options: ${optionProblems.join('; ')}`);
  const frameProblem = snapshotFrameProblem(bytes);
  if (frameProblem !== undefined) return { ok: false, error: frameProblem };
  const reader = new ByteReader(bytes.subarray(0, bytes.length - CRC_BYTES));
  reader.offset = HEADER_BYTES;
  const state = readState(reader);
  if (reader.failed) return { ok: false, error: reader.error as string };
  if (reader.remaining !== 0) return { ok: false, error: `${reader.remaining} bytes at byte ${reader.offset} follow the consumer offsets, before the CRC` };
  return restoreChecked(options, state);
}

/** Why the magic, length, CRC or version say these bytes are no whole snapshot of this format, or undefined. */
function snapshotFrameProblem(bytes: Uint8Array): string | undefined {
  const magic = bytes.subarray(0, MAGIC.length);
  if (magic.length < MAGIC.length || magic.some((byte, i) => byte !== MAGIC[i])) {
    if (magic.every((byte, i) => byte === MAGIC[i])) return `truncated: ${bytes.length} bytes hold only part of the magic`;
    return `bad magic at byte 0: ${hex(magic)}, expected ${hex(MAGIC)} ("CHRSSM01"); these bytes are no broker snapshot`;
  }
  if (bytes.length < HEADER_BYTES + CRC_BYTES) return `truncated: ${bytes.length} bytes, the header and CRC alone take ${HEADER_BYTES + CRC_BYTES}`;
  const reader = new ByteReader(bytes);
  reader.offset = LENGTH_AT;
  const length = reader.u64('length');
  if (reader.failed) return reader.error;
  if (length > bytes.length) return `truncated: the length at byte ${LENGTH_AT} gives ${length} bytes, ${bytes.length} are present`;
  if (length < bytes.length) return `${bytes.length - length} bytes follow the snapshot's end at byte ${length} (the length at byte ${LENGTH_AT})`;
  const crcAt = bytes.length - CRC_BYTES;
  reader.offset = crcAt;
  const stored = reader.u32('crc');
  const computed = crc32(bytes, 0, crcAt);
  if (stored !== computed) return `CRC mismatch: the CRC at byte ${crcAt} is 0x${stored.toString(16)}, the bytes before it give 0x${computed.toString(16)}`;
  reader.offset = VERSION_AT;
  const version = reader.u16('format version');
  if (version !== FORMAT_VERSION) return `unsupported format version ${version} at byte ${VERSION_AT}; this build reads version ${FORMAT_VERSION}`;
  return undefined;
}

function restoreChecked(options: BrokerOptions, state: BrokerState): SnapshotDecodeResult {
  try {
    return { ok: true, machine: BrokerStateMachine.restore(options, state) };
  } catch (error) {
    if (!(error instanceof InvariantError)) throw error;
    return { ok: false, error: `the snapshot's state at applied index ${state.appliedIndex} is not one a state machine can hold: ${error.message}` };
  }
}

function readState(reader: ByteReader): BrokerState {
  const appliedIndex = reader.u64('applied index');
  const clockMs = reader.u64('clockMs');
  const clockLogical = reader.u64('clockLogical');
  const streams: StreamState[] = [];
  const count = readCount(reader, 'stream count', STREAM_BYTES_MIN);
  for (let i = 0; i < count && !reader.failed; i++) {
    const at = reader.offset;
    const stream = readStream(reader, `streams[${i}]`);
    const previous = streams[streams.length - 1];
    if (previous !== undefined && !(previous.config.name < stream.config.name)) {
      reader.fail(`streams[${i}] ${stream.config.name} at byte ${at} is out of order: streams are sorted by name, each once`);
    }
    streams.push(stream);
  }
  const consumerOffsets = readConsumerOffsets(reader);
  return { appliedIndex, clockMs, clockLogical, streams, consumerOffsets };
}

function readStream(reader: ByteReader, what: string): StreamState {
  const config = readConfig(reader, what);
  const createdMs = reader.u64(`${what}.createdMs`);
  const lastSeq = reader.u64(`${what}.lastSeq`);
  const agedAtMs = reader.u64(`${what}.agedAtMs`);
  const messages = readMessages(reader, config.name, lastSeq, what);
  const windowAt = reader.offset;
  const dedupWindowMs = reader.u64(`${what}.dedup window`);
  if (!reader.failed && dedupWindowMs < 1) reader.fail(`${what}.dedup window at byte ${windowAt} is 0; a window is at least 1 ms`);
  const dedupEntries = readDedupEntries(reader, lastSeq, what);
  return { config, createdMs, lastSeq, agedAtMs, messages, dedupWindowMs, dedupEntries };
}

function readConfig(reader: ByteReader, what: string): StreamConfig {
  const at = reader.offset;
  const name = readShort(reader, `${what}.name`);
  const subjects: string[] = [];
  const subjectCount = readCount(reader, `${what}.subject count`, SUBJECT_BYTES_MIN, 'u16');
  for (let i = 0; i < subjectCount && !reader.failed; i++) subjects.push(readLong(reader, `${what}.subjects[${i}]`));
  const maxMsgs = readLimit(reader, `${what}.maxMsgs`);
  const maxBytes = readLimit(reader, `${what}.maxBytes`);
  const maxMsgsPerSubject = readLimit(reader, `${what}.maxMsgsPerSubject`);
  const maxMsgSize = readLimit(reader, `${what}.maxMsgSize`);
  const maxAgeMs = reader.u64(`${what}.maxAgeMs`);
  const duplicateWindowMs = reader.u64(`${what}.duplicateWindowMs`);
  const discardAt = reader.offset;
  const discard = DISCARDS_BY_BYTE[reader.u8(`${what}.discard`)];
  if (discard === undefined) reader.fail(`${what}.discard at byte ${discardAt} is neither 0 (old) nor 1 (new)`);
  const replicas = reader.u64(`${what}.replicas`);
  // The key order is the command codec's, the one every config in the state has: the digest hashes the config's JSON.
  const config: StreamConfig = { name, subjects, maxMsgs, maxBytes, maxAgeMs, maxMsgsPerSubject, maxMsgSize, discard: discard ?? 'old', duplicateWindowMs, replicas };
  const problems = reader.failed ? [] : streamConfigProblems(config);
  if (problems.length > 0) reader.fail(`${what} config at byte ${at} is no stream's config: ${problems.join('; ')}`);
  return config;
}

function readLimit(reader: ByteReader, what: string): number {
  const at = reader.offset;
  const tag = reader.u8(what);
  if (tag === LIMIT_NONE) return -1;
  if (tag !== LIMIT_VALUE) reader.fail(`${what} at byte ${at} has tag ${tag}, neither 0 (no limit) nor 1 (a value follows)`);
  return reader.u64(what);
}

function readMessages(reader: ByteReader, stream: string, lastSeq: number, what: string): StreamMessage[] {
  const messages: StreamMessage[] = [];
  const count = readCount(reader, `${what}.message count`, MESSAGE_BYTES_MIN);
  for (let i = 0; i < count && !reader.failed; i++) {
    const at = reader.offset;
    const message = readMessage(reader, stream);
    // Labels are built only on failure: a good read of a million messages should not format a million names.
    if (reader.failed) reader.error = `${what}.messages[${i}]: ${reader.error as string}`;
    const previous = messages[messages.length - 1]?.offset ?? 0;
    if (message.offset <= previous || message.offset > lastSeq) {
      reader.fail(`${what}.messages[${i}] at byte ${at} has sequence ${message.offset}, not after ${previous} and at most the last sequence ${lastSeq}`);
    } else if (i === 0 && lastSeq - message.offset >= SLOT_SPAN_MAX) {
      reader.fail(`${what}.messages[0] at byte ${at} has sequence ${message.offset}, ${SLOT_SPAN_MAX} or more before the last sequence ${lastSeq}`);
    }
    messages.push(message);
  }
  return messages;
}

function readMessage(reader: ByteReader, stream: string): StreamMessage {
  const at = reader.offset;
  const offset = reader.u64('sequence');
  const timestampMs = reader.u64('timestampMs');
  const logical = reader.u64('logical');
  const flagsAt = reader.offset;
  const flags = reader.u8('flags');
  if ((flags & ~(FLAG_MSG_ID | FLAG_HEADERS)) !== 0) reader.fail(`flags at byte ${flagsAt} has unknown bits 0x${flags.toString(16)}`);
  const topic = readShort(reader, 'topic');
  const msgId = (flags & FLAG_MSG_ID) !== 0 ? readShort(reader, 'msgId') : undefined;
  const headers = (flags & FLAG_HEADERS) !== 0 ? readMessageHeaders(reader) : NO_HEADERS;
  const bytes = reader.u32('bytes');
  const payload = reader.copy(reader.u32('payload length'), 'payload');
  const counted = storedMessageBytes(topic, headers, payload);
  if (!reader.failed && bytes !== counted) {
    reader.fail(`sequence ${offset} at byte ${at} counts ${bytes} bytes, but its subject, headers and payload make ${counted}`);
  }
  // The same fields in the same order as Stream.store builds them.
  const base = { stream, topic, offset, timestampMs, logical, headers, payload, bytes };
  return msgId === undefined ? base : { ...base, msgId };
}

/** A message's headers, present (its flag is set) only when it has some: an empty block is refused. */
function readMessageHeaders(reader: ByteReader): MessageHeaders {
  const at = reader.offset;
  const headers = readHeaders(reader);
  if (!reader.failed && headers.size === 0) reader.fail(`header field count at byte ${at} is 0 though the headers flag is set`);
  return headers;
}

function readDedupEntries(reader: ByteReader, lastSeq: number, what: string): DedupEntry[] {
  const entries: DedupEntry[] = [];
  const count = readCount(reader, `${what}.dedup entry count`, DEDUP_ENTRY_BYTES_MIN);
  for (let i = 0; i < count && !reader.failed; i++) {
    const at = reader.offset;
    const entryWhat = `${what}.dedup[${i}]`;
    const topic = readShort(reader, `${entryWhat}.topic`);
    const msgId = readShort(reader, `${entryWhat}.msgId`);
    const offset = reader.u64(`${entryWhat}.offset`);
    const recordedAtMs = reader.u64(`${entryWhat}.recordedAtMs`);
    const logical = reader.u64(`${entryWhat}.logical`);
    const previousMs = entries[entries.length - 1]?.recordedAtMs ?? 0;
    if (!reader.failed && (offset < 1 || offset > lastSeq)) reader.fail(`${entryWhat} at byte ${at} names sequence ${offset}, outside 1..${lastSeq}`);
    if (!reader.failed && recordedAtMs < previousMs) reader.fail(`${entryWhat} at byte ${at} was recorded at ${recordedAtMs} ms, before the entry ahead of it (${previousMs} ms)`);
    entries.push({ topic, msgId, offset, recordedAtMs, logical });
  }
  return entries;
}

function readConsumerOffsets(reader: ByteReader): ConsumerOffset[] {
  const offsets: ConsumerOffset[] = [];
  const count = readCount(reader, 'consumer count', CONSUMER_BYTES_MIN);
  let previousConsumer: string | undefined;
  for (let i = 0; i < count && !reader.failed; i++) {
    const at = reader.offset;
    const consumer = readShort(reader, `consumers[${i}].name`);
    if (previousConsumer !== undefined && !(previousConsumer < consumer)) reader.fail(`consumers[${i}] ${consumer} at byte ${at} is out of order: consumers are sorted by name, each once`);
    previousConsumer = consumer;
    const topicCount = readCount(reader, `consumers[${i}].topic count`, CONSUMER_TOPIC_BYTES_MIN);
    if (!reader.failed && topicCount === 0) reader.fail(`consumers[${i}].topic count at byte ${reader.offset - 4} is 0; a consumer is kept only with an offset`);
    let previousTopic: string | undefined;
    for (let j = 0; j < topicCount && !reader.failed; j++) {
      const topicAt = reader.offset;
      const topic = readShort(reader, `consumers[${i}].topics[${j}]`);
      if (previousTopic !== undefined && !(previousTopic < topic)) reader.fail(`consumers[${i}].topics[${j}] ${topic} at byte ${topicAt} is out of order: topics are sorted, each once`);
      previousTopic = topic;
      offsets.push({ consumer, topic, offset: reader.u64(`consumers[${i}].topics[${j}].offset`) });
    }
  }
  return offsets;
}

/** A count of items that take at least `itemBytesMin` each, refused when the bytes left cannot hold that many. */
function readCount(reader: ByteReader, what: string, itemBytesMin: number, width: 'u16' | 'u32' = 'u32'): number {
  const at = reader.offset;
  const count = width === 'u16' ? reader.u16(what) : reader.u32(what);
  if (!reader.failed && count * itemBytesMin > reader.remaining) {
    reader.fail(`${what} ${count} at byte ${at} needs at least ${count * itemBytesMin} bytes, ${reader.remaining} are left`);
  }
  return reader.failed ? 0 : count;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
