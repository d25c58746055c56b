// Snapshots of the broker's state machine (src/broker/snapshot.ts): a machine
// restored from a snapshot taken at index k, then fed entries k+1..n, must be
// indistinguishable from one fed every entry from the start: the same digest,
// the same reads, the same apply results, and the same snapshot bytes. Bad
// bytes (flipped, cut short, foreign) must come back as errors, never throws.
//
// The property test draws from a fixed seed; a failure names its replay:
// CHORUS_PROPERTY_SEED=<seed> npx vitest run test/broker/snapshot.test.ts
// (CHORUS_PROPERTY_SEED=random explores new inputs).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerCommand, StreamCommand } from '../../src/broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../../src/broker/options.js';
import { FileMessageStores } from '../../src/broker/file-message-store.js';
import { assembleWholeSnapshot, decodeBrokerSnapshot, encodeBrokerSnapshot, snapshotKind } from '../../src/broker/snapshot.js';
import type { StreamMessage } from '../../src/broker/stream-message.js';
import { SimRandom } from '../../sim/random.js';
import { saveMetadataSnapshot, simulatedDisk } from '../support/store-disk.js';
import { BrokerStateMachine, type ApplyResult } from '../../src/broker/state-machine.js';
import { streamConfigWithDefaults, type StreamConfig } from '../../src/broker/stream-config.js';
import { crc32 } from '../../src/storage/crc32.js';
import { ack, bytesOf, poolCommands, publish } from './arbitraries.js';
import { topicStreamName, withTopicStreams } from './topic-streams.js';

// ---- Helpers.

/** Magic, version and length: the bytes before the state. */
const HEADER_BYTES = 19;

function create(fields: Partial<StreamConfig> & { name: string }): StreamCommand {
  return { type: 'StreamCreate', config: streamConfigWithDefaults(fields, 3) };
}

function update(fields: Partial<StreamConfig> & { name: string }): StreamCommand {
  return { type: 'StreamUpdate', config: streamConfigWithDefaults(fields, 3) };
}

/** Applies commands at the indices after the machine's, checking invariants after each. */
function feed(machine: BrokerStateMachine, commands: readonly BrokerCommand[]): ApplyResult[] {
  return commands.map((command) => {
    const result = machine.apply(machine.appliedIndex + 1, command);
    machine.invariants();
    return result;
  });
}

function restore(bytes: Uint8Array, options: BrokerOptions = DEFAULT_BROKER_OPTIONS): BrokerStateMachine {
  const decoded = decodeBrokerSnapshot(bytes, options);
  if (!decoded.ok) throw new Error(`snapshot did not decode: ${decoded.error}`);
  return decoded.machine;
}

function decodeError(bytes: Uint8Array, options: BrokerOptions = DEFAULT_BROKER_OPTIONS): string {
  const decoded = decodeBrokerSnapshot(bytes, options);
  if (decoded.ok) throw new Error('bad bytes decoded');
  return decoded.error;
}

/** Rewrites the trailing CRC to match the bytes before it, so a test can reach the checks behind the CRC. */
function withCrc(bytes: Uint8Array): Uint8Array {
  const fixed = bytes.slice();
  new DataView(fixed.buffer).setUint32(fixed.length - 4, crc32(fixed, 0, fixed.length - 4));
  return fixed;
}

function setU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const changed = bytes.slice();
  new DataView(changed.buffer).setUint32(at, value);
  return withCrc(changed);
}

/** Everything a client or an operator could read from a machine, for comparing two of them. */
function reads(machine: BrokerStateMachine): unknown {
  const topics = machine.topics();
  const consumers = [...new Set(machine.state().consumerOffsets.map((offset) => offset.consumer))];
  return {
    appliedIndex: machine.appliedIndex,
    nowMs: machine.nowMs,
    digest: machine.digest(),
    totals: machine.totals(),
    dedupEntries: machine.dedupEntries,
    topics,
    streams: machine.streamList().map((stream) => ({ name: stream.name, createdMs: stream.createdMs, info: stream.info(), state: stream.state() })),
    history: topics.map((topic) => machine.history(topic.name, 1, 10_000)),
    offsets: consumers.flatMap((consumer) => topics.map((topic) => [consumer, topic.name, machine.consumerOffset(consumer, topic.name)])),
  };
}

function expectRoundTrip(machine: BrokerStateMachine, options: BrokerOptions = DEFAULT_BROKER_OPTIONS): BrokerStateMachine {
  const bytes = encodeBrokerSnapshot(machine);
  const restored = restore(bytes, options);
  restored.invariants();
  expect(restored.digest()).toBe(machine.digest());
  expect(reads(restored)).toEqual(reads(machine));
  expect(encodeBrokerSnapshot(restored)).toEqual(bytes);
  return restored;
}

// ---- A machine with a bit of everything.

const TRACE_HEADERS = new Map([
  ['X-Trace', ['t-1']],
  ['X-Multi', ['a', 'b', '']],
]);

const RICH_LOG: readonly BrokerCommand[] = [
  create({ name: 'ORDERS', subjects: ['orders.*'], maxMsgsPerSubject: 3 }),
  create({ name: 'AUDIT', subjects: ['audit.>'], maxAgeMs: 60_000, duplicateWindowMs: 30_000, discard: 'new', maxMsgs: 100, maxBytes: 100_000 }),
  create({ name: 'METRICS', subjects: ['metrics'], maxMsgs: 2, maxMsgSize: 64 }),
  create({ name: 'GONE', subjects: ['gone'] }),
  create({ name: 'EMPTIED', subjects: ['emptied'], duplicateWindowMs: 5_000 }),
  publish({ topic: 'orders.eu', msgId: 'o-1', headers: TRACE_HEADERS, payload: bytesOf('first'), timestampMs: 1_000 }),
  publish({ topic: 'orders.us', msgId: 'o-2', timestampMs: 1_000, logical: 3 }),
  publish({ topic: 'orders.eu', timestampMs: 1_005 }),
  publish({ topic: 'orders.us', timestampMs: 1_006, payload: new Uint8Array([0, 255, 7]) }),
  publish({ topic: 'orders.eu', msgId: 'o-3', timestampMs: 1_007 }),
  publish({ topic: 'orders.eu', msgId: 'o-1', timestampMs: 1_008 }),
  publish({ topic: 'audit.login', msgId: 'a-1', headers: new Map([['Who', ['ünïcødé ✓']]]), timestampMs: 2_000 }),
  publish({ topic: 'audit.logout', timestampMs: 2_001, payload: new Uint8Array(0) }),
  publish({ topic: 'metrics', timestampMs: 2_002 }),
  publish({ topic: 'metrics', timestampMs: 2_003 }),
  publish({ topic: 'metrics', timestampMs: 2_004, msgId: 'm-1' }),
  publish({ topic: 'gone', timestampMs: 2_005 }),
  publish({ topic: 'emptied', timestampMs: 2_006, msgId: 'e-1' }),
  ack('c1', 'orders.eu', 3),
  ack('c1', 'audit.login', 1),
  ack('c2', 'orders.us', 2),
  ack('c3', 'gone', 1),
  ack('c0', 'metrics', 3),
  { type: 'StreamPurge', name: 'ORDERS', filter: 'orders.us' },
  { type: 'StreamPurge', name: 'EMPTIED' },
  { type: 'StreamDelete', name: 'GONE' },
  update({ name: 'METRICS', subjects: ['metrics'], maxMsgs: 1, maxMsgSize: 64 }),
  { type: 'DedupExpire', nowMs: 2_500 },
];

function richMachine(): { machine: BrokerStateMachine; results: ApplyResult[] } {
  const machine = new BrokerStateMachine();
  const results = feed(machine, RICH_LOG);
  return { machine, results };
}

describe('a snapshot round-trips', () => {
  it('for an empty machine', () => {
    const machine = new BrokerStateMachine();
    const bytes = encodeBrokerSnapshot(machine);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('CHRSSM01');
    // Magic, version, length, kind, applied index, clock, counter, no streams, no consumers, CRC.
    expect(bytes.length).toBe(8 + 2 + 8 + 1 + 8 + 8 + 8 + 4 + 4 + 4);
    const restored = expectRoundTrip(machine);
    expect(restored.appliedIndex).toBe(0);
    expect(restored.streamList()).toEqual([]);
  });

  it('for streams with limits, headers, message ids, dedup entries, consumer offsets, purges and deletions', () => {
    const { machine, results } = richMachine();
    // The log reached what it was written to reach, so the round trip below covers it.
    expect(results.find((r) => r.kind === 'published' && r.duplicate)).toMatchObject({ topic: 'orders.eu', offset: 1 });
    expect(results.filter((r) => r.kind === 'rejected')).toEqual([]);
    const orders = machine.stream('ORDERS')!.info();
    expect([orders.firstSeq, orders.lastSeq, orders.messages]).toEqual([1, 5, 3]);
    const emptied = machine.stream('EMPTIED')!.info();
    expect([emptied.firstSeq, emptied.lastSeq, emptied.messages]).toEqual([2, 1, 0]);
    expect(machine.stream('METRICS')!.info()).toMatchObject({ firstSeq: 3, lastSeq: 3, messages: 1 });
    expect(machine.consumerOffset('c3', 'gone')).toBe(0);
    expect(machine.dedupEntries).toBe(6);
    expectRoundTrip(machine);
  });

  it('and the restored machine goes on exactly as the original does', () => {
    const { machine } = richMachine();
    const restored = restore(encodeBrokerSnapshot(machine));
    const next: BrokerCommand[] = [
      publish({ topic: 'orders.eu', msgId: 'o-3', timestampMs: 2_600 }),
      publish({ topic: 'emptied', msgId: 'e-1', timestampMs: 7_100 }),
      publish({ topic: 'orders.us', timestampMs: 2_800 }),
      ack('c2', 'orders.us', 6),
      publish({ topic: 'audit.login', msgId: 'a-1', timestampMs: 40_000 }),
      publish({ topic: 'audit.login', timestampMs: 70_000 }),
      update({ name: 'ORDERS', subjects: ['orders.eu'], maxMsgsPerSubject: 1 }),
    ];
    const expected = feed(machine, next);
    expect(feed(restored, next)).toEqual(expected);
    // A remembered id is still a duplicate after the restore, and a forgotten one is not.
    expect(expected[0]).toMatchObject({ kind: 'published', offset: 5, duplicate: true });
    expect(expected[1]).toMatchObject({ kind: 'published', offset: 2, duplicate: false });
    expect(expected[4]).toMatchObject({ kind: 'published', offset: 3, duplicate: false });
    expect(reads(restored)).toEqual(reads(machine));
    expect(encodeBrokerSnapshot(restored)).toEqual(encodeBrokerSnapshot(machine));
  });

  it('keeps the sequences of removed newest messages, so the next publish comes after them', () => {
    const machine = new BrokerStateMachine();
    feed(machine, [
      create({ name: 'W', subjects: ['w.*'] }),
      publish({ topic: 'w.a', timestampMs: 1_000 }),
      publish({ topic: 'w.b', timestampMs: 1_001 }),
      publish({ topic: 'w.b', timestampMs: 1_002 }),
      { type: 'StreamPurge', name: 'W', filter: 'w.b' },
    ]);
    expect(machine.stream('W')!.info()).toMatchObject({ firstSeq: 1, lastSeq: 3, messages: 1 });
    const restored = expectRoundTrip(machine);
    const next = [publish({ topic: 'w.b', timestampMs: 1_003 })];
    expect(feed(restored, next)).toEqual(feed(machine, next));
    expect(restored.history('w.b', 1, 10)).toMatchObject({ ok: true, messages: [{ offset: 4 }] });
    expect(reads(restored)).toEqual(reads(machine));
  });

  it('keeps a stream clock older than the machine clock, which max_age is held to', () => {
    const machine = new BrokerStateMachine();
    feed(machine, [
      create({ name: 'A', subjects: ['a'], maxAgeMs: 100 }),
      create({ name: 'B', subjects: ['b'] }),
      publish({ topic: 'a', timestampMs: 1_000 }),
      publish({ topic: 'b', timestampMs: 5_000 }),
    ]);
    const restored = expectRoundTrip(machine);
    expect(restored.stream('A')!.state().agedAtMs).toBe(5_000);
    expect(restored.stream('B')!.state().agedAtMs).toBe(5_000);
  });
});

describe('a snapshot that is not whole and sound is refused with an error, never a throw', () => {
  const bytes = encodeBrokerSnapshot(richMachine().machine);

  it('when any byte is flipped', () => {
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const flipped = bytes.slice();
        flipped[at] = flipped[at]! ^ mask;
        expect(decodeError(flipped), `byte ${at} ^ 0x${mask.toString(16)}`).toMatch(/^(CRC mismatch|bad magic at byte 0|truncated: the length at byte 10|length at byte 10 exceeds|\d+ bytes follow)/);
      }
    }
    const flipped = bytes.slice();
    flipped[100] = flipped[100]! ^ 0x01;
    expect(decodeError(flipped)).toMatch(new RegExp(`^CRC mismatch: the CRC at byte ${bytes.length - 4} is 0x[0-9a-f]+, the bytes before it give 0x[0-9a-f]+$`));
  });

  it('when it is cut short anywhere, or has bytes after its end', () => {
    for (let length = 0; length < bytes.length; length++) {
      expect(decodeError(bytes.subarray(0, length)), `first ${length} bytes`).toMatch(/^truncated: /);
    }
    expect(decodeError(bytes.subarray(0, 100))).toBe(`truncated: the length at byte 10 gives ${bytes.length} bytes, 100 are present`);
    expect(decodeError(new Uint8Array([...bytes, 0]))).toBe(`1 bytes follow the snapshot's end at byte ${bytes.length} (the length at byte 10)`);
  });

  it('when its magic is wrong', () => {
    const foreign = bytes.slice();
    foreign.set(bytesOf('CHRSSM02'), 0);
    expect(decodeError(foreign)).toBe('bad magic at byte 0: 43 48 52 53 53 4d 30 32, expected 43 48 52 53 53 4d 30 31 ("CHRSSM01"); these bytes are no broker snapshot');
    expect(decodeError(bytesOf('{"streams": []}'))).toMatch(/^bad magic at byte 0: /);
    expect(decodeError(new Uint8Array(0))).toMatch(/^truncated: /);
  });

  it('when behind a good CRC it has another version, an impossible count, a bad config or a broken invariant', () => {
    const version = bytes.slice();
    version[9] = 1;
    expect(decodeError(withCrc(version))).toBe('unsupported format version 1 at byte 8; this build reads version 2');
    const kind = bytes.slice();
    kind[18] = 2;
    expect(decodeError(withCrc(kind))).toBe('kind at byte 18 is 2, neither 0 (metadata) nor 1 (whole)');
    expect(decodeError(setU32(bytes, 43, 0xffff_ffff))).toMatch(/^stream count 4294967295 at byte 43 needs at least \d+ bytes, \d+ are left$/);

    const one = new BrokerStateMachine();
    feed(one, [create({ name: 'S', subjects: ['s'] }), publish({ topic: 's' }), ack('c', 's', 1)]);
    const single = encodeBrokerSnapshot(one);
    const badName = single.slice();
    expect(badName[49]).toBe('S'.charCodeAt(0));
    badName[49] = '.'.charCodeAt(0);
    expect(decodeError(withCrc(badName))).toMatch(/^streams\[0\] config at byte 47 is no stream's config: stream name "\." may not contain/);
    // The stream's last sequence follows its config (47 + 3 + 2 + 5 + 4 + 8 + 8 + 1 + 8), id (8) and createdMs (8).
    const lastSeqLowAt = 102 + 4;
    expect(single[lastSeqLowAt + 3]).toBe(1);
    expect(decodeError(setU32(single, lastSeqLowAt, 2 ** 26 + 1))).toMatch(/^streams\[0\]\.live\[0\] at byte 122 starts 67108864 or more sequences before the last sequence 67108865$/);
    // The one live run, from 1 for 1: a run of 0, or one past the last sequence, is no run.
    const runCountLowAt = 130 + 4;
    expect(single[runCountLowAt + 3]).toBe(1);
    expect(decodeError(setU32(single, runCountLowAt, 0))).toMatch(/^streams\[0\]\.live\[0\] at byte 122 runs from 1 for 0, not a run of at least 1 from 1 on and within the last sequence 1$/);
    expect(decodeError(setU32(single, runCountLowAt, 2))).toMatch(/^streams\[0\]\.live\[0\] at byte 122 runs from 1 for 2/);
    // The consumer's offset is the last field before the one message's record: 1 becomes 2, past the stream's last sequence.
    const recordBytes = [...one.stream('S')!.records()][0]!.length;
    const offsetAt = single.length - 4 - recordBytes - 4;
    expect(single[offsetAt + 3]).toBe(1);
    expect(decodeError(setU32(single, offsetAt, 2))).toBe(
      "the snapshot's state at applied index 3 is not one a state machine can hold: consumer offset 2 on s is out of range",
    );
  });

  it('when the options do not hold its state', () => {
    expect(decodeError(bytes, { ...DEFAULT_BROKER_OPTIONS, streamsMax: 2 })).toMatch(/is not one a state machine can hold: 4 streams exceed streamsMax/);
  });

  it('whatever bytes are changed behind a good CRC; and what does decode re-encodes to the very same bytes', () => {
    const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    let decoded = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const changed = bytes.slice();
        for (const { at, value } of mutations) changed[HEADER_BYTES + (at % (bytes.length - HEADER_BYTES - 4))] = value;
        const result = decodeBrokerSnapshot(withCrc(changed), DEFAULT_BROKER_OPTIONS);
        if (!result.ok) return;
        decoded += 1;
        expect(encodeBrokerSnapshot(result.machine)).toEqual(withCrc(changed));
      }),
      { numRuns: 2_000 },
    );
    // Payload bytes and timestamps change freely, so some mutants must decode, or this checked nothing.
    expect(decoded).toBeGreaterThan(0);
  });
});

// ---- The property: snapshot at a random cut, restore, go on.

/** Small limits, so that a few dozen commands reach every one of them. */
const PROPERTY_OPTIONS: BrokerOptions = {
  ...DEFAULT_BROKER_OPTIONS,
  dedupWindowMs: 1_000,
  dedupEntriesMax: 3,
  streamsMax: 6,
  consumerOffsetsMax: 3,
  payloadBytesMax: 10,
};
const FIXED_SEED = 20261201;
/** The topics poolCommands publishes to; each gets a stream of its own before first use (topic-streams.ts). */
const POOL_TOPICS = ['a', 'a.b', 'orders.eu', 'x.y.z', 'z'] as const;

/** No limit more often than not, so that streams fill up and limits bite now and then rather than always. */
function limitOr(none: number, min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof({ arbitrary: fc.constant(none), weight: 2 }, { arbitrary: fc.integer({ min, max }), weight: 1 });
}
const streamLimits = fc
  .record({
    maxMsgs: limitOr(-1, 1, 8),
    maxBytes: limitOr(-1, 40, 300),
    maxMsgsPerSubject: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 4 })),
    maxMsgSize: limitOr(-1, 10, 40),
    maxAgeMs: limitOr(0, 1, 15).map((steps) => steps * 100),
    duplicateWindowMs: fc.integer({ min: 1, max: 12 }).map((steps) => steps * 100),
    discard: fc.constantFrom('old' as const, 'new' as const),
  })
  // A window longer than max_age is refused; keep most configs valid so that limits take effect.
  .map((limits) => ({ ...limits, duplicateWindowMs: limits.maxAgeMs > 0 ? Math.min(limits.duplicateWindowMs, limits.maxAgeMs) : limits.duplicateWindowMs }));

/**
 * Streams that capture several pool topics, so that their subjects interleave
 * and per-subject limits and filtered purges leave holes in the middle. Each
 * overlaps the topic streams of what it captures, so it exists only when made
 * before them or after their deletion, and is refused otherwise.
 */
const WIDE_SHAPES = [
  { name: 'A', subjects: ['a', 'a.*'] },
  { name: 'XZ', subjects: ['x.>', 'z'] },
];
const streamShape = fc.oneof(
  fc.constantFrom(...POOL_TOPICS).map((topic) => ({ name: topicStreamName(topic), subjects: [topic] })),
  fc.constantFrom(...WIDE_SHAPES),
);
const streamNames = fc.constantFrom(...POOL_TOPICS.map(topicStreamName), ...WIDE_SHAPES.map((shape) => shape.name));
/** A wide stream made first, mostly with a per-subject limit, which removes one subject's oldest from between another's. */
function wideCreate(shape: (typeof WIDE_SHAPES)[number]): fc.Arbitrary<BrokerCommand> {
  return fc
    .tuple(streamLimits, fc.oneof({ arbitrary: fc.constant(-1), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 2 }))
    .map(([limits, maxMsgsPerSubject]) => ({ type: 'StreamCreate', config: streamConfigWithDefaults({ ...shape, ...limits, maxMsgsPerSubject }, 3) }));
}
const wideCreates: fc.Arbitrary<BrokerCommand[]> = fc
  .tuple(...WIDE_SHAPES.map((shape) => fc.option(wideCreate(shape), { nil: undefined })))
  .map((creates) => creates.filter((create) => create !== undefined));

const streamCommand: fc.Arbitrary<BrokerCommand> = fc.oneof(
  fc.tuple(fc.constantFrom('StreamCreate' as const, 'StreamUpdate' as const), streamShape, streamLimits).map(([type, shape, limits]) => ({
    type,
    config: streamConfigWithDefaults({ ...shape, ...limits }, 3),
  })),
  streamNames.map((name) => ({ type: 'StreamDelete' as const, name })),
  fc
    .record({
      name: streamNames,
      filter: fc.option(fc.constantFrom('a', 'a.*', '>', 'orders.eu', 'x.*.z', 'z'), { nil: undefined }),
      cut: fc.oneof(fc.constant({}), fc.record({ upToSeq: fc.integer({ min: 1, max: 12 }) }), fc.record({ keep: fc.integer({ min: 0, max: 3 }) })),
    })
    .map(({ name, filter, cut }) => ({ type: 'StreamPurge' as const, name, ...(filter === undefined ? {} : { filter }), ...cut })),
);

/**
 * Publishes to subjects only a wide stream captures (a.c, x.q) or shares with
 * a topic stream, stamped 0: wherever they land, the log's clock stamps them
 * one logical tick past the latest, as it does a lagging leader's.
 */
const widePublish: fc.Arbitrary<BrokerCommand> = fc
  .record({ topic: fc.constantFrom('a', 'a.c', 'x.q', 'z'), msgId: fc.option(fc.constantFrom('w1', 'w2', 'm1'), { nil: undefined }), size: fc.integer({ min: 0, max: 8 }) })
  .map(({ topic, msgId, size }) => publish({ topic, payload: new Uint8Array(size).fill(size), timestampMs: 0, ...(msgId === undefined ? {} : { msgId }) }));

/** One to three runs of poolCommands, each later run's leader time carrying on from where the one before stopped. */
const poolRuns: fc.Arbitrary<BrokerCommand[]> = fc.array(poolCommands, { minLength: 1, maxLength: 3 }).map((runs) => {
  let offsetMs = 0;
  return runs.flatMap((run) => {
    const shifted = run.map((command) => {
      if (command.type === 'Publish') return { ...command, timestampMs: command.timestampMs + offsetMs };
      if (command.type === 'DedupExpire') return { ...command, nowMs: command.nowMs + offsetMs };
      return command;
    });
    for (const command of shifted) if (command.type === 'Publish') offsetMs = Math.max(offsetMs, command.timestampMs);
    return shifted;
  });
});

/**
 * A purge of one subject of a wide stream: when that subject holds the
 * stream's newest messages, the stream keeps sequences past its newest live
 * message, which the next publish must come after.
 */
const widePurge: fc.Arbitrary<BrokerCommand> = fc
  .record({
    shape: fc.constantFrom(...WIDE_SHAPES),
    filterIndex: fc.nat(),
    keep: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
  })
  .map(({ shape, filterIndex, keep }) => ({
    type: 'StreamPurge' as const,
    name: shape.name,
    filter: [...shape.subjects, 'a.c', 'x.q'][filterIndex % (shape.subjects.length + 2)]!,
    ...(keep === undefined ? {} : { keep }),
  }));

const extraCommand = fc.oneof({ arbitrary: streamCommand, weight: 2 }, { arbitrary: widePurge, weight: 1 }, { arbitrary: widePublish, weight: 6 });

/**
 * poolCommands with their topics' streams, after a few wide streams made
 * first, with stream creates, updates, deletes and purges and publishes to the
 * wide streams dropped in at random places.
 */
const commandLog: fc.Arbitrary<BrokerCommand[]> = fc
  .tuple(wideCreates, poolRuns, fc.array(fc.tuple(fc.nat(), extraCommand), { minLength: 5, maxLength: 40 }))
  .map(([first, commands, extras]) => {
    const log = [...first, ...withTopicStreams(commands, PROPERTY_OPTIONS.dedupWindowMs)];
    for (const [position, command] of extras) log.splice(position % (log.length + 1), 0, command);
    return log;
  });

function propertyParameters(): fc.Parameters<unknown> {
  const seed = process.env['CHORUS_PROPERTY_SEED'];
  if (seed === 'random') return {};
  return { seed: seed === undefined ? FIXED_SEED : Number(seed) };
}

/** The restore-then-continue property; undefined when it holds, else the failure and its replay. */
function checkSnapshotAtRandomCut(numRuns: number): string | undefined {
  const property = fc.property(commandLog, fc.nat(), (log, cutDraw) => {
    const cut = cutDraw % (log.length + 1);
    const original = new BrokerStateMachine(PROPERTY_OPTIONS);
    log.slice(0, cut).forEach((command, i) => original.apply(i + 1, command));
    const snapshot = encodeBrokerSnapshot(original);
    const restored = restore(snapshot, PROPERTY_OPTIONS);
    expect(restored.digest()).toBe(original.digest());
    expect(restored.state()).toEqual(original.state());
    expect(encodeBrokerSnapshot(restored)).toEqual(snapshot);

    const replayed = new BrokerStateMachine(PROPERTY_OPTIONS);
    log.forEach((command, i) => {
      const expected = replayed.apply(i + 1, command);
      if (i < cut) return;
      expect(restored.apply(i + 1, command), `command ${i + 1} of ${log.length}, cut after ${cut}: ${JSON.stringify(command)}`).toEqual(expected);
      restored.invariants();
    });
    expect(restored.digest()).toBe(replayed.digest());
    expect(restored.state()).toEqual(replayed.state());
    expect(encodeBrokerSnapshot(restored)).toEqual(encodeBrokerSnapshot(replayed));
  });
  const details = fc.check(property, { numRuns, ...propertyParameters() });
  if (!details.failed) return undefined;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const counterexample = JSON.stringify(details.counterexample, (_key, value: unknown) => (value instanceof Map ? [...value] : value instanceof Uint8Array ? [...value] : value));
  return `${cause}\ncounterexample: ${counterexample}\nreplay: CHORUS_PROPERTY_SEED=${details.seed} npx vitest run test/broker/snapshot.test.ts`;
}

describe('restoring a snapshot taken at index k, then applying k+1..n (property)', () => {
  it('gives every apply result, the digest and the snapshot bytes of applying 1..n from the start', () => {
    expect(checkSnapshotAtRandomCut(400)).toBeUndefined();
  });
});

// ---- The same property over a node's stores: messages in block files on a
// simulated disk, a metadata snapshot, a crash, and a restart from it.

const STORE_DIR = '/data/messages';
/** Blocks of a few records, so that a few dozen commands roll, release and read across them. */
const SMALL_BLOCKS = { blockBytesMax: 200, readCacheBytes: 64 };

/** Every live message of every stream, as clients read them. */
function allMessages(machine: BrokerStateMachine): StreamMessage[] {
  return machine.streamList().flatMap((stream) => stream.read('>', 1, Number.MAX_SAFE_INTEGER));
}

/** The stores property; undefined when it holds, else the failure and its replay. */
function checkStoresAcrossCrash(numRuns: number): string | undefined {
  const property = fc.property(commandLog, fc.nat(), fc.nat(), fc.boolean(), (log, cutDraw, crashDraw, torn) => {
    const cut = cutDraw % (log.length + 1);
    const crashAt = cut + (crashDraw % (log.length - cut + 1));
    const { fs, completeSyncs } = simulatedDisk(cutDraw ^ crashDraw, 0.05);
    const original = new BrokerStateMachine(PROPERTY_OPTIONS, new FileMessageStores(fs, STORE_DIR, SMALL_BLOCKS));
    log.slice(0, cut).forEach((command, i) => original.apply(i + 1, command));
    const metadata = saveMetadataSnapshot(original, completeSyncs);
    expect(snapshotKind(metadata)).toBe('metadata');

    // The whole snapshot a leader would send holds the same state, messages and all.
    const whole: Uint8Array[] = [];
    const assembled = assembleWholeSnapshot(metadata, original.stores, (bytes) => whole.push(bytes.slice()));
    if ('error' in assembled) throw new Error(assembled.error);
    const wholeBytes = new Uint8Array(whole.flatMap((part) => [...part]));
    expect(wholeBytes.length).toBe(assembled.size);
    expect(crc32(wholeBytes)).toBe(assembled.crc);
    expect(wholeBytes).toEqual(encodeBrokerSnapshot(original, 'whole'));
    const sent = restore(wholeBytes, PROPERTY_OPTIONS);
    expect(sent.digest()).toBe(original.digest());
    expect(allMessages(sent)).toEqual(allMessages(original));

    // The node goes on, writing without syncing, and crashes.
    log.slice(cut, crashAt).forEach((command, i) => original.apply(cut + i + 1, command));
    original.stores.flush();
    if (torn) fs.tornCrash(SimRandom.stream(crashDraw, 'tear'));
    else fs.crash();

    const decoded = decodeBrokerSnapshot(metadata, PROPERTY_OPTIONS, new FileMessageStores(fs, STORE_DIR, SMALL_BLOCKS));
    if (!decoded.ok) throw new Error(`the metadata snapshot did not restore: ${decoded.error}`);
    const restarted = decoded.machine;
    const replayed = new BrokerStateMachine(PROPERTY_OPTIONS);
    log.forEach((command, i) => {
      const expected = replayed.apply(i + 1, command);
      if (i < cut) return;
      expect(restarted.apply(i + 1, command), `command ${i + 1} of ${log.length}, snapshot after ${cut}, crash after ${crashAt}`).toEqual(expected);
      restarted.invariants();
    });
    restarted.stores.flush();
    expect(restarted.digest()).toBe(replayed.digest());
    expect(restarted.state()).toEqual(replayed.state());
    expect(allMessages(restarted)).toEqual(allMessages(replayed));
  });
  const details = fc.check(property, { numRuns, ...propertyParameters() });
  if (!details.failed) return undefined;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `${cause}\nreplay: CHORUS_PROPERTY_SEED=${details.seed} npx vitest run test/broker/snapshot.test.ts`;
}

describe('a node restarted from a metadata snapshot over its stores, after a crash (property)', () => {
  it('finds every message the snapshot names, applies the log tail, and equals a machine that applied everything', () => {
    expect(checkStoresAcrossCrash(300)).toBeUndefined();
  });
});
