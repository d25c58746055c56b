// The state machine is a pure function of the applied log: replicas fed the
// same commands agree on every result and on the digest, whether they get
// command objects or the encoded entries (with noops between), and both agree
// with a deliberately naive model of the rules written from the issue text.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBrokerCommand, type BrokerCommand, type ConsumerAckCommand, type PublishCommand } from '../../src/broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../../src/broker/options.js';
import { BrokerStateMachine, type ApplyResult } from '../../src/broker/state-machine.js';
import { consumerAckProblem, publishProblem } from '../../src/broker/validation.js';
import type { Entry } from '../../src/raft/types.js';
import { ack, poolCommands, publish } from './arbitraries.js';
import { withTopicStreams } from './topic-streams.js';

/** Small limits, so that random runs of a few dozen commands reach every one of them. */
const OPTIONS: BrokerOptions = {
  ...DEFAULT_BROKER_OPTIONS,
  dedupWindowMs: 1_000,
  dedupEntriesMax: 3,
  streamsMax: 4,
  consumerOffsetsMax: 3,
  payloadBytesMax: 10,
};

/** What a client would be told, reduced to what the model can predict. */
type Outcome = readonly [string, ...(number | string | boolean)[]];

function outcome(result: ApplyResult): Outcome {
  switch (result.kind) {
    case 'published':
      return ['published', result.topic, result.offset, result.duplicate, result.timestampMs];
    case 'acked':
      return ['acked', result.consumer, result.topic, result.offset, result.advanced];
    case 'expired':
      return ['expired', result.nowMs];
    case 'rejected':
      return ['rejected', result.code];
    case 'noop':
      return ['noop'];
    case 'stream-created':
    case 'stream-updated':
    case 'stream-deleted':
      return [result.kind, result.stream];
    case 'stream-purged':
      return [result.kind, result.stream, result.purged];
  }
}

/**
 * The rules, written as plainly as possible and with no shared code beyond the
 * stateless checks: scans instead of indexes, and no dedup table at all. An id
 * is remembered while the newest message that stored it is younger than the
 * window, which is what the table is meant to compute.
 */
class NaiveBroker {
  private readonly topics = new Map<string, { timestampMs: number; msgId: string | undefined }[]>();
  private readonly acked = new Map<string, number>();
  /** Topics with a stream of their own. */
  private readonly streams = new Set<string>();
  private clockMs = 0;

  constructor(private readonly options: BrokerOptions) {}

  apply(command: BrokerCommand): Outcome {
    if (command.type === 'DedupExpire') {
      this.clockMs = Math.max(this.clockMs, command.nowMs);
      return ['expired', this.clockMs];
    }
    if (command.type === 'StreamCreate') {
      // Each topic's own stream (topic-streams.ts): refused once streamsMax exist.
      const topic = command.config.subjects[0]!;
      if (this.streams.size >= this.options.streamsMax) return ['rejected', 'streams-max'];
      this.streams.add(topic);
      return ['stream-created', command.config.name];
    }
    if (command.type === 'Publish') return this.publish(command);
    if (command.type === 'ConsumerAck') return this.ack(command);
    throw new Error(`the model knows no ${command.type}`);
  }

  private publish(command: PublishCommand): Outcome {
    this.clockMs = Math.max(this.clockMs, command.timestampMs);
    const problem = publishProblem(command, this.options);
    if (problem !== undefined) return ['rejected', problem.code];
    if (!this.streams.has(command.topic)) return ['rejected', 'no-stream'];
    const messages = this.topics.get(command.topic) ?? [];
    if (command.msgId !== undefined) {
      const last = messages.map((m, i) => ({ ...m, offset: i + 1 })).filter((m) => m.msgId === command.msgId).pop();
      if (last !== undefined && this.remembered(last.timestampMs)) return ['published', command.topic, last.offset, true, last.timestampMs];
      // Each stream remembers up to dedupEntriesMax ids of its own.
      const live = messages.filter((m) => m.msgId !== undefined && this.remembered(m.timestampMs)).length;
      if (live >= this.options.dedupEntriesMax) return ['rejected', 'dedup-entries-max'];
    }
    messages.push({ timestampMs: this.clockMs, msgId: command.msgId });
    this.topics.set(command.topic, messages);
    return ['published', command.topic, messages.length, false, this.clockMs];
  }

  private remembered(storedAtMs: number): boolean {
    return this.clockMs - storedAtMs < this.options.dedupWindowMs;
  }

  private ack(command: ConsumerAckCommand): Outcome {
    const problem = consumerAckProblem(command, this.options);
    if (problem !== undefined) return ['rejected', problem.code];
    if (!this.streams.has(command.topic)) return ['rejected', 'no-stream'];
    const last = this.topics.get(command.topic)?.length ?? 0;
    if (last === 0) return ['rejected', 'topic-unknown'];
    if (command.offset > last) return ['rejected', 'offset-out-of-range'];
    const key = JSON.stringify([command.consumer, command.topic]);
    const current = this.acked.get(key) ?? 0;
    if (command.offset <= current) return ['acked', command.consumer, command.topic, current, false];
    if (current === 0 && this.acked.size >= this.options.consumerOffsetsMax) return ['rejected', 'consumer-offsets-max'];
    this.acked.set(key, command.offset);
    return ['acked', command.consumer, command.topic, command.offset, true];
  }
}

/** Random command lists, each topic's stream created before the topic's first use. */
const commandLists = poolCommands.map((commands) => withTopicStreams(commands, OPTIONS.dedupWindowMs));

describe('determinism of the broker state machine', () => {
  it('agrees with the naive model on every result, keeping its invariants after every command', () => {
    fc.assert(
      fc.property(commandLists, (commands) => {
        const machine = new BrokerStateMachine(OPTIONS);
        const model = new NaiveBroker(OPTIONS);
        commands.forEach((command, i) => {
          expect(outcome(machine.apply(i + 1, command)), `command ${i}`).toEqual(model.apply(command));
          machine.invariants();
        });
      }),
      { numRuns: 300 },
    );
  });

  it('two replicas agree on results and digest, one fed objects, one fed encoded entries with noops between', () => {
    fc.assert(
      fc.property(commandLists, fc.array(fc.boolean(), { maxLength: 60 }), (commands, noopAfter) => {
        const objects = new BrokerStateMachine(OPTIONS);
        const entries = new BrokerStateMachine(OPTIONS);
        let index = 0;
        commands.forEach((command, i) => {
          index += 1;
          const entry: Entry = { index, term: 1, kind: 'command', data: encodeBrokerCommand(command) };
          expect(outcome(entries.applyEntry(entry))).toEqual(outcome(objects.apply(index, command)));
          if (noopAfter[i] === true) {
            index += 1;
            entries.applyEntry({ index, term: 1, kind: 'noop', data: new Uint8Array(0) });
            // The replicas must stand at the same index to be compared, so the object-fed one steps too.
            objects.applyEntry({ index, term: 1, kind: 'noop', data: new Uint8Array(0) });
          }
        });
        expect(entries.digest()).toBe(objects.digest());
      }),
      { numRuns: 200 },
    );
  });
});

describe('the digest', () => {
  function digestOf(commands: readonly BrokerCommand[]): string {
    const machine = new BrokerStateMachine(OPTIONS);
    withTopicStreams(commands, OPTIONS.dedupWindowMs).forEach((command, i) => machine.apply(i + 1, command));
    return machine.digest();
  }

  it('is canonical: the same state built in another order has the same digest', () => {
    // Publishes are not reordered here: the log's hybrid logical clock stamps each
    // one after the last, so publishes in another order make another state.
    const ab = [publish({ topic: 'a', timestampMs: 5 }), publish({ topic: 'b', timestampMs: 5 })];
    expect(digestOf(ab)).not.toBe(digestOf([...ab].reverse()));
    const acks = [publish({ topic: 'a' }), ack('c1', 'a', 1), ack('c2', 'a', 1)];
    expect(digestOf(acks)).toBe(digestOf([acks[0]!, acks[2]!, acks[1]!]));
  });

  it('changes with any part of the state', () => {
    const base = [publish({ topic: 'a', payload: new Uint8Array([1, 2]), msgId: 'm' }), ack('c', 'a', 1)];
    const digests = [
      digestOf(base),
      digestOf([publish({ topic: 'a', payload: new Uint8Array([1, 3]), msgId: 'm' }), ack('c', 'a', 1)]),
      digestOf([publish({ topic: 'a', payload: new Uint8Array([1, 2]), msgId: 'n' }), ack('c', 'a', 1)]),
      digestOf([publish({ topic: 'a', payload: new Uint8Array([1, 2]), msgId: 'm', headers: new Map([['K', ['v']]]) }), ack('c', 'a', 1)]),
      digestOf([publish({ topic: 'a', payload: new Uint8Array([1, 2]), msgId: 'm' }), ack('d', 'a', 1)]),
      digestOf([publish({ topic: 'a', payload: new Uint8Array([1, 2]), msgId: 'm', timestampMs: 2 }), ack('c', 'a', 1)]),
      digestOf([publish({ topic: 'b', payload: new Uint8Array([1, 2]), msgId: 'm' }), ack('c', 'b', 1)]),
      digestOf([...base, { type: 'DedupExpire', nowMs: 1_000_000 }]),
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });
});
