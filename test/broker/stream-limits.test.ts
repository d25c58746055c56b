import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Hash64 } from '../../src/broker/hash.js';
import { Stream, storedMessageBytes, type PurgeRequest, type StoreResult } from '../../src/broker/stream.js';
import { streamConfigProblems, streamConfigWithDefaults, type StreamConfig } from '../../src/broker/stream-config.js';
import { subjectMatches } from '../../src/broker/subjects.js';
import { BrokerStateMachine, type ApplyResult } from '../../src/broker/state-machine.js';
import { encodeBrokerCommand, type BrokerCommand } from '../../src/broker/commands.js';

// A stream's store against a plain reference model of JetStream's limits: the
// model keeps an array and recomputes everything naively; the store keeps
// indexes, holes and running sums. Random command sequences must give the same
// answers and leave the same messages, and the store's invariants must hold
// after every command.

const SUBJECTS = ['orders.eu', 'orders.us', 'audit.x'];
const NO_HEADERS: ReadonlyMap<string, readonly string[]> = new Map();

interface ModelMessage {
  readonly seq: number;
  readonly subject: string;
  readonly timestampMs: number;
  readonly bytes: number;
}

/** JetStream's limits, computed the slow and obvious way. */
class ReferenceStream {
  messages: ModelMessage[] = [];
  lastSeq = 0;
  readonly ids = new Map<string, { seq: number; at: number }>();

  constructor(public config: StreamConfig) {}

  advance(nowMs: number): void {
    for (const [id, entry] of this.ids) if (nowMs - entry.at >= Math.max(1, this.config.duplicateWindowMs)) this.ids.delete(id);
    if (this.config.maxAgeMs > 0) this.messages = this.messages.filter((m) => nowMs - m.timestampMs < this.config.maxAgeMs);
  }

  store(subject: string, payloadBytes: number, msgId: string | undefined, nowMs: number): string {
    const seen = msgId === undefined ? undefined : this.ids.get(msgId);
    if (seen !== undefined) return `duplicate ${seen.seq}`;
    const bytes = storedMessageBytes(subject, NO_HEADERS, new Uint8Array(payloadBytes));
    const { maxMsgSize, maxBytes, maxMsgs, maxMsgsPerSubject } = this.config;
    if (maxMsgSize !== -1 && bytes > maxMsgSize) return 'rejected max-msg-size';
    if (maxBytes !== -1 && bytes > maxBytes) return 'rejected max-bytes';
    if (this.config.discard === 'new') {
      const replacesOldest = maxMsgsPerSubject !== -1 && this.countOf(subject) >= maxMsgsPerSubject;
      if (!replacesOldest && maxMsgs !== -1 && this.messages.length + 1 > maxMsgs) return 'rejected max-msgs';
      if (!replacesOldest && maxBytes !== -1 && this.bytes() + bytes > maxBytes) return 'rejected max-bytes';
    }
    this.lastSeq++;
    this.messages.push({ seq: this.lastSeq, subject, timestampMs: nowMs, bytes });
    if (msgId !== undefined) this.ids.set(msgId, { seq: this.lastSeq, at: nowMs });
    this.enforce([subject]);
    return `stored ${this.lastSeq}`;
  }

  purge(request: PurgeRequest): number {
    const candidates = this.messages.filter(
      (m) => (request.upToSeq === undefined || m.seq < request.upToSeq) && (request.filter === undefined || subjectMatches(request.filter, m.subject)),
    );
    const doomed = new Set(candidates.slice(0, Math.max(0, candidates.length - (request.keep ?? 0))));
    this.messages = this.messages.filter((m) => !doomed.has(m));
    return doomed.size;
  }

  update(config: StreamConfig, nowMs: number): void {
    this.config = config;
    this.enforce(SUBJECTS);
    this.advance(nowMs);
  }

  private enforce(subjects: readonly string[]): void {
    const { maxMsgsPerSubject, maxMsgs, maxBytes } = this.config;
    for (const subject of subjects) {
      while (maxMsgsPerSubject !== -1 && this.countOf(subject) > maxMsgsPerSubject) {
        const oldest = this.messages.find((m) => m.subject === subject)!;
        this.messages = this.messages.filter((m) => m !== oldest);
      }
    }
    while ((maxMsgs !== -1 && this.messages.length > maxMsgs) || (maxBytes !== -1 && this.bytes() > maxBytes)) this.messages.shift();
  }

  private countOf(subject: string): number {
    return this.messages.filter((m) => m.subject === subject).length;
  }

  private bytes(): number {
    return this.messages.reduce((sum, m) => sum + m.bytes, 0);
  }
}

type Command =
  | { readonly kind: 'store'; readonly subject: string; readonly payloadBytes: number; readonly msgId: string | undefined; readonly afterMs: number }
  | { readonly kind: 'advance'; readonly afterMs: number }
  | { readonly kind: 'purge'; readonly request: PurgeRequest }
  | { readonly kind: 'update'; readonly limits: Partial<StreamConfig> };

const limit = fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 6 }));
const limitsArbitrary: fc.Arbitrary<Partial<StreamConfig>> = fc.record({
  maxMsgs: limit,
  maxBytes: fc.oneof(fc.constant(-1), fc.integer({ min: 10, max: 120 })),
  maxMsgsPerSubject: limit,
  maxMsgSize: fc.oneof(fc.constant(-1), fc.integer({ min: 10, max: 40 })),
  maxAgeMs: fc.oneof(fc.constant(0), fc.integer({ min: 20, max: 200 })),
  duplicateWindowMs: fc.integer({ min: 1, max: 300 }),
  discard: fc.constantFrom('old' as const, 'new' as const),
});

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      subject: fc.constantFrom(...SUBJECTS),
      payloadBytes: fc.integer({ min: 0, max: 30 }),
      msgId: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { nil: undefined }),
      afterMs: fc.integer({ min: 0, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), afterMs: fc.integer({ min: 0, max: 150 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('purge' as const),
      request: fc.oneof(
        fc.record({ filter: fc.option(fc.constantFrom('orders.*', 'audit.x', '>', 'orders.eu'), { nil: undefined }) }),
        fc.record({ filter: fc.option(fc.constantFrom('orders.*', 'audit.x'), { nil: undefined }), upToSeq: fc.integer({ min: 1, max: 30 }) }),
        fc.record({ filter: fc.option(fc.constantFrom('orders.*', 'audit.x'), { nil: undefined }), keep: fc.integer({ min: 0, max: 4 }) }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('update' as const), limits: limitsArbitrary }) },
);

function describeResult(result: StoreResult): string {
  return result.kind === 'rejected' ? `rejected ${result.code}` : `${result.kind} ${result.seq}`;
}

function sameContents(stream: Stream, model: ReferenceStream): void {
  const held = stream.read('>', 1, 10_000).map((m) => `${m.offset}:${m.topic}`);
  expect(held).toEqual(model.messages.map((m) => `${m.seq}:${m.subject}`));
  expect(stream.lastSeq).toBe(model.lastSeq);
  stream.invariants();
}

describe('a stream held to its limits', () => {
  it('answers and keeps exactly what a naive reference model of JetStream limits does', () => {
    fc.assert(
      fc.property(limitsArbitrary, fc.array(commandArbitrary, { maxLength: 80 }), (limits, commands) => {
        const config = streamConfigWithDefaults({ name: 'S', subjects: ['orders.*', 'audit.x'], ...limits }, 3);
        const stream = new Stream(config, 1000);
        const model = new ReferenceStream(config);
        let nowMs = 1000;
        let logical = 0;
        const tick = (afterMs: number): void => {
          logical = afterMs === 0 ? logical + 1 : 0;
          nowMs += afterMs;
          stream.advanceClock(nowMs);
          model.advance(nowMs);
        };
        for (const command of commands) {
          switch (command.kind) {
            case 'store': {
              tick(command.afterMs);
              const payload = new Uint8Array(command.payloadBytes);
              const result = stream.store(command.subject, NO_HEADERS, payload, command.msgId, { timestampMs: nowMs, logical });
              expect(describeResult(result)).toBe(model.store(command.subject, command.payloadBytes, command.msgId, nowMs));
              break;
            }
            case 'advance':
              tick(command.afterMs);
              break;
            case 'purge':
              expect(stream.purge(command.request)).toBe(model.purge(command.request));
              break;
            case 'update': {
              const updated = streamConfigWithDefaults({ name: 'S', subjects: ['orders.*', 'audit.x'], ...command.limits }, 3);
              stream.update(updated, nowMs);
              model.update(updated, nowMs);
              break;
            }
          }
          sameContents(stream, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds through the state machine too: the same commands, encoded in log entries and applied, give the same answers', () => {
    fc.assert(
      fc.property(limitsArbitrary, fc.array(commandArbitrary, { maxLength: 60 }), (limits, commands) => {
        const config = streamConfigWithDefaults({ name: 'S', subjects: ['orders.*', 'audit.x'], ...limits }, 3);
        // A duplicate window longer than max_age is no valid config: the state machine refuses it.
        fc.pre(streamConfigProblems(config).length === 0);
        const machine = new BrokerStateMachine();
        const model = new ReferenceStream(config);
        let index = 0;
        const apply = (command: BrokerCommand): ApplyResult => {
          index++;
          const result = machine.applyEntry({ index, term: 1, kind: 'command', data: encodeBrokerCommand(command) });
          machine.invariants();
          return result;
        };
        expect(apply({ type: 'StreamCreate', config })).toEqual({ kind: 'stream-created', stream: 'S' });
        let nowMs = 1000;
        let logical = 0;
        for (const command of commands) {
          if (command.kind === 'store' || command.kind === 'advance') {
            logical = command.afterMs === 0 ? logical + 1 : 0;
            nowMs += command.afterMs;
            model.advance(nowMs);
          }
          switch (command.kind) {
            case 'store': {
              const publish: BrokerCommand = {
                type: 'Publish',
                topic: command.subject,
                headers: NO_HEADERS,
                payload: new Uint8Array(command.payloadBytes),
                timestampMs: nowMs,
                logical,
                ...(command.msgId === undefined ? {} : { msgId: command.msgId }),
              };
              const result = apply(publish);
              const told = result.kind === 'published' ? `${result.duplicate ? 'duplicate' : 'stored'} ${result.offset}` : result.kind === 'rejected' ? `rejected ${result.code}` : result.kind;
              expect(told).toBe(model.store(command.subject, command.payloadBytes, command.msgId, nowMs));
              break;
            }
            case 'advance':
              apply({ type: 'DedupExpire', nowMs });
              break;
            case 'purge': {
              const { filter, upToSeq, keep } = command.request;
              const purge: BrokerCommand = { type: 'StreamPurge', name: 'S', ...(filter === undefined ? {} : { filter }), ...(upToSeq === undefined ? {} : { upToSeq }), ...(keep === undefined ? {} : { keep }) };
              expect(apply(purge)).toEqual({ kind: 'stream-purged', stream: 'S', purged: model.purge(command.request) });
              break;
            }
            case 'update': {
              const updated = streamConfigWithDefaults({ name: 'S', subjects: ['orders.*', 'audit.x'], ...command.limits }, 3);
              const result = apply({ type: 'StreamUpdate', config: updated });
              if (streamConfigProblems(updated).length > 0) {
                expect(result).toMatchObject({ kind: 'rejected', code: 'stream-invalid' });
                break;
              }
              expect(result).toEqual({ kind: 'stream-updated', stream: 'S' });
              model.update(updated, nowMs);
              break;
            }
          }
          sameContents(machine.stream('S')!, model);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('digests equal contents equally, however they were reached', () => {
    const config = streamConfigWithDefaults({ name: 'S', subjects: ['orders.*'] }, 3);
    const direct = new Stream(config, 100);
    const roundabout = new Stream(config, 100);
    const stamp = (ms: number): { timestampMs: number; logical: number } => ({ timestampMs: ms, logical: 0 });
    direct.store('orders.eu', NO_HEADERS, new Uint8Array([1]), undefined, stamp(1));
    direct.store('orders.eu', NO_HEADERS, new Uint8Array([2]), undefined, stamp(2));
    roundabout.store('orders.eu', NO_HEADERS, new Uint8Array([1]), undefined, stamp(1));
    roundabout.store('orders.us', NO_HEADERS, new Uint8Array([9]), undefined, stamp(1));
    const digestOf = (stream: Stream): string => {
      const hash = new Hash64();
      stream.digest(hash);
      return hash.hex();
    };
    expect(digestOf(direct)).not.toBe(digestOf(roundabout));
    roundabout.purge({ filter: 'orders.us' });
    // Sequences differ (2 was taken by orders.us), so the contents still differ.
    roundabout.store('orders.eu', NO_HEADERS, new Uint8Array([2]), undefined, stamp(2));
    expect(roundabout.read('>', 1, 10).map((m) => m.offset)).toEqual([1, 3]);
    expect(digestOf(direct)).not.toBe(digestOf(roundabout));
    direct.purge({});
    roundabout.purge({});
    expect(direct.info().messages).toBe(0);
    expect(digestOf(direct)).not.toBe(digestOf(roundabout)); // last sequences 2 and 3
  });

  it('refuses with discard new, with JetStream descriptions, and removes the oldest with discard old', () => {
    const stamp = { timestampMs: 5, logical: 0 };
    const full = new Stream(streamConfigWithDefaults({ name: 'S', subjects: ['a'], maxMsgs: 2, discard: 'new' }, 3), 100);
    full.store('a', NO_HEADERS, new Uint8Array(1), undefined, stamp);
    full.store('a', NO_HEADERS, new Uint8Array(1), undefined, { timestampMs: 6, logical: 0 });
    expect(full.store('a', NO_HEADERS, new Uint8Array(1), undefined, { timestampMs: 7, logical: 0 })).toEqual({
      kind: 'rejected',
      code: 'max-msgs',
      reason: 'maximum messages exceeded',
    });
    const rolling = new Stream(streamConfigWithDefaults({ name: 'S', subjects: ['a'], maxMsgs: 2 }, 3), 100);
    for (let ms = 1; ms <= 5; ms++) rolling.store('a', NO_HEADERS, new Uint8Array(1), undefined, { timestampMs: ms, logical: 0 });
    expect(rolling.info()).toMatchObject({ messages: 2, firstSeq: 4, lastSeq: 5 });
  });
});
