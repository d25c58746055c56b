import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerPeerMessage, ClockStamp, CommandOutcome, ForwardedCommand, PublishFailure } from '../../src/node/peer-messages.js';
import {
  CLOCK_STAMP_BYTES,
  decodeAnyPeerMessage,
  decodeStampedPeerMessage,
  encodeAnyPeerMessage,
  encodeStampedPeerMessage,
} from '../../src/protocol/broker-peer-codec.js';
import type { RaftMessage } from '../../src/raft/types.js';

// The broker's peer messages share the stream with Raft's: every message our
// core builds survives the trip unchanged, and any bytes decode to a message or
// an error value, never an exception.

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const safeNat = fc.oneof(fc.nat(1000), fc.constantFrom(0, 2 ** 32, Number.MAX_SAFE_INTEGER));
const name = fc.string({ minLength: 1, maxLength: 12 });
const bytes = fc.uint8Array({ maxLength: 64 });
const header = fc.record({ group: uint32, from: uint32, to: uint32 });

const headersMap = fc
  .uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,10}$/), fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 })), {
    maxLength: 3,
    selector: ([key]) => key,
  })
  .map((fields) => new Map(fields));

const command: fc.Arbitrary<ForwardedCommand> = fc.oneof(
  fc
    .record({ topic: name, headers: headersMap, payload: bytes, msgId: fc.option(name, { nil: undefined }) })
    .map(({ msgId, ...rest }): ForwardedCommand => ({ kind: 'publish', ...rest, ...(msgId === undefined ? {} : { msgId }) })),
  fc.record({ consumer: name, topic: name, offset: safeNat }).map((ack): ForwardedCommand => ({ kind: 'ack', ...ack })),
  fc.constant<ForwardedCommand>({ kind: 'barrier' }),
);

const reasons: PublishFailure[] = ['no-leader', 'not-leader', 'too-large', 'overloaded', 'rejected', 'superseded', 'timeout', 'leader-changed'];
const outcome: fc.Arbitrary<CommandOutcome> = fc.oneof(
  fc
    .record({ stream: name, topic: name, offset: safeNat, timestampMs: safeNat, logical: uint32, duplicate: fc.boolean() })
    .map((acked): CommandOutcome => ({ kind: 'acked', ...acked })),
  fc.record({ consumer: name, topic: name, offset: safeNat }).map((ack): CommandOutcome => ({ kind: 'ack-recorded', ...ack })),
  safeNat.map((index): CommandOutcome => ({ kind: 'barrier', index })),
  fc
    .record({ reason: fc.constantFrom(...reasons), message: fc.string(), retryable: fc.boolean(), leaderHint: uint32, errCode: fc.option(fc.integer({ min: 1, max: 0xffff_ffff }), { nil: undefined }) })
    .map(({ errCode, ...failed }): CommandOutcome => ({ kind: 'failed', ...failed, ...(errCode === undefined ? {} : { errCode }) })),
);

const brokerMessage: fc.Arbitrary<BrokerPeerMessage> = fc.oneof(
  header.map((h): BrokerPeerMessage => ({ type: 'ClockProbe', ...h })),
  fc.tuple(header, safeNat, command).map(([h, token, c]): BrokerPeerMessage => ({ type: 'Forward', ...h, token, command: c })),
  fc.tuple(header, safeNat, outcome).map(([h, token, o]): BrokerPeerMessage => ({ type: 'ForwardResult', ...h, token, outcome: o })),
  fc
    .tuple(header, name, fc.option(name, { nil: undefined }), bytes, bytes, fc.array(name, { maxLength: 3 }))
    .map(([h, subject, replyTo, headerBytes, payload, queues]): BrokerPeerMessage => ({
      type: 'Relay',
      ...h,
      subject,
      headerBytes,
      payload,
      queues,
      ...(replyTo === undefined ? {} : { replyTo }),
    })),
  fc
    .tuple(
      header,
      safeNat,
      safeNat,
      fc.boolean(),
      fc.array(
        fc.record({
          subject: fc.constantFrom('orders.*', 'a', '>', 'x.y.>'),
          queue: fc.option(fc.constantFrom('workers', 'q2'), { nil: undefined }),
          count: uint32,
        }),
        { maxLength: 4 },
      ),
    )
    .map(([h, epoch, version, full, entries]): BrokerPeerMessage => ({ type: 'Interest', ...h, epoch, version, full, entries })),
);

const clockStamp: fc.Arbitrary<ClockStamp> = fc.oneof(
  fc.record({ l: safeNat, c: uint32, sentMs: safeNat }).map(({ l, c, sentMs }): ClockStamp => ({ hlc: { l, c }, sentMs, echoSentMs: -1, echoReceivedMs: 0 })),
  fc
    .record({ l: safeNat, c: uint32, sentMs: safeNat, echoSentMs: safeNat, echoReceivedMs: safeNat })
    .map(({ l, c, ...rest }): ClockStamp => ({ hlc: { l, c }, ...rest })),
);

describe('broker peer codec', () => {
  it('round-trips every message behind every clock stamp, with and without an echo', () => {
    const heartbeat: RaftMessage = { type: 'Heartbeat', group: 1, from: 2, to: 3, term: 4, commit: 5, seq: 6 };
    fc.assert(
      fc.property(fc.oneof(brokerMessage, fc.constant(heartbeat)), clockStamp, (message, clock) => {
        expect(decodeStampedPeerMessage(encodeStampedPeerMessage(message, clock))).toEqual({ ok: true, message, clock });
      }),
    );
  });

  it('refuses a stamp with unknown flags, and names where a message behind a stamp is bad', () => {
    const clock: ClockStamp = { hlc: { l: 5, c: 1 }, sentMs: 5, echoSentMs: -1, echoReceivedMs: 0 };
    const encoded = encodeStampedPeerMessage({ type: 'ForwardResult', group: 1, from: 1, to: 2, token: 9, outcome: { kind: 'barrier', index: 3 } }, clock);
    const badFlags = encoded.slice();
    badFlags[0] = 0b110;
    expect(decodeStampedPeerMessage(badFlags)).toEqual({ ok: false, error: 'clock stamp flags 0x6 at byte 0 has unknown bits' });
    const badOutcome = encoded.slice();
    badOutcome[CLOCK_STAMP_BYTES + 21] = 9;
    expect(decodeStampedPeerMessage(badOutcome)).toEqual({
      ok: false,
      error: `in the message after the ${CLOCK_STAMP_BYTES}-byte clock stamp: outcome kind at byte 21 is not 1 to 5`,
    });
    const decoded = decodeStampedPeerMessage(encoded.subarray(0, 20));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error).toMatch(/^clock stamp: /);
  });

  it('round-trips every broker message', () => {
    fc.assert(
      fc.property(brokerMessage, (message) => {
        const decoded = decodeAnyPeerMessage(encodeAnyPeerMessage(message));
        expect(decoded).toEqual({ ok: true, message });
      }),
    );
  });

  it('still decodes Raft messages through the same entry point', () => {
    const heartbeat: RaftMessage = { type: 'Heartbeat', group: 1, from: 2, to: 3, term: 4, commit: 5, seq: 6 };
    expect(decodeAnyPeerMessage(encodeAnyPeerMessage(heartbeat))).toEqual({ ok: true, message: heartbeat });
  });

  it('never throws on arbitrary or truncated bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.tuple(brokerMessage, fc.nat()).map(([m, cut]) => {
        const encoded = encodeAnyPeerMessage(m);
        return encoded.subarray(0, cut % encoded.length);
      })), (input) => {
        const decoded = decodeAnyPeerMessage(input);
        if (!decoded.ok) expect(decoded.error.length).toBeGreaterThan(0);
      }),
    );
  });

  it('names the field and byte offset of a bad value', () => {
    const encoded = encodeAnyPeerMessage({ type: 'ForwardResult', group: 1, from: 1, to: 2, token: 9, outcome: { kind: 'barrier', index: 3 } });
    const bad = encoded.slice();
    bad[21] = 9; // the outcome kind
    expect(decodeAnyPeerMessage(bad)).toEqual({ ok: false, error: 'outcome kind at byte 21 is not 1 to 5' });
  });
});
