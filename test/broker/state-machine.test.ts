import { describe, expect, it } from 'vitest';
import { encodeBrokerCommand, type BrokerCommand } from '../../src/broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, validateBrokerOptions, type BrokerOptions } from '../../src/broker/options.js';
import { BrokerStateMachine, type ApplyResult, type StoredMessage } from '../../src/broker/state-machine.js';
import { headerBlockBytes } from '../../src/broker/validation.js';
import { encodeHeaderBlock } from '../../src/protocol/client-headers.js';
import { InvariantError } from '../../src/raft/assert.js';
import { ack, bytesOf, publish } from './arbitraries.js';
import { applyWithTopicStream } from './topic-streams.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';

/** Applies commands at indices 1, 2, 3... after what was applied, checking invariants after each. */
function feed(machine: BrokerStateMachine, ...commands: BrokerCommand[]): ApplyResult[] {
  return commands.map((command) => {
    const result = applyWithTopicStream(machine, command);
    machine.invariants();
    return result;
  });
}

function one(machine: BrokerStateMachine, command: BrokerCommand): ApplyResult {
  return feed(machine, command)[0] as ApplyResult;
}

function offsetsOf(messages: readonly StoredMessage[]): number[] {
  return messages.map((message) => message.offset);
}

function history(machine: BrokerStateMachine, topic: string, from: number, limit: number): readonly StoredMessage[] {
  const result = machine.history(topic, from, limit);
  if (!result.ok) throw new Error(result.reason);
  return result.messages;
}

function code(result: ApplyResult): string {
  return result.kind === 'rejected' ? result.code : `not rejected: ${result.kind}`;
}

function machineWith(overrides: Partial<BrokerOptions>): BrokerStateMachine {
  return new BrokerStateMachine({ ...DEFAULT_BROKER_OPTIONS, ...overrides });
}

describe('offsets', () => {
  it('start at 1 and count up densely per topic, topics independent', () => {
    const machine = new BrokerStateMachine();
    const results = feed(
      machine,
      publish({ topic: 'a' }),
      publish({ topic: 'a' }),
      publish({ topic: 'b.c' }),
      publish({ topic: 'a' }),
    );
    expect(results.map((r) => (r.kind === 'published' ? [r.topic, r.offset, r.duplicate] : r))).toEqual([
      ['a', 1, false],
      ['a', 2, false],
      ['b.c', 1, false],
      ['a', 3, false],
    ]);
    expect(machine.lastOffset('a')).toBe(3);
    expect(machine.lastOffset('never')).toBe(0);
  });

  it('counts the messages of a topic after an offset, skipping the sequences other subjects of its stream took', () => {
    const machine = new BrokerStateMachine();
    machine.apply(1, { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'S', subjects: ['s.*'] }, 3) });
    for (const topic of ['s.a', 's.b', 's.b', 's.a', 's.b', 's.a']) machine.apply(machine.appliedIndex + 1, publish({ topic }));
    // s.a holds sequences 1, 4 and 6; s.b holds 2, 3 and 5.
    expect([0, 1, 2, 4, 5, 6].map((offset) => machine.messagesAfter('s.a', offset))).toEqual([3, 2, 2, 1, 1, 0]);
    expect(machine.messagesAfter('s.b', 3)).toBe(1);
    expect(machine.messagesAfter('s.none', 0)).toBe(0);
    expect(machine.messagesAfter('elsewhere', 0)).toBe(0);
  });

  it('creates a topic with its first stored message, and lists topics sorted by name', () => {
    const machine = new BrokerStateMachine();
    expect(machine.topics()).toEqual([]);
    feed(machine, publish({ topic: 'zeta' }), publish({ topic: 'Alpha' }), publish({ topic: 'mid.x' }), publish({ topic: 'zeta' }));
    expect(machine.topics()).toEqual([
      { name: 'Alpha', lastOffset: 1 },
      { name: 'mid.x', lastOffset: 1 },
      { name: 'zeta', lastOffset: 2 },
    ]);
  });

  it('a rejected publish creates no topic and uses no offset', () => {
    const machine = machineWith({ payloadBytesMax: 4 });
    expect(code(one(machine, publish({ topic: 'a', payload: new Uint8Array(5) })))).toBe('payload-too-large');
    expect(machine.topics()).toEqual([]);
    const next = one(machine, publish({ topic: 'a', payload: new Uint8Array(4) }));
    expect(next.kind === 'published' && next.offset).toBe(1);
  });

  it('stores the leader timestamp, headers, payload and message id', () => {
    const machine = new BrokerStateMachine();
    const headers = new Map([['X-A', ['1', '2']]]);
    feed(machine, publish({ topic: 'a', headers, payload: bytesOf('p'), msgId: 'id', timestampMs: 42 }));
    expect(history(machine, 'a', 1, 10)).toEqual([
      { stream: 'A', topic: 'a', offset: 1, timestampMs: 42, logical: 0, headers, payload: bytesOf('p'), msgId: 'id', bytes: 1 + headerBlockBytes(headers) + 1 },
    ]);
  });

  it('stamps strictly increase along the log: the logical counter orders ties and late leader clocks', () => {
    const machine = new BrokerStateMachine();
    const stamps = feed(
      machine,
      publish({ topic: 'a', timestampMs: 500, logical: 3 }),
      publish({ topic: 'b', timestampMs: 500 }),
      publish({ topic: 'a', timestampMs: 300, logical: 9 }),
      publish({ topic: 'a', timestampMs: 700 }),
    ).map((r) => (r.kind === 'published' ? [r.timestampMs, r.logical] : r.kind));
    expect(stamps).toEqual([
      [500, 3],
      [500, 4],
      [500, 5],
      [700, 0],
    ]);
    expect(history(machine, 'a', 1, 10).map((m) => [m.timestampMs, m.logical])).toEqual([
      [500, 3],
      [500, 5],
      [700, 0],
    ]);
  });

  it('never lets stored timestamps go backwards along the log', () => {
    const machine = new BrokerStateMachine();
    const results = feed(machine, publish({ topic: 'a', timestampMs: 500 }), publish({ topic: 'a', timestampMs: 300 }));
    expect(results.map((r) => r.kind === 'published' && r.timestampMs)).toEqual([500, 500]);
    expect(history(machine, 'a', 1, 10).map((m) => m.timestampMs)).toEqual([500, 500]);
    expect(machine.nowMs).toBe(500);
  });

  it('echoes the requestId on published and rejected results', () => {
    const machine = machineWith({ payloadBytesMax: 1 });
    const [stored, refused] = feed(
      machine,
      publish({ topic: 'a', payload: new Uint8Array(1), requestId: 11 }),
      publish({ topic: 'a', payload: new Uint8Array(2), requestId: 12 }),
    );
    expect(stored).toMatchObject({ kind: 'published', requestId: 11 });
    expect(refused).toMatchObject({ kind: 'rejected', requestId: 12 });
  });
});

describe('history', () => {
  const machine = new BrokerStateMachine({ ...DEFAULT_BROKER_OPTIONS, historyMessagesMax: 4 });
  feed(machine, ...Array.from({ length: 6 }, (_, i) => publish({ topic: 'h', payload: bytesOf(String(i + 1)) })));

  it('reads from an offset up to a limit', () => {
    expect(offsetsOf(history(machine, 'h', 1, 3))).toEqual([1, 2, 3]);
    expect(offsetsOf(history(machine, 'h', 5, 3))).toEqual([5, 6]);
    expect(history(machine, 'h', 2, 1).map((m) => new TextDecoder().decode(m.payload))).toEqual(['2']);
  });

  it('is empty past the end, for limit 0 and for a topic that does not exist', () => {
    expect(history(machine, 'h', 7, 10)).toEqual([]);
    expect(history(machine, 'h', 1_000, 10)).toEqual([]);
    expect(history(machine, 'h', 1, 0)).toEqual([]);
    expect(machine.history('nothing', 1, 10)).toEqual({ ok: true, messages: [], lastOffset: 0 });
  });

  it('clamps the limit to historyMessagesMax and reports lastOffset so the reader can page on', () => {
    const result = machine.history('h', 1, 100);
    expect(result.ok && offsetsOf(result.messages)).toEqual([1, 2, 3, 4]);
    expect(result.ok && result.lastOffset).toBe(6);
  });

  it('refuses offsets below 1 and limits that are not counts', () => {
    expect(machine.history('h', 0, 1)).toEqual({ ok: false, reason: 'history from offset 0: offsets are integers from 1' });
    expect(machine.history('h', -3, 1).ok).toBe(false);
    expect(machine.history('h', 1.5, 1).ok).toBe(false);
    expect(machine.history('h', 1, -1)).toEqual({ ok: false, reason: 'history limit -1 is not a non-negative integer' });
    expect(machine.history('h', 1, Number.NaN).ok).toBe(false);
  });

  it('holds only what was applied: a later publish appears once applied', () => {
    const fresh = new BrokerStateMachine();
    feed(fresh, publish({ topic: 't' }));
    const before = history(fresh, 't', 1, 10);
    feed(fresh, publish({ topic: 't' }));
    expect(offsetsOf(before)).toEqual([1]);
    expect(offsetsOf(history(fresh, 't', 1, 10))).toEqual([1, 2]);
  });
});

describe('durable consumer offsets', () => {
  function withMessages(count: number, options: Partial<BrokerOptions> = {}): BrokerStateMachine {
    const machine = machineWith(options);
    feed(machine, ...Array.from({ length: count }, () => publish({ topic: 't' })));
    return machine;
  }

  it('start at 0 (nothing acknowledged) and move to the acknowledged offset', () => {
    const machine = withMessages(5);
    expect(machine.consumerOffset('c', 't')).toBe(0);
    expect(one(machine, ack('c', 't', 3))).toEqual({ kind: 'acked', consumer: 'c', topic: 't', offset: 3, advanced: true });
    expect(machine.consumerOffset('c', 't')).toBe(3);
  });

  it('are monotonic: an older or equal ack leaves the offset where it is', () => {
    const machine = withMessages(5);
    feed(machine, ack('c', 't', 4));
    expect(one(machine, ack('c', 't', 2))).toEqual({ kind: 'acked', consumer: 'c', topic: 't', offset: 4, advanced: false });
    expect(one(machine, ack('c', 't', 4))).toMatchObject({ offset: 4, advanced: false });
    expect(machine.consumerOffset('c', 't')).toBe(4);
  });

  it('let a reconnecting consumer resume after its last acknowledged offset', () => {
    const machine = withMessages(5);
    feed(machine, ack('worker', 't', 2));
    const resumeFrom = machine.consumerOffset('worker', 't') + 1;
    expect(offsetsOf(history(machine, 't', resumeFrom, 10))).toEqual([3, 4, 5]);
  });

  it('are kept per consumer and per topic', () => {
    const machine = withMessages(3);
    feed(machine, publish({ topic: 'u' }), ack('c1', 't', 3), ack('c2', 't', 1), ack('c1', 'u', 1));
    expect([machine.consumerOffset('c1', 't'), machine.consumerOffset('c2', 't'), machine.consumerOffset('c1', 'u'), machine.consumerOffset('c2', 'u')]).toEqual([3, 1, 1, 0]);
  });

  it('refuse acks of offsets that do not exist', () => {
    const machine = withMessages(2);
    expect(one(machine, ack('c', 't', 3))).toEqual({
      kind: 'rejected',
      code: 'offset-out-of-range',
      reason: 'acknowledged offset 3 is beyond the last sequence 2 of stream T',
    });
    expect(code(one(machine, ack('c', 't', 0)))).toBe('offset-out-of-range');
    expect(one(machine, ack('c', 'nope', 1))).toEqual({ kind: 'rejected', code: 'topic-unknown', reason: 'stream NOPE has no messages to acknowledge' });
    expect(machine.consumerOffset('c', 't')).toBe(0);
  });
});

describe('every limit has its own clear rejection', () => {
  it('payloadBytesMax: at the limit is stored, one byte over is refused', () => {
    const machine = machineWith({ payloadBytesMax: 8 });
    expect(one(machine, publish({ topic: 'a', payload: new Uint8Array(8) })).kind).toBe('published');
    expect(one(machine, publish({ topic: 'a', payload: new Uint8Array(9) }))).toEqual({
      kind: 'rejected',
      code: 'payload-too-large',
      reason: 'payload of 9 bytes exceeds payloadBytesMax 8',
    });
  });

  it('topicNameBytesMax counts UTF-8 bytes, not characters', () => {
    const machine = machineWith({ topicNameBytesMax: 4 });
    feed(machine, { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'ALL', subjects: ['>'] }, 3) });
    expect(one(machine, publish({ topic: 'abcd' })).kind).toBe('published');
    expect(one(machine, publish({ topic: 'éé' })).kind).toBe('published');
    expect(one(machine, publish({ topic: 'ééa' }))).toEqual({
      kind: 'rejected',
      code: 'topic-too-long',
      reason: 'topic name of 5 bytes exceeds topicNameBytesMax 4',
    });
  });

  it('a topic must be a literal subject', () => {
    const machine = new BrokerStateMachine();
    for (const topic of ['', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'a b', 'tab\t', 'foo*']) {
      expect(code(one(machine, publish({ topic }))), topic).toBe('topic-invalid');
    }
    expect(one(machine, publish({ topic: 'a.*' }))).toMatchObject({ reason: 'topic "a.*" is not a literal subject (dot-separated non-empty tokens, no wildcards, no whitespace)' });
  });

  it('streamsMax refuses a new stream but not more messages on existing ones', () => {
    const machine = machineWith({ streamsMax: 2 });
    feed(machine, publish({ topic: 'a' }), publish({ topic: 'b' }));
    const third = { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'C', subjects: ['c'] }, 3) } as const;
    expect(one(machine, third)).toEqual({ kind: 'rejected', code: 'streams-max', reason: '2 streams exist, streamsMax 2' });
    expect(one(machine, publish({ topic: 'a' })).kind).toBe('published');
  });

  it('a publish to a subject no stream captures is refused, naming it', () => {
    const machine = new BrokerStateMachine();
    expect(machine.apply(1, publish({ topic: 'loose.end' }))).toEqual({ kind: 'rejected', code: 'no-stream', reason: 'no stream captures subject loose.end' });
  });

  it('headerBytesMax counts the NATS/1.0 header block a subscriber receives', () => {
    const headers = new Map([['K', ['value']], ['Multi', ['1', '2']]]);
    const size = headerBlockBytes(headers);
    expect(size).toBe(encodeHeaderBlock({ statusDescription: '', fields: headers }).length);
    expect(headerBlockBytes(new Map())).toBe(0);
    const machine = machineWith({ headerBytesMax: size });
    expect(one(machine, publish({ topic: 'a', headers })).kind).toBe('published');
    const bigger = new Map([...headers, ['X', ['']]]);
    expect(one(machine, publish({ topic: 'a', headers: bigger }))).toEqual({
      kind: 'rejected',
      code: 'headers-too-large',
      reason: `header block of ${size + 5} bytes exceeds headerBytesMax ${size}`,
    });
  });

  it('header names and values must be deliverable in a NATS/1.0 block', () => {
    const machine = new BrokerStateMachine();
    for (const headers of [new Map([['Bad:Name', ['x']]]), new Map([['', ['x']]]), new Map([['Sp ace', ['x']]]), new Map([['K', ['a\r\nb']]]), new Map([['K', []]])]) {
      expect(code(one(machine, publish({ topic: 'a', headers }))), JSON.stringify([...headers])).toBe('header-invalid');
    }
  });

  it('msgIdBytesMax, and an empty message id', () => {
    const machine = machineWith({ msgIdBytesMax: 3 });
    expect(one(machine, publish({ topic: 'a', msgId: 'abc' })).kind).toBe('published');
    expect(one(machine, publish({ topic: 'a', msgId: 'abcd' }))).toEqual({
      kind: 'rejected',
      code: 'msg-id-too-long',
      reason: 'message id of 4 bytes exceeds msgIdBytesMax 3',
    });
    expect(one(machine, publish({ topic: 'a', msgId: '' }))).toEqual({ kind: 'rejected', code: 'msg-id-invalid', reason: 'message id is empty' });
  });

  it('consumerNameBytesMax, and names JetStream would refuse', () => {
    const machine = machineWith({ consumerNameBytesMax: 3 });
    feed(machine, publish({ topic: 't' }));
    expect(one(machine, ack('abc', 't', 1)).kind).toBe('acked');
    expect(one(machine, ack('abcd', 't', 1))).toEqual({
      kind: 'rejected',
      code: 'consumer-too-long',
      reason: 'consumer name of 4 bytes exceeds consumerNameBytesMax 3',
    });
    for (const name of ['', 'a.b', 'a*', 'a>', 'a b', '\x01']) expect(code(one(machine, ack(name, 't', 1))), name).toBe('consumer-invalid');
    expect(code(one(machine, ack('c', 'a.*', 1)))).toBe('topic-invalid');
  });

  it('consumerOffsetsMax refuses a new (consumer, topic) pair but not moving an existing one', () => {
    const machine = machineWith({ consumerOffsetsMax: 2 });
    feed(machine, publish({ topic: 't' }), publish({ topic: 't' }), publish({ topic: 'u' }), ack('c1', 't', 1), ack('c2', 't', 1));
    expect(one(machine, ack('c1', 'u', 1))).toEqual({
      kind: 'rejected',
      code: 'consumer-offsets-max',
      reason: '2 consumer offsets are stored, consumerOffsetsMax 2',
    });
    expect(one(machine, ack('c1', 't', 2))).toMatchObject({ kind: 'acked', offset: 2, advanced: true });
  });

  // dedupEntriesMax is in dedup.test.ts with the other dedup rules.
});

describe('applying committed Raft entries', () => {
  it('skips noops, and turns undecodable bytes into a rejection every replica agrees on', () => {
    const machine = new BrokerStateMachine();
    expect(machine.applyEntry({ index: 1, term: 1, kind: 'noop', data: new Uint8Array(0) })).toEqual({ kind: 'noop' });
    const bad = machine.applyEntry({ index: 2, term: 1, kind: 'command', data: new Uint8Array([9, 9]) });
    expect(bad).toEqual({ kind: 'rejected', code: 'undecodable', reason: 'entry 2 holds no broker command: unknown command type byte 0x9 at byte 0' });
    const create = { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'A', subjects: ['a'] }, 3) } as const;
    expect(machine.applyEntry({ index: 3, term: 1, kind: 'command', data: encodeBrokerCommand(create) })).toEqual({ kind: 'stream-created', stream: 'A' });
    const good = machine.applyEntry({ index: 4, term: 1, kind: 'command', data: encodeBrokerCommand(publish({ topic: 'a' })) });
    expect(good).toMatchObject({ kind: 'published', stream: 'A', offset: 1 });
    expect(machine.appliedIndex).toBe(4);
  });

  it('throws on an index applied twice or out of order (a driver bug)', () => {
    const machine = new BrokerStateMachine();
    machine.apply(1, { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'A', subjects: ['a'] }, 3) });
    machine.apply(5, publish({ topic: 'a' }));
    expect(() => machine.apply(5, publish({ topic: 'a' }))).toThrow(InvariantError);
    expect(() => machine.apply(4, publish({ topic: 'a' }))).toThrow(InvariantError);
    expect(machine.apply(9, publish({ topic: 'a' }))).toMatchObject({ offset: 2 });
  });

  it('throws on a timestamp no leader assigns', () => {
    const machine = new BrokerStateMachine();
    expect(() => machine.apply(1, publish({ topic: 'a', timestampMs: -1 }))).toThrow(InvariantError);
    expect(() => machine.apply(2, { type: 'DedupExpire', nowMs: 1.5 })).toThrow(InvariantError);
  });
});

describe('options', () => {
  it('are checked once, loudly', () => {
    expect(validateBrokerOptions(DEFAULT_BROKER_OPTIONS)).toEqual([]);
    expect(DEFAULT_BROKER_OPTIONS.dedupWindowMs).toBe(120_000);
    expect(validateBrokerOptions({ ...DEFAULT_BROKER_OPTIONS, streamsMax: 0, topicNameBytesMax: 70_000 })).toEqual([
      'streamsMax must be a positive safe integer, got 0',
      'topicNameBytesMax (70000) must be at most 65535, the u16 length the encoding uses',
    ]);
    expect(() => machineWith({ dedupWindowMs: 0.5 })).toThrow(InvariantError);
  });
});
