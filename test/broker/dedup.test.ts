// Message-id deduplication (the rules, JetStream's Nats-Msg-Id
// semantics): within the window a second publish of the same id to the same
// topic stores nothing and is acknowledged with the original offset and
// duplicate: true. The window is measured in leader time carried by the
// commands, so the verdict depends on the replicated log alone.

import { describe, expect, it } from 'vitest';
import { encodeBrokerCommand, type BrokerCommand } from '../../src/broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../../src/broker/options.js';
import { BrokerStateMachine, type ApplyResult } from '../../src/broker/state-machine.js';
import type { Entry } from '../../src/raft/types.js';
import { bytesOf, publish } from './arbitraries.js';
import { applyWithTopicStream } from './topic-streams.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';

const WINDOW = DEFAULT_BROKER_OPTIONS.dedupWindowMs;

function feed(machine: BrokerStateMachine, ...commands: BrokerCommand[]): ApplyResult[] {
  return commands.map((command) => {
    const result = applyWithTopicStream(machine, command);
    machine.invariants();
    return result;
  });
}

/** What a publisher is told: [offset, duplicate], or the rejection code. */
function acks(results: readonly ApplyResult[]): unknown[] {
  return results.map((r) => (r.kind === 'published' ? [r.offset, r.duplicate] : r.kind === 'rejected' ? r.code : r.kind));
}

function machineWith(overrides: Partial<BrokerOptions> = {}): BrokerStateMachine {
  return new BrokerStateMachine({ ...DEFAULT_BROKER_OPTIONS, ...overrides });
}

describe('dedup within the window', () => {
  it('a repeated id stores nothing and is acknowledged with the original offset', () => {
    const machine = machineWith();
    const results = feed(
      machine,
      publish({ topic: 't', msgId: 'x', timestampMs: 1_000 }),
      publish({ topic: 't', timestampMs: 1_001 }),
      publish({ topic: 't', msgId: 'x', timestampMs: 1_002 }),
    );
    expect(acks(results)).toEqual([[1, false], [2, false], [1, true]]);
    expect(machine.lastOffset('t')).toBe(2);
  });

  it('is a duplicate whatever the payload and headers: the first message is the one kept', () => {
    const machine = machineWith();
    feed(
      machine,
      publish({ topic: 't', msgId: 'x', payload: bytesOf('first') }),
      publish({ topic: 't', msgId: 'x', payload: bytesOf('second'), headers: new Map([['K', ['v']]]) }),
    );
    const history = machine.history('t', 1, 10);
    expect(history.ok && history.messages.map((m) => new TextDecoder().decode(m.payload))).toEqual(['first']);
  });

  it('acknowledges a duplicate with the original timestamp', () => {
    const machine = machineWith();
    const [, again] = feed(machine, publish({ topic: 't', msgId: 'x', timestampMs: 500 }), publish({ topic: 't', msgId: 'x', timestampMs: 900 }));
    expect(again).toMatchObject({ kind: 'published', offset: 1, timestampMs: 500, duplicate: true });
  });

  it('keys ids by topic: the same id on another topic is a new message', () => {
    const machine = machineWith();
    expect(acks(feed(machine, publish({ topic: 'a', msgId: 'x' }), publish({ topic: 'b', msgId: 'x' }), publish({ topic: 'a', msgId: 'x' })))).toEqual([
      [1, false],
      [1, false],
      [1, true],
    ]);
  });

  it('does not record the id of a rejected publish', () => {
    const machine = machineWith({ payloadBytesMax: 2 });
    expect(acks(feed(machine, publish({ topic: 't', msgId: 'x', payload: new Uint8Array(3) }), publish({ topic: 't', msgId: 'x', payload: new Uint8Array(1) })))).toEqual([
      'payload-too-large',
      [1, false],
    ]);
  });
});

describe('dedup window edges', () => {
  it('remembers an id while now - stored < window, and forgets it at exactly the window', () => {
    const inside = machineWith();
    feed(inside, publish({ topic: 't', msgId: 'x', timestampMs: 10_000 }));
    expect(acks(feed(inside, publish({ topic: 't', msgId: 'x', timestampMs: 10_000 + WINDOW - 1 })))).toEqual([[1, true]]);

    const edge = machineWith();
    feed(edge, publish({ topic: 't', msgId: 'x', timestampMs: 10_000 }));
    expect(acks(feed(edge, publish({ topic: 't', msgId: 'x', timestampMs: 10_000 + WINDOW })))).toEqual([[2, false]]);
  });

  it('measures the window from the stored publish: duplicates do not extend it', () => {
    const machine = machineWith();
    const results = feed(
      machine,
      publish({ topic: 't', msgId: 'x', timestampMs: 0 }),
      publish({ topic: 't', msgId: 'x', timestampMs: WINDOW - 1 }),
      publish({ topic: 't', msgId: 'x', timestampMs: WINDOW }),
      publish({ topic: 't', msgId: 'x', timestampMs: WINDOW + 1 }),
    );
    // The id is stored again at WINDOW, which opens a fresh window for offset 2.
    expect(acks(results)).toEqual([[1, false], [1, true], [2, false], [2, true]]);
  });

  it('is a named option', () => {
    const machine = machineWith({ dedupWindowMs: 50 });
    expect(acks(feed(machine, publish({ topic: 't', msgId: 'x', timestampMs: 0 }), publish({ topic: 't', msgId: 'x', timestampMs: 49 }), publish({ topic: 't', msgId: 'x', timestampMs: 50 })))).toEqual([
      [1, false],
      [1, true],
      [2, false],
    ]);
  });

  it('expires ids driven by any later timestamp, including a DedupExpire in an idle broker', () => {
    const machine = machineWith();
    feed(machine, publish({ topic: 'a', msgId: 'x', timestampMs: 0 }), publish({ topic: 'b', msgId: 'y', timestampMs: 10 }));
    expect(machine.dedupEntries).toBe(2);
    expect(feed(machine, { type: 'DedupExpire', nowMs: WINDOW + 5 })).toEqual([{ kind: 'expired', nowMs: WINDOW + 5 }]);
    expect(machine.dedupEntries).toBe(1);
    // A publish on an unrelated topic moves the replicated clock; b's stream
    // forgets y when it is next published to, which is the moment it matters.
    feed(machine, publish({ topic: 'c', timestampMs: WINDOW + 10 }));
    expect(acks(feed(machine, publish({ topic: 'b', msgId: 'y', timestampMs: WINDOW + 11 })))).toEqual([[2, false]]);
    expect(machine.lastOffset('a')).toBe(1);
  });

  it('a DedupExpire with an older time changes nothing', () => {
    const machine = machineWith();
    feed(machine, publish({ topic: 'a', msgId: 'x', timestampMs: 5_000 }));
    expect(feed(machine, { type: 'DedupExpire', nowMs: 1 })).toEqual([{ kind: 'expired', nowMs: 5_000 }]);
    expect(machine.dedupEntries).toBe(1);
  });
});

describe('dedup across leader changes and restarts (decided by replicated state only)', () => {
  it('a retry proposed by a new leader whose clock is behind is still a duplicate', () => {
    // Leader 1 stores id x at its time 1_000_000. The client does not see the
    // ack, and retries through leader 2, whose clock reads 60 s earlier.
    const machine = machineWith();
    const results = feed(
      machine,
      publish({ topic: 't', msgId: 'x', timestampMs: 1_000_000 }),
      publish({ topic: 't', msgId: 'x', timestampMs: 1_000_000 - 60_000 }),
    );
    expect(acks(results)).toEqual([[1, false], [1, true]]);
    // Leader 2's earlier clock cannot re-open or lengthen anything: the replicated clock stays at the maximum.
    expect(machine.nowMs).toBe(1_000_000);
  });

  it('a retry proposed by a new leader whose clock is more than a window ahead is stored again', () => {
    // The window is leader time, so a leader whose clock jumps ahead ages ids for everyone.
    const machine = machineWith();
    expect(acks(feed(machine, publish({ topic: 't', msgId: 'x', timestampMs: 0 }), publish({ topic: 't', msgId: 'x', timestampMs: WINDOW + 1 })))).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('two replicas, and a replica restarted by replaying its log, give every publisher the same answer', () => {
    const log: Entry[] = [
      { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'T', subjects: ['t'] }, 3) } as const,
      publish({ topic: 't', msgId: 'x', timestampMs: 1_000 }),
      publish({ topic: 't', msgId: 'y', timestampMs: 2_000 }),
      publish({ topic: 't', msgId: 'x', timestampMs: 1_500 }),
      publish({ topic: 't', msgId: 'x', timestampMs: 1_000 + WINDOW }),
      { type: 'DedupExpire', nowMs: 2_000 + WINDOW } as const,
      publish({ topic: 't', msgId: 'y', timestampMs: 2_000 + WINDOW }),
    ].map((command, i) => ({ index: i + 1, term: i < 3 ? 1 : 2, kind: 'command', data: encodeBrokerCommand(command) }));
    const replay = (): { results: unknown[]; digest: string } => {
      const machine = machineWith();
      const results = log.map((entry) => machine.applyEntry(entry));
      return { results: acks(results), digest: machine.digest() };
    };
    const first = replay();
    expect(first.results).toEqual(['stream-created', [1, false], [2, false], [1, true], [3, false], 'expired', [4, false]]);
    expect(replay()).toEqual(first);
  });

  it('a restarted replica, rebuilt by replay, recognises a duplicate of an id stored before the restart', () => {
    const log = [publish({ topic: 't', msgId: 'x', timestampMs: 7_000 }), publish({ topic: 'u', timestampMs: 7_100 })];
    const original = machineWith();
    feed(original, ...log);
    const restarted = machineWith();
    feed(restarted, ...log);
    expect(restarted.digest()).toBe(original.digest());
    const retry = publish({ topic: 't', msgId: 'x', timestampMs: 7_200 });
    expect(acks(feed(restarted, retry))).toEqual([[1, true]]);
    expect(acks(feed(original, retry))).toEqual([[1, true]]);
  });
});

describe('dedupEntriesMax', () => {
  it('refuses a new id when the table is full, still recognises remembered ids, and accepts again after expiry', () => {
    const machine = machineWith({ dedupEntriesMax: 2, dedupWindowMs: 100 });
    const results = feed(
      machine,
      publish({ topic: 't', msgId: 'a', timestampMs: 0 }),
      publish({ topic: 't', msgId: 'b', timestampMs: 10 }),
      publish({ topic: 't', msgId: 'c', timestampMs: 20 }),
      publish({ topic: 't', msgId: 'a', timestampMs: 30 }),
      publish({ topic: 't', timestampMs: 40 }),
      publish({ topic: 't', msgId: 'c', timestampMs: 100 }),
    );
    expect(acks(results)).toEqual([[1, false], [2, false], 'dedup-entries-max', [1, true], [3, false], [4, false]]);
    expect(results[2]).toMatchObject({
      reason: '2 message ids are remembered in stream T, dedupEntriesMax 2; retry after the oldest expire, or publish without a message id',
    });
  });
});
