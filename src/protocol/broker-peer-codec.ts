// The binary codec for the broker's own node-to-node messages (src/node/
// peer-messages.ts), and the entry points that encode and decode any peer
// message: Raft's go through peer-codec.ts, the broker's through this file.
// Both share the first byte, the type, so one stream carries both. Between
// nodes, every message travels behind the sender's clock stamp: a frame's
// payload is the stamp, then the message (encodeStampedPeerMessage).
//
// Clock stamp layout (37 bytes; big-endian, u64 as in peer-codec.ts):
//
//   0   1   flags: bit 0 set when the stamp echoes a message (the rest are 0)
//   1   8   hlc.l (u64)        9   4   hlc.c (u32)
//   13  8   sentMs (u64)
//   21  8   echoSentMs (u64), 0 without an echo
//   29  8   echoReceivedMs (u64), 0 without an echo
//
// Message layout (strings are a length then strict UTF-8):
//
//   0   1   type byte: 16 Forward, 17 ForwardResult, 18 Relay, 19 ClockProbe, 20 Interest
//           (1-15 are Raft's; 1-7 are in use)
//   1   4   group (u32)
//   5   4   from (u32)
//   9   4   to (u32)
//   13  ... the body. Broker messages carry no term: they are not Raft's business.
//     Forward        token u64, kind u8, then per kind:
//                      1 publish: the Publish command as encodeBrokerCommand writes it
//                        (timestampMs 0; the leader stamps it), as u32 length + bytes
//                      2 ack:     consumer (u16 length), topic (u16 length), offset u64
//                      3 barrier: nothing
//                      4 stream:  the stream command as encodeBrokerCommand writes it, as u32 length + bytes
//     ForwardResult  token u64, kind u8, then per kind:
//                      1 acked:        stream (u16), topic (u16), offset u64, timestampMs u64, logical u32, duplicate u8
//                      2 ack-recorded: consumer (u16), topic (u16), offset u64
//                      3 barrier:      index u64
//                      5 stream-changed: index u64, purged u64
//                      4 failed:       reason u8 (FAILURE_REASONS), retryable u8,
//                                      leaderHint u32, errCode u32 (0: none), message (u32 length)
//     Relay          flags u8 (bit 0: reply subject present), subject (u16),
//                    replyTo (u16, only with bit 0), header block (u32 length), payload (u32 length)
//                    queue count (u16), then each queue group key (u16)
//     ClockProbe     nothing: its clock stamp is the whole point
//     Interest       epoch u64, version u64, full u8, entry count u32, then per entry:
//                      flags u8 (bit 0: queue present), subject (u16), queue (u16, only with bit 0), count u32
//   Clock readings are whole milliseconds since the epoch, never below 0.
//
// Trust boundary as in peer-codec.ts: decoding never throws and names what is
// wrong with the byte offset; encoding a message no correct core builds throws.

import { assert, unreachable } from '../raft/assert.js';
import { decodeBrokerCommand, encodeBrokerCommand, type StreamCommand } from '../broker/commands.js';
import type { BrokerPeerMessage, ClockStamp, CommandOutcome, ForwardedCommand, PeerMessage, PublishFailure } from '../node/peer-messages.js';
import { isBrokerPeerMessage } from '../node/peer-messages.js';
import type { InterestEntry } from '../node/interest.js';
import { isValidSubject } from './client-subjects.js';
import { ByteReader, ByteWriter, utf8 } from './bytes.js';
import { decodePeerMessage, DEFAULT_PEER_CODEC_LIMITS, encodePeerMessage, type PeerCodecLimits } from './peer-codec.js';

/** Raft's messages take the type bytes below 16 (peer-codec.ts), so both can grow apart. */
const TYPE_BYTES = { Forward: 16, ForwardResult: 17, Relay: 18, ClockProbe: 19, Interest: 20 } as const;
const FLAG_ECHO = 0b1;
export const CLOCK_STAMP_BYTES = 1 + 8 + 4 + 8 + 8 + 8;
const COMMAND_KINDS = ['publish', 'ack', 'barrier', 'stream'] as const;
const OUTCOME_KINDS = ['acked', 'ack-recorded', 'barrier', 'failed', 'stream-changed'] as const;
const FAILURE_REASONS: readonly PublishFailure[] = ['no-leader', 'not-leader', 'too-large', 'overloaded', 'rejected', 'superseded', 'timeout', 'leader-changed'];
const FLAG_REPLY = 0b1;
const FLAG_QUEUE = 0b1;

export type AnyPeerDecodeResult = { readonly ok: true; readonly message: PeerMessage } | { readonly ok: false; readonly error: string };
export type StampedPeerDecodeResult =
  | { readonly ok: true; readonly message: PeerMessage; readonly clock: ClockStamp }
  | { readonly ok: false; readonly error: string };

/** A frame's payload between nodes: the sender's clock stamp, then the message. */
export function encodeStampedPeerMessage(message: PeerMessage, clock: ClockStamp): Uint8Array {
  const body = encodeAnyPeerMessage(message);
  const echo = clock.echoSentMs >= 0;
  const writer = new ByteWriter(new Uint8Array(CLOCK_STAMP_BYTES + body.length));
  writer.u8(echo ? FLAG_ECHO : 0);
  writer.u64(clock.hlc.l, 'hlc.l');
  writer.u32(clock.hlc.c, 'hlc.c');
  writer.u64(clock.sentMs, 'sentMs');
  writer.u64(echo ? clock.echoSentMs : 0, 'echoSentMs');
  writer.u64(echo ? clock.echoReceivedMs : 0, 'echoReceivedMs');
  writer.raw(body);
  return writer.bytes;
}

/** Decodes a stamp and the message behind it from exactly `bytes`. Never throws. */
export function decodeStampedPeerMessage(bytes: Uint8Array, limits: PeerCodecLimits = DEFAULT_PEER_CODEC_LIMITS): StampedPeerDecodeResult {
  const reader = new ByteReader(bytes);
  const flags = reader.u8('clock stamp flags');
  const hlc = { l: reader.u64('hlc.l'), c: reader.u32('hlc.c') };
  const sentMs = reader.u64('sentMs');
  const echoSentMs = reader.u64('echoSentMs');
  const echoReceivedMs = reader.u64('echoReceivedMs');
  if (reader.failed) return { ok: false, error: `clock stamp: ${reader.error!}` };
  if ((flags & ~FLAG_ECHO) !== 0) return { ok: false, error: `clock stamp flags 0x${flags.toString(16)} at byte 0 has unknown bits` };
  const echo = (flags & FLAG_ECHO) !== 0;
  const clock: ClockStamp = echo ? { hlc, sentMs, echoSentMs, echoReceivedMs } : { hlc, sentMs, echoSentMs: -1, echoReceivedMs: 0 };
  const decoded = decodeAnyPeerMessage(bytes.subarray(CLOCK_STAMP_BYTES), limits);
  if (!decoded.ok) return { ok: false, error: `in the message after the ${CLOCK_STAMP_BYTES}-byte clock stamp: ${decoded.error}` };
  return { ok: true, message: decoded.message, clock };
}

/** Encodes any peer message: Raft's or the broker's. */
export function encodeAnyPeerMessage(message: PeerMessage): Uint8Array {
  return isBrokerPeerMessage(message) ? encodeBrokerPeerMessage(message) : encodePeerMessage(message);
}

/** Decodes any peer message from exactly `bytes`. Never throws. */
export function decodeAnyPeerMessage(bytes: Uint8Array, limits: PeerCodecLimits = DEFAULT_PEER_CODEC_LIMITS): AnyPeerDecodeResult {
  const type = bytes[0];
  if (type === undefined || type < TYPE_BYTES.Forward || type > TYPE_BYTES.Interest) return decodePeerMessage(bytes, limits);
  if (bytes.length > limits.frameBytesMax) {
    return { ok: false, error: `message of ${bytes.length} bytes exceeds frameBytesMax ${limits.frameBytesMax}` };
  }
  return decodeBrokerPeerMessage(bytes);
}

// ---- Encoding. Each message is laid out as a list of parts, so its size is known before writing.

type Part =
  | { readonly kind: 'u8'; readonly value: number }
  | { readonly kind: 'u16'; readonly value: number; readonly what: string }
  | { readonly kind: 'u32'; readonly value: number; readonly what: string }
  | { readonly kind: 'u64'; readonly value: number; readonly what: string }
  | { readonly kind: 'short'; readonly bytes: Uint8Array; readonly what: string }
  | { readonly kind: 'long'; readonly bytes: Uint8Array; readonly what: string };

const PART_BYTES = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;

function partSize(part: Part): number {
  switch (part.kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'u64':
      return PART_BYTES[part.kind];
    case 'short':
      return 2 + part.bytes.length;
    case 'long':
      return 4 + part.bytes.length;
  }
}

export function encodeBrokerPeerMessage(message: BrokerPeerMessage): Uint8Array {
  const parts: Part[] = [
    { kind: 'u8', value: TYPE_BYTES[message.type] },
    { kind: 'u32', value: message.group, what: 'group' },
    { kind: 'u32', value: message.from, what: 'from' },
    { kind: 'u32', value: message.to, what: 'to' },
  ];
  switch (message.type) {
    case 'Forward':
      parts.push({ kind: 'u64', value: message.token, what: 'token' }, ...commandParts(message.command));
      break;
    case 'ForwardResult':
      parts.push({ kind: 'u64', value: message.token, what: 'token' }, ...outcomeParts(message.outcome));
      break;
    case 'Relay':
      parts.push({ kind: 'u8', value: message.replyTo === undefined ? 0 : FLAG_REPLY }, short(message.subject, 'subject'));
      if (message.replyTo !== undefined) parts.push(short(message.replyTo, 'replyTo'));
      parts.push({ kind: 'long', bytes: message.headerBytes, what: 'header block' }, { kind: 'long', bytes: message.payload, what: 'payload' });
      parts.push({ kind: 'u16', value: message.queues.length, what: 'queue count' }, ...message.queues.map((queue) => short(queue, 'queue')));
      break;
    case 'ClockProbe':
      break;
    case 'Interest':
      parts.push(
        { kind: 'u64', value: message.epoch, what: 'epoch' },
        { kind: 'u64', value: message.version, what: 'version' },
        { kind: 'u8', value: message.full ? 1 : 0 },
        { kind: 'u32', value: message.entries.length, what: 'entry count' },
      );
      for (const entry of message.entries) {
        parts.push({ kind: 'u8', value: entry.queue === undefined ? 0 : FLAG_QUEUE }, short(entry.subject, 'subject'));
        if (entry.queue !== undefined) parts.push(short(entry.queue, 'queue'));
        parts.push({ kind: 'u32', value: entry.count, what: 'count' });
      }
      break;
    default:
      unreachable(message);
  }
  const size = parts.reduce((sum, part) => sum + partSize(part), 0);
  const writer = new ByteWriter(new Uint8Array(size));
  for (const part of parts) writePart(writer, part);
  assert(writer.offset === size, `${message.type} encoded to ${writer.offset} bytes, expected ${size}`);
  return writer.bytes;
}

function short(text: string, what: string): Part {
  return { kind: 'short', bytes: utf8(text, what), what };
}

function commandParts(command: ForwardedCommand): Part[] {
  const kind: Part = { kind: 'u8', value: COMMAND_KINDS.indexOf(command.kind) + 1 };
  switch (command.kind) {
    case 'publish': {
      const { kind: _kind, ...publish } = command;
      return [kind, { kind: 'long', bytes: encodeBrokerCommand({ type: 'Publish', ...publish, timestampMs: 0 }), what: 'publish' }];
    }
    case 'ack':
      return [kind, short(command.consumer, 'consumer'), short(command.topic, 'topic'), { kind: 'u64', value: command.offset, what: 'offset' }];
    case 'barrier':
      return [kind];
    case 'stream':
      return [kind, { kind: 'long', bytes: encodeBrokerCommand(command.command), what: 'stream command' }];
  }
}

function outcomeParts(outcome: CommandOutcome): Part[] {
  const kind: Part = { kind: 'u8', value: OUTCOME_KINDS.indexOf(outcome.kind) + 1 };
  switch (outcome.kind) {
    case 'acked':
      return [
        kind,
        short(outcome.stream, 'stream'),
        short(outcome.topic, 'topic'),
        { kind: 'u64', value: outcome.offset, what: 'offset' },
        { kind: 'u64', value: outcome.timestampMs, what: 'timestampMs' },
        { kind: 'u32', value: outcome.logical, what: 'logical' },
        { kind: 'u8', value: outcome.duplicate ? 1 : 0 },
      ];
    case 'ack-recorded':
      return [kind, short(outcome.consumer, 'consumer'), short(outcome.topic, 'topic'), { kind: 'u64', value: outcome.offset, what: 'offset' }];
    case 'barrier':
      return [kind, { kind: 'u64', value: outcome.index, what: 'index' }];
    case 'stream-changed':
      return [kind, { kind: 'u64', value: outcome.index, what: 'index' }, { kind: 'u64', value: outcome.purged, what: 'purged' }];
    case 'failed':
      return [
        kind,
        { kind: 'u8', value: FAILURE_REASONS.indexOf(outcome.reason) },
        { kind: 'u8', value: outcome.retryable ? 1 : 0 },
        { kind: 'u32', value: outcome.leaderHint, what: 'leaderHint' },
        { kind: 'u32', value: outcome.errCode ?? 0, what: 'errCode' },
        { kind: 'long', bytes: utf8(outcome.message, 'message'), what: 'message' },
      ];
  }
}

function writePart(writer: ByteWriter, part: Part): void {
  switch (part.kind) {
    case 'u8':
      return writer.u8(part.value);
    case 'u16':
      return writer.u16(part.value, part.what);
    case 'u32':
      return writer.u32(part.value, part.what);
    case 'u64':
      return writer.u64(part.value, part.what);
    case 'short':
      writer.u16(part.bytes.length, `${part.what} length`);
      return writer.raw(part.bytes);
    case 'long':
      writer.u32(part.bytes.length, `${part.what} length`);
      return writer.raw(part.bytes);
  }
}

// ---- Decoding.

export function decodeBrokerPeerMessage(bytes: Uint8Array): AnyPeerDecodeResult {
  const reader = new ByteReader(bytes);
  const typeByte = reader.u8('type');
  const header = { group: reader.u32('group'), from: reader.u32('from'), to: reader.u32('to') };
  if (reader.failed) return { ok: false, error: reader.error! };
  let message: BrokerPeerMessage | undefined;
  switch (typeByte) {
    case TYPE_BYTES.Forward: {
      const token = reader.u64('token');
      const command = readCommand(reader);
      if (command !== undefined) message = { type: 'Forward', ...header, token, command };
      break;
    }
    case TYPE_BYTES.ForwardResult: {
      const token = reader.u64('token');
      const outcome = readOutcome(reader);
      if (outcome !== undefined) message = { type: 'ForwardResult', ...header, token, outcome };
      break;
    }
    case TYPE_BYTES.Relay:
      message = readRelay(reader, header);
      break;
    case TYPE_BYTES.Interest:
      message = readInterest(reader, header);
      break;
    case TYPE_BYTES.ClockProbe:
      message = { type: 'ClockProbe', ...header };
      break;
    default:
      return { ok: false, error: `unknown broker message type byte 0x${typeByte.toString(16)} at byte 0` };
  }
  if (reader.failed || message === undefined) return { ok: false, error: reader.error ?? 'undecodable message' };
  if (reader.offset !== bytes.length) {
    return { ok: false, error: `${message.type}: ${bytes.length - reader.offset} trailing bytes at byte ${reader.offset}` };
  }
  return { ok: true, message };
}

function readShort(reader: ByteReader, what: string): string {
  return reader.text(reader.u16(`${what} length`), what);
}

function readCommand(reader: ByteReader): ForwardedCommand | undefined {
  const kindOffset = reader.offset;
  const kind = COMMAND_KINDS[reader.u8('command kind') - 1];
  if (reader.failed) return undefined;
  switch (kind) {
    case 'publish': {
      const bytes = reader.copy(reader.u32('publish length'), 'publish');
      if (reader.failed) return undefined;
      const decoded = decodeBrokerCommand(bytes);
      if (!decoded.ok || decoded.command.type !== 'Publish') {
        reader.fail(`publish at byte ${kindOffset + 1}: ${decoded.ok ? 'not a Publish command' : decoded.error}`);
        return undefined;
      }
      const { type: _type, timestampMs: _timestamp, requestId: _requestId, ...publish } = decoded.command;
      return { kind: 'publish', ...publish };
    }
    case 'ack':
      return { kind: 'ack', consumer: readShort(reader, 'consumer'), topic: readShort(reader, 'topic'), offset: reader.u64('offset') };
    case 'barrier':
      return { kind: 'barrier' };
    case 'stream': {
      const bytes = reader.copy(reader.u32('stream command length'), 'stream command');
      if (reader.failed) return undefined;
      const decoded = decodeBrokerCommand(bytes);
      const type = decoded.ok ? decoded.command.type : undefined;
      if (!decoded.ok || !(type === 'StreamCreate' || type === 'StreamUpdate' || type === 'StreamDelete' || type === 'StreamPurge')) {
        reader.fail(`stream command at byte ${kindOffset + 1}: ${decoded.ok ? 'not a stream command' : decoded.error}`);
        return undefined;
      }
      return { kind: 'stream', command: decoded.command as StreamCommand };
    }
    default:
      reader.fail(`command kind at byte ${kindOffset} is not 1 to 4`);
      return undefined;
  }
}

function readOutcome(reader: ByteReader): CommandOutcome | undefined {
  const kindOffset = reader.offset;
  const kind = OUTCOME_KINDS[reader.u8('outcome kind') - 1];
  if (reader.failed) return undefined;
  switch (kind) {
    case 'acked':
      return {
        kind,
        stream: readShort(reader, 'stream'),
        topic: readShort(reader, 'topic'),
        offset: reader.u64('offset'),
        timestampMs: reader.u64('timestampMs'),
        logical: reader.u32('logical'),
        duplicate: reader.bool('duplicate'),
      };
    case 'ack-recorded':
      return { kind, consumer: readShort(reader, 'consumer'), topic: readShort(reader, 'topic'), offset: reader.u64('offset') };
    case 'barrier':
      return { kind, index: reader.u64('index') };
    case 'stream-changed':
      return { kind, index: reader.u64('index'), purged: reader.u64('purged') };
    case 'failed': {
      const reasonOffset = reader.offset;
      const reason = FAILURE_REASONS[reader.u8('reason')];
      if (reason === undefined && !reader.failed) reader.fail(`reason at byte ${reasonOffset} is not a known failure`);
      const retryable = reader.bool('retryable');
      const leaderHint = reader.u32('leaderHint');
      const errCode = reader.u32('errCode');
      const message = reader.text(reader.u32('message length'), 'message');
      if (reason === undefined) return undefined;
      return { kind, reason, retryable, leaderHint, message, ...(errCode === 0 ? {} : { errCode }) };
    }
    default:
      reader.fail(`outcome kind at byte ${kindOffset} is not 1 to 5`);
      return undefined;
  }
}

function readRelay(reader: ByteReader, header: { group: number; from: number; to: number }): BrokerPeerMessage | undefined {
  const flagsOffset = reader.offset;
  const flags = reader.u8('flags');
  if ((flags & ~FLAG_REPLY) !== 0) reader.fail(`flags at byte ${flagsOffset} has unknown bits 0x${flags.toString(16)}`);
  const subject = readShort(reader, 'subject');
  const replyTo = (flags & FLAG_REPLY) !== 0 ? readShort(reader, 'replyTo') : undefined;
  const headerBytes = reader.copy(reader.u32('header block length'), 'header block');
  const payload = reader.copy(reader.u32('payload length'), 'payload');
  const queueCount = reader.u16('queue count');
  const queues: string[] = [];
  for (let i = 0; i < queueCount && !reader.failed; i++) queues.push(readShort(reader, 'queue'));
  if (reader.failed) return undefined;
  return { type: 'Relay', ...header, subject, headerBytes, payload, queues, ...(replyTo === undefined ? {} : { replyTo }) };
}

/**
 * Entries are checked as the receiver's subject index needs them: a valid
 * subject pattern, a non-empty queue name, a count that fits.
 */
function readInterest(reader: ByteReader, header: { group: number; from: number; to: number }): BrokerPeerMessage | undefined {
  const epoch = reader.u64('epoch');
  const version = reader.u64('version');
  const full = reader.bool('full');
  const countOffset = reader.offset;
  const count = reader.u32('entry count');
  // Each entry takes at least 1 + 2 + 1 + 4 bytes: a forged count cannot make us spin.
  if (count * 8 > reader.remaining) reader.fail(`entry count ${count} at byte ${countOffset} needs more than the ${reader.remaining} bytes left`);
  const entries: InterestEntry[] = [];
  for (let i = 0; i < count && !reader.failed; i++) {
    const flagsOffset = reader.offset;
    const flags = reader.u8('flags');
    if ((flags & ~FLAG_QUEUE) !== 0) reader.fail(`entries[${i}].flags at byte ${flagsOffset} has unknown bits 0x${flags.toString(16)}`);
    const subjectOffset = reader.offset;
    const subject = readShort(reader, 'subject');
    if (!reader.failed && !isValidSubject(subject)) reader.fail(`entries[${i}].subject at byte ${subjectOffset} is not a subject`);
    const queue = (flags & FLAG_QUEUE) !== 0 ? readShort(reader, 'queue') : undefined;
    if (queue === '') reader.fail(`entries[${i}].queue is empty`);
    entries.push({ subject, queue, count: reader.u32('count') });
  }
  if (reader.failed) return undefined;
  return { type: 'Interest', ...header, epoch, version, full, entries };
}
