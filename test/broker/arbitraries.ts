// fast-check generators and small builders shared by the broker tests.

import fc from 'fast-check';
import type { BrokerCommand, ConsumerAckCommand, MessageHeaders, PublishCommand } from '../../src/broker/commands.js';
import type { StreamConfig } from '../../src/broker/stream-config.js';

const encoder = new TextEncoder();

export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A Publish with sensible defaults, for unit tests. */
export function publish(fields: Partial<Omit<PublishCommand, 'type'>> & { topic: string }): PublishCommand {
  return { type: 'Publish', headers: new Map(), payload: bytesOf('hello'), timestampMs: 1_000, ...fields };
}

export function ack(consumer: string, topic: string, offset: number): ConsumerAckCommand {
  return { type: 'ConsumerAck', consumer, topic, offset };
}

// ---- Any well-formed command, for the codec: every field over its whole range.

const anyText = fc.string({ unit: 'binary', maxLength: 12 });

const anyHeaders: fc.Arbitrary<MessageHeaders> = fc
  .uniqueArray(fc.tuple(anyText, fc.array(anyText, { minLength: 1, maxLength: 3 })), {
    maxLength: 4,
    selector: ([name]) => name,
  })
  .map((fields) => new Map(fields));

const anyPublish: fc.Arbitrary<BrokerCommand> = fc
  .record({
    topic: anyText,
    headers: anyHeaders,
    payload: fc.uint8Array({ maxLength: 40 }),
    msgId: fc.option(anyText, { nil: undefined }),
    timestampMs: fc.maxSafeNat(),
    requestId: fc.option(fc.maxSafeNat(), { nil: undefined }),
    logical: fc.option(fc.integer({ min: 0, max: 0xffff_ffff }), { nil: undefined }),
  })
  .map(({ msgId, requestId, logical, ...rest }) => ({
    type: 'Publish' as const,
    ...rest,
    ...(msgId === undefined ? {} : { msgId }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(logical === undefined ? {} : { logical }),
  }));

/** Any config the encoding must carry, valid or not: validity is the state machine's verdict. */
const anyStreamConfig: fc.Arbitrary<StreamConfig> = fc.record({
  name: anyText,
  subjects: fc.array(anyText, { maxLength: 3 }),
  maxMsgs: fc.integer(),
  maxBytes: fc.integer(),
  maxAgeMs: fc.maxSafeNat(),
  maxMsgsPerSubject: fc.integer(),
  maxMsgSize: fc.integer(),
  discard: fc.constantFrom('old' as const, 'new' as const),
  duplicateWindowMs: fc.maxSafeNat(),
  replicas: fc.integer(),
});

const anyPurge: fc.Arbitrary<BrokerCommand> = fc
  .record({
    name: anyText,
    filter: fc.option(anyText, { nil: undefined }),
    upToSeq: fc.option(fc.maxSafeNat(), { nil: undefined }),
    keep: fc.option(fc.maxSafeNat(), { nil: undefined }),
  })
  .map(({ name, filter, upToSeq, keep }) => ({
    type: 'StreamPurge' as const,
    name,
    ...(filter === undefined ? {} : { filter }),
    ...(upToSeq === undefined ? {} : { upToSeq }),
    ...(keep === undefined ? {} : { keep }),
  }));

export const anyCommand: fc.Arbitrary<BrokerCommand> = fc.oneof(
  anyPublish,
  fc.record({ type: fc.constant('ConsumerAck' as const), consumer: anyText, topic: anyText, offset: fc.maxSafeNat() }),
  fc.record({ type: fc.constant('DedupExpire' as const), nowMs: fc.maxSafeNat() }),
  fc.record({ type: fc.constantFrom('StreamCreate' as const, 'StreamUpdate' as const), config: anyStreamConfig }),
  fc.record({ type: fc.constant('StreamDelete' as const), name: anyText }),
  anyPurge,
);

// ---- Commands drawn from small pools, for the state machine: collisions
// (same topic, same message id, same consumer) must be common to be tested.

/** Mostly valid topics, and a few invalid ones so rejections are exercised too. */
const poolTopic = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'a.b', 'orders.eu', 'x.y.z', 'z'), weight: 12 },
  { arbitrary: fc.constantFrom('a.*', 'bad topic', ''), weight: 1 },
);
const poolMsgId = fc.option(
  fc.oneof({ arbitrary: fc.constantFrom('m1', 'm2', 'm3'), weight: 12 }, { arbitrary: fc.constant(''), weight: 1 }),
  { nil: undefined, freq: 3 },
);
const poolHeaders: fc.Arbitrary<MessageHeaders> = fc.oneof(
  { arbitrary: fc.constantFrom<MessageHeaders>(new Map(), new Map([['X-Trace', ['1']]]), new Map([['X-Multi', ['a', 'b']]])), weight: 12 },
  { arbitrary: fc.constant<MessageHeaders>(new Map([['Bad:Name', ['x']]])), weight: 1 },
);

const poolPublish: fc.Arbitrary<BrokerCommand> = fc
  .record({
    topic: poolTopic,
    headers: poolHeaders,
    payload: fc.integer({ min: 0, max: 11 }).chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
    msgId: poolMsgId,
  })
  .map(({ msgId, ...rest }) => ({ type: 'Publish' as const, ...rest, timestampMs: 0, ...(msgId === undefined ? {} : { msgId }) }));

const poolCommand: fc.Arbitrary<BrokerCommand> = fc.oneof(
  { arbitrary: poolPublish, weight: 12 },
  {
    arbitrary: fc.record({
      type: fc.constant('ConsumerAck' as const),
      consumer: fc.oneof({ arbitrary: fc.constantFrom('c1', 'c2'), weight: 12 }, { arbitrary: fc.constant('bad.name'), weight: 1 }),
      topic: poolTopic,
      offset: fc.integer({ min: 0, max: 4 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ type: fc.constant('DedupExpire' as const), nowMs: fc.constant(0) }), weight: 1 },
);

/**
 * Command sequences whose leader timestamps walk forward by up to 400 ms a
 * step, and sometimes back by up to 300 ms, as after a change to a leader whose
 * clock is behind. The tests use a 1000 ms dedup window, so ids are remembered
 * across a few steps and forgotten across more; steps are whole 100 ms so that
 * an id's age often lands exactly on the window's edge.
 */
export const poolCommands: fc.Arbitrary<BrokerCommand[]> = fc
  .array(fc.tuple(poolCommand, fc.integer({ min: -3, max: 4 }).map((steps) => steps * 100)), { minLength: 10, maxLength: 60 })
  .map((steps) => {
    let timeMs = 0;
    return steps.map(([command, stepMs]) => {
      timeMs = Math.max(0, timeMs + stepMs);
      if (command.type === 'Publish') return { ...command, timestampMs: timeMs };
      if (command.type === 'DedupExpire') return { ...command, nowMs: timeMs };
      return command;
    });
  });
