// The compact binary codec for node-to-node Raft messages, and the length-prefixed
// framing that carries them over a byte stream.
//
// Message layout (all integers big-endian, no padding, one encoding per message):
//
//   offset size  field
//   0      1     type byte: 1 VoteRequest, 2 VoteResponse, 3 AppendRequest,
//                4 AppendResponse, 5 Heartbeat, 6 HeartbeatResponse,
//                7 TimeoutNow, 8 InstallSnapshot, 9 InstallSnapshotResponse
//                (0 is never valid)
//   1      4     group (uint32)
//   5      4     from  (uint32)
//   9      4     to    (uint32)
//   13     8     term  (uint64, at most 2^53-1)
//   21     ...   the body of the type:
//     VoteRequest        preVote u8 (0|1), lastLogIndex u64, lastLogTerm u64,
//                        transfer u8 (0|1)
//     VoteResponse       preVote u8 (0|1), granted u8 (0|1)
//     AppendRequest      prevLogIndex u64, prevLogTerm u64, leaderCommit u64,
//                        entry count u32, then per entry:
//                          index u64, term u64, kind u8 (0 noop, 1 command),
//                          data length u32, data bytes
//     AppendResponse     success u8 (0|1), matchIndex u64, rejectedIndex u64,
//                        conflictTerm u64, conflictIndex u64
//     Heartbeat          commit u64, seq u64
//     HeartbeatResponse  seq u64, lastIndex u64, lastTerm u64
//     TimeoutNow         (no body)
//     InstallSnapshot    snapshotIndex u64, snapshotTerm u64, size u64,
//                        crc u32, offset u64, data length u32, data bytes
//     InstallSnapshotResponse
//                        snapshotIndex u64, nextOffset u64, installed u8 (0|1)
//
// A u64 is written as two uint32 halves, high first. Terms and indices are safe
// integers, so the high half is at most 2^21-1 and decoding rejects anything larger.
// src/raft/size.ts computes the same length without encoding; the encoder asserts
// that the two agree on every message.
//
// Stream framing: each message travels as a frame, a 4-byte big-endian payload length
// followed by the payload. FrameReader reassembles frames from any split of the stream.
//
// Trust boundary: decodePeerMessage and FrameReader take bytes from the network and
// never throw; whatever is wrong comes back as an error value naming the field and
// the byte offset, so the driver can drop the peer. The encoder takes messages from
// our own core, and a message it cannot represent is a programmer error that throws.

import { DEFAULT_RAFT_OPTIONS, type RaftOptions } from '../raft/config.js';
import { assert, unreachable } from '../raft/assert.js';
import { encodedSizeBytes, INSTALL_SNAPSHOT_FIXED_BYTES } from '../raft/size.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { RAFT_MESSAGE_TYPE_CODES, RAFT_MESSAGE_TYPES, type Entry, type EntryKind, type RaftMessage, type RaftMessageType } from '../raft/types.js';

export const FRAME_PREFIX_BYTES = 4;
const UINT32_MAX = 0xffff_ffff;
const HEADER_BYTES = 1 + 4 + 4 + 4 + 8;
const ENTRY_OVERHEAD_BYTES = 8 + 8 + 1 + 4;
const APPEND_REQUEST_FIXED_BYTES = HEADER_BYTES + 8 + 8 + 8 + 4;
const APPEND_RESPONSE_BYTES = HEADER_BYTES + 1 + 8 + 8 + 8 + 8;

const TYPE_BYTES = RAFT_MESSAGE_TYPE_CODES;
/** Byte 0 is no type, so a zeroed frame is rejected. */
const TYPES_BY_BYTE: readonly (RaftMessageType | undefined)[] = [undefined, ...RAFT_MESSAGE_TYPES];
const KIND_BYTES: Readonly<Record<EntryKind, number>> = { noop: 0, command: 1 };
const KINDS_BY_BYTE: readonly EntryKind[] = ['noop', 'command'];

/** Limits checked on every decode; a peer that exceeds them is sending garbage. */
export interface PeerCodecLimits {
  /** Bytes of one encoded message, which is one frame's payload. */
  readonly frameBytesMax: number;
  /** Entries in one AppendRequest. */
  readonly entriesPerMessageMax: number;
  /** Data bytes in one InstallSnapshot. */
  readonly snapshotChunkBytesMax: number;
}

/**
 * The tightest limits that still accept every message a core with these options
 * sends. Log.slice bounds an AppendRequest to entriesPerMessageMax entries whose
 * data is at most bytesPerMessageMax, except that a single entry larger than that
 * goes alone; propose() refuses commands over commandBytesMax. So the data of one
 * AppendRequest is at most max(bytesPerMessageMax, commandBytesMax).
 */
export function peerCodecLimitsFor(options: RaftOptions): PeerCodecLimits {
  const dataBytesMax = Math.max(options.bytesPerMessageMax, options.commandBytesMax);
  const appendBytesMax =
    APPEND_REQUEST_FIXED_BYTES + options.entriesPerMessageMax * ENTRY_OVERHEAD_BYTES + dataBytesMax;
  return {
    frameBytesMax: Math.max(appendBytesMax, APPEND_RESPONSE_BYTES, INSTALL_SNAPSHOT_FIXED_BYTES + options.snapshotChunkBytes),
    entriesPerMessageMax: options.entriesPerMessageMax,
    snapshotChunkBytesMax: options.snapshotChunkBytes,
  };
}

export const DEFAULT_PEER_CODEC_LIMITS: PeerCodecLimits = peerCodecLimitsFor(DEFAULT_RAFT_OPTIONS);

function assertLimits(limits: PeerCodecLimits): void {
  assert(
    Number.isInteger(limits.frameBytesMax) && limits.frameBytesMax >= 1 && limits.frameBytesMax <= UINT32_MAX,
    `frameBytesMax must be an integer in [1, 2^32-1], got ${String(limits.frameBytesMax)}`,
  );
  assert(
    Number.isInteger(limits.entriesPerMessageMax) && limits.entriesPerMessageMax >= 0,
    `entriesPerMessageMax must be a non-negative integer, got ${String(limits.entriesPerMessageMax)}`,
  );
}

// ---- Encoding.

/** Encodes one message; throws InvariantError on a message no correct core sends. */
export function encodePeerMessage(message: RaftMessage): Uint8Array {
  const size = encodedSizeBytes(message);
  const bytes = new Uint8Array(size);
  writeMessage(new ByteWriter(bytes, 0), message, size);
  return bytes;
}

/** Encodes one message straight into a frame (length prefix included), in one allocation. */
export function encodePeerFrame(message: RaftMessage): Uint8Array {
  const size = encodedSizeBytes(message);
  assert(size <= UINT32_MAX, `message of ${size} bytes does not fit in a frame`);
  const bytes = new Uint8Array(FRAME_PREFIX_BYTES + size);
  const writer = new ByteWriter(bytes, 0);
  writer.u32(size, 'frame length');
  writeMessage(writer, message, size);
  return bytes;
}

function writeMessage(writer: ByteWriter, message: RaftMessage, size: number): void {
  const start = writer.offset;
  writer.u8(TYPE_BYTES[message.type]);
  writer.u32(message.group, 'group');
  writer.u32(message.from, 'from');
  writer.u32(message.to, 'to');
  writer.u64(message.term, 'term');
  writeBody(writer, message);
  // Invariant: src/raft/size.ts describes exactly this layout.
  assert(writer.offset - start === size, `${message.type} encoded to ${writer.offset - start} bytes, size.ts says ${size}`);
}

function writeBody(writer: ByteWriter, message: RaftMessage): void {
  switch (message.type) {
    case 'VoteRequest':
      writer.bool(message.preVote);
      writer.u64(message.lastLogIndex, 'lastLogIndex');
      writer.u64(message.lastLogTerm, 'lastLogTerm');
      writer.bool(message.transfer);
      return;
    case 'VoteResponse':
      writer.bool(message.preVote);
      writer.bool(message.granted);
      return;
    case 'AppendRequest':
      writeAppendRequest(writer, message);
      return;
    case 'AppendResponse':
      writer.bool(message.success);
      writer.u64(message.matchIndex, 'matchIndex');
      writer.u64(message.rejectedIndex, 'rejectedIndex');
      writer.u64(message.conflictTerm, 'conflictTerm');
      writer.u64(message.conflictIndex, 'conflictIndex');
      return;
    case 'Heartbeat':
      writer.u64(message.commit, 'commit');
      writer.u64(message.seq, 'seq');
      return;
    case 'HeartbeatResponse':
      writer.u64(message.seq, 'seq');
      writer.u64(message.lastIndex, 'lastIndex');
      writer.u64(message.lastTerm, 'lastTerm');
      return;
    case 'TimeoutNow':
      return;
    case 'InstallSnapshot':
      writer.u64(message.snapshotIndex, 'snapshotIndex');
      writer.u64(message.snapshotTerm, 'snapshotTerm');
      writer.u64(message.size, 'size');
      writer.u32(message.crc, 'crc');
      writer.u64(message.offset, 'offset');
      writer.u32(message.data.length, 'data length');
      writer.raw(message.data);
      return;
    case 'InstallSnapshotResponse':
      writer.u64(message.snapshotIndex, 'snapshotIndex');
      writer.u64(message.nextOffset, 'nextOffset');
      writer.bool(message.installed);
      return;
    default:
      unreachable(message);
  }
}

function writeAppendRequest(writer: ByteWriter, message: Extract<RaftMessage, { type: 'AppendRequest' }>): void {
  writer.u64(message.prevLogIndex, 'prevLogIndex');
  writer.u64(message.prevLogTerm, 'prevLogTerm');
  writer.u64(message.leaderCommit, 'leaderCommit');
  writer.u32(message.entries.length, 'entry count');
  const run: EntryRun = { prevLogIndex: message.prevLogIndex, previousTerm: message.prevLogTerm, messageTerm: message.term };
  message.entries.forEach((entry, position) => {
    // The same shape rules the decoder enforces, so we never send what a peer must refuse.
    const shape = { index: entry.index, term: entry.term, kind: entry.kind, dataLength: entry.data.length };
    const problem = entryShapeProblem(run, position, shape);
    assert(problem === undefined, `AppendRequest.entries[${position}]: ${problem}`);
    run.previousTerm = entry.term;
    writer.u64(entry.index, 'entry index');
    writer.u64(entry.term, 'entry term');
    writer.u8(KIND_BYTES[entry.kind]);
    writer.u32(entry.data.length, 'entry data length');
    writer.raw(entry.data);
  });
}

/**
 * The shape every correct leader's AppendRequest has (section 5.3): entries follow
 * prevLogIndex without gaps, their terms never decrease from prevLogTerm and never
 * exceed the leader's term, and a noop carries no data. The core relies on the first
 * rule (a gap trips its assertions), so a frame that breaks it must stop here.
 */
function entryShapeProblem(run: EntryRun, position: number, entry: EntryShape): string | undefined {
  const expectedIndex = run.prevLogIndex + 1 + position;
  if (entry.index !== expectedIndex) {
    return `index ${entry.index} breaks the run from prevLogIndex ${run.prevLogIndex}, expected ${expectedIndex}`;
  }
  if (entry.term < run.previousTerm) return `term ${entry.term} is below the previous term ${run.previousTerm}`;
  if (entry.term > run.messageTerm) return `term ${entry.term} is above the message term ${run.messageTerm}`;
  if (entry.kind === 'noop' && entry.dataLength !== 0) return `noop carries ${entry.dataLength} data bytes`;
  return undefined;
}

/** Where an AppendRequest's run of entries stands before the entry being checked. */
interface EntryRun {
  readonly prevLogIndex: number;
  /** The previous entry's term, or prevLogTerm before the first entry. */
  previousTerm: number;
  readonly messageTerm: number;
}

interface EntryShape {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly dataLength: number;
}

// ---- Decoding.

export type PeerDecodeResult =
  | { readonly ok: true; readonly message: RaftMessage }
  | { readonly ok: false; readonly error: string };

/** Decodes one message from exactly `bytes`. Never throws: bad input gives an error value. */
export function decodePeerMessage(
  bytes: Uint8Array,
  limits: PeerCodecLimits = DEFAULT_PEER_CODEC_LIMITS,
): PeerDecodeResult {
  if (bytes.length > limits.frameBytesMax) {
    return { ok: false, error: `message of ${bytes.length} bytes exceeds frameBytesMax ${limits.frameBytesMax}` };
  }
  const reader = new ByteReader(bytes);
  const typeByte = reader.u8('type');
  const type = TYPES_BY_BYTE[typeByte];
  if (reader.failed) return { ok: false, error: reader.error! };
  if (type === undefined) return { ok: false, error: `unknown message type byte 0x${typeByte.toString(16)} at byte 0` };
  const header = {
    group: reader.u32('group'),
    from: reader.u32('from'),
    to: reader.u32('to'),
    term: reader.u64('term'),
  };
  const message = readBody(reader, type, header, limits);
  if (reader.failed) return { ok: false, error: `${type}: ${reader.error!}` };
  if (reader.offset !== bytes.length) {
    return { ok: false, error: `${type}: ${bytes.length - reader.offset} trailing bytes at byte ${reader.offset}` };
  }
  return { ok: true, message };
}

interface Header {
  readonly group: number;
  readonly from: number;
  readonly to: number;
  readonly term: number;
}

function readBody(reader: ByteReader, type: RaftMessageType, header: Header, limits: PeerCodecLimits): RaftMessage {
  switch (type) {
    case 'VoteRequest':
      return {
        type,
        ...header,
        preVote: reader.bool('preVote'),
        lastLogIndex: reader.u64('lastLogIndex'),
        lastLogTerm: reader.u64('lastLogTerm'),
        transfer: reader.bool('transfer'),
      };
    case 'VoteResponse':
      return { type, ...header, preVote: reader.bool('preVote'), granted: reader.bool('granted') };
    case 'AppendRequest':
      return readAppendRequest(reader, header, limits);
    case 'AppendResponse':
      return {
        type,
        ...header,
        success: reader.bool('success'),
        matchIndex: reader.u64('matchIndex'),
        rejectedIndex: reader.u64('rejectedIndex'),
        conflictTerm: reader.u64('conflictTerm'),
        conflictIndex: reader.u64('conflictIndex'),
      };
    case 'Heartbeat':
      return { type, ...header, commit: reader.u64('commit'), seq: reader.u64('seq') };
    case 'HeartbeatResponse':
      return {
        type,
        ...header,
        seq: reader.u64('seq'),
        lastIndex: reader.u64('lastIndex'),
        lastTerm: reader.u64('lastTerm'),
      };
    case 'TimeoutNow':
      return { type, ...header };
    case 'InstallSnapshot':
      return readInstallSnapshot(reader, header, limits);
    case 'InstallSnapshotResponse':
      return {
        type,
        ...header,
        snapshotIndex: reader.u64('snapshotIndex'),
        nextOffset: reader.u64('nextOffset'),
        installed: reader.bool('installed'),
      };
    default:
      return unreachable(type);
  }
}

/** A chunk must fit the snapshot it belongs to and the limit on chunk size, or the follower would write past its end. */
function readInstallSnapshot(reader: ByteReader, header: Header, limits: PeerCodecLimits): RaftMessage {
  const snapshotIndex = reader.u64('snapshotIndex');
  const snapshotTerm = reader.u64('snapshotTerm');
  const size = reader.u64('size');
  const crc = reader.u32('crc');
  const offset = reader.u64('offset');
  const lengthAt = reader.offset;
  const length = reader.u32('data length');
  if (length > limits.snapshotChunkBytesMax) reader.fail(`data length ${length} at byte ${lengthAt} exceeds snapshotChunkBytesMax ${limits.snapshotChunkBytesMax}`);
  if (offset + length > size) reader.fail(`chunk at offset ${offset} of ${length} bytes runs past the snapshot's ${size} bytes`);
  if (snapshotTerm > header.term) reader.fail(`snapshotTerm ${snapshotTerm} is above the message term ${header.term}`);
  const data = reader.failed ? new Uint8Array(0) : reader.copy(length, 'data');
  return { type: 'InstallSnapshot', ...header, snapshotIndex, snapshotTerm, size, crc, offset, data };
}

function readAppendRequest(reader: ByteReader, header: Header, limits: PeerCodecLimits): RaftMessage {
  const prevLogIndex = reader.u64('prevLogIndex');
  const prevLogTerm = reader.u64('prevLogTerm');
  const leaderCommit = reader.u64('leaderCommit');
  const countOffset = reader.offset;
  const count = reader.u32('entry count');
  if (count > limits.entriesPerMessageMax) {
    reader.fail(`entry count ${count} at byte ${countOffset} exceeds entriesPerMessageMax ${limits.entriesPerMessageMax}`);
  }
  if (prevLogTerm > header.term) reader.fail(`prevLogTerm ${prevLogTerm} is above the message term ${header.term}`);
  const entries: Entry[] = [];
  const run: EntryRun = { prevLogIndex, previousTerm: prevLogTerm, messageTerm: header.term };
  for (let position = 0; position < count && !reader.failed; position++) {
    const entry = readEntry(reader, run, position);
    if (entry === undefined) break;
    entries.push(entry);
    run.previousTerm = entry.term;
  }
  return { type: 'AppendRequest', ...header, prevLogIndex, prevLogTerm, entries, leaderCommit };
}

function readEntry(reader: ByteReader, run: EntryRun, position: number): Entry | undefined {
  const what = `entries[${position}]`;
  const start = reader.offset;
  const index = reader.u64(`${what}.index`);
  const term = reader.u64(`${what}.term`);
  const kindOffset = reader.offset;
  const kindByte = reader.u8(`${what}.kind`);
  const kind = KINDS_BY_BYTE[kindByte];
  if (kind === undefined) {
    reader.fail(`${what}.kind at byte ${kindOffset} is 0x${kindByte.toString(16)}, not 0 (noop) or 1 (command)`);
    return undefined;
  }
  const dataLength = reader.u32(`${what}.data length`);
  if (reader.failed) return undefined;
  const problem = entryShapeProblem(run, position, { index, term, kind, dataLength });
  if (problem !== undefined) {
    reader.fail(`${what} at byte ${start}: ${problem}`);
    return undefined;
  }
  const data = reader.copy(dataLength, `${what}.data`);
  return reader.failed ? undefined : { index, term, kind, data };
}

// ---- Framing.

/** Prefixes a payload with its 4-byte big-endian length. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  assert(payload.length <= UINT32_MAX, `payload of ${payload.length} bytes does not fit in a frame`);
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, FRAME_PREFIX_BYTES);
  return frame;
}

/**
 * What one push yields: the payloads completed by this chunk, in order, and the
 * error that ended the stream, if any. Payloads that completed before the error are
 * still returned, so every split of a stream yields the same payloads and error.
 */
export interface FrameReadResult {
  readonly payloads: Uint8Array[];
  readonly error: string | undefined;
}

/**
 * An incremental reader of length-prefixed frames, fed chunks split anywhere (one
 * byte at a time included). Each byte is copied once, into its payload. A length
 * above frameBytesMax ends the stream with an error before anything is allocated;
 * after an error every push returns that error, and the driver drops the peer.
 */
export class FrameReader {
  private readonly frameBytesMax: number;
  private readonly prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  /** Invariant: prefixFilled < FRAME_PREFIX_BYTES while no payload is being filled. */
  private prefixFilled = 0;
  private payload: Uint8Array | undefined = undefined;
  private payloadFilled = 0;
  /** Bytes of the stream consumed so far, for error messages. */
  private streamOffset = 0;
  private failure: string | undefined = undefined;

  constructor(limits: Pick<PeerCodecLimits, 'frameBytesMax'> = DEFAULT_PEER_CODEC_LIMITS) {
    assertLimits({ frameBytesMax: limits.frameBytesMax, entriesPerMessageMax: 0, snapshotChunkBytesMax: 0 });
    this.frameBytesMax = limits.frameBytesMax;
  }

  /** True when no partial frame is held: the stream may end here cleanly. */
  get atFrameBoundary(): boolean {
    return this.prefixFilled === 0 && this.payload === undefined;
  }

  get error(): string | undefined {
    return this.failure;
  }

  push(chunk: Uint8Array): FrameReadResult {
    const payloads: Uint8Array[] = [];
    let position = 0;
    while (position < chunk.length && this.failure === undefined) {
      position = this.payload === undefined ? this.fillPrefix(chunk, position) : this.fillPayload(chunk, position);
      if (this.payload !== undefined && this.payloadFilled === this.payload.length) {
        payloads.push(this.payload);
        this.payload = undefined;
      }
    }
    return { payloads, error: this.failure };
  }

  /** Reads prefix bytes; once all four are in, starts the payload or fails. */
  private fillPrefix(chunk: Uint8Array, position: number): number {
    const take = Math.min(FRAME_PREFIX_BYTES - this.prefixFilled, chunk.length - position);
    this.prefix.set(chunk.subarray(position, position + take), this.prefixFilled);
    this.prefixFilled += take;
    this.streamOffset += take;
    if (this.prefixFilled < FRAME_PREFIX_BYTES) return position + take;
    const length = new DataView(this.prefix.buffer).getUint32(0);
    const prefixOffset = this.streamOffset - FRAME_PREFIX_BYTES;
    this.prefixFilled = 0;
    if (length > this.frameBytesMax) {
      this.failure = `frame length ${length} at stream byte ${prefixOffset} exceeds frameBytesMax ${this.frameBytesMax}`;
      return position + take;
    }
    this.payload = new Uint8Array(length);
    this.payloadFilled = 0;
    return position + take;
  }

  private fillPayload(chunk: Uint8Array, position: number): number {
    const payload = this.payload!;
    const take = Math.min(payload.length - this.payloadFilled, chunk.length - position);
    payload.set(chunk.subarray(position, position + take), this.payloadFilled);
    this.payloadFilled += take;
    this.streamOffset += take;
    return position + take;
  }
}
