// The commands of the broker's replicated state machine, and their binary
// encoding in Raft entries.
//
// Layout (all integers big-endian, no padding, exactly one encoding per command):
//
//   offset size  field
//   0      1     type byte: 1 Publish, 2 ConsumerAck, 3 DedupExpire, 4 StreamCreate,
//                5 StreamUpdate, 6 StreamDelete, 7 StreamPurge (0 is never valid)
//   Publish:
//   1      1     flags: bit 0 msgId present, bit 1 requestId present,
//                bit 2 logical present, other bits 0
//   2      8     timestampMs (u64)
//          4     logical (u32): the HLC counter under timestampMs  (only when flag bit 2)
//   10     2+n   topic: u16 length, UTF-8 bytes
//          2+n   msgId: u16 length, UTF-8 bytes          (only when flag bit 0)
//          8     requestId (u64)                         (only when flag bit 1)
//          4     header field count (u32), then per field in order:
//                  name: u32 length, UTF-8 bytes
//                  value count (u32, at least 1), then per value: u32 length, UTF-8 bytes
//          4+n   payload: u32 length, bytes
//   ConsumerAck:
//   1      2+n   consumer: u16 length, UTF-8 bytes
//          2+n   topic: u16 length, UTF-8 bytes
//          8     offset (u64)
//   DedupExpire:
//   1      8     nowMs (u64)
//   StreamCreate, StreamUpdate:
//   1      4+n   config: u32 length, UTF-8 JSON of StreamConfig's fields (camelCase,
//                durations in ms), written in one fixed key order
//   StreamDelete:
//   1      2+n   name: u16 length, UTF-8 bytes
//   StreamPurge:
//   1      2+n   name: u16 length, UTF-8 bytes
//          1     flags: bit 0 filter present, bit 1 upToSeq present, bit 2 keep present
//          2+n   filter: u16 length, UTF-8 bytes             (only when flag bit 0)
//          8     upToSeq (u64)                               (only when flag bit 1)
//          8     keep (u64)                                  (only when flag bit 2)
//
// A u64 is two u32 halves, high first, and must be at most 2^53-1. Strings are
// strict UTF-8 (a leading BOM is kept). Nothing may follow the last field.
//
// Why a type byte and no version byte: the log is never compacted into a
// snapshot, so every command ever written is replayed after every restart and
// must stay decodable forever. A future change of layout takes a new type byte
// and leaves the old one's decoder in place.
//
// Trust boundary: the encoder sees only commands our own core built, so a
// command it cannot represent is a programmer error that throws. The decoder
// reads committed log bytes and never throws: a problem comes back as an error
// value naming the field and the byte offset. The decoder checks the encoding
// only; limits and names are the state machine's business (validation.ts),
// because their verdict must be a replicated, deterministic rejection.

import { assert, unreachable } from '../raft/assert.js';
import { ByteReader, ByteWriter, utf8, utf8Repeated } from '../protocol/bytes.js';
import type { BrokerOptions } from './options.js';
import type { DiscardPolicy, StreamConfig } from './stream-config.js';

/** Header name -> values, in first-appearance order (as HeaderBlock.fields in src/protocol). */
export type MessageHeaders = ReadonlyMap<string, readonly string[]>;

export interface PublishCommand {
  readonly type: 'Publish';
  /** A literal subject: the topic, created by its first stored message. */
  readonly topic: string;
  readonly headers: MessageHeaders;
  readonly payload: Uint8Array;
  /** The Nats-Msg-Id header's value, when the client sent one. */
  readonly msgId?: string;
  /** Assigned by the leader that proposed the command; the only time the state machine knows. */
  readonly timestampMs: number;
  /** The hybrid logical clock's counter under timestampMs: orders stamps within one millisecond. */
  readonly logical?: number;
  /** An opaque tag the proposer may use to match the apply result to a waiting client. */
  readonly requestId?: number;
}

/** A durable consumer acknowledges every message of `topic` up to and including `offset`. */
export interface ConsumerAckCommand {
  readonly type: 'ConsumerAck';
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

/**
 * Moves the replicated clock to `nowMs` (if that is later) and forgets the
 * message ids it expires. A leader may propose it now and then so an idle
 * broker still frees its dedup table; correctness never depends on it.
 */
export interface DedupExpireCommand {
  readonly type: 'DedupExpire';
  readonly nowMs: number;
}

/** Creates a stream; the same config again is no change (JetStream's rule), another one is refused. */
export interface StreamCreateCommand {
  readonly type: 'StreamCreate';
  readonly config: StreamConfig;
}

/** Changes a stream's editable fields; the new limits apply at once. */
export interface StreamUpdateCommand {
  readonly type: 'StreamUpdate';
  readonly config: StreamConfig;
}

/** Deletes a stream with its messages and its consumers' offsets. */
export interface StreamDeleteCommand {
  readonly type: 'StreamDelete';
  readonly name: string;
}

/** Removes messages from a stream: JetStream's purge request. */
export interface StreamPurgeCommand {
  readonly type: 'StreamPurge';
  readonly name: string;
  readonly filter?: string;
  readonly upToSeq?: number;
  readonly keep?: number;
}

export type StreamCommand = StreamCreateCommand | StreamUpdateCommand | StreamDeleteCommand | StreamPurgeCommand;
export type BrokerCommand = PublishCommand | ConsumerAckCommand | DedupExpireCommand | StreamCommand;
export type BrokerCommandType = BrokerCommand['type'];

const TYPE_BYTES: Readonly<Record<BrokerCommandType, number>> = {
  Publish: 1,
  ConsumerAck: 2,
  DedupExpire: 3,
  StreamCreate: 4,
  StreamUpdate: 5,
  StreamDelete: 6,
  StreamPurge: 7,
};
const TYPES_BY_BYTE: readonly (BrokerCommandType | undefined)[] = [
  undefined,
  'Publish',
  'ConsumerAck',
  'DedupExpire',
  'StreamCreate',
  'StreamUpdate',
  'StreamDelete',
  'StreamPurge',
];
const FLAG_FILTER = 0b001;
const FLAG_UP_TO_SEQ = 0b010;
const FLAG_KEEP = 0b100;
const FLAG_MSG_ID = 0b01;
const FLAG_REQUEST_ID = 0b10;
const FLAG_LOGICAL = 0b100;
const FLAGS_KNOWN = FLAG_MSG_ID | FLAG_REQUEST_ID | FLAG_LOGICAL;

// Fixed parts, for sizes and for bounding counts before any loop.
const PUBLISH_FIXED_BYTES = 1 + 1 + 8 + 2 + 4 + 4;
const HEADER_FIELD_BYTES_MIN = 4 + 4 + 4;
const HEADER_VALUE_BYTES_MIN = 4;

/**
 * The largest encoding of a Publish that passes validation under `options`.
 * The node core must configure Raft's commandBytesMax at least this high, or
 * it could refuse to propose a publish the state machine would accept.
 * The header part is bounded loosely. A field with k values and a name of n
 * bytes encodes to 8 + n + 4k + (value bytes), and counts k*n + 4k + (value
 * bytes) >= 5 in headerBlockBytes, so its encoding is at most its count + 8,
 * which is at most 2.6 times its count; 3 x headerBytesMax covers every block.
 */
export function publishEncodedBytesMax(options: BrokerOptions): number {
  const msgIdBytesMax = 2 + options.msgIdBytesMax;
  const requestIdBytes = 8;
  const logicalBytes = 4;
  const headersBytesMax = 3 * options.headerBytesMax;
  return PUBLISH_FIXED_BYTES + options.topicNameBytesMax + msgIdBytesMax + requestIdBytes + logicalBytes + headersBytesMax + options.payloadBytesMax;
}

// ---- Encoding.

/** Encodes one command; throws InvariantError on a command no correct core builds. */
export function encodeBrokerCommand(command: BrokerCommand): Uint8Array {
  switch (command.type) {
    case 'Publish':
      return encodePublish(command);
    case 'ConsumerAck': {
      const consumer = utf8(command.consumer, 'consumer');
      const topic = utf8(command.topic, 'topic');
      const writer = new ByteWriter(new Uint8Array(1 + 2 + consumer.length + 2 + topic.length + 8));
      writer.u8(TYPE_BYTES.ConsumerAck);
      writeShort(writer, consumer, 'consumer');
      writeShort(writer, topic, 'topic');
      writer.u64(command.offset, 'offset');
      return finish(writer);
    }
    case 'DedupExpire': {
      const writer = new ByteWriter(new Uint8Array(1 + 8));
      writer.u8(TYPE_BYTES.DedupExpire);
      writer.u64(command.nowMs, 'nowMs');
      return finish(writer);
    }
    case 'StreamCreate':
    case 'StreamUpdate': {
      const json = utf8(JSON.stringify(configFields(command.config)), 'config');
      const writer = new ByteWriter(new Uint8Array(1 + 4 + json.length));
      writer.u8(TYPE_BYTES[command.type]);
      writeLong(writer, json, 'config');
      return finish(writer);
    }
    case 'StreamDelete': {
      const name = utf8(command.name, 'name');
      const writer = new ByteWriter(new Uint8Array(1 + 2 + name.length));
      writer.u8(TYPE_BYTES.StreamDelete);
      writeShort(writer, name, 'name');
      return finish(writer);
    }
    case 'StreamPurge':
      return encodePurge(command);
    default:
      return unreachable(command);
  }
}

/** The config's fields in one fixed order, so equal configs encode to equal bytes. */
function configFields(config: StreamConfig): StreamConfig {
  return {
    name: config.name,
    subjects: [...config.subjects],
    maxMsgs: config.maxMsgs,
    maxBytes: config.maxBytes,
    maxAgeMs: config.maxAgeMs,
    maxMsgsPerSubject: config.maxMsgsPerSubject,
    maxMsgSize: config.maxMsgSize,
    discard: config.discard,
    duplicateWindowMs: config.duplicateWindowMs,
    replicas: config.replicas,
  };
}

function encodePurge(command: StreamPurgeCommand): Uint8Array {
  const name = utf8(command.name, 'name');
  const filter = command.filter === undefined ? undefined : utf8(command.filter, 'filter');
  let size = 1 + 2 + name.length + 1;
  if (filter !== undefined) size += 2 + filter.length;
  if (command.upToSeq !== undefined) size += 8;
  if (command.keep !== undefined) size += 8;
  const writer = new ByteWriter(new Uint8Array(size));
  writer.u8(TYPE_BYTES.StreamPurge);
  writeShort(writer, name, 'name');
  writer.u8((filter === undefined ? 0 : FLAG_FILTER) | (command.upToSeq === undefined ? 0 : FLAG_UP_TO_SEQ) | (command.keep === undefined ? 0 : FLAG_KEEP));
  if (filter !== undefined) writeShort(writer, filter, 'filter');
  if (command.upToSeq !== undefined) writer.u64(command.upToSeq, 'upToSeq');
  if (command.keep !== undefined) writer.u64(command.keep, 'keep');
  return finish(writer);
}

function encodePublish(command: PublishCommand): Uint8Array {
  const topic = utf8Repeated(command.topic, 'topic');
  const msgId = command.msgId === undefined ? undefined : utf8(command.msgId, 'msgId');
  const headers = [...command.headers].map(([name, values]) => {
    assert(values.length >= 1, `header ${JSON.stringify(name)} has no values`);
    return { name: utf8Repeated(name, 'header name'), values: values.map((value) => utf8(value, 'header value')) };
  });
  let size = PUBLISH_FIXED_BYTES + topic.length + command.payload.length;
  if (msgId !== undefined) size += 2 + msgId.length;
  if (command.requestId !== undefined) size += 8;
  if (command.logical !== undefined) size += 4;
  for (const field of headers) {
    size += 4 + field.name.length + 4;
    for (const value of field.values) size += 4 + value.length;
  }
  const writer = new ByteWriter(new Uint8Array(size));
  writer.u8(TYPE_BYTES.Publish);
  writer.u8((msgId === undefined ? 0 : FLAG_MSG_ID) | (command.requestId === undefined ? 0 : FLAG_REQUEST_ID) | (command.logical === undefined ? 0 : FLAG_LOGICAL));
  writer.u64(command.timestampMs, 'timestampMs');
  if (command.logical !== undefined) writer.u32(command.logical, 'logical');
  writeShort(writer, topic, 'topic');
  if (msgId !== undefined) writeShort(writer, msgId, 'msgId');
  if (command.requestId !== undefined) writer.u64(command.requestId, 'requestId');
  writer.u32(headers.length, 'header field count');
  for (const field of headers) {
    writeLong(writer, field.name, 'header name');
    writer.u32(field.values.length, 'header value count');
    for (const value of field.values) writeLong(writer, value, 'header value');
  }
  writeLong(writer, command.payload, 'payload');
  return finish(writer);
}

function writeShort(writer: ByteWriter, bytes: Uint8Array, what: string): void {
  writer.u16(bytes.length, `${what} length`);
  writer.raw(bytes);
}

function writeLong(writer: ByteWriter, bytes: Uint8Array, what: string): void {
  writer.u32(bytes.length, `${what} length`);
  writer.raw(bytes);
}

function finish(writer: ByteWriter): Uint8Array {
  // Invariant: the size computed up front describes exactly the layout written.
  assert(writer.offset === writer.bytes.length, `encoded ${writer.offset} of ${writer.bytes.length} bytes`);
  return writer.bytes;
}

// ---- Decoding.

export type BrokerDecodeResult =
  | { readonly ok: true; readonly command: BrokerCommand }
  | { readonly ok: false; readonly error: string };

/** Decodes one command from exactly `bytes`. Never throws: bad input gives an error value. */
export function decodeBrokerCommand(bytes: Uint8Array): BrokerDecodeResult {
  const reader = new ByteReader(bytes);
  const typeByte = reader.u8('type');
  if (reader.failed) return { ok: false, error: reader.error as string };
  const type = TYPES_BY_BYTE[typeByte];
  if (type === undefined) return { ok: false, error: `unknown command type byte 0x${typeByte.toString(16)} at byte 0` };
  const command = readBody(reader, type);
  if (reader.failed) return { ok: false, error: `${type}: ${reader.error as string}` };
  if (reader.remaining !== 0) {
    return { ok: false, error: `${type}: ${reader.remaining} trailing bytes at byte ${reader.offset}` };
  }
  return { ok: true, command };
}

function readBody(reader: ByteReader, type: BrokerCommandType): BrokerCommand {
  switch (type) {
    case 'Publish':
      return readPublish(reader);
    case 'ConsumerAck':
      return {
        type,
        consumer: readShort(reader, 'consumer'),
        topic: readShort(reader, 'topic'),
        offset: reader.u64('offset'),
      };
    case 'DedupExpire':
      return { type, nowMs: reader.u64('nowMs') };
    case 'StreamCreate':
    case 'StreamUpdate': {
      const offset = reader.offset;
      const text = readLong(reader, 'config');
      const config = reader.failed ? undefined : readConfigJson(text);
      if (typeof config === 'string') reader.fail(`config at byte ${offset}: ${config}`);
      return { type, config: config as StreamConfig };
    }
    case 'StreamDelete':
      return { type, name: readShort(reader, 'name') };
    case 'StreamPurge':
      return readPurge(reader);
    default:
      return unreachable(type);
  }
}

function readPurge(reader: ByteReader): StreamPurgeCommand {
  const name = readShort(reader, 'name');
  const flagsOffset = reader.offset;
  const flags = reader.u8('flags');
  if ((flags & ~(FLAG_FILTER | FLAG_UP_TO_SEQ | FLAG_KEEP)) !== 0) reader.fail(`flags at byte ${flagsOffset} has unknown bits 0x${flags.toString(16)}`);
  const filter = (flags & FLAG_FILTER) !== 0 ? readShort(reader, 'filter') : undefined;
  const upToSeq = (flags & FLAG_UP_TO_SEQ) !== 0 ? reader.u64('upToSeq') : undefined;
  const keep = (flags & FLAG_KEEP) !== 0 ? reader.u64('keep') : undefined;
  return {
    type: 'StreamPurge',
    name,
    ...(filter === undefined ? {} : { filter }),
    ...(upToSeq === undefined ? {} : { upToSeq }),
    ...(keep === undefined ? {} : { keep }),
  };
}

/**
 * The config's JSON, checked for shape only: every field present with its
 * type. Whether the values make a valid stream is the state machine's verdict.
 */
function readConfigJson(text: string): StreamConfig | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const expected = Object.keys(configFields(EXAMPLE_CONFIG));
  if (Object.keys(record).join(',') !== expected.join(',')) return `fields are ${Object.keys(record).join(',')}, expected ${expected.join(',')}`;
  if (typeof record.name !== 'string') return 'name is not a string';
  if (!Array.isArray(record.subjects) || !record.subjects.every((subject) => typeof subject === 'string')) return 'subjects is not a list of strings';
  for (const key of ['maxMsgs', 'maxBytes', 'maxAgeMs', 'maxMsgsPerSubject', 'maxMsgSize', 'duplicateWindowMs', 'replicas']) {
    if (!Number.isSafeInteger(record[key])) return `${key} is not an integer`;
  }
  if (record.discard !== 'old' && record.discard !== 'new') return 'discard is neither "old" nor "new"';
  return { ...(record as unknown as StreamConfig), discard: record.discard as DiscardPolicy };
}

const EXAMPLE_CONFIG: StreamConfig = {
  name: '',
  subjects: [],
  maxMsgs: 0,
  maxBytes: 0,
  maxAgeMs: 0,
  maxMsgsPerSubject: 0,
  maxMsgSize: 0,
  discard: 'old',
  duplicateWindowMs: 0,
  replicas: 0,
};

function readPublish(reader: ByteReader): PublishCommand {
  const flagsOffset = reader.offset;
  const flags = reader.u8('flags');
  if ((flags & ~FLAGS_KNOWN) !== 0) reader.fail(`flags at byte ${flagsOffset} has unknown bits 0x${flags.toString(16)}`);
  const timestampMs = reader.u64('timestampMs');
  const logical = (flags & FLAG_LOGICAL) !== 0 ? reader.u32('logical') : undefined;
  const topic = readShort(reader, 'topic');
  const msgId = (flags & FLAG_MSG_ID) !== 0 ? readShort(reader, 'msgId') : undefined;
  const requestId = (flags & FLAG_REQUEST_ID) !== 0 ? reader.u64('requestId') : undefined;
  const headers = readHeaders(reader);
  const payloadLength = reader.u32('payload length');
  const payload = reader.copy(payloadLength, 'payload');
  const command: PublishCommand = { type: 'Publish', topic, headers, payload, timestampMs };
  // Absent optional fields stay absent (not `undefined`), so a round trip gives back an equal object.
  return {
    ...command,
    ...(msgId === undefined ? {} : { msgId }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(logical === undefined ? {} : { logical }),
  };
}

/**
 * The headers of every message that has none: one shared, empty map rather
 * than one per stored message, which cost more than many a payload. Headers
 * are read-only (MessageHeaders), so sharing it is safe.
 */
export const NO_HEADERS: MessageHeaders = new Map<string, readonly string[]>();

/** A header block: a u32 field count, then each field's name and values; an empty block is NO_HEADERS. The snapshot codec reads messages' headers with it too. */
export function readHeaders(reader: ByteReader): MessageHeaders {
  const countOffset = reader.offset;
  const count = reader.u32('header field count');
  if (count === 0) return NO_HEADERS;
  const headers = new Map<string, string[]>();
  // Bound the loop by the bytes left, so a forged count cannot make us spin.
  if (count * HEADER_FIELD_BYTES_MIN > reader.remaining) {
    reader.fail(`header field count ${count} at byte ${countOffset} needs more than the ${reader.remaining} bytes left`);
  }
  for (let field = 0; field < count && !reader.failed; field++) {
    const nameOffset = reader.offset;
    const name = readLong(reader, `headers[${field}].name`);
    if (headers.has(name)) reader.fail(`headers[${field}].name at byte ${nameOffset} repeats ${JSON.stringify(name)}`);
    const values = readHeaderValues(reader, field);
    if (!reader.failed) headers.set(name, values);
  }
  return headers;
}

function readHeaderValues(reader: ByteReader, field: number): string[] {
  const countOffset = reader.offset;
  const count = reader.u32(`headers[${field}].value count`);
  if (reader.failed) return [];
  if (count === 0) reader.fail(`headers[${field}].value count at byte ${countOffset} is 0, a field has at least one value`);
  if (count * HEADER_VALUE_BYTES_MIN > reader.remaining) {
    reader.fail(`headers[${field}].value count ${count} at byte ${countOffset} needs more than the ${reader.remaining} bytes left`);
  }
  const values: string[] = [];
  for (let value = 0; value < count && !reader.failed; value++) values.push(readLong(reader, `headers[${field}].values[${value}]`));
  return values;
}

/** A string with a u16 length before it. */
export function readShort(reader: ByteReader, what: string): string {
  return reader.text(reader.u16(`${what} length`), what);
}

/** A string with a u32 length before it. */
export function readLong(reader: ByteReader, what: string): string {
  return reader.text(reader.u32(`${what} length`), what);
}
