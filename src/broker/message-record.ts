// One stored message as bytes: the unit a stream's block files hold and a
// full snapshot carries, so a snapshot for a follower is assembled by copying
// records, never by decoding and re-encoding them.
//
// Layout (big-endian, as every chorus format):
//
//   offset size  field
//   0      4     body length n (u32)
//   4      4     CRC-32 (IEEE) of the body length field and the body
//   8      n     body:
//                  8    sequence (u64)
//                  8    timestampMs (u64)
//                  8    logical (u64)
//                  4    bytes counted toward the stream's limits (u32)
//                  4+4  the message's digest hash, high word then low word
//                  1    flags: bit 0 msgId present, bit 1 headers present, other bits 0
//                  2+n  subject: u16 length, UTF-8 bytes
//                  2+n  msgId: u16 length, UTF-8 bytes            (only with flag bit 0)
//                  4    header field count (u32, at least 1)      (only with flag bit 1)
//                       then per field: 4+n name, 4 value count (at least 1), per value 4+n
//                  4+n  payload: u32 length, bytes
//
// The CRC covers the length field too, so a length damaged on its way from
// the disk fails the check instead of framing the record wrongly. The digest
// hash is stored so that rebuilding a stream's index at restart
// reads each record's fixed fields and subject, not its payload; the CRC
// covers it like everything else. Decoding never throws on bad bytes: a
// damaged record comes back as an error naming the field and byte.

import { ByteReader, ByteWriter, utf8, utf8Repeated } from '../protocol/bytes.js';
import { crc32 } from '../storage/crc32.js';
import { NO_HEADERS, readHeaders, readShort, type MessageHeaders } from './commands.js';
import { Hash64 } from './hash.js';
import { storedMessageBytes, type StreamMessage } from './stream-message.js';

/** The length and CRC in front of every record body. */
export const RECORD_FRAME_BYTES = 8;
/** The body's fixed fields, before the subject: sequence, timestamp, logical, bytes, hash, flags. */
const BODY_FIXED_BYTES = 8 + 8 + 8 + 4 + 8 + 1;
/** The smallest record: the frame, the fixed fields, an empty subject's length and an empty payload's length. */
export const RECORD_BYTES_MIN = RECORD_FRAME_BYTES + BODY_FIXED_BYTES + 2 + 4;

const FLAG_MSG_ID = 0b01;
const FLAG_HEADERS = 0b10;

/** What a stream's index keeps of a message: everything but its msgId, headers and payload. */
export interface RecordSummary {
  readonly seq: number;
  readonly subject: string;
  readonly timestampMs: number;
  readonly logical: number;
  readonly bytes: number;
  readonly hashHigh: number;
  readonly hashLow: number;
}

/** The message's digest hash: what a stream adds to its digest when it stores the message and takes away when it removes it. */
export function messageHash(message: StreamMessage): Hash64 {
  const hash = new Hash64().integer(message.offset).text(message.topic).integer(message.timestampMs).integer(message.logical);
  if (message.msgId === undefined) hash.word(0);
  else hash.word(1).text(message.msgId);
  hash.integer(message.headers.size);
  for (const [name, values] of message.headers) {
    hash.text(name).integer(values.length);
    for (const value of values) hash.text(value);
  }
  return hash.bytes(message.payload);
}

/** A message as one record, its hash given (see messageHash). */
export function encodeRecord(message: StreamMessage, hashHigh: number, hashLow: number): Uint8Array {
  const subjectBytes = utf8Repeated(message.topic, 'subject');
  const msgId = message.msgId === undefined ? undefined : utf8(message.msgId, 'msgId');
  const headers = [...message.headers].map(([name, values]) => ({ name: utf8Repeated(name, 'header name'), values: values.map((value) => utf8(value, 'header value')) }));
  let size = RECORD_FRAME_BYTES + BODY_FIXED_BYTES + 2 + subjectBytes.length + 4 + message.payload.length;
  if (msgId !== undefined) size += 2 + msgId.length;
  if (headers.length > 0) {
    size += 4;
    for (const field of headers) {
      size += 4 + field.name.length + 4;
      for (const value of field.values) size += 4 + value.length;
    }
  }
  const writer = new ByteWriter(new Uint8Array(size));
  writer.u32(size - RECORD_FRAME_BYTES, 'record body length');
  writer.u32(0, 'crc'); // Filled in below, once the body is written.
  writer.u64(message.offset, 'sequence');
  writer.u64(message.timestampMs, 'timestampMs');
  writer.u64(message.logical, 'logical');
  writer.u32(message.bytes, 'bytes');
  writer.u32(hashHigh, 'hash high');
  writer.u32(hashLow, 'hash low');
  writer.u8((msgId === undefined ? 0 : FLAG_MSG_ID) | (headers.length === 0 ? 0 : FLAG_HEADERS));
  writer.u16(subjectBytes.length, 'subject length');
  writer.raw(subjectBytes);
  if (msgId !== undefined) {
    writer.u16(msgId.length, 'msgId length');
    writer.raw(msgId);
  }
  if (headers.length > 0) {
    writer.u32(headers.length, 'header field count');
    for (const field of headers) {
      writer.u32(field.name.length, 'header name length');
      writer.raw(field.name);
      writer.u32(field.values.length, 'header value count');
      for (const value of field.values) {
        writer.u32(value.length, 'header value length');
        writer.raw(value);
      }
    }
  }
  writer.u32(message.payload.length, 'payload length');
  writer.raw(message.payload);
  const bytes = writer.bytes;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(4, recordCrc(bytes, 0, size));
  return bytes;
}

/** The CRC a record's frame holds: over its length field, then its body. */
function recordCrc(bytes: Uint8Array, at: number, length: number): number {
  return crc32(bytes, at + RECORD_FRAME_BYTES, at + length, crc32(bytes, at, at + 4));
}

/**
 * How long the record at `at` claims to be, frame included, or why no record
 * starts there: too few bytes for a frame, or a length that `bytes` does not
 * hold. The CRC is not checked here.
 */
export function recordLengthAt(bytes: Uint8Array, at: number): { readonly length: number } | { readonly error: string } {
  if (bytes.length - at < RECORD_FRAME_BYTES) return { error: `${bytes.length - at} bytes at byte ${at}, fewer than a record's ${RECORD_FRAME_BYTES}-byte frame` };
  const bodyLength = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
  if (bodyLength < RECORD_BYTES_MIN - RECORD_FRAME_BYTES) return { error: `the record at byte ${at} claims a body of ${bodyLength} bytes, fewer than any record's` };
  const length = RECORD_FRAME_BYTES + bodyLength;
  if (length > bytes.length - at) return { error: `the record at byte ${at} claims ${length} bytes, ${bytes.length - at} are left` };
  return { length };
}

/** Whether the record at `at`, `length` bytes long with its frame, says that length and matches its CRC. */
export function recordCrcMatches(bytes: Uint8Array, at: number, length: number): boolean {
  if (length < RECORD_FRAME_BYTES || at + length > bytes.length) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_FRAME_BYTES);
  return view.getUint32(0) === length - RECORD_FRAME_BYTES && view.getUint32(4) === recordCrc(bytes, at, length);
}

/**
 * The whole message a record holds, for stream `stream`, checking its counted
 * bytes and, with `checkHash`, its stored hash against what its fields give:
 * a record from a peer is checked whole, one read back from our own disk has
 * its CRC for that.
 */
export function decodeRecord(record: Uint8Array, stream: string, checkHash: boolean): { readonly message: StreamMessage; readonly summary: RecordSummary } | { readonly error: string } {
  const reader = new ByteReader(record);
  const bodyLength = reader.u32('record body length');
  reader.u32('crc');
  if (!reader.failed && bodyLength !== record.length - RECORD_FRAME_BYTES) return { error: `the record's length field says ${bodyLength} body bytes, ${record.length - RECORD_FRAME_BYTES} are present` };
  const offset = reader.u64('sequence');
  const timestampMs = reader.u64('timestampMs');
  const logical = reader.u64('logical');
  const bytes = reader.u32('bytes');
  const hashHigh = reader.u32('hash high');
  const hashLow = reader.u32('hash low');
  const flagsAt = reader.offset;
  const flags = reader.u8('flags');
  if ((flags & ~(FLAG_MSG_ID | FLAG_HEADERS)) !== 0) reader.fail(`flags at byte ${flagsAt} has unknown bits 0x${flags.toString(16)}`);
  const topic = readShort(reader, 'subject');
  const msgId = (flags & FLAG_MSG_ID) !== 0 ? readShort(reader, 'msgId') : undefined;
  let headers: MessageHeaders = NO_HEADERS;
  if ((flags & FLAG_HEADERS) !== 0) {
    const at = reader.offset;
    headers = readHeaders(reader);
    if (!reader.failed && headers.size === 0) reader.fail(`header field count at byte ${at} is 0 though the headers flag is set`);
  }
  const payload = reader.copy(reader.u32('payload length'), 'payload');
  if (reader.failed) return { error: reader.error as string };
  if (reader.remaining !== 0) return { error: `${reader.remaining} bytes follow the payload at byte ${reader.offset}` };
  const counted = storedMessageBytes(topic, headers, payload);
  if (bytes !== counted) return { error: `sequence ${offset} counts ${bytes} bytes, but its subject, headers and payload make ${counted}` };
  // The same fields in the same order as Stream.store builds them.
  const base = { stream, topic, offset, timestampMs, logical, headers, payload, bytes };
  const message: StreamMessage = msgId === undefined ? base : { ...base, msgId };
  if (checkHash) {
    const hash = messageHash(message);
    if (hash.highWord !== hashHigh || hash.lowWord !== hashLow) return { error: `sequence ${offset}'s stored hash does not match its fields` };
  }
  return { message, summary: { seq: offset, subject: topic, timestampMs, logical, bytes, hashHigh, hashLow } };
}
