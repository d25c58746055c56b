import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PEER_CODEC_LIMITS,
  FrameReader,
  decodePeerMessage,
  encodeFrame,
  encodePeerFrame,
  encodePeerMessage,
  peerCodecLimitsFor,
  type PeerCodecLimits,
} from '../../src/protocol/peer-codec.js';
import { DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';
import { InvariantError } from '../../src/raft/assert.js';
import { encodedSizeBytes } from '../../src/raft/size.js';
import type { AppendRequest, Entry, RaftMessage, RaftMessageType } from '../../src/raft/types.js';
import { concat } from '../support/bytes.js';

// The peer codec sits on the trust boundary between nodes: whatever a peer sends,
// decoding returns a message or an error value and never throws, and every message
// our core sends survives the trip unchanged.

const MAX = Number.MAX_SAFE_INTEGER;
const TWO_POW_32 = 2 ** 32;

// ---- Arbitraries.

/** Terms and indices: small ones, the 2^32 seam where the high word starts, and the top of the range. */
const safeNat = fc.oneof(
  fc.nat(1000),
  fc.constantFrom(0, 1, TWO_POW_32 - 1, TWO_POW_32, TWO_POW_32 + 1, MAX - 1, MAX),
  fc.integer({ min: 0, max: MAX }),
);
const uint32 = fc.oneof(fc.nat(16), fc.constantFrom(0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));

const header = fc.record({ group: uint32, from: uint32, to: uint32, term: safeNat });

/** Deterministic filler so large payloads cost one draw, not one draw per byte. */
function filled(length: number, seed: number): Uint8Array {
  const data = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}

const smallData = fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constant(new Uint8Array(0)));
const largeData = fc.tuple(fc.integer({ min: 1000, max: 300_000 }), fc.nat()).map(([n, seed]) => filled(n, seed));

type EntryDraft = Pick<Entry, 'kind' | 'data'>;
const noop: fc.Arbitrary<EntryDraft> = fc.constant({ kind: 'noop', data: new Uint8Array(0) });
const smallEntry: fc.Arbitrary<EntryDraft> = fc.oneof(noop, smallData.map((data): EntryDraft => ({ kind: 'command', data })));
const anyEntry: fc.Arbitrary<EntryDraft> = fc.oneof(
  { weight: 4, arbitrary: smallEntry },
  { weight: 1, arbitrary: largeData.map((data): EntryDraft => ({ kind: 'command', data })) },
);

/**
 * AppendRequests shaped as a correct leader sends them: entries follow prevLogIndex
 * without gaps, and prevLogTerm <= entry terms (non-decreasing) <= the message term.
 */
const appendRequest: fc.Arbitrary<AppendRequest> = fc
  .record({
    header,
    // Few entries, large ones among them, or as many as a default core sends at once.
    drafts: fc.oneof(fc.array(anyEntry, { maxLength: 6 }), fc.array(smallEntry, { minLength: 60, maxLength: 64 })),
    prevLogIndex: safeNat,
    leaderCommit: safeNat,
    terms: fc.array(safeNat, { minLength: 70, maxLength: 70 }),
  })
  .map(({ header, drafts, prevLogIndex, leaderCommit, terms }) => {
    const sorted = terms.slice(0, drafts.length + 2).sort((a, b) => a - b);
    const prev = Math.min(prevLogIndex, MAX - drafts.length);
    const entries: Entry[] = drafts.map((draft, i) => ({ index: prev + 1 + i, term: sorted[i + 1]!, ...draft }));
    return {
      type: 'AppendRequest',
      ...header,
      term: sorted[drafts.length + 1]!,
      prevLogIndex: prev,
      prevLogTerm: sorted[0]!,
      entries,
      leaderCommit,
    };
  });

const messageArbitraries: Record<RaftMessageType, fc.Arbitrary<RaftMessage>> = {
  VoteRequest: fc
    .record({ header, preVote: fc.boolean(), lastLogIndex: safeNat, lastLogTerm: safeNat, transfer: fc.boolean() })
    .map(({ header, ...rest }) => ({ type: 'VoteRequest', ...header, ...rest })),
  VoteResponse: fc
    .record({ header, preVote: fc.boolean(), granted: fc.boolean() })
    .map(({ header, ...rest }) => ({ type: 'VoteResponse', ...header, ...rest })),
  AppendRequest: appendRequest,
  AppendResponse: fc
    .record({
      header,
      success: fc.boolean(),
      matchIndex: safeNat,
      rejectedIndex: safeNat,
      conflictTerm: safeNat,
      conflictIndex: safeNat,
    })
    .map(({ header, ...rest }) => ({ type: 'AppendResponse', ...header, ...rest })),
  Heartbeat: fc
    .record({ header, commit: safeNat, seq: safeNat })
    .map(({ header, ...rest }) => ({ type: 'Heartbeat', ...header, ...rest })),
  HeartbeatResponse: fc
    .record({ header, seq: safeNat, lastIndex: safeNat, lastTerm: safeNat })
    .map(({ header, ...rest }) => ({ type: 'HeartbeatResponse', ...header, ...rest })),
  TimeoutNow: header.map((fields) => ({ type: 'TimeoutNow', ...fields })),
  InstallSnapshot: fc
    .record({ header, snapshotIndex: safeNat, crc: fc.nat({ max: 0xffff_ffff }), data: fc.uint8Array({ maxLength: 300 }), offset: fc.nat(1_000_000), extra: fc.nat(1_000_000) })
    .chain(({ header, snapshotIndex, crc, data, offset, extra }) =>
      fc.nat({ max: header.term }).map((snapshotTerm) => ({
        type: 'InstallSnapshot' as const,
        ...header,
        snapshotIndex,
        snapshotTerm,
        size: offset + data.length + extra,
        crc,
        offset,
        data,
      })),
    ),
  InstallSnapshotResponse: fc
    .record({ header, snapshotIndex: safeNat, nextOffset: safeNat, installed: fc.boolean() })
    .map(({ header, ...rest }) => ({ type: 'InstallSnapshotResponse', ...header, ...rest })),
};

const anyMessage = fc.oneof(...Object.values(messageArbitraries));
/** Messages without large entries, for properties that cost O(size^2). */
const smallMessage = anyMessage.filter((m) => encodedSizeBytes(m) <= 2048);

/** Limits roomy enough for every arbitrary message above. */
const ROOMY: PeerCodecLimits = { frameBytesMax: 64 * 1024 * 1024, entriesPerMessageMax: 64, snapshotChunkBytesMax: 1024 * 1024 };

/**
 * Deep equality, with entry data compared as bytes up front: vitest's toEqual walks a
 * large Uint8Array one element at a time, which made the property take minutes.
 */
function expectSameMessage(actual: RaftMessage, expected: RaftMessage): void {
  if (actual.type === 'AppendRequest' && expected.type === 'AppendRequest') {
    expect(actual.entries.length).toBe(expected.entries.length);
    actual.entries.forEach((entry, i) => {
      const want = expected.entries[i]!.data;
      expect(entry.data).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.length).equals(want)).toBe(true);
    });
    const withoutData = (m: AppendRequest) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: e.data.length })) });
    expect(withoutData(actual)).toEqual(withoutData(expected));
    return;
  }
  expect(actual).toEqual(expected);
}

function decodeOk(bytes: Uint8Array, limits: PeerCodecLimits = ROOMY): RaftMessage {
  const result = decodePeerMessage(bytes, limits);
  if (!result.ok) throw new Error(`expected a message, got: ${result.error}`);
  return result.message;
}

function decodeError(bytes: Uint8Array, limits: PeerCodecLimits = ROOMY): string {
  const result = decodePeerMessage(bytes, limits);
  if (result.ok) throw new Error(`expected an error, got ${result.message.type}`);
  return result.error;
}

// ---- Messages.

describe('peer message codec', () => {
  it('round-trips every message type, big terms and large entries included', () => {
    for (const [type, arbitrary] of Object.entries(messageArbitraries)) {
      fc.assert(
        fc.property(arbitrary, (message) => {
          expectSameMessage(decodeOk(encodePeerMessage(message)), message);
        }),
        { numRuns: type === 'AppendRequest' ? 100 : 80 },
      );
    }
  });

  it('encodedSizeBytes in src/raft/size.ts equals the encoded length', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        expect(encodePeerMessage(message).length).toBe(encodedSizeBytes(message));
      }),
      { numRuns: 300 },
    );
  });

  it('writes the documented layout, big-endian, u64 as two halves', () => {
    const bytes = encodePeerMessage({
      type: 'Heartbeat',
      group: 0x01020304,
      from: 5,
      to: 6,
      term: TWO_POW_32 + 7,
      commit: MAX,
      seq: 9,
    });
    expect(Array.from(bytes)).toEqual([
      5, // Heartbeat
      1, 2, 3, 4, // group
      0, 0, 0, 5, // from
      0, 0, 0, 6, // to
      0, 0, 0, 1, 0, 0, 0, 7, // term
      0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // commit = 2^53-1
      0, 0, 0, 0, 0, 0, 0, 9, // seq
    ]);
  });

  it('decodes from a view into a larger buffer and copies entry data out of it', () => {
    const message = fc.sample(appendRequest.filter((m) => m.entries.some((e) => e.data.length > 0)), { numRuns: 1, seed: 7 })[0]!;
    const encoded = encodePeerMessage(message);
    const buffer = new Uint8Array(encoded.length + 10);
    buffer.set(encoded, 3);
    const decoded = decodeOk(buffer.subarray(3, 3 + encoded.length));
    expectSameMessage(decoded, message);
    buffer.fill(0xee);
    expectSameMessage(decoded, message);
  });

  it('every truncation of a valid encoding fails cleanly, naming the byte offset', () => {
    fc.assert(
      fc.property(smallMessage, (message) => {
        const bytes = encodePeerMessage(message);
        for (let length = 0; length < bytes.length; length++) {
          const error = decodeError(bytes.subarray(0, length));
          expect(error).toMatch(/truncated: .* at byte \d+ needs \d+ bytes, \d+ remain/);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('random bytes never throw, and whatever decodes re-encodes to the same bytes', () => {
    const randomBytes = fc.oneof(
      fc.uint8Array({ maxLength: 128 }),
      // A valid type byte first, so the bodies get exercised, not just the type check.
      fc.tuple(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 128 })).map(([t, rest]) =>
        Uint8Array.of(t, ...rest),
      ),
    );
    fc.assert(
      fc.property(randomBytes, (bytes) => {
        const result = decodePeerMessage(bytes, ROOMY);
        if (result.ok) expect(encodePeerMessage(result.message)).toEqual(bytes);
        else expect(result.error).toMatch(/byte \d+|exceeds/);
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid encoding with one byte changed never throws, and stays canonical', () => {
    fc.assert(
      fc.property(smallMessage, fc.nat(), fc.integer({ min: 1, max: 255 }), (message, at, delta) => {
        const bytes = encodePeerMessage(message);
        const position = at % bytes.length;
        bytes[position] = (bytes[position]! + delta) & 0xff;
        const result = decodePeerMessage(bytes, ROOMY);
        if (result.ok) expect(encodePeerMessage(result.message)).toEqual(bytes);
      }),
      { numRuns: 600 },
    );
  });
});

describe('peer message decode errors', () => {
  const vote: RaftMessage = { type: 'VoteRequest', group: 1, from: 2, to: 3, term: 4, preVote: true, lastLogIndex: 5, lastLogTerm: 4, transfer: false };
  const append = (entries: Entry[], term = 9): AppendRequest => ({
    type: 'AppendRequest',
    group: 1,
    from: 2,
    to: 3,
    term,
    prevLogIndex: 10,
    prevLogTerm: 3,
    entries,
    leaderCommit: 10,
  });
  const command = (index: number, term: number, data = Uint8Array.of(1, 2, 3)): Entry => ({ index, term, kind: 'command', data });
  /** Offset of the first entry's fields in an AppendRequest. */
  const ENTRY0 = 21 + 8 + 8 + 8 + 4;

  it('names an unknown type byte', () => {
    const bytes = encodePeerMessage(vote);
    bytes[0] = 0;
    expect(decodeError(bytes)).toBe('unknown message type byte 0x0 at byte 0');
    bytes[0] = 0x7f;
    expect(decodeError(bytes)).toBe('unknown message type byte 0x7f at byte 0');
  });

  it('names an empty input', () => {
    expect(decodeError(new Uint8Array(0))).toBe('truncated: type at byte 0 needs 1 bytes, 0 remain');
  });

  it('names trailing bytes and where they start', () => {
    const bytes = encodePeerMessage(vote);
    const longer = Uint8Array.of(...bytes, 0, 0);
    expect(decodeError(longer)).toBe(`VoteRequest: 2 trailing bytes at byte ${bytes.length}`);
  });

  it('rejects a boolean byte other than 0 or 1', () => {
    const bytes = encodePeerMessage(vote);
    bytes[21] = 2;
    expect(decodeError(bytes)).toBe('VoteRequest: preVote at byte 21 is 0x2, not a boolean (0 or 1)');
  });

  it('rejects a term or index beyond 2^53-1', () => {
    const bytes = encodePeerMessage(vote);
    bytes[13] = 0;
    bytes[14] = 0x20; // high word 0x00200000: 2^53
    expect(decodeError(bytes)).toBe('VoteRequest: term at byte 13 exceeds 2^53-1 (high word 0x200000)');
    const index = encodePeerMessage(vote);
    index.fill(0xff, 22, 30);
    expect(decodeError(index)).toBe('VoteRequest: lastLogIndex at byte 22 exceeds 2^53-1 (high word 0xffffffff)');
  });

  it('rejects a bad entry kind byte', () => {
    const bytes = encodePeerMessage(append([command(11, 3)]));
    bytes[ENTRY0 + 16] = 9;
    expect(decodeError(bytes)).toBe(
      `AppendRequest: entries[0].kind at byte ${ENTRY0 + 16} is 0x9, not 0 (noop) or 1 (command)`,
    );
  });

  it('rejects an entry count above entriesPerMessageMax before reading entries', () => {
    const entries = [command(11, 3), command(12, 3), command(13, 4)];
    const bytes = encodePeerMessage(append(entries));
    expect(decodeOk(bytes, { ...ROOMY, entriesPerMessageMax: 3 })).toEqual(append(entries));
    expect(decodeError(bytes, { ...ROOMY, entriesPerMessageMax: 2 })).toBe(
      `AppendRequest: entry count 3 at byte ${ENTRY0 - 4} exceeds entriesPerMessageMax 2`,
    );
    // A huge count in a short message fails on the limit, not on an allocation.
    const huge = encodePeerMessage(append([]));
    new DataView(huge.buffer).setUint32(ENTRY0 - 4, 0xffff_ffff);
    expect(decodeError(huge)).toMatch(/entry count 4294967295 at byte 45 exceeds entriesPerMessageMax 64/);
  });

  it('rejects a data length beyond the bytes present without allocating it', () => {
    const bytes = encodePeerMessage(append([command(11, 3)]));
    new DataView(bytes.buffer).setUint32(ENTRY0 + 17, 0xffff_fff0);
    expect(decodeError(bytes)).toBe(
      `AppendRequest: truncated: entries[0].data at byte ${ENTRY0 + 21} needs 4294967280 bytes, 3 remain`,
    );
  });

  it('rejects a message longer than frameBytesMax', () => {
    const bytes = encodePeerMessage(append([command(11, 3, new Uint8Array(100))]));
    expect(decodeOk(bytes, { ...ROOMY, frameBytesMax: bytes.length })).toBeDefined();
    expect(decodeError(bytes, { ...ROOMY, frameBytesMax: bytes.length - 1 })).toBe(
      `message of ${bytes.length} bytes exceeds frameBytesMax ${bytes.length - 1}`,
    );
  });

  it('rejects entries that do not follow prevLogIndex without gaps', () => {
    const bytes = encodePeerMessage(append([command(11, 3), command(12, 3)]));
    new DataView(bytes.buffer).setUint32(ENTRY0 + 21 + 3 + 4, 14); // second entry's index low word
    expect(decodeError(bytes)).toBe(
      `AppendRequest: entries[1] at byte ${ENTRY0 + 24}: index 14 breaks the run from prevLogIndex 10, expected 12`,
    );
  });

  it('rejects entry terms that decrease or exceed the message term', () => {
    const bytes = encodePeerMessage(append([command(11, 5), command(12, 6)]));
    const view = new DataView(bytes.buffer);
    view.setUint32(ENTRY0 + 24 + 12, 4); // second entry's term below the first's
    expect(decodeError(bytes)).toMatch(/entries\[1\] at byte 73: term 4 is below the previous term 5/);
    view.setUint32(ENTRY0 + 24 + 12, 10); // above the message term 9
    expect(decodeError(bytes)).toMatch(/entries\[1\] at byte 73: term 10 is above the message term 9/);
    const first = encodePeerMessage(append([command(11, 3)]));
    new DataView(first.buffer).setUint32(ENTRY0 + 12, 2); // below prevLogTerm 3
    expect(decodeError(first)).toMatch(/entries\[0\] at byte 49: term 2 is below the previous term 3/);
  });

  it('rejects a noop that carries data', () => {
    const bytes = encodePeerMessage(append([command(11, 3)]));
    bytes[ENTRY0 + 16] = 0;
    expect(decodeError(bytes)).toBe(`AppendRequest: entries[0] at byte ${ENTRY0}: noop carries 3 data bytes`);
  });
});

describe('peer message encode contract', () => {
  it('throws InvariantError on a message no correct core sends', () => {
    const base: AppendRequest = {
      type: 'AppendRequest',
      group: 1,
      from: 2,
      to: 3,
      term: 5,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [],
      leaderCommit: 0,
    };
    expect(() => encodePeerMessage({ ...base, term: MAX + 1 })).toThrow(InvariantError);
    expect(() => encodePeerMessage({ ...base, term: -1 })).toThrow(InvariantError);
    expect(() => encodePeerMessage({ ...base, term: 1.5 })).toThrow(InvariantError);
    expect(() => encodePeerMessage({ ...base, group: 2 ** 32 })).toThrow(InvariantError);
    const gap: Entry = { index: 2, term: 1, kind: 'command', data: new Uint8Array(1) };
    expect(() => encodePeerMessage({ ...base, entries: [gap] })).toThrow(/breaks the run/);
  });
});

describe('peer codec limits', () => {
  it('the default limits accept the largest AppendRequest a default core sends, and no byte more', () => {
    const options = DEFAULT_RAFT_OPTIONS;
    expect(peerCodecLimitsFor(options)).toEqual(DEFAULT_PEER_CODEC_LIMITS);
    // Log.slice lets one command of commandBytesMax go first, then empty noops up to the count.
    const entries: Entry[] = Array.from({ length: options.entriesPerMessageMax }, (_, i) => ({
      index: i + 1,
      term: 1,
      kind: i === 0 ? 'command' : 'noop',
      data: new Uint8Array(i === 0 ? Math.max(options.commandBytesMax, options.bytesPerMessageMax) : 0),
    }));
    const largest: AppendRequest = { ...appendBase(), entries };
    const bytes = encodePeerMessage(largest);
    expect(bytes.length).toBe(DEFAULT_PEER_CODEC_LIMITS.frameBytesMax);
    expectSameMessage(decodeOk(bytes, DEFAULT_PEER_CODEC_LIMITS), largest);
    const oneMore: Entry[] = [...entries, { index: entries.length + 1, term: 1, kind: 'noop', data: new Uint8Array(0) }];
    expect(decodeError(encodePeerMessage({ ...largest, entries: oneMore }), DEFAULT_PEER_CODEC_LIMITS)).toMatch(
      /exceeds frameBytesMax/,
    );
  });

  it('every fixed-size message fits the tightest limits', () => {
    const limits = peerCodecLimitsFor({ ...DEFAULT_RAFT_OPTIONS, entriesPerMessageMax: 1, bytesPerMessageMax: 1, commandBytesMax: 1 });
    fc.assert(
      fc.property(anyMessage.filter((m) => m.type !== 'AppendRequest'), (message) => {
        expect(encodedSizeBytes(message)).toBeLessThanOrEqual(limits.frameBytesMax);
      }),
    );
  });

  function appendBase(): AppendRequest {
    return { type: 'AppendRequest', group: 1, from: 1, to: 2, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 };
  }
});

// ---- Framing.


/** The stream cut at the given (unsorted, possibly repeated) positions. */
function split(stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, stream.length]) {
    chunks.push(stream.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Byte-wise comparison; vitest's toEqual on many large Uint8Arrays is slow. */
function expectSamePayloads(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((payload, i) => {
    expect(payload).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(payload, expected[i]!)).toBe(0);
  });
}

function readAll(reader: FrameReader, chunks: readonly Uint8Array[]): { payloads: Uint8Array[]; error: string | undefined } {
  const payloads: Uint8Array[] = [];
  let error: string | undefined;
  for (const chunk of chunks) {
    const result = reader.push(chunk);
    payloads.push(...result.payloads);
    error = result.error;
  }
  return { payloads, error };
}

const payloadList = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array(0)), fc.integer({ min: 100, max: 5000 }).map((n) => filled(n, n))),
  { maxLength: 12 },
);

describe('frame reader', () => {
  it('encodeFrame writes a 4-byte big-endian length, then the payload', () => {
    expect(Array.from(encodeFrame(Uint8Array.of(7, 8, 9)))).toEqual([0, 0, 0, 3, 7, 8, 9]);
    expect(Array.from(encodeFrame(new Uint8Array(0)))).toEqual([0, 0, 0, 0]);
    const big = encodeFrame(new Uint8Array(0x0304));
    expect(Array.from(big.subarray(0, 4))).toEqual([0, 0, 0x03, 0x04]);
  });

  it('yields the same payloads for any split of the stream', () => {
    fc.assert(
      fc.property(payloadList, fc.array(fc.nat(), { maxLength: 30 }), (payloads, cuts) => {
        const stream = concat(payloads.map(encodeFrame));
        const reader = new FrameReader({ frameBytesMax: 5000 });
        const result = readAll(reader, split(stream, cuts));
        expect(result.error).toBeUndefined();
        expectSamePayloads(result.payloads, payloads);
        expect(reader.atFrameBoundary).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('yields the same payloads fed one byte at a time', () => {
    fc.assert(
      fc.property(payloadList, (payloads) => {
        const stream = concat(payloads.map(encodeFrame));
        const reader = new FrameReader({ frameBytesMax: 5000 });
        const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
        const result = readAll(reader, bytes);
        expect(result.error).toBeUndefined();
        expectSamePayloads(result.payloads, payloads);
      }),
      { numRuns: 50 },
    );
  });

  it('carries peer messages: encodePeerFrame equals encodeFrame(encodePeerMessage)', () => {
    fc.assert(
      fc.property(fc.array(smallMessage, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
        const frames = messages.map(encodePeerFrame);
        for (const [i, frame] of frames.entries()) expect(frame).toEqual(encodeFrame(encodePeerMessage(messages[i]!)));
        const result = readAll(new FrameReader(), split(concat(frames), cuts));
        expect(result.payloads.map((p) => decodeOk(p, DEFAULT_PEER_CODEC_LIMITS))).toEqual(messages);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects an oversized frame as an error value, for any split, keeping the frames before it', () => {
    fc.assert(
      fc.property(payloadList, fc.array(fc.nat(), { maxLength: 20 }), (payloads, cuts) => {
        const good = concat(payloads.map(encodeFrame));
        const oversized = encodeFrame(new Uint8Array(5001));
        const stream = concat([good, oversized]);
        const reader = new FrameReader({ frameBytesMax: 5000 });
        const result = readAll(reader, split(stream, cuts));
        expectSamePayloads(result.payloads, payloads);
        expect(result.error).toBe(`frame length 5001 at stream byte ${good.length} exceeds frameBytesMax 5000`);
      }),
      { numRuns: 200 },
    );
  });

  it('stays failed after an error and allocates nothing for a huge claimed length', () => {
    const reader = new FrameReader({ frameBytesMax: 1024 });
    const first = reader.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
    expect(first).toEqual({ payloads: [], error: 'frame length 4294967295 at stream byte 0 exceeds frameBytesMax 1024' });
    expect(reader.push(encodeFrame(Uint8Array.of(1)))).toEqual(first);
    expect(reader.error).toBe(first.error);
  });

  it('reports a partial frame, so a stream that ends mid-frame can be told apart', () => {
    const reader = new FrameReader();
    const frame = encodeFrame(Uint8Array.of(1, 2, 3));
    expect(reader.atFrameBoundary).toBe(true);
    reader.push(frame.subarray(0, 2));
    expect(reader.atFrameBoundary).toBe(false);
    reader.push(frame.subarray(2, 5));
    expect(reader.atFrameBoundary).toBe(false);
    expect(reader.push(frame.subarray(5)).payloads).toEqual([Uint8Array.of(1, 2, 3)]);
    expect(reader.atFrameBoundary).toBe(true);
  });

  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const reader = new FrameReader({ frameBytesMax: 100 });
        for (const chunk of chunks) {
          const result = reader.push(chunk);
          for (const payload of result.payloads) expect(payload.length).toBeLessThanOrEqual(100);
        }
      }),
      { numRuns: 500 },
    );
  });
});
