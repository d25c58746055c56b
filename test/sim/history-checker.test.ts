import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subjectMatches } from '../../src/broker/subjects.js';
import { InvariantError } from '../../src/raft/assert.js';
import { checkHistory, formatHistoryViolation, type HistoryProperty, type HistoryViolation } from '../../sim/history-checker.js';
import {
  HistoryFormatError,
  HistoryRecorder,
  historyFromJSON,
  historyToJSON,
  messageRef,
  payloadDigest,
  readHistoryJSON,
  type History,
  type MessageRef,
  type NodeSnapshot,
  type SubscriptionMode,
} from '../../sim/history.js';

// ---- A hand-written history of a correct broker, covering every event kind.

const WINDOW_MS = 1_000;
const PAGE_MAX = 3;
const NODES = [1, 2, 3];

interface Stored {
  readonly msgId?: string;
  readonly payload: string;
}

/** The logs a correct broker ends with in the fixture; m5 is stored twice, its retry came after the window. */
const FIXTURE_LOGS: Readonly<Record<string, readonly Stored[]>> = {
  orders: [
    { msgId: 'm1', payload: 'o1' },
    { msgId: 'm2', payload: 'o2' },
    { payload: 'o3' },
    { msgId: 'm4', payload: 'o4' },
    { msgId: 'm5', payload: 'o5' },
    { msgId: 'm5', payload: 'o5' },
  ],
  'audit.eu': [
    { msgId: 'e1', payload: 'a1' },
    { msgId: 'e2', payload: 'a2' },
  ],
  'audit.us': [{ payload: 'u1' }],
};

function ref(topic: string, offset: number): MessageRef {
  const stored = FIXTURE_LOGS[topic]?.[offset - 1];
  if (stored === undefined) throw new Error(`fixture has no ${topic}/${offset}`);
  return messageRef(offset, stored.payload, stored.msgId);
}

function snapshots(logs: Readonly<Record<string, readonly Stored[]>>, nodes: readonly number[]): NodeSnapshot[] {
  const topics = Object.entries(logs).map(([topic, messages]) => ({
    topic,
    messages: messages.map((m, k) => messageRef(k + 1, m.payload, m.msgId)),
  }));
  return nodes.map((node) => ({ node, topics }));
}

/** Builds the fixture through the recorder, the way the simulator's clients will. */
function fixtureRecorder(): HistoryRecorder {
  const r = new HistoryRecorder({ nodes: NODES, dedupWindowMs: WINDOW_MS, historyMessagesMax: PAGE_MAX, seed: 7 });
  let t = 0;
  const at = (ms = 1): number => (t += ms);
  const publish = (client: string, node: number, topic: string, attempt: number, offset: number, duplicate = false): void => {
    const { msgId, payload } = FIXTURE_LOGS[topic]![offset - 1]!;
    const op = r.publishInvoke({ timeMs: at(), client, node, topic, msgId, attempt, payload });
    r.publishOk({ timeMs: at(), op, offset, duplicate });
  };
  const deliver = (sub: string, topic: string, ...offsets: number[]): void => {
    for (const offset of offsets) r.deliver({ timeMs: at(), sub, topic, ...ref(topic, offset) });
  };
  const subscribe = (client: string, node: number, sub: string, pattern: string, mode: SubscriptionMode): void =>
    r.subscribe({ timeMs: at(), client, node, sub, pattern, mode });

  // A live wildcard subscriber sees two topics interleaved.
  subscribe('watcher', 2, 'w1', 'audit.*', { type: 'live' });
  publish('p1', 1, 'orders', 1, 1);
  // m2's first attempt is stored but times out; the retry, to another node, is told it is a duplicate.
  let op = r.publishInvoke({ timeMs: at(), client: 'p1', node: 1, topic: 'orders', msgId: 'm2', attempt: 1, payload: 'o2' });
  r.publishTimeout({ timeMs: at(50), op });
  publish('p1', 3, 'orders', 2, 2, true);
  publish('p2', 2, 'audit.eu', 1, 1);
  deliver('w1', 'audit.eu', 1);
  publish('p2', 2, 'audit.us', 1, 1);
  deliver('w1', 'audit.us', 1);
  publish('p2', 2, 'audit.eu', 1, 2);
  deliver('w1', 'audit.eu', 2);
  publish('p1', 3, 'orders', 1, 3);
  // m4's first attempt is refused by a follower; the retry stores it.
  op = r.publishInvoke({ timeMs: at(), client: 'p1', node: 2, topic: 'orders', msgId: 'm4', attempt: 1, payload: 'o4' });
  r.publishFail({ timeMs: at(), op, error: 'not-leader', retryable: true });
  publish('p1', 1, 'orders', 2, 4);
  // A durable consumer acknowledges 2, crashes, and resumes right after its ack.
  subscribe('biller', 3, 'd1', 'orders', { type: 'durable', consumer: 'billing' });
  deliver('d1', 'orders', 1, 2, 3);
  op = r.ackInvoke({ timeMs: at(), client: 'biller', node: 3, consumer: 'billing', topic: 'orders', offset: 2 });
  r.ackOk({ timeMs: at(), op, offset: 2 });
  subscribe('biller', 1, 'd2', 'orders', { type: 'durable', consumer: 'billing' });
  deliver('d2', 'orders', 3, 4);
  // An ack the leader refuses: it may or may not be applied, and nothing later depends on it.
  op = r.ackInvoke({ timeMs: at(), client: 'biller', node: 1, consumer: 'billing', topic: 'orders', offset: 4 });
  r.ackFail({ timeMs: at(), op, error: 'not-leader', retryable: true });
  subscribe('replayer', 2, 'f1', 'orders', { type: 'from-offset', offset: 2 });
  deliver('f1', 'orders', 2, 3, 4);
  // History reads: clamped to the page limit, a short tail, past the end, another topic.
  const read = (from: number, limit: number, topic = 'orders', lastOffset = 4): void => {
    const readOp = r.historyReadInvoke({ timeMs: at(), client: 'reader', node: 3, topic, from, limit });
    const count = Math.max(0, Math.min(limit, PAGE_MAX, lastOffset - from + 1));
    const messages = Array.from({ length: count }, (_, k) => ref(topic, from + k));
    r.historyReadOk({ timeMs: at(), op: readOp, lastOffset, messages });
  };
  read(2, 5);
  read(4, 2);
  read(9, 2);
  read(1, 1, 'audit.eu', 2);
  op = r.historyReadInvoke({ timeMs: at(), client: 'reader', node: 2, topic: 'orders', from: 1, limit: 1 });
  r.historyReadFail({ timeMs: at(), op, error: 'node is recovering' });
  // m5 is stored but its publisher times out, and retries only after the window: a second copy is legal.
  op = r.publishInvoke({ timeMs: at(), client: 'p3', node: 1, topic: 'orders', msgId: 'm5', attempt: 1, payload: 'o5' });
  deliver('d2', 'orders', 5);
  deliver('f1', 'orders', 5);
  r.publishTimeout({ timeMs: at(50), op });
  at(WINDOW_MS + 100);
  publish('p3', 2, 'orders', 2, 6);
  deliver('d2', 'orders', 6);
  deliver('f1', 'orders', 6);
  r.recordFinalLogs(at(10), snapshots(FIXTURE_LOGS, NODES));
  return r;
}

const fixture = (): History => fixtureRecorder().history();

// ---- Editing a history through its JSON, as a hand-written mutant would be.

type JsonObject = Record<string, unknown>;
interface Doc extends JsonObject {
  events: JsonObject[];
  retention?: JsonObject[];
  finalLogs: { node: number; clockMs?: number; topics: { topic: string; messages: JsonObject[] }[] }[];
}

function toDoc(history: History): Doc {
  return JSON.parse(historyToJSON(history)) as Doc;
}

function mutate(history: History, edit: (doc: Doc) => void): History {
  const doc = toDoc(history);
  edit(doc);
  return historyFromJSON(JSON.stringify(doc));
}

/** The index of the first event with all the given fields. */
function find(doc: Doc, fields: JsonObject): number {
  const index = doc.events.findIndex((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
  if (index < 0) throw new Error(`no event ${JSON.stringify(fields)}`);
  return index;
}

function ordersLog(doc: Doc, node: number): JsonObject[] {
  const topic = doc.finalLogs.find((l) => l.node === node)!.topics.find((t) => t.topic === 'orders')!;
  return topic.messages;
}

function propertiesOf(violations: readonly HistoryViolation[]): HistoryProperty[] {
  return [...new Set(violations.map((v) => v.property))].sort();
}

// ---- Tests.

describe('a correct history', () => {
  it('passes every property, with retries, duplicates, wildcards, durable resume and reads', () => {
    const history = fixture();
    expect(checkHistory(history)).toEqual([]);
    // The fixture holds what the test claims it holds.
    const kinds = new Set(history.events.map((e) => e.kind));
    expect(kinds.size).toBe(12);
    expect(history.events.some((e) => e.kind === 'publish-ok' && e.duplicate)).toBe(true);
  });

  it('round-trips through JSON: same history, same text', () => {
    const recorder = fixtureRecorder();
    const text = recorder.toJSON();
    const read = historyFromJSON(text);
    expect(read).toEqual(recorder.history());
    expect(historyToJSON(read)).toBe(text);
    // One line per event, for grep and diff.
    expect(text.split('\n').filter((line) => line.includes('"kind"'))).toHaveLength(recorder.eventCount);
  });

  it('is each example of docs/history-format.md, which passes and is written as the writer writes it', () => {
    const page = readFileSync(new URL('../../docs/history-format.md', import.meta.url), 'utf8');
    // The page's other JSON blocks are fragments (one event, one snapshot); only whole histories are read here.
    const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => block.includes('"format": "chorus-history"'));
    expect(blocks).toHaveLength(2);
    for (const block of blocks) {
      const history = historyFromJSON(block);
      expect(checkHistory(history)).toEqual([]);
      expect(historyToJSON(history)).toBe(block);
    }
  });

  it('digests payloads as the first 64 bits of SHA-256, and keeps binary payloads as base64', () => {
    expect(payloadDigest('abc')).toBe('ba7816bf8f01cfea');
    const r = new HistoryRecorder({ nodes: [1], dedupWindowMs: 10, historyMessagesMax: 5 });
    const binary = new Uint8Array([0xff, 0x00, 0x80]);
    r.publishInvoke({ timeMs: 0, client: 'c', node: 1, topic: 'bin', attempt: 1, payload: binary });
    r.recordFinalLogs(1, [{ node: 1, topics: [] }]);
    const event = historyFromJSON(r.toJSON()).events[0]!;
    expect(event).toMatchObject({ kind: 'publish-invoke', encoding: 'base64', payload: '/wCA', digest: payloadDigest(binary) });
  });
});

describe('each property catches its own violation, and only it', () => {
  // `also`: a property that the same broken history honestly breaks too (a
  // forged payload is one no client published; an offset claimed below one
  // already seen breaks real-time order), named so that nothing else may fire.
  const cases: { name: string; property: HistoryProperty; also?: HistoryProperty[]; edit: (doc: Doc) => void }[] = [
    {
      name: 'an acknowledged publish whose offset holds another message',
      property: 'Acknowledged Publish Lost',
      also: ['Real-Time Order'],
      edit: (doc) => {
        // o3 (no msgId) was acknowledged at 3; claim 5, where m5 sits.
        const invoke = find(doc, { kind: 'publish-invoke', payload: 'o3' });
        const ok = find(doc, { kind: 'publish-ok', op: doc.events[invoke]!.op });
        doc.events[ok]!.offset = 5;
      },
    },
    {
      name: 'an acknowledged duplicate of a publish that carries no message id',
      property: 'Acknowledged Publish Lost',
      edit: (doc) => {
        const invoke = find(doc, { kind: 'publish-invoke', payload: 'o3' });
        doc.events[find(doc, { kind: 'publish-ok', op: doc.events[invoke]!.op })]!.duplicate = true;
      },
    },
    {
      name: 'a message id retried within the window stored twice',
      property: 'Duplicate Stored',
      edit: (doc) => {
        for (const log of doc.finalLogs) log.topics.find((t) => t.topic === 'orders')!.messages.push({ ...ref('orders', 2), offset: 7 });
      },
    },
    {
      name: 'retries within the window acknowledged at different offsets',
      property: 'Duplicate Stored',
      also: ['Real-Time Order'],
      edit: (doc) => {
        // m2's retry claims a fresh store at 7, and every node holds a second m2 there.
        const retry = find(doc, { kind: 'publish-invoke', msgId: 'm2', attempt: 2 });
        const ok = doc.events[find(doc, { kind: 'publish-ok', op: doc.events[retry]!.op })]!;
        Object.assign(ok, { offset: 7, duplicate: false });
        for (const log of doc.finalLogs) log.topics.find((t) => t.topic === 'orders')!.messages.push({ ...ref('orders', 2), offset: 7 });
      },
    },
    {
      name: 'one node holding an extra message after healing',
      property: 'Divergent Topic Order',
      also: ['Unpublished Message'],
      edit: (doc) => ordersLog(doc, 3).push({ ...messageRef(7, 'stray') }),
    },
    {
      name: 'two nodes disagreeing on an unacknowledged, undelivered message',
      property: 'Divergent Topic Order',
      also: ['Unpublished Message'],
      edit: (doc) => {
        for (const log of doc.finalLogs) ordersLog(doc, log.node).push({ ...messageRef(7, log.node === 2 ? 'x' : 'y') });
      },
    },
    {
      name: 'a subscription skipping an offset',
      property: 'Subscription Gap',
      edit: (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'd2', offset: 4 }), 1),
    },
    {
      name: 'a subscription delivering an offset twice',
      property: 'Subscription Repeat',
      edit: (doc) => {
        const index = find(doc, { kind: 'deliver', sub: 'w1', topic: 'audit.eu', offset: 2 });
        doc.events.splice(index + 1, 0, { ...doc.events[index]! });
      },
    },
    {
      name: 'a subscription delivering two offsets of a topic out of order',
      property: 'Subscription Order',
      edit: (doc) => {
        const a = find(doc, { kind: 'deliver', sub: 'f1', offset: 3 });
        const b = find(doc, { kind: 'deliver', sub: 'f1', offset: 4 });
        const [first, second] = [doc.events[a]!, doc.events[b]!];
        doc.events[a] = { ...second, timeMs: first.timeMs };
        doc.events[b] = { ...first, timeMs: second.timeMs };
      },
    },
    {
      name: 'a from-offset subscription starting late',
      property: 'Subscription Start',
      edit: (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'f1', offset: 2 }), 1),
    },
    {
      name: 'a durable consumer resuming before its acknowledged offset',
      property: 'Subscription Start',
      edit: (doc) => {
        const index = find(doc, { kind: 'deliver', sub: 'd2', offset: 3 });
        doc.events.splice(index, 0, { ...doc.events[index]!, ...ref('orders', 2) });
      },
    },
    {
      name: 'a delivery whose payload differs from the log',
      property: 'Delivery Mismatch',
      also: ['Unpublished Message'],
      edit: (doc) => {
        doc.events[find(doc, { kind: 'deliver', sub: 'd1', offset: 2 })]!.digest = payloadDigest('forged');
      },
    },
    {
      name: 'a delivery on a topic the pattern does not match',
      property: 'Delivery Mismatch',
      edit: (doc) => {
        const index = find(doc, { kind: 'deliver', sub: 'w1', topic: 'audit.us' });
        doc.events.splice(index + 1, 0, { ...doc.events[index]!, topic: 'orders', ...ref('orders', 1) });
      },
    },
    {
      name: 'a delivery of an offset no node holds',
      property: 'Delivery Mismatch',
      edit: (doc) => {
        const index = find(doc, { kind: 'deliver', sub: 'w1', topic: 'audit.us' });
        doc.events.splice(index + 1, 0, { ...doc.events[index]!, offset: 2 });
      },
    },
    {
      name: 'a history read returning a message that is not the log\'s',
      property: 'History Read Mismatch',
      also: ['Unpublished Message'],
      edit: (doc) => {
        const read = doc.events[find(doc, { kind: 'history-read-ok', lastOffset: 4 })]!;
        (read.messages as JsonObject[])[1]!.digest = payloadDigest('forged');
      },
    },
    {
      name: 'a history read returning fewer messages than its limits allow',
      property: 'History Read Mismatch',
      edit: (doc) => {
        const read = doc.events[find(doc, { kind: 'history-read-ok', lastOffset: 4 })]!;
        (read.messages as JsonObject[]).pop();
      },
    },
    {
      name: 'a history read claiming more committed messages than exist',
      property: 'History Read Mismatch',
      edit: (doc) => {
        doc.events[find(doc, { kind: 'history-read-ok', lastOffset: 2 })]!.lastOffset = 3;
      },
    },
  ];

  for (const { name, property, also, edit } of cases) {
    it(`${property}: ${name}`, () => {
      const violations = checkHistory(mutate(fixture(), edit));
      expect(propertiesOf(violations), violations.map(formatHistoryViolation).join('\n')).toEqual([property, ...(also ?? [])].sort());
    });
  }

  it('names the client, subscription, topic, offset, time and nodes of a violation', () => {
    const gap = checkHistory(mutate(fixture(), (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'd2', offset: 4 }), 1)));
    const delivery5 = fixture().events.find((e) => e.kind === 'deliver' && e.sub === 'd2' && e.offset === 5)!;
    expect(gap).toEqual([
      expect.objectContaining({ property: 'Subscription Gap', client: 'biller', subscription: 'd2', topic: 'orders', offset: 4, timeMs: delivery5.timeMs }),
    ]);
    expect(formatHistoryViolation(gap[0]!)).toMatch(/^Subscription Gap violated at t=\d+ms \(client biller, sub d2, topic orders, offset 4\): offset 4 was never delivered/);

    const lost = checkHistory(mutate(fixture(), (doc) => ordersLog(doc, 2).splice(3, 3)));
    const lostAcks = lost.filter((v) => v.property === 'Acknowledged Publish Lost');
    expect(lostAcks.map((v) => [v.client, v.offset, v.nodes])).toEqual([
      ['p1', 4, [2]],
      ['p3', 6, [2]],
    ]);
  });
});

describe('a node behind the others', () => {
  it('is called behind, not divergent, when its log is a prefix of the longest; a log that differs is not', () => {
    const behind = checkHistory(mutate(fixture(), (doc) => ordersLog(doc, 2).splice(3, 3)));
    const note = "(n2's log of orders is a prefix of n1's: it is behind, not divergent)";
    expect(behind.map((v) => v.property)).toContain('Acknowledged Publish Lost');
    for (const violation of behind) expect(violation.detail.endsWith(note), violation.detail).toBe(true);

    const divergent = checkHistory(
      mutate(fixture(), (doc) => {
        ordersLog(doc, 2).splice(3, 3);
        ordersLog(doc, 2).push({ ...messageRef(4, 'other') });
      }),
    );
    expect(divergent.length).toBeGreaterThan(0);
    for (const violation of divergent) expect(violation.detail).not.toContain('behind');
  });
});

describe('what the checker allows', () => {
  it('lets a durable consumer resume after an ack whose outcome it never learned', () => {
    // d2 resumes at 5: an ack of 4 was invoked before the resume and failed, so it may have been applied.
    const history = mutate(fixture(), (doc) => {
      const subscribe = find(doc, { kind: 'subscribe', sub: 'd2' });
      const base = { timeMs: doc.events[subscribe]!.timeMs, client: 'biller', node: 3 };
      doc.events.splice(
        subscribe,
        0,
        { ...base, kind: 'ack-invoke', op: 900, consumer: 'billing', topic: 'orders', offset: 4 },
        { ...base, kind: 'ack-fail', op: 900, error: 'timeout', retryable: true },
      );
      for (const offset of [3, 4]) doc.events.splice(find(doc, { kind: 'deliver', sub: 'd2', offset }), 1);
    });
    expect(checkHistory(history)).toEqual([]);
    // Resuming at 4 matches neither the confirmed ack (2) nor the uncertain one (4).
    const wrong = mutate(history, (doc) => {
      const index = find(doc, { kind: 'deliver', sub: 'd2', offset: 5 });
      doc.events.splice(index, 0, { ...doc.events[index]!, ...ref('orders', 4) });
    });
    expect(propertiesOf(checkHistory(wrong))).toEqual(['Subscription Start']);
  });

  it('allows stale reads unless asked to forbid them', () => {
    const stale = mutate(fixture(), (doc) => {
      const read = doc.events[find(doc, { kind: 'history-read-ok', lastOffset: 4 })]!;
      Object.assign(read, { lastOffset: 3, messages: [ref('orders', 2), ref('orders', 3)] });
    });
    expect(checkHistory(stale)).toEqual([]);
    expect(propertiesOf(checkHistory(stale, { readsSeeAcknowledged: true }))).toEqual(['History Read Mismatch']);
  });

  it('takes the dedup window as a parameter', () => {
    // With a window wider than m5's retry gap, the second copy of m5 is a duplicate.
    expect(propertiesOf(checkHistory(fixture(), { dedupWindowMs: 5 * WINDOW_MS }))).toEqual(['Duplicate Stored']);
  });

  it('refuses to check a malformed history', () => {
    const history = fixture();
    const broken = { ...history, events: [...history.events].reverse() };
    expect(() => checkHistory(broken)).toThrow(HistoryFormatError);
  });
});

describe('reading bad JSON', () => {
  const valid = (): Doc => toDoc(fixture());
  const problemsOf = (doc: unknown): readonly string[] => {
    const result = readHistoryJSON(JSON.stringify(doc));
    return result.ok ? [] : result.problems;
  };
  const firstOk = (doc: Doc): number => find(doc, { kind: 'publish-ok' });

  const cases: { name: string; edit: (doc: Doc) => unknown; expected: (doc: Doc) => string }[] = [
    { name: 'a newer version', edit: (doc) => ({ ...doc, version: 2 }), expected: () => 'version must be 1' },
    { name: 'a wrong format', edit: (doc) => ({ ...doc, format: 'other' }), expected: () => 'format must be "chorus-history"' },
    { name: 'nodes repeated', edit: (doc) => ({ ...doc, nodes: [1, 1] }), expected: () => 'nodes[1] repeats node 1' },
    {
      name: 'a zero offset',
      edit: (doc) => void (doc.events[firstOk(doc)]!.offset = 0),
      expected: (doc) => `events[${firstOk(doc)}].offset must be a positive integer, got 0`,
    },
    {
      name: 'a missing topic',
      edit: (doc) => void delete doc.events[1]!.topic,
      expected: () => 'events[1].topic must be a literal subject (no wildcards), got nothing',
    },
    {
      name: 'a misspelt field',
      edit: (doc) => void (doc.events[1]!.offest = 3),
      expected: () => 'events[1].offest is not a field of a publish-invoke event',
    },
    { name: 'an unknown kind', edit: (doc) => void (doc.events[0]!.kind = 'wave'), expected: () => 'events[0].kind must be one of' },
    {
      name: 'an unknown subscription mode',
      edit: (doc) => void (doc.events[0]!.mode = { type: 'sometimes' }),
      expected: () => 'events[0].mode.type must be "live", "from-offset" or "durable"',
    },
    {
      name: 'a digest that is not the payload\'s',
      edit: (doc) => void (doc.events[1]!.payload = 'changed'),
      expected: () => `events[1].digest must be ${payloadDigest('changed')}`,
    },
    {
      name: 'a completion of an op never invoked',
      edit: (doc) => void (doc.events[firstOk(doc)]!.op = 999),
      expected: (doc) => `events[${firstOk(doc)}]: op 999 names no earlier invocation`,
    },
    {
      name: 'time going backwards',
      edit: (doc) => void (doc.events[3]!.timeMs = 0),
      expected: () => 'events[3]: timeMs 0 is before the previous event',
    },
    {
      name: 'a delivery to a subscription never made',
      edit: (doc) => void (doc.events[find(doc, { kind: 'deliver' })]!.sub = 'ghost'),
      expected: (doc) => `events[${find(doc, { kind: 'deliver' })}]: sub "ghost" names no earlier subscribe`,
    },
    {
      name: 'a bad digest in a read',
      edit: (doc) => void ((doc.events[find(doc, { kind: 'history-read-ok' })]!.messages as JsonObject[])[0]!.digest = 'XYZ'),
      expected: (doc) => `events[${find(doc, { kind: 'history-read-ok' })}].messages[0].digest must be 16 lowercase hex digits`,
    },
    {
      name: 'final-log offsets with a hole',
      edit: (doc) => void doc.finalLogs[0]!.topics[0]!.messages.splice(0, 1),
      expected: () => 'finalLogs[0].topics[0].messages[0].offset must be 1',
    },
    { name: 'no final logs', edit: (doc) => void (doc.finalLogs = []), expected: () => 'finalLogs must hold at least one node' },
    {
      name: 'a retention entry with a zero max_msgs',
      edit: (doc) => void (doc.retention = [{ topic: 'orders', maxMsgs: 0, maxBytes: -1, maxAgeMs: 0 }]),
      expected: () => 'retention[0].maxMsgs must be -1 (no limit) or a positive integer, got 0',
    },
    {
      name: 'a retention entry for a wildcard',
      edit: (doc) => void (doc.retention = [{ topic: 'orders.*', maxMsgs: -1, maxBytes: -1, maxAgeMs: 0 }]),
      expected: () => 'retention[0].topic must be a literal subject (no wildcards), got "orders.*"',
    },
    {
      name: 'a retention entry with a misspelt limit',
      edit: (doc) => void (doc.retention = [{ topic: 'orders', maxMsgs: -1, maxBytes: -1, maxAge: 5 }]),
      expected: () => 'retention[0].maxAge is not a known field',
    },
    {
      name: 'a topic given retention twice',
      edit: (doc) => void (doc.retention = [0, 1].map(() => ({ topic: 'orders', maxMsgs: 5, maxBytes: -1, maxAgeMs: 0 }))),
      expected: () => 'retention[1].topic repeats topic "orders"',
    },
    {
      name: 'a purge keeping a negative count',
      edit: (doc) => void doc.events.push({ kind: 'purge-invoke', timeMs: doc.events.at(-1)!.timeMs, client: 'admin', node: 1, op: 900, topic: 'orders', keep: -1 }),
      expected: (doc) => `events[${doc.events.length}].keep must be a non-negative integer, got -1`,
    },
    {
      name: 'a purge completion answering a publish',
      edit: (doc) => void doc.events.push({ kind: 'purge-ok', timeMs: doc.events.at(-1)!.timeMs, client: 'p1', node: 1, op: 1, purged: 0 }),
      expected: (doc) => `events[${doc.events.length}]: op 1 is a publish-invoke, which a purge-ok cannot complete`,
    },
    {
      name: 'a negative final clock',
      edit: (doc) => void (doc.finalLogs[0]!.clockMs = -5),
      expected: () => 'finalLogs[0].clockMs must be a non-negative finite number, got -5',
    },
    {
      name: 'a retained final log with a hole',
      edit: (doc) => {
        doc.retention = [{ topic: 'orders', maxMsgs: -1, maxBytes: -1, maxAgeMs: 0 }];
        doc.finalLogs[0]!.topics[2]!.messages.splice(1, 1);
      },
      expected: () => 'finalLogs[0].topics[2].messages[1].offset must be 2: offsets increase by one from the first',
    },
    { name: 'a final log of an unknown node', edit: (doc) => void (doc.finalLogs[0]!.node = 9), expected: () => 'finalLogs[0].node must be one of' },
  ];

  for (const { name, edit, expected } of cases) {
    it(`names the field: ${name}`, () => {
      const doc = valid();
      const edited = edit(doc) ?? doc;
      const problems = problemsOf(edited);
      expect(problems.some((p) => p.includes(expected(valid()))), problems.join('\n')).toBe(true);
      expect(() => historyFromJSON(JSON.stringify(edited))).toThrow(HistoryFormatError);
    });
  }

  it('says so when the text is not JSON at all', () => {
    expect(readHistoryJSON('{"format":')).toMatchObject({ ok: false, problems: [expect.stringMatching(/^not JSON/)] });
  });

  it('throws from the recorder on events our own simulator must never produce', () => {
    const r = new HistoryRecorder({ nodes: [1], dedupWindowMs: 10, historyMessagesMax: 5 });
    expect(() => r.deliver({ timeMs: 0, sub: 'nobody', topic: 't', offset: 1, payload: 'x' })).toThrow(InvariantError);
    r.publishInvoke({ timeMs: 5, client: 'c', node: 1, topic: 't', attempt: 1, payload: 'x' });
    expect(() => r.publishOk({ timeMs: 4, op: 1, offset: 1, duplicate: false })).toThrow(/before the previous/);
    expect(() => r.publishInvoke({ timeMs: 6, client: 'c', node: 2, topic: 't', attempt: 1, payload: 'x' })).toThrow(/node 2/);
    expect(() => r.history()).toThrow(/recordFinalLogs/);
  });
});

// ---- Random histories of a correct broker, from a small model, and single mutations of them.

const TOPICS = ['t.a', 't.b', 'u'] as const;
const PATTERNS = ['t.a', 't.*', '>', 'u'] as const;
const CONSUMERS = ['c1', 'c2'] as const;
const MODEL_PAGE_MAX = 3;

type Step =
  | { kind: 'publish'; topic: number; withId: boolean; outcome: 'ok' | 'timeout-stored' | 'timeout-lost' | 'fail' }
  | { kind: 'subscribe'; pattern: number; mode: 'live' | 'from-offset' | 'durable'; from: number; consumer: number }
  | { kind: 'end'; which: number }
  | { kind: 'reconnect'; which: number }
  | { kind: 'ack'; which: number; topic: number; outcome: 'ok' | 'lost' | 'applied-unconfirmed' }
  | { kind: 'read'; topic: number; from: number; limit: number }
  | { kind: 'pause'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), topic: fc.nat(2), withId: fc.boolean(), outcome: fc.constantFrom('ok' as const, 'timeout-stored' as const, 'timeout-lost' as const, 'fail' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), pattern: fc.nat(3), mode: fc.constantFrom('live' as const, 'from-offset' as const, 'durable' as const), from: fc.integer({ min: 1, max: 4 }), consumer: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), which: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), which: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), which: fc.nat(20), topic: fc.nat(2), outcome: fc.constantFrom('ok' as const, 'lost' as const, 'applied-unconfirmed' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), topic: fc.nat(2), from: fc.integer({ min: 1, max: 6 }), limit: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 1, max: 1_500 }) }) },
);

/** Steps that make sure every kind of mutation finds something to mutate. */
const PRELUDE: readonly Step[] = [
  { kind: 'subscribe', pattern: 1, mode: 'from-offset', from: 1, consumer: 0 },
  { kind: 'publish', topic: 0, withId: true, outcome: 'ok' },
  { kind: 'publish', topic: 0, withId: false, outcome: 'ok' },
  { kind: 'publish', topic: 0, withId: true, outcome: 'timeout-stored' },
];

interface ModelSub {
  readonly id: string;
  readonly client: string;
  readonly node: number;
  readonly pattern: string;
  readonly consumer: string | undefined;
  /** topic -> next offset to deliver. */
  readonly next: Map<string, number>;
  active: boolean;
}

/** A correct single-copy broker with clients around it, recording what they see. */
class Model {
  readonly r = new HistoryRecorder({ nodes: NODES, dedupWindowMs: WINDOW_MS, historyMessagesMax: MODEL_PAGE_MAX });
  private t = 0;
  private count = 0;
  private readonly logs = new Map<string, Stored[]>(TOPICS.map((t) => [t, []]));
  private readonly subs: ModelSub[] = [];
  /** consumer/topic -> acknowledged offset, as the replicated state holds it. */
  private readonly acked = new Map<string, number>();

  run(steps: readonly Step[]): History {
    for (const step of steps) this.step(step);
    const topics = [...this.logs]
      .filter(([, log]) => log.length > 0)
      .map(([topic, log]) => ({ topic, messages: log.map((m, k) => messageRef(k + 1, m.payload, m.msgId)) }));
    this.r.recordFinalLogs(this.tick(), NODES.map((node) => ({ node, topics })));
    return this.r.history();
  }

  private tick(ms = 1): number {
    return (this.t += ms);
  }

  private step(step: Step): void {
    switch (step.kind) {
      case 'publish':
        return this.publish(TOPICS[step.topic]!, step.withId, step.outcome);
      case 'subscribe':
        return this.subscribe(PATTERNS[step.pattern]!, step);
      case 'end': {
        const active = this.subs.filter((s) => s.active);
        if (active.length > 0) active[step.which % active.length]!.active = false;
        return;
      }
      case 'reconnect':
        return this.reconnect(step.which);
      case 'ack':
        return this.ack(step.which, step.topic, step.outcome);
      case 'read':
        return this.read(TOPICS[step.topic]!, step.from, step.limit);
      case 'pause':
        this.tick(step.ms);
        return;
    }
  }

  private publish(topic: string, withId: boolean, outcome: 'ok' | 'timeout-stored' | 'timeout-lost' | 'fail'): void {
    const n = (this.count += 1);
    // Unique payloads and ids make every stored message distinguishable, so any changed offset shows.
    const msgId = withId ? `m${n}` : undefined;
    const payload = `payload-${n}`;
    const client = `p${n % 2}`;
    const node = NODES[n % NODES.length]!;
    const op = this.r.publishInvoke({ timeMs: this.tick(), client, node, topic, msgId, attempt: 1, payload });
    if (outcome === 'ok') {
      const offset = this.store(topic, msgId, payload);
      this.r.publishOk({ timeMs: this.tick(), op, offset, duplicate: false });
      return;
    }
    const offset = outcome === 'timeout-stored' ? this.store(topic, msgId, payload) : undefined;
    if (outcome === 'fail') this.r.publishFail({ timeMs: this.tick(), op, error: 'not-leader', retryable: true });
    else this.r.publishTimeout({ timeMs: this.tick(5), op });
    // Without a message id a retry could store twice, so such a publisher does not retry.
    if (msgId === undefined) return;
    const retryNode = NODES[(n + 1) % NODES.length]!;
    const retry = this.r.publishInvoke({ timeMs: this.tick(), client, node: retryNode, topic, msgId, attempt: 2, payload });
    const stored = offset ?? this.store(topic, msgId, payload);
    this.r.publishOk({ timeMs: this.tick(), op: retry, offset: stored, duplicate: offset !== undefined });
  }

  private store(topic: string, msgId: string | undefined, payload: string): number {
    const log = this.logs.get(topic)!;
    log.push(msgId === undefined ? { payload } : { msgId, payload });
    this.fanout();
    return log.length;
  }

  private subscribe(pattern: string, step: { mode: 'live' | 'from-offset' | 'durable'; from: number; consumer: number }): void {
    const n = (this.count += 1);
    const consumer = step.mode === 'durable' ? CONSUMERS[step.consumer]! : undefined;
    const mode: SubscriptionMode =
      consumer !== undefined ? { type: 'durable', consumer } : step.mode === 'from-offset' ? { type: 'from-offset', offset: step.from } : { type: 'live' };
    const sub: ModelSub = { id: `s${n}`, client: `c${n}`, node: NODES[n % NODES.length]!, pattern, consumer, next: new Map(), active: true };
    for (const topic of TOPICS) {
      if (!subjectMatches(pattern, topic)) continue;
      const length = this.logs.get(topic)!.length;
      const start = mode.type === 'live' ? length + 1 : mode.type === 'from-offset' ? mode.offset : (this.acked.get(`${consumer}/${topic}`) ?? 0) + 1;
      sub.next.set(topic, start);
    }
    this.subs.push(sub);
    this.r.subscribe({ timeMs: this.tick(), client: sub.client, node: sub.node, sub: sub.id, pattern, mode });
    this.fanout();
  }

  private fanout(): void {
    for (const sub of this.subs) {
      if (!sub.active) continue;
      for (const [topic, next] of sub.next) {
        const log = this.logs.get(topic)!;
        let offset = next;
        for (; offset <= log.length; offset++) {
          const m = log[offset - 1]!;
          this.r.deliver({ timeMs: this.tick(), sub: sub.id, topic, offset, msgId: m.msgId, payload: m.payload });
        }
        sub.next.set(topic, offset);
      }
    }
  }

  /** A durable subscriber's connection drops and it subscribes again, under the same consumer name. */
  private reconnect(which: number): void {
    const durable = this.subs.filter((s) => s.active && s.consumer !== undefined);
    const sub = durable[which % Math.max(1, durable.length)];
    if (sub === undefined) return;
    sub.active = false;
    this.subscribe(sub.pattern, { mode: 'durable', from: 1, consumer: CONSUMERS.indexOf(sub.consumer as 'c1' | 'c2') });
  }

  /** A durable subscriber acknowledges the last message it got on one of its topics. */
  private ack(which: number, pick: number, outcome: 'ok' | 'lost' | 'applied-unconfirmed'): void {
    const durable = this.subs.filter((s) => s.active && s.consumer !== undefined);
    const sub = durable[which % Math.max(1, durable.length)];
    const topics = [...(sub?.next ?? [])].filter(([, next]) => next > 1);
    const chosen = topics[pick % Math.max(1, topics.length)];
    if (sub === undefined || sub.consumer === undefined || chosen === undefined) return;
    const [topic, next] = chosen;
    const offset = next - 1;
    const key = `${sub.consumer}/${topic}`;
    const op = this.r.ackInvoke({ timeMs: this.tick(), client: sub.client, node: sub.node, consumer: sub.consumer, topic, offset });
    if (outcome !== 'lost') this.acked.set(key, Math.max(this.acked.get(key) ?? 0, offset));
    if (outcome === 'ok') this.r.ackOk({ timeMs: this.tick(), op, offset: this.acked.get(key)! });
    else this.r.ackFail({ timeMs: this.tick(), op, error: 'timeout', retryable: true });
  }

  private read(topic: string, from: number, limit: number): void {
    const log = this.logs.get(topic)!;
    const op = this.r.historyReadInvoke({ timeMs: this.tick(), client: 'reader', node: 1, topic, from, limit });
    const messages = log.slice(from - 1, from - 1 + Math.min(limit, MODEL_PAGE_MAX)).map((m, k) => messageRef(from + k, m.payload, m.msgId));
    this.r.historyReadOk({ timeMs: this.tick(), op, lastOffset: log.length, messages });
  }
}

const historyArb = fc.array(stepArb, { minLength: 5, maxLength: 40 }).map((steps) => new Model().run([...PRELUDE, ...steps]));

type Mutation = { kind: 'drop' | 'swap' | 'offset'; pick: number; second: number; delta: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop' as const, 'swap' as const, 'offset' as const),
  pick: fc.nat(),
  second: fc.nat(),
  delta: fc.integer({ min: 1, max: 3 }),
});

/** Delivery event indexes per subscription and topic, in order, and each subscription's mode. */
function streamsOf(doc: Doc): { deliveries: number[]; mode: string }[] {
  const modes = new Map<unknown, string>();
  const streams = new Map<string, { deliveries: number[]; mode: string }>();
  doc.events.forEach((e, i) => {
    if (e.kind === 'subscribe') modes.set(e.sub, (e.mode as JsonObject).type as string);
    if (e.kind !== 'deliver') return;
    const key = `${String(e.sub)}/${String(e.topic)}`;
    const stream = streams.get(key) ?? { deliveries: [], mode: modes.get(e.sub)! };
    stream.deliveries.push(i);
    streams.set(key, stream);
  });
  return [...streams.values()];
}

/**
 * One mutation a checker must notice. Only detectable changes are picked: dropping
 * the last delivery of a subscription is indistinguishable from the subscriber
 * going away, and dropping the first of a live one from subscribing later.
 */
function applyMutation(doc: Doc, m: Mutation): boolean {
  const streams = streamsOf(doc);
  if (m.kind === 'drop') {
    const candidates = streams.flatMap((s) => s.deliveries.filter((_, k) => (k > 0 || s.mode === 'from-offset') && k < s.deliveries.length - 1));
    const index = candidates[m.pick % Math.max(1, candidates.length)];
    if (index === undefined) return false;
    doc.events.splice(index, 1);
    return true;
  }
  if (m.kind === 'swap') {
    const long = streams.filter((s) => s.deliveries.length >= 2);
    const stream = long[m.pick % Math.max(1, long.length)];
    if (stream === undefined) return false;
    const i = m.second % (stream.deliveries.length - 1);
    const j = i + 1 + ((m.pick >> 3) % (stream.deliveries.length - 1 - i));
    const [a, b] = [doc.events[stream.deliveries[i]!]!, doc.events[stream.deliveries[j]!]!];
    doc.events[stream.deliveries[i]!] = { ...b, timeMs: a.timeMs };
    doc.events[stream.deliveries[j]!] = { ...a, timeMs: b.timeMs };
    return true;
  }
  const targets: JsonObject[] = [];
  for (const e of doc.events) {
    if (e.kind === 'deliver' || e.kind === 'publish-ok') targets.push(e);
    if (e.kind === 'history-read-ok') targets.push(...(e.messages as JsonObject[]));
  }
  const target = targets[m.pick % targets.length]!;
  target.offset = (target.offset as number) + m.delta;
  return true;
}

describe('random histories', () => {
  it('of a correct broker pass, and survive a JSON round trip', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        expect(checkHistory(history).map(formatHistoryViolation)).toEqual([]);
        expect(historyFromJSON(historyToJSON(history))).toEqual(history);
      }),
      { numRuns: 100 },
    );
  });

  it('with one delivery dropped, two swapped or one offset changed, fail', () => {
    fc.assert(
      fc.property(historyArb, mutationArb, (history, mutation) => {
        const doc = toDoc(history);
        fc.pre(applyMutation(doc, mutation));
        const violations = checkHistory(historyFromJSON(JSON.stringify(doc)));
        expect(violations.length).toBeGreaterThan(0);
        if (mutation.kind === 'drop') expect(propertiesOf(violations)).toEqual(expect.arrayContaining([expect.stringMatching(/Subscription (Gap|Start)/)]));
        if (mutation.kind === 'swap') expect(propertiesOf(violations)).toContain('Subscription Order');
      }),
      { numRuns: 200 },
    );
  });
});

describe('history checker: time', () => {
  function timed(ops: { readonly stamps: readonly number[]; readonly after?: number; readonly deliverStamps?: readonly number[] }): History {
    const r = new HistoryRecorder({ nodes: [1], dedupWindowMs: 1000, historyMessagesMax: 10 });
    let t = 0;
    r.subscribe({ timeMs: ++t, client: 's', node: 1, sub: 's1', pattern: 'clock', mode: { type: 'live' } });
    const logs: MessageRef[] = [];
    ops.stamps.forEach((stamp, i) => {
      const payload = `m${i + 1}`;
      const after = i === ops.stamps.length - 1 && ops.after !== undefined ? { after: ops.after } : {};
      const op = r.publishInvoke({ timeMs: ++t, client: 'p', node: 1, topic: 'clock', msgId: payload, attempt: 1, payload, ...after });
      r.publishOk({ timeMs: ++t, op, offset: i + 1, duplicate: false, timestampMs: stamp });
      r.deliver({ timeMs: ++t, sub: 's1', topic: 'clock', offset: i + 1, msgId: payload, payload, timestampMs: ops.deliverStamps?.[i] ?? stamp });
      logs.push(messageRef(i + 1, payload, payload));
    });
    r.recordFinalLogs(++t, [{ node: 1, topics: [{ topic: 'clock', messages: logs }] }]);
    return r.history();
  }

  it('passes timestamps that never decrease, and a causal publish stamped after its Chorus-Time', () => {
    expect(checkHistory(timed({ stamps: [100, 100, 105], after: 104 }))).toEqual([]);
  });

  it('reports a topic whose timestamps go backwards, as acknowledgements or deliveries show them', () => {
    expect(propertiesOf(checkHistory(timed({ stamps: [100, 90, 120] })))).toEqual(['Timestamp Order']);
    // One message shown with two different stamps.
    expect(propertiesOf(checkHistory(timed({ stamps: [100, 110], deliverStamps: [100, 95] })))).toEqual(['Timestamp Order']);
  });

  it('reports a publish stamped no later than the time it asked to follow', () => {
    const violations = checkHistory(timed({ stamps: [100, 105], after: 105 }));
    expect(propertiesOf(violations)).toEqual(['Causal Order']);
    expect(formatHistoryViolation(violations[0]!)).toMatch(/asked to be stamped after 105 ms and was stamped 105 ms/);
  });

  /** Two topics, a.x stamped 100, 300 and a.y stamped 200, 400 (or `stamps`), delivered to one ORDERED subscription in the order given. */
  function orderedDeliveries(
    order: readonly { topic: 'a.x' | 'a.y'; offset: number; late?: boolean }[],
    ordered = true,
    stamps: Record<'a.x' | 'a.y', readonly number[]> = { 'a.x': [100, 300], 'a.y': [200, 400] },
  ): History {
    const r = new HistoryRecorder({ nodes: [1], dedupWindowMs: 1000, historyMessagesMax: 10 });
    let t = 0;
    // Every delivered message was offered by a publisher first (their outcomes do not matter here).
    for (const topic of ['a.x', 'a.y'] as const) {
      for (const offset of [1, 2]) r.publishInvoke({ timeMs: ++t, client: 'p', node: 1, topic, msgId: `${topic}#${offset}`, attempt: 1, payload: `${topic}#${offset}` });
    }
    r.subscribe({ timeMs: ++t, client: 's', node: 1, sub: 's1', pattern: 'a.*', mode: { type: 'from-offset', offset: 1 }, ordered });
    for (const { topic, offset, late } of order) {
      const payload = `${topic}#${offset}`;
      r.deliver({ timeMs: ++t, sub: 's1', topic, offset, msgId: payload, payload, timestampMs: stamps[topic][offset - 1]!, late: late === true });
    }
    const log = (topic: 'a.x' | 'a.y'): MessageRef[] => [1, 2].map((offset) => messageRef(offset, `${topic}#${offset}`, `${topic}#${offset}`));
    r.recordFinalLogs(++t, [{ node: 1, topics: [{ topic: 'a.x', messages: log('a.x') }, { topic: 'a.y', messages: log('a.y') }] }]);
    return r.history();
  }

  it('passes an ORDERED subscription merged by timestamp, and one whose out-of-order delivery is marked late', () => {
    const merged = [{ topic: 'a.x', offset: 1 }, { topic: 'a.y', offset: 1 }, { topic: 'a.x', offset: 2 }, { topic: 'a.y', offset: 2 }] as const;
    expect(checkHistory(orderedDeliveries(merged))).toEqual([]);
    const withLate = [{ topic: 'a.x', offset: 1 }, { topic: 'a.x', offset: 2 }, { topic: 'a.y', offset: 1, late: true }, { topic: 'a.y', offset: 2 }] as const;
    expect(checkHistory(orderedDeliveries(withLate))).toEqual([]);
  });

  it('reports an ORDERED subscription out of timestamp order, and a late mark on a delivery that was not late', () => {
    const topicByTopic = [{ topic: 'a.x', offset: 1 }, { topic: 'a.x', offset: 2 }, { topic: 'a.y', offset: 1 }, { topic: 'a.y', offset: 2 }] as const;
    const violations = checkHistory(orderedDeliveries(topicByTopic));
    expect(propertiesOf(violations)).toEqual(['Ordered Delivery']);
    expect(formatHistoryViolation(violations[0]!)).toMatch(/a\.y offset 1 stamped 200 ms was delivered after a\.x offset 2 stamped 300 ms, and not marked late/);
    // The same order is no violation for a subscription that did not ask for ORDERED.
    expect(checkHistory(orderedDeliveries(topicByTopic, false))).toEqual([]);
    const falseLate = [{ topic: 'a.x', offset: 1 }, { topic: 'a.y', offset: 1, late: true }, { topic: 'a.x', offset: 2 }, { topic: 'a.y', offset: 2 }] as const;
    expect(formatHistoryViolation(checkHistory(orderedDeliveries(falseLate))[0]!)).toMatch(/was marked late, but nothing stamped later had been delivered before it/);
  });

  it('passes a late mark on a delivery of the same millisecond as one before it, which the counters of their stamps may put earlier', () => {
    // a.x offset 2 and a.y offset 1 share 300 ms; a.y's counter is the lower, so after a.x offset 2 it is late.
    const sameMillisecond = { 'a.x': [100, 300], 'a.y': [300, 400] };
    const order = [{ topic: 'a.x', offset: 1 }, { topic: 'a.x', offset: 2 }, { topic: 'a.y', offset: 1, late: true }, { topic: 'a.y', offset: 2 }] as const;
    expect(checkHistory(orderedDeliveries(order, true, sameMillisecond))).toEqual([]);
    // Stamped after every delivery before it, the same mark still lies.
    const after = { 'a.x': [100, 300], 'a.y': [301, 400] };
    expect(propertiesOf(checkHistory(orderedDeliveries(order, true, after)))).toEqual(['Ordered Delivery']);
  });
});

// ---- Retention and purges: a topic's oldest messages may be removed, and only as its limits or a purge allow.

/** The retained topic's messages: offset k is stamped 100 k ms. */
const LOGS = Array.from({ length: 6 }, (_, k) => ({ msgId: `l${k + 1}`, payload: `log-${k + 1}`, timestampMs: 100 * (k + 1) }));
const LOGS_CLOCK_MS = 700;

function logsRef(offset: number): MessageRef {
  const { payload, msgId, timestampMs } = LOGS[offset - 1]!;
  return messageRef(offset, payload, msgId, timestampMs);
}

/**
 * Topic `logs` keeps at most 3 messages. Six are published and watched live;
 * a slow live subscriber gets 1 and 2, then falls behind until 3 is removed,
 * and goes on at 4; a replay from offset 1, opened after the first three were
 * removed, starts at 4, as does a read from 2; every node ends with offsets 4 to 6.
 */
function retainedRecorder(): HistoryRecorder {
  const retention = [{ topic: 'logs', maxMsgs: 3, maxBytes: -1, maxAgeMs: 0 }];
  const r = new HistoryRecorder({ nodes: NODES, dedupWindowMs: WINDOW_MS, historyMessagesMax: PAGE_MAX, retention });
  let t = 0;
  const deliver = (sub: string, offset: number): void => r.deliver({ timeMs: ++t, sub, topic: 'logs', ...logsRef(offset) });
  r.subscribe({ timeMs: ++t, client: 'watcher', node: 2, sub: 'live', pattern: 'logs', mode: { type: 'live' } });
  r.subscribe({ timeMs: ++t, client: 'slowpoke', node: 1, sub: 'slow', pattern: 'logs', mode: { type: 'live' } });
  for (const [k, { msgId, payload, timestampMs }] of LOGS.entries()) {
    const op = r.publishInvoke({ timeMs: ++t, client: 'p', node: 1, topic: 'logs', msgId, attempt: 1, payload });
    r.publishOk({ timeMs: ++t, op, offset: k + 1, duplicate: false, timestampMs });
    deliver('live', k + 1);
    if (k < 2) deliver('slow', k + 1);
  }
  for (const offset of [4, 5, 6]) deliver('slow', offset);
  r.subscribe({ timeMs: ++t, client: 'replayer', node: 3, sub: 'late', pattern: 'logs', mode: { type: 'from-offset', offset: 1 } });
  for (const offset of [4, 5, 6]) deliver('late', offset);
  const op = r.historyReadInvoke({ timeMs: ++t, client: 'reader', node: 3, topic: 'logs', from: 2, limit: 3 });
  r.historyReadOk({ timeMs: ++t, op, lastOffset: 6, messages: [4, 5, 6].map(logsRef) });
  const topics = [{ topic: 'logs', messages: [4, 5, 6].map(logsRef) }];
  r.recordFinalLogs(++t, NODES.map((node) => ({ node, clockMs: LOGS_CLOCK_MS, topics })));
  return r;
}

const retained = (): History => retainedRecorder().history();

function logsLog(doc: Doc, node: number): JsonObject[] {
  return doc.finalLogs.find((l) => l.node === node)!.topics.find((t) => t.topic === 'logs')!.messages;
}

function setRetention(doc: Doc, limits: JsonObject): void {
  doc.retention = [{ topic: 'logs', maxMsgs: -1, maxBytes: -1, maxAgeMs: 0, ...limits }];
}

/** Inserts a purge of `logs` and its completion (if any) right after event `after`, at that event's time. */
function insertPurge(doc: Doc, after: number, purge: { keep?: number; completion: JsonObject | undefined }): void {
  const base = { timeMs: doc.events[after]!.timeMs, client: 'admin', node: 1, op: 900 };
  const invoke = { kind: 'purge-invoke', ...base, topic: 'logs', ...(purge.keep === undefined ? {} : { keep: purge.keep }) };
  const completion = purge.completion === undefined ? [] : [{ ...base, ...purge.completion }];
  doc.events.splice(after + 1, 0, invoke, ...completion);
}

/** The index of the publish-ok of `logs` at an offset. */
function logsAck(doc: Doc, offset: number): number {
  return find(doc, { kind: 'publish-ok', offset, op: doc.events[find(doc, { kind: 'publish-invoke', msgId: `l${offset}` })]!.op });
}

describe('retention and purges', () => {
  const violationsOf = (history: History): string => checkHistory(history).map(formatHistoryViolation).join('\n');

  it('passes a topic whose oldest messages max_msgs removed, skipped by a late replay and a read', () => {
    const history = retained();
    expect(checkHistory(history), violationsOf(history)).toEqual([]);
    expect(history.finalLogs[0]!.topics[0]!.messages[0]!.offset).toBe(4);
  });

  it('round-trips the retention header, the final clocks and stamps, and every purge event through JSON', () => {
    const recorder = retainedRecorder();
    const text = recorder.toJSON();
    expect(historyFromJSON(text)).toEqual(recorder.history());
    expect(historyToJSON(historyFromJSON(text))).toBe(text);
    expect(text).toContain('  "retention": [\n    {"topic":"logs","maxMsgs":3,"maxBytes":-1,"maxAgeMs":0}\n  ],');
    expect(text).toContain(`{"node":1,"clockMs":${LOGS_CLOCK_MS},"topics":[`);
    expect(text).toContain('{"offset":4,"msgId":"l4","digest":"');

    const r = new HistoryRecorder({ nodes: [1, 2], dedupWindowMs: 10, historyMessagesMax: 5 });
    const attached = (timeMs: number) => ({ timeMs, client: 'admin', node: 1 });
    const all = r.purgeInvoke({ ...attached(1), topic: 'logs' });
    r.purgeOk({ ...attached(2), op: all, purged: 4 });
    const some = r.purgeInvoke({ ...attached(3), topic: 'logs', keep: 2 });
    r.purgeFail({ ...attached(4), op: some, error: 'not-leader', retryable: true });
    const lost = r.purgeInvoke({ ...attached(5), topic: 'logs', keep: 0 });
    r.purgeTimeout({ ...attached(6), op: lost });
    r.recordFinalLogs(7, [{ node: 1, topics: [{ topic: 'logs', messages: [messageRef(5, 'x', undefined, 9)] }] }, { node: 2, topics: [] }]);
    const purges = r.history();
    expect(historyFromJSON(r.toJSON())).toEqual(purges);
    expect(purges.events.map((e) => e.kind)).toEqual(['purge-invoke', 'purge-ok', 'purge-invoke', 'purge-fail', 'purge-invoke', 'purge-timeout']);
    expect(purges.events[2]).toMatchObject({ op: some, keep: 2 });
    // A purge's completion names the client and node of its invocation, or the recorder refuses it.
    const other = new HistoryRecorder({ nodes: [1, 2], dedupWindowMs: 10, historyMessagesMax: 5 });
    const op = other.purgeInvoke({ ...attached(1), topic: 'logs' });
    expect(() => other.purgeOk({ timeMs: 2, client: 'admin', node: 2, op, purged: 0 })).toThrow(InvariantError);
  });

  it('reports a node keeping more messages than max_msgs allows, as Retention only', () => {
    const violations = checkHistory(mutate(retained(), (doc) => setRetention(doc, { maxMsgs: 2 })));
    expect(propertiesOf(violations), violations.map(formatHistoryViolation).join('\n')).toEqual(['Retention']);
    expect(violations[0]).toMatchObject({ topic: 'logs', offset: 4, nodes: NODES, event: -1 });
    expect(violations[0]!.detail).toBe('n1 keeps 3 messages, offsets 4 to 6 of logs, but max_msgs is 2');
  });

  it('reports an acknowledged, delivered and read message that max_msgs could not have removed, as Retention only', () => {
    const violations = checkHistory(mutate(retained(), (doc) => doc.finalLogs.forEach((log) => logsLog(doc, log.node).shift())));
    expect(propertiesOf(violations), violations.map(formatHistoryViolation).join('\n')).toEqual(['Retention']);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ client: 'p', topic: 'logs', offset: 4 });
    expect(violations[0]!.detail).toMatch(/^offset 4 of logs was removed \(the final logs keep offsets from 5\), but nothing explains it: max_msgs 3 removes offsets up to 3 only/);
    // max_bytes is not judged: with one, any message but the newest may have gone.
    const sized = mutate(retained(), (doc) => {
      setRetention(doc, { maxMsgs: 3, maxBytes: 100 });
      doc.finalLogs.forEach((log) => logsLog(doc, log.node).shift());
    });
    expect(checkHistory(sized), violationsOf(sized)).toEqual([]);
  });

  it('judges max_age by the final clock: what is that old must go, and nothing younger may', () => {
    // At clock 700, offsets 1 to 3 (stamped 300 or earlier) are 400 ms old or more, and 4 to 6 less.
    const byAge = mutate(retained(), (doc) => setRetention(doc, { maxAgeMs: 350 }));
    expect(checkHistory(byAge), violationsOf(byAge)).toEqual([]);
    // Offset 2's stamp is nowhere in the history, and nothing at or below it is known to be too young, so it may have been old enough.
    const unstamped = mutate(byAge, (doc) => {
      for (const e of doc.events) if (e.offset === 2) delete e.timestampMs;
    });
    expect(checkHistory(unstamped), violationsOf(unstamped)).toEqual([]);

    const kept = checkHistory(mutate(retained(), (doc) => setRetention(doc, { maxAgeMs: 250 })));
    expect(propertiesOf(kept)).toEqual(['Retention']);
    expect(kept[0]!.detail).toBe('n1 keeps offset 4 of logs, stamped 400 ms, 300 ms before its clock 700 ms, but max_age is 250 ms');

    const removed = checkHistory(mutate(retained(), (doc) => setRetention(doc, { maxAgeMs: 450 })));
    expect(propertiesOf(removed)).toEqual(['Retention']);
    expect(removed[0]).toMatchObject({ offset: 3 });
    expect(removed[0]!.detail).toMatch(/max_age 450 ms: it is stamped 300 ms, only 400 ms before the final clock 700 ms/);
    // Had no client seen offset 3's stamp (its publish timed out, say), nothing would show it too young: offset 4,
    // the lowest known to be, bounds what max_age may have removed, and 3 is below it.
    const unseen = mutate(retained(), (doc) => {
      setRetention(doc, { maxAgeMs: 450 });
      for (const e of doc.events) if (e.offset === 3) delete e.timestampMs;
    });
    expect(checkHistory(unseen), violationsOf(unseen)).toEqual([]);
    // But one offset known too young makes every offset above it too young, whatever the history shows of their
    // own stamps: with offset 1 stamped 300 ms (400 ms old), offsets 1 to 3 all had to stay.
    const belowYoung = checkHistory(
      mutate(retained(), (doc) => {
        setRetention(doc, { maxAgeMs: 450 });
        for (const e of doc.events) if (e.offset === 3 || e.offset === 2) delete e.timestampMs;
        for (const e of doc.events) if (e.offset === 1) e.timestampMs = 300;
      }),
    );
    expect(propertiesOf(belowYoung)).toEqual(['Retention']);
    expect(belowYoung[0]).toMatchObject({ offset: 1 });
    expect(belowYoung[0]!.detail).toMatch(/max_age 450 ms: it is stamped 300 ms, only 400 ms before the final clock 700 ms; .*so are removed offsets 2, 3/);

    // Without the nodes' clocks nothing bounds age: removals are allowed and no message is too old to keep.
    const unclocked = mutate(retained(), (doc) => {
      setRetention(doc, { maxAgeMs: 250 });
      for (const log of doc.finalLogs) delete log.clockMs;
    });
    expect(checkHistory(unclocked), violationsOf(unclocked)).toEqual([]);
  });

  it('lets a purge explain removals it could have made, and no others', () => {
    const unlimited = (doc: Doc): void => void delete doc.retention;
    // Without retention or a purge, a final log must start at offset 1.
    expect(() => mutate(retained(), unlimited)).toThrow('finalLogs[0].topics[0].messages[0].offset must be 1: offsets are dense from 1');

    const purged = (keep: number | undefined, completion: JsonObject | undefined, after = (doc: Doc) => logsAck(doc, 3)) =>
      checkHistory(
        mutate(retained(), (doc) => {
          unlimited(doc);
          insertPurge(doc, after(doc), { keep, completion });
        }),
      );
    const ok = { kind: 'purge-ok', purged: 3 };
    // A purge of everything after 3 was acknowledged removes 1 to 3.
    expect(purged(undefined, ok).map(formatHistoryViolation)).toEqual([]);
    // Keeping the newest 3 of 6 removes up to 3 as well; keeping 4 cannot remove 3.
    expect(purged(3, ok, (doc) => logsAck(doc, 6)).map(formatHistoryViolation)).toEqual([]);
    const keptFour = purged(4, ok, (doc) => logsAck(doc, 6));
    expect(propertiesOf(keptFour)).toEqual(['Retention']);
    expect(keptFour[0]!.detail).toMatch(/offset 3 of logs was removed .* purges: op 900 keeps it$/);
    // A purge that completed before 3 was published cannot have removed it.
    const early = purged(undefined, ok, (doc) => logsAck(doc, 2));
    expect(early.map((v) => [v.property, v.offset])).toEqual([['Retention', 3]]);
    expect(early[0]!.detail).toMatch(/op 900 completed before it was published$/);
    // One refused for good removed nothing; one whose outcome is unknown may have removed anything published by the end.
    expect(propertiesOf(purged(undefined, { kind: 'purge-fail', error: 'no such stream', retryable: false }))).toEqual(['Retention']);
    expect(purged(undefined, { kind: 'purge-fail', error: 'not-leader', retryable: true })).toEqual([]);
    expect(purged(undefined, { kind: 'purge-timeout' }, (doc) => logsAck(doc, 1))).toEqual([]);
    expect(purged(undefined, undefined, (doc) => logsAck(doc, 1))).toEqual([]);

    // A purge of everything at the end leaves no node holding the topic; limits alone never empty one.
    const emptied = (purge: boolean): History =>
      mutate(retained(), (doc) => {
        if (purge) insertPurge(doc, doc.events.length - 1, { completion: ok });
        for (const log of doc.finalLogs) log.topics = log.topics.filter((t) => t.topic !== 'logs');
      });
    expect(checkHistory(emptied(true)), violationsOf(emptied(true))).toEqual([]);
    const unexplained = checkHistory(emptied(false));
    expect(unexplained.map((v) => [v.property, v.offset])).toEqual([['Retention', 1]]);
    expect(unexplained[0]!.detail).toMatch(/no node holds any message of it\), but nothing explains it: max_msgs 3 never empties a topic; .*; so are removed offsets 2, 3, 4, 5, 6$/);
  });

  it('still holds every kept offset to the other properties', () => {
    // Offset 5 holds another message on every node: the acknowledged one is lost in the middle of a retained log.
    const replaced = checkHistory(mutate(retained(), (doc) => doc.finalLogs.forEach((log) => (logsLog(doc, log.node)[1] = { ...messageRef(5, 'other') }))));
    expect(replaced.filter((v) => v.property === 'Acknowledged Publish Lost').map((v) => [v.client, v.offset, v.nodes])).toEqual([['p', 5, NODES]]);
    expect(propertiesOf(replaced)).not.toContain('Retention');
    // A subscription that skips a kept offset has a gap, even when removed ones were skipped with it.
    const gap = checkHistory(mutate(retained(), (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'late', offset: 5 }), 1)));
    expect(gap.map((v) => [v.property, v.offset])).toEqual([['Subscription Gap', 5]]);
    const slowGap = checkHistory(mutate(retained(), (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'slow', offset: 4 }), 1)));
    expect(slowGap.map((v) => [v.property, v.offset])).toEqual([['Subscription Gap', 4]]);
    expect(slowGap[0]!.detail).toBe('offset 4 was never delivered, though 2 and 5 were');
    // A replay that starts past the first kept offset starts late.
    const late = checkHistory(mutate(retained(), (doc) => doc.events.splice(find(doc, { kind: 'deliver', sub: 'late', offset: 4 }), 1)));
    expect(propertiesOf(late)).toEqual(['Subscription Start']);
    // A read that skips a kept offset, or returns too few, is a mismatch.
    const skipped = checkHistory(
      mutate(retained(), (doc) => {
        const read = doc.events[find(doc, { kind: 'history-read-ok' })]!;
        (read.messages as JsonObject[]).shift();
      }),
    );
    expect(propertiesOf(skipped)).toEqual(['History Read Mismatch']);
    // Nodes must agree on where the log starts: a node that dropped one more has lost an acknowledged message.
    const divergent = checkHistory(mutate(retained(), (doc) => logsLog(doc, 2).shift()));
    expect(divergent.map((v) => [v.property, v.offset, v.nodes])).toEqual([
      ['Acknowledged Publish Lost', 4, [2]],
      ['Divergent Topic Order', 4, [1, 2]],
    ]);
  });
});

describe('Live Start', () => {
  function liveHistory(subscribeAtMs: number): History {
    const recorder = new HistoryRecorder({ nodes: [1, 2, 3], dedupWindowMs: 120_000, historyMessagesMax: 100 });
    const publish = (timeMs: number, id: string): void => {
      const op = recorder.publishInvoke({ timeMs, client: 'p', node: 1, topic: 'orders', msgId: id, attempt: 1, payload: id });
      recorder.publishOk({ timeMs: timeMs + 1, op, offset: Number(id.slice(1)), duplicate: false });
    };
    if (subscribeAtMs < 10) recorder.subscribe({ timeMs: subscribeAtMs, client: 's', node: 2, sub: 's-1', pattern: 'orders', mode: { type: 'live' } });
    publish(10, 'm1');
    if (subscribeAtMs >= 10) recorder.subscribe({ timeMs: subscribeAtMs, client: 's', node: 2, sub: 's-1', pattern: 'orders', mode: { type: 'live' } });
    publish(30, 'm2');
    recorder.deliver({ timeMs: 40, sub: 's-1', topic: 'orders', offset: 1, msgId: 'm1', payload: 'm1' });
    recorder.deliver({ timeMs: 41, sub: 's-1', topic: 'orders', offset: 2, msgId: 'm2', payload: 'm2' });
    const log = [messageRef(1, 'm1', 'm1'), messageRef(2, 'm2', 'm2')];
    recorder.recordFinalLogs(50, [1, 2, 3].map((node) => ({ node, topics: [{ topic: 'orders', messages: log }] })));
    return recorder.history();
  }

  it('passes a live subscription that delivers only what was acknowledged after it was made', () => {
    expect(checkHistory(liveHistory(5))).toEqual([]);
  });

  it('reports a live subscription that delivers a message acknowledged before it was made', () => {
    const violations = checkHistory(liveHistory(20));
    expect(violations.map((v) => [v.property, v.subscription, v.offset])).toEqual([['Live Start', 's-1', 1]]);
    expect(violations[0]!.detail).toBe('live subscription s-1, made at 20ms, delivered offset 1 of orders, whose publish was acknowledged at 11ms, before it');
  });
});
