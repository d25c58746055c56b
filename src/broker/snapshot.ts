// Snapshots of the broker's replicated state machine: its whole state at its
// applied index as bytes, and back. A node that restores a snapshot taken at
// index i and then applies entries i+1.. reaches exactly the state, digest and
// apply results of a node that applied every entry from the start, so the log
// before i can be compacted away.
//
// Two kinds share one layout. A whole snapshot carries every live message;
// it is what a leader sends a follower, and what a machine whose messages live
// on the heap saves. A metadata snapshot leaves the messages in the stream
// stores' files (file-message-store.ts), naming which are live; it is what a
// node saves, so a snapshot costs what the streams' metadata costs, not what
// they hold. A leader turns its metadata snapshot into a whole one by copying
// the live messages' records after it (assembleWholeSnapshot).
//
// Layout (all integers big-endian, no padding, exactly one encoding per state):
//
//   offset size  field
//   0      8     magic "CHRSSM01" (ASCII)
//   8      2     format version (u16): 2
//   10     8     total length in bytes, this header and the CRC included (u64)
//   18     1     kind: 0 metadata (the messages are in the stores), 1 whole (they follow)
//   19     8     applied index (u64)
//   27     8     clockMs (u64): the replicated clock
//   35     8     clockLogical (u64): the counter under clockMs
//   43     4     stream count (u32), then each stream, by name ascending:
//                  config (below)
//                  8    id (u64): the index of the entry that created the stream
//                  8    createdMs (u64)
//                  8    lastSeq (u64): the last sequence ever assigned
//                  8    agedAtMs (u64): the replicated clock the stream was last aged at
//                  4    live run count (u32), then each run of live sequences, ascending:
//                         8 first (u64), 8 count (u64, at least 1); runs neither touch nor overlap
//                  8    dedup window ms (u64)
//                  4    dedup entry count (u32), then each entry, oldest first:
//                         2+n topic, 2+n msgId, 8 offset, 8 recordedAtMs, 8 logical
//          4     consumer count (u32), then each consumer, by name ascending:
//                  2+n  consumer name
//                  4    topic count (u32, at least 1), then each topic ascending:
//                         2+n topic, 8 acknowledged offset (u64)
//          ...   whole kind only: each stream's live messages, streams in the
//                order above, each as one record (message-record.ts) in sequence order
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
// recomputed on restore from what is (see Stream.restore). A whole snapshot's
// records are checked in full (CRC, counted bytes, stored hash against the
// fields, sequence against the live runs), since they come from a peer.
//
// Trust boundary: the encoder sees only our own state, so a state it cannot
// represent is a programmer error that throws. The decoder reads bytes from a
// disk or a peer and never throws on them: truncation, a bad magic or CRC, an
// impossible length or count, a config no stream could have, an order that is
// not canonical and a state that breaks an invariant all come back as an error
// value naming what is wrong and, where the bytes say it, the byte offset.
// Restoring a metadata snapshot reads the stores' files, and damage there
// (StorageCorruptionError) is thrown: it is the disk's, not the snapshot's.

import { ByteReader, ByteWriter, utf8 } from '../protocol/bytes.js';
import { assert, InvariantError } from '../raft/assert.js';
import { crc32 } from '../storage/crc32.js';
import { readLong, readShort } from './commands.js';
import type { DedupEntry } from './dedup-table.js';
import { decodeRecord, recordCrcMatches, recordLengthAt, type RecordSummary } from './message-record.js';
import { MemoryMessageStores, type MessageStore, type MessageStores, type SeqRange } from './message-store.js';
import { validateBrokerOptions, type BrokerOptions } from './options.js';
import { BrokerStateMachine, type BrokerState, type ConsumerOffset } from './state-machine.js';
import type { StreamState } from './stream.js';
import { streamConfigProblems, type DiscardPolicy, type StreamConfig } from './stream-config.js';

export type SnapshotDecodeResult =
  | { readonly ok: true; readonly machine: BrokerStateMachine }
  | { readonly ok: false; readonly error: string };

export type SnapshotKind = 'metadata' | 'whole';

const MAGIC = new TextEncoder().encode('CHRSSM01');
const FORMAT_VERSION = 2;
const VERSION_AT = 8;
const LENGTH_AT = 10;
const KIND_AT = 18;
const HEADER_BYTES = 19;
const CRC_BYTES = 4;
const KIND_BYTES: Readonly<Record<SnapshotKind, number>> = { metadata: 0, whole: 1 };
const KINDS_BY_BYTE: readonly SnapshotKind[] = ['metadata', 'whole'];

const LIMIT_NONE = 0;
const LIMIT_VALUE = 1;
const DISCARD_BYTES: Readonly<Record<DiscardPolicy, number>> = { old: 0, new: 1 };
const DISCARDS_BY_BYTE: readonly DiscardPolicy[] = ['old', 'new'];

// The fewest bytes one item can take, to bound a count by the bytes left before any loop.
const CONFIG_BYTES_MIN = 2 + 1 + 2 + 4 + 1 + 4 * 1 + 8 + 8 + 1 + 8;
const STREAM_BYTES_MIN = CONFIG_BYTES_MIN + 8 + 8 + 8 + 8 + 4 + 8 + 4;
const RUN_BYTES = 8 + 8;
const SUBJECT_BYTES_MIN = 4;
const DEDUP_ENTRY_BYTES_MIN = 2 + 2 + 8 + 8 + 8;
const CONSUMER_BYTES_MIN = 2 + 4 + 2 + 8;
const CONSUMER_TOPIC_BYTES_MIN = 2 + 8;
/**
 * A stream that holds messages keeps one slot for every sequence from its
 * oldest live message to its last sequence, removed ones included (see
 * Stream), and a restore allocates them all. Refusing a longer span keeps a
 * corrupt length from costing gigabytes of slots, or the process.
 */
const SLOT_SPAN_MAX = 2 ** 26;

// ---- Encoding.

/**
 * The machine's whole state at its applied index, in the layout above: with
 * its messages (whole), or naming the ones its stores keep (metadata, which
 * only stores that keep messages allow). Throws InvariantError on a state
 * with no encoding.
 */
export function encodeBrokerSnapshot(machine: BrokerStateMachine, kind: SnapshotKind = machine.stores.keepsMessages ? 'metadata' : 'whole'): Uint8Array {
  assert(kind === 'whole' || machine.stores.keepsMessages, 'a metadata snapshot needs stores that keep the messages');
  const state = machine.state();
  const totals = machine.totals();
  const writer = new GrowingWriter(HEADER_BYTES + (kind === 'whole' ? totals.bytes + totals.messages * 64 : 0) + 4096);
  writer.raw(MAGIC);
  writer.u16(FORMAT_VERSION, 'format version');
  writer.u64(0, 'length'); // Patched below, once the length is known.
  writer.u8(KIND_BYTES[kind]);
  writer.u64(state.appliedIndex, 'applied index');
  writer.u64(state.clockMs, 'clockMs');
  writer.u64(state.clockLogical, 'clockLogical');
  writer.u32(state.streams.length, 'stream count');
  for (const stream of state.streams) writeStream(writer, stream);
  writeConsumerOffsets(writer, state.consumerOffsets);
  if (kind === 'whole') {
    for (const stream of machine.streamList()) for (const record of stream.records()) writer.raw(record);
  }
  return writer.finish();
}

/** The kind a snapshot's header names, or undefined when the bytes are too short to say. */
export function snapshotKind(header: Uint8Array): SnapshotKind | undefined {
  return header.length > KIND_AT ? KINDS_BY_BYTE[header[KIND_AT]!] : undefined;
}

/**
 * Turns a metadata snapshot into the whole snapshot of the same state: its
 * bytes with the kind and length changed, then every live message's record,
 * read from `stores`, then the CRC. The bytes go to `write` in pieces, so the
 * whole snapshot is never held in memory. Returns its size and the CRC of all
 * of it (as a snapshot file's header gives it), or why
 * `metadata` is not a metadata snapshot. Throws StorageCorruptionError when a
 * record cannot be read.
 */
export function assembleWholeSnapshot(metadata: Uint8Array, stores: MessageStores, write: (bytes: Uint8Array) => void): { readonly size: number; readonly crc: number } | { readonly error: string } {
  const frameProblem = snapshotFrameProblem(metadata);
  if (frameProblem !== undefined) return { error: frameProblem };
  if (snapshotKind(metadata) !== 'metadata') return { error: 'the snapshot already carries its messages' };
  const reader = new ByteReader(metadata.subarray(0, metadata.length - CRC_BYTES));
  reader.offset = HEADER_BYTES;
  const state = readState(reader);
  if (reader.failed) return { error: reader.error as string };
  let recordBytes = 0;
  for (const stream of state.streams) forEachLive(stream.live, (seq) => (recordBytes += stores.snapshotRecordLength(stream.id, seq)));
  const size = metadata.length + recordBytes;
  const head = metadata.slice(0, metadata.length - CRC_BYTES);
  const view = new DataView(head.buffer);
  view.setUint32(LENGTH_AT, Math.floor(size / 0x1_0000_0000));
  view.setUint32(LENGTH_AT + 4, size >>> 0);
  head[KIND_AT] = KIND_BYTES.whole;
  let crc = crc32(head);
  write(head);
  for (const stream of state.streams) {
    forEachLive(stream.live, (seq) => {
      const record = stores.snapshotRecord(stream.id, seq);
      crc = crc32(record, 0, record.length, crc);
      write(record);
    });
  }
  const tail = new Uint8Array(CRC_BYTES);
  new DataView(tail.buffer).setUint32(0, crc);
  write(tail);
  // The file's CRC, as a snapshot file is described: over every byte, its own trailing CRC included.
  return { size, crc: crc32(tail, 0, tail.length, crc) };
}

function forEachLive(ranges: readonly SeqRange[], visit: (seq: number) => void): void {
  for (const range of ranges) for (let seq = range.first; seq < range.first + range.count; seq++) visit(seq);
}

function writeStream(writer: GrowingWriter, stream: StreamState): void {
  writeConfig(writer, stream.config);
  writer.u64(stream.id, 'id');
  writer.u64(stream.createdMs, 'createdMs');
  writer.u64(stream.lastSeq, 'lastSeq');
  writer.u64(stream.agedAtMs, 'agedAtMs');
  writer.u32(stream.live.length, 'live run count');
  for (const range of stream.live) {
    writer.u64(range.first, 'run first');
    writer.u64(range.count, 'run count');
  }
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
 * every replica's: they are not in the snapshot), its messages in `stores`:
 * a whole snapshot's messages are written into them (after clear(), once the
 * whole snapshot has checked out), a metadata snapshot's are found in them.
 * Never throws on bad bytes: each problem comes back as an error value, and
 * the stores are left as they were. Options that are themselves invalid are a
 * programmer error and throw, as the state machine's constructor does; so does
 * damage in the stores' files (StorageCorruptionError).
 */
export function decodeBrokerSnapshot(bytes: Uint8Array, options: BrokerOptions, stores: MessageStores = new MemoryMessageStores()): SnapshotDecodeResult {
  const optionProblems = validateBrokerOptions(options);
  assert(optionProblems.length === 0, `invalid broker options: ${optionProblems.join('; ')}`);
  const frameProblem = snapshotFrameProblem(bytes);
  if (frameProblem !== undefined) return { ok: false, error: frameProblem };
  const kind = snapshotKind(bytes);
  if (kind === undefined) return { ok: false, error: `kind at byte ${KIND_AT} is ${bytes[KIND_AT]}, neither 0 (metadata) nor 1 (whole)` };
  const body = bytes.subarray(0, bytes.length - CRC_BYTES);
  const reader = new ByteReader(body);
  reader.offset = HEADER_BYTES;
  const state = readState(reader);
  if (reader.failed) return { ok: false, error: reader.error as string };
  if (kind === 'metadata') {
    if (reader.remaining !== 0) return { ok: false, error: `${reader.remaining} bytes at byte ${reader.offset} follow the consumer offsets of a metadata snapshot, before the CRC` };
    if (!stores.keepsMessages) return { ok: false, error: "a metadata snapshot leaves its messages in a node's store files, and this machine's stores keep none" };
    stores.retainOnly(state.streams);
    return restoreChecked(options, state, stores, (stream) => {
      const messages: RecordSummary[] = [];
      const store = stores.open(stream.config.name, stream, (summary) => messages.push(summary));
      return { store, messages };
    });
  }
  const records = readRecords(body, reader.offset, state.streams);
  if ('error' in records) return { ok: false, error: records.error };
  stores.clear();
  return restoreChecked(options, state, stores, (stream, i) => {
    const store = stores.create(stream.id, stream.config.name);
    const messages = records.streams[i]!;
    for (const { at, length, summary } of messages) store.appendRecord(body.subarray(at, at + length), summary);
    return { store, messages: messages.map((message) => message.summary) };
  });
}

interface FoundRecord {
  readonly at: number;
  readonly length: number;
  readonly summary: RecordSummary;
}

/**
 * Checks a whole snapshot's records from `at` on: one for each live sequence
 * of each stream, in order, each whole, matching its CRC and its stored hash,
 * and nothing after the last. Returns where each is, or what is wrong.
 */
function readRecords(body: Uint8Array, at: number, streams: readonly StreamState[]): { readonly streams: FoundRecord[][] } | { readonly error: string } {
  const found: FoundRecord[][] = [];
  let offset = at;
  for (const stream of streams) {
    const records: FoundRecord[] = [];
    let problem: string | undefined;
    forEachLive(stream.live, (seq) => {
      if (problem !== undefined) return;
      const framed = recordLengthAt(body, offset);
      if ('error' in framed) {
        problem = `stream ${stream.config.name}'s record of seq ${seq}: ${framed.error}`;
        return;
      }
      if (!recordCrcMatches(body, offset, framed.length)) {
        problem = `stream ${stream.config.name}'s record of seq ${seq} at byte ${offset} fails its CRC`;
        return;
      }
      const decoded = decodeRecord(body.subarray(offset, offset + framed.length), stream.config.name, true);
      if ('error' in decoded) problem = `stream ${stream.config.name}'s record at byte ${offset}: ${decoded.error}`;
      else if (decoded.summary.seq !== seq) problem = `stream ${stream.config.name}'s record at byte ${offset} holds seq ${decoded.summary.seq}, where the live runs give ${seq}`;
      else records.push({ at: offset, length: framed.length, summary: decoded.summary });
      offset += framed.length;
    });
    if (problem !== undefined) return { error: problem };
    found.push(records);
  }
  if (offset !== body.length) return { error: `${body.length - offset} bytes at byte ${offset} follow the last stream's records, before the CRC` };
  return { streams: found };
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

function restoreChecked(options: BrokerOptions, state: BrokerState, stores: MessageStores, messagesOf: (stream: StreamState, index: number) => { store: MessageStore; messages: Iterable<RecordSummary> }): SnapshotDecodeResult {
  try {
    return { ok: true, machine: BrokerStateMachine.restore(options, state, stores, messagesOf) };
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
  const id = reader.u64(`${what}.id`);
  const createdMs = reader.u64(`${what}.createdMs`);
  const lastSeq = reader.u64(`${what}.lastSeq`);
  const agedAtMs = reader.u64(`${what}.agedAtMs`);
  const live = readLiveRuns(reader, lastSeq, what);
  const windowAt = reader.offset;
  const dedupWindowMs = reader.u64(`${what}.dedup window`);
  if (!reader.failed && dedupWindowMs < 1) reader.fail(`${what}.dedup window at byte ${windowAt} is 0; a window is at least 1 ms`);
  const dedupEntries = readDedupEntries(reader, lastSeq, what);
  return { config, id, createdMs, lastSeq, agedAtMs, live, dedupWindowMs, dedupEntries };
}

/** The live runs: ascending, each at least one long, none touching the next, all within 1..lastSeq and a span a stream can hold. */
function readLiveRuns(reader: ByteReader, lastSeq: number, what: string): SeqRange[] {
  const runs: SeqRange[] = [];
  const count = readCount(reader, `${what}.live run count`, RUN_BYTES);
  for (let i = 0; i < count && !reader.failed; i++) {
    const at = reader.offset;
    const first = reader.u64(`${what}.live[${i}].first`);
    const length = reader.u64(`${what}.live[${i}].count`);
    if (reader.failed) break;
    const previous = runs[runs.length - 1];
    const after = previous === undefined ? 1 : previous.first + previous.count + 1;
    if (length < 1 || first < after || first + length - 1 > lastSeq) {
      reader.fail(`${what}.live[${i}] at byte ${at} runs from ${first} for ${length}, not a run of at least 1 from ${after} on and within the last sequence ${lastSeq}`);
    } else if (lastSeq - (runs[0]?.first ?? first) >= SLOT_SPAN_MAX) {
      reader.fail(`${what}.live[${i}] at byte ${at} starts ${SLOT_SPAN_MAX} or more sequences before the last sequence ${lastSeq}`);
    }
    runs.push({ first, count: length });
  }
  return runs;
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
