// Checks a client history (history.ts) against what the broker promises its
// clients. The properties, each defined precisely in docs/history-format.md:
//
//   Acknowledged Publish Lost  an acknowledged publish is at its offset on every node's final log
//   Duplicate Stored           a message id retried within the dedup window is stored once
//   Divergent Topic Order      after healing, every node holds the same log for every topic
//   Subscription Start         a from-offset or durable subscription starts exactly where it must
//   Subscription Gap           a subscription skips no offset of a topic
//   Subscription Repeat        a subscription never delivers an offset twice
//   Subscription Order         a subscription delivers each topic's offsets in increasing order
//   Delivery Mismatch          a delivery is the final log's message at that offset, on a matching topic
//   History Read Mismatch      a history read returns exactly a committed stretch of the final log
//   Timestamp Order            timestamps never decrease along a topic, as acknowledgements and deliveries show them
//   Causal Order               a publish that named a time it had seen (Chorus-Time) is stamped later than it
//   Ordered Delivery           an ORDERED subscription delivers across its topics in timestamp order,
//                              except deliveries marked late, which must truly come after a later one
//   Retention                  a topic keeps no more than its limits allow, and loses only what its
//                              limits or a purge could have removed
//   Live Start                 a live subscription delivers no message acknowledged before it was made
//   Unpublished Message        every message a node stores, or a client is shown, was published by a client
//   Seen Before Published      no message is delivered or read before its first publish was invoked
//   Consumer Ack               an acknowledged consumer offset never rewinds and is always one a client asked for
//   Real-Time Order            a publish invoked after a message was seen committed is stored above it
//   Ordered Skip               an ORDERED durable subscription delivers nothing stamped after a message
//                              it must deliver (committed before it started) before delivering that message
//
// The final logs are the reference: they are the state every node agreed on
// once healed (and where they do not agree, Divergent Topic Order says so, and
// the log of the topic that reaches the highest offset stands as the reference
// for the other checks).
//
// Retention and purges remove a topic's oldest messages, so its final log may
// start above offset 1. An offset below the reference log's first is removed:
// no check compares it with the final logs (a subscription or a read may skip
// it, having come after its removal), and only Retention judges whether it
// could have been removed. At and above the first offset every check is as
// strict as for a topic that never loses a message.
//
// The checker judges only what the clients could know. A request that timed out
// or failed may or may not have taken effect, so it never counts against the
// broker, but it is allowed for: it widens what a later observation may be.

import { subjectMatches } from '../src/broker/subjects.js';
import { assert } from '../src/raft/assert.js';
import type { NodeId } from '../src/raft/types.js';
import {
  HistoryFormatError,
  HistoryLinks,
  historyProblems,
  type AckInvoke,
  type ClientId,
  type Deliver,
  type History,
  type HistoryEvent,
  type HistoryReadOk,
  type MessageRef,
  type OperationLink,
  type PublishInvoke,
  type PublishOk,
  type Subscribe,
  type SubscriptionId,
  type TopicRetention,
  parseHlc,
  topicsWithRemovals,
} from './history.js';

export type HistoryProperty =
  | 'Acknowledged Publish Lost'
  | 'Duplicate Stored'
  | 'Divergent Topic Order'
  | 'Subscription Start'
  | 'Subscription Gap'
  | 'Subscription Repeat'
  | 'Subscription Order'
  | 'Delivery Mismatch'
  | 'History Read Mismatch'
  | 'Timestamp Order'
  | 'Causal Order'
  | 'Ordered Delivery'
  | 'Retention'
  | 'Live Start'
  | 'Unpublished Message'
  | 'Seen Before Published'
  | 'Consumer Ack'
  | 'Real-Time Order'
  | 'Ordered Skip';

export const HISTORY_PROPERTIES: readonly HistoryProperty[] = [
  'Acknowledged Publish Lost',
  'Duplicate Stored',
  'Divergent Topic Order',
  'Subscription Start',
  'Subscription Gap',
  'Subscription Repeat',
  'Subscription Order',
  'Delivery Mismatch',
  'History Read Mismatch',
  'Timestamp Order',
  'Causal Order',
  'Ordered Delivery',
  'Retention',
  'Live Start',
  'Unpublished Message',
  'Seen Before Published',
  'Consumer Ack',
  'Real-Time Order',
  'Ordered Skip',
];

export interface HistoryViolation {
  readonly property: HistoryProperty;
  readonly detail: string;
  /** The client whose event shows the violation; undefined when the final logs alone show it. */
  readonly client: ClientId | undefined;
  readonly subscription: SubscriptionId | undefined;
  readonly topic: string;
  /** The offset at stake; 0 when no single offset is. */
  readonly offset: number;
  /** The nodes whose final logs are involved; empty when none is. */
  readonly nodes: readonly NodeId[];
  readonly timeMs: number;
  /** The index in history.events of the event that shows the violation; -1 for the final logs. */
  readonly event: number;
}

export interface HistoryCheckOptions {
  /** Overrides history.dedupWindowMs, the window in simulated ms within which retries must not store twice. */
  readonly dedupWindowMs?: number;
  /**
   * When true, a history read must see every message whose publish was acknowledged before
   * the read was invoked (no stale reads). Off by default: a node may serve reads from its
   * own applied state, which can lag the leader's.
   */
  readonly readsSeeAcknowledged?: boolean;
  readonly violationsMax?: number;
}

export const HISTORY_VIOLATIONS_MAX = 100;

export function formatHistoryViolation(v: HistoryViolation): string {
  const where = [
    v.client === undefined ? undefined : `client ${v.client}`,
    v.subscription === undefined ? undefined : `sub ${v.subscription}`,
    `topic ${v.topic}`,
    v.offset === 0 ? undefined : `offset ${v.offset}`,
    v.nodes.length === 0 ? undefined : `nodes ${v.nodes.map((n) => `n${n}`).join(',')}`,
  ].filter((part) => part !== undefined);
  return `${v.property} violated at t=${v.timeMs}ms (${where.join(', ')}): ${v.detail}`;
}

/**
 * Checks every property over the whole history and returns the violations,
 * ordered by simulated time. A malformed history is a programmer error (the
 * recorder or the reader should have refused it), so it throws HistoryFormatError.
 */
export function checkHistory(history: History, options: HistoryCheckOptions = {}): HistoryViolation[] {
  return judgeHistory(history, options).violations;
}

/** Per property, how many things it judged: a clean check proves nothing about a property that judged nothing. */
export type HistoryJudged = Record<HistoryProperty, number>;

/** checkHistory, with how many things each property judged (offsets, deliveries, answers, topics: each its own unit). */
export function judgeHistory(history: History, options: HistoryCheckOptions = {}): { violations: HistoryViolation[]; judged: HistoryJudged } {
  const problems = historyProblems(history);
  if (problems.length > 0) throw new HistoryFormatError(problems);
  const context = new Context(history, options);
  checkDivergence(context);
  checkAcknowledged(context);
  checkDuplicates(context);
  checkSubscriptions(context);
  checkReads(context);
  checkTimes(context);
  checkOrderedDeliveries(context);
  checkRetention(context);
  checkProvenance(context);
  checkConsumerAcks(context);
  checkRealTimeOrder(context);
  checkOrderedSkips(context);
  // A stable sort keeps the check order among violations seen at the same time.
  const sorted = [...context.violations].sort((a, b) => a.timeMs - b.timeMs);
  return { violations: sorted.slice(0, options.violationsMax ?? HISTORY_VIOLATIONS_MAX), judged: context.judged };
}

/** What every check needs: the links between events, and the final logs by node and topic. */
class Context {
  readonly violations: HistoryViolation[] = [];
  readonly judged = Object.fromEntries(HISTORY_PROPERTIES.map((property) => [property, 0])) as HistoryJudged;
  readonly links: HistoryLinks;
  readonly windowMs: number;
  readonly readsSeeAcknowledged: boolean;
  /** node -> topic -> messages, in finalLogs order. */
  readonly logs = new Map<NodeId, ReadonlyMap<string, readonly MessageRef[]>>();
  /** topic -> the final log of it that reaches the highest offset (the first node's among equals), and whose it is. */
  readonly reference = new Map<string, { readonly node: NodeId; readonly messages: readonly MessageRef[] }>();
  /** topic -> its limits, for every topic whose oldest messages may be removed: one with a retention entry or a purge. */
  readonly retention = new Map<string, TopicRetention>();
  /** The highest replicated clock the final logs give; undefined when none gives one. */
  readonly clockMs: number | undefined;
  private acks: Map<string, OperationLink[]> | undefined;
  private payloadSizes: Map<string, number> | undefined;

  constructor(
    readonly history: History,
    options: HistoryCheckOptions,
  ) {
    this.windowMs = options.dedupWindowMs ?? history.dedupWindowMs;
    assert(Number.isFinite(this.windowMs) && this.windowMs > 0, `dedupWindowMs must be a positive number, got ${this.windowMs}`);
    this.readsSeeAcknowledged = options.readsSeeAcknowledged ?? false;
    this.links = new HistoryLinks(history.nodes);
    for (const event of history.events) this.links.add(event);
    for (const snapshot of history.finalLogs) {
      const topics = new Map(snapshot.topics.map((t) => [t.topic, t.messages] as const));
      this.logs.set(snapshot.node, topics);
      // For logs dense from 1 (every topic without removals), the highest last offset is the longest log.
      for (const [topic, messages] of topics) {
        const best = this.reference.get(topic);
        if (best === undefined || lastOf(messages) > lastOf(best.messages)) this.reference.set(topic, { node: snapshot.node, messages });
      }
    }
    for (const entry of history.retention ?? []) this.retention.set(entry.topic, entry);
    for (const topic of topicsWithRemovals(history)) {
      if (!this.retention.has(topic)) this.retention.set(topic, { topic, maxMsgs: -1, maxBytes: -1, maxAgeMs: 0 });
    }
    const clocks = history.finalLogs.flatMap((snapshot) => (snapshot.clockMs === undefined ? [] : [snapshot.clockMs]));
    this.clockMs = clocks.length === 0 ? undefined : Math.max(...clocks);
  }

  /**
   * The lowest offset the final logs keep of a topic: the reference log's
   * first. A topic that may lose messages and that no node holds has lost them
   * all; a topic that may not keeps every offset from 1.
   */
  firstKept(topic: string): number {
    const first = this.reference.get(topic)?.messages[0]?.offset;
    if (first !== undefined) return first;
    return this.retention.has(topic) ? Number.POSITIVE_INFINITY : 1;
  }

  /** True for an offset below the first kept: only Retention judges it. */
  isRemoved(topic: string, offset: number): boolean {
    return offset < this.firstKept(topic);
  }

  /** The acks of a durable consumer on a topic, in invocation order; built on first use. */
  acksOf(consumer: string, topic: string): readonly OperationLink[] {
    if (this.acks === undefined) {
      this.acks = new Map();
      for (const link of this.links.operations.values()) {
        if (link.invoke.kind !== 'ack-invoke') continue;
        const key = `${link.invoke.consumer}\u0000${link.invoke.topic}`;
        const list = this.acks.get(key) ?? [];
        list.push(link);
        this.acks.set(key, list);
      }
    }
    return this.acks.get(`${consumer}\u0000${topic}`) ?? [];
  }

  /** The size in bytes of the payload published with this digest; undefined when no publish shows it. */
  payloadBytes(digest: string): number | undefined {
    if (this.payloadSizes === undefined) {
      this.payloadSizes = new Map();
      for (const event of this.history.events) {
        if (event.kind !== 'publish-invoke') continue;
        this.payloadSizes.set(event.digest, event.encoding === 'base64' ? Buffer.from(event.payload, 'base64').length : Buffer.byteLength(event.payload, 'utf8'));
      }
    }
    return this.payloadSizes.get(digest);
  }

  /** The reference log of a topic; empty for a topic no node holds. */
  referenceLog(topic: string): readonly MessageRef[] {
    return this.reference.get(topic)?.messages ?? [];
  }

  logOf(node: NodeId, topic: string): readonly MessageRef[] {
    return this.logs.get(node)?.get(topic) ?? [];
  }

  /** Counts one thing (or `count`) that `property` had to judge, whatever the verdict. */
  judge(property: HistoryProperty, count = 1): void {
    this.judged[property] += count;
  }

  report(violation: Omit<HistoryViolation, 'client' | 'subscription' | 'nodes' | 'event'> & Partial<HistoryViolation>): void {
    const { client, subscription, nodes, event } = violation;
    this.violations.push({ ...violation, client, subscription, nodes: nodes ?? [], event: event ?? -1 });
  }

  /** Reports a violation shown by one event, taking its client, time and index. */
  reportAt(index: number, violation: Omit<HistoryViolation, 'client' | 'timeMs' | 'event' | 'subscription' | 'nodes'> & Partial<HistoryViolation>): void {
    const event = this.history.events[index] as HistoryEvent;
    this.report({ client: event.client, timeMs: event.timeMs, event: index, ...violation });
  }
}

function sameMessage(a: MessageRef, b: MessageRef): boolean {
  return a.msgId === b.msgId && a.digest === b.digest;
}

function describe(message: { readonly msgId?: string; readonly digest: string } | undefined): string {
  if (message === undefined) return 'nothing';
  return message.msgId === undefined ? `digest ${message.digest}` : `msgId ${message.msgId} digest ${message.digest}`;
}

// A final log's offsets go up by one from its first (the reader checks it), so an offset finds its message by arithmetic.

function firstOf(log: readonly MessageRef[]): number {
  return log[0]?.offset ?? Number.POSITIVE_INFINITY;
}

/** The last offset of a log; 0 for an empty one. */
function lastOf(log: readonly MessageRef[]): number {
  return log[log.length - 1]?.offset ?? 0;
}

function messageAt(log: readonly MessageRef[], offset: number): MessageRef | undefined {
  const first = log[0]?.offset;
  return first === undefined ? undefined : log[offset - first];
}

/** How many messages a log holds, and from where when that is not offset 1. */
function holdings(log: readonly MessageRef[]): string {
  const first = log[0]?.offset;
  return first === undefined || first === 1 ? `${log.length} messages` : `${log.length} messages, offsets ${first} to ${lastOf(log)}`;
}

// ---- Divergent Topic Order.

/** Once healed, every node in finalLogs holds an identical log of every topic. */
function checkDivergence(context: Context): void {
  for (const [topic, { node: referenceNode, messages: reference }] of context.reference) {
    const differing: NodeId[] = [];
    let firstOffset = Number.MAX_SAFE_INTEGER;
    let example = '';
    for (const node of context.logs.keys()) {
      context.judge('Divergent Topic Order');
      const log = context.logOf(node, topic);
      const offset = firstDifference(log, reference);
      if (offset === undefined) continue;
      differing.push(node);
      if (offset < firstOffset) {
        firstOffset = offset;
        example =
          `n${node} holds ${holdings(log)} and n${referenceNode} ${holdings(reference)}; at offset ${offset} ` +
          `n${node} has ${describe(messageAt(log, offset))} and n${referenceNode} ${describe(messageAt(reference, offset))}` +
          (offset > lastOf(log) ? behindNote(node, referenceNode, topic) : '');
      }
    }
    if (differing.length === 0) continue;
    const detail = `the nodes' final logs of ${topic} differ: ${example}`;
    const timeMs = context.history.endMs;
    context.report({ property: 'Divergent Topic Order', detail, topic, offset: firstOffset, nodes: [referenceNode, ...differing], timeMs });
  }
}

/**
 * A node whose log is a prefix of the reference is behind, not divergent: it
 * applied less, which a run that failed to converge (a liveness failure) explains.
 */
function behindNote(node: NodeId, referenceNode: NodeId, topic: string): string {
  return ` (n${node}'s log of ${topic} is a prefix of n${referenceNode}'s: it is behind, not divergent)`;
}

/**
 * The first offset where two logs differ (one holds a message there and the
 * other none, or another), or undefined when they are identical. It starts at
 * the lower first offset, so two logs that start apart differ there.
 */
function firstDifference(a: readonly MessageRef[], b: readonly MessageRef[]): number | undefined {
  const end = Math.max(lastOf(a), lastOf(b));
  for (let offset = Math.min(firstOf(a), firstOf(b)); offset <= end; offset++) {
    const x = messageAt(a, offset);
    const y = messageAt(b, offset);
    if (x === undefined || y === undefined || !sameMessage(x, y)) return offset;
  }
  return undefined;
}

/** True when a log holds exactly the reference's messages up to its own end, and the reference more. */
function isBehind(log: readonly MessageRef[], reference: readonly MessageRef[]): boolean {
  const offset = firstDifference(log, reference);
  return offset !== undefined && offset > lastOf(log);
}

// ---- Acknowledged Publish Lost.

/**
 * Every publish-ok names a message that every node's final log holds at that
 * offset: same msgId, and for a fresh store the same payload digest too (a
 * duplicate's payload is not compared by the broker, so neither is it here).
 */
function checkAcknowledged(context: Context): void {
  const freshByOffset = new Map<string, { index: number; invoke: PublishInvoke }>();
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'publish-ok') return;
    context.judge('Acknowledged Publish Lost');
    const invoke = publishInvokeOf(context, event);
    checkAcknowledgedOnNodes(context, index, event, invoke);
    if (event.duplicate) return;
    // Two fresh stores at one offset: one of the two acknowledged messages cannot be there.
    const key = `${invoke.topic}\u0000${event.offset}`;
    const earlier = freshByOffset.get(key);
    if (earlier === undefined) {
      freshByOffset.set(key, { index, invoke });
    } else if (earlier.invoke.msgId === undefined || earlier.invoke.msgId !== invoke.msgId) {
      const detail = `ops ${earlier.invoke.op} and ${invoke.op} were both acknowledged as newly stored at offset ${event.offset}; one of them is not there`;
      context.reportAt(index, { property: 'Acknowledged Publish Lost', detail, topic: invoke.topic, offset: event.offset });
    }
  });
}

function checkAcknowledgedOnNodes(context: Context, index: number, ok: PublishOk, invoke: PublishInvoke): void {
  const { topic, msgId, digest } = invoke;
  const what = `op ${invoke.op} (${describe(invoke)}) acknowledged at offset ${ok.offset}${ok.duplicate ? ' as a duplicate' : ''}`;
  if (ok.duplicate && msgId === undefined) {
    const detail = `${what}, but it carries no message id, so no stored message can stand for it`;
    context.reportAt(index, { property: 'Acknowledged Publish Lost', detail, topic, offset: ok.offset });
    return;
  }
  // A removed offset has nothing to compare with; Retention judges whether it could have been removed.
  if (context.isRemoved(topic, ok.offset)) return;
  const missing: NodeId[] = [];
  let example = '';
  const reference = context.reference.get(topic);
  for (const node of context.logs.keys()) {
    const log = context.logOf(node, topic);
    const stored = messageAt(log, ok.offset);
    if (stored !== undefined && stored.msgId === msgId && (ok.duplicate || stored.digest === digest)) continue;
    if (missing.length === 0) {
      const behind = stored === undefined && reference !== undefined && isBehind(log, reference.messages);
      example = `n${node} holds ${describe(stored)} there` + (behind ? behindNote(node, reference.node, topic) : '');
    }
    missing.push(node);
  }
  if (missing.length === 0) return;
  const detail = `${what} is not at that offset on ${missing.length} of ${context.logs.size} nodes: ${example}`;
  context.reportAt(index, { property: 'Acknowledged Publish Lost', detail, topic, offset: ok.offset, nodes: missing });
}

/**
 * Time. Every timestamp a client was shown (a PubAck's, a delivery's) belongs
 * to one stored message, named by topic and offset; along a topic they must
 * never decrease with the offset. And a publish that asked to be stamped after
 * a time it had seen must be, unless it was a duplicate (which keeps the
 * original message's stamp).
 */
function checkTimes(context: Context): void {
  const hlcs = new Map<string, Map<number, { hlc: Hlc; text: string; index: number }>>();
  const stamps = new Map<string, Map<number, { timestampMs: number; index: number }>>();
  const note = (topic: string, offset: number, timestampMs: number, index: number): void => {
    context.judge('Timestamp Order');
    let topicStamps = stamps.get(topic);
    if (topicStamps === undefined) {
      topicStamps = new Map();
      stamps.set(topic, topicStamps);
    }
    const known = topicStamps.get(offset);
    if (known === undefined) {
      topicStamps.set(offset, { timestampMs, index });
    } else if (known.timestampMs !== timestampMs) {
      // One stored message has one timestamp, however it is shown.
      const detail = `offset ${offset} was shown stamped ${known.timestampMs} ms and then ${timestampMs} ms`;
      context.reportAt(index, { property: 'Timestamp Order', detail, topic, offset });
    }
  };
  context.history.events.forEach((event, index) => {
    if (event.kind === 'deliver' && event.timestampMs !== undefined) note(event.topic, event.offset, event.timestampMs, index);
    if (event.kind === 'publish-ok' && event.hlc !== undefined) noteHlc(context, hlcs, event, index);
    if (event.kind !== 'publish-ok' || event.timestampMs === undefined) return;
    const invoke = publishInvokeOf(context, event);
    note(invoke.topic, event.offset, event.timestampMs, index);
    if (!event.duplicate && invoke.after !== undefined) context.judge('Causal Order');
    if (!event.duplicate && invoke.after !== undefined && event.timestampMs <= invoke.after) {
      const detail = `op ${invoke.op} asked to be stamped after ${invoke.after} ms and was stamped ${event.timestampMs} ms`;
      context.reportAt(index, { property: 'Causal Order', detail, topic: invoke.topic, offset: event.offset });
    }
  });
  checkHlcsIncrease(context, hlcs);
  for (const [topic, topicStamps] of stamps) {
    const offsets = [...topicStamps.keys()].sort((a, b) => a - b);
    for (let i = 1; i < offsets.length; i++) {
      const earlier = topicStamps.get(offsets[i - 1]!)!;
      const later = topicStamps.get(offsets[i]!)!;
      if (later.timestampMs >= earlier.timestampMs) continue;
      const detail = `offset ${offsets[i]} is stamped ${later.timestampMs} ms, before offset ${offsets[i - 1]} at ${earlier.timestampMs} ms`;
      context.reportAt(Math.max(earlier.index, later.index), { property: 'Timestamp Order', detail, topic, offset: offsets[i]! });
    }
  }
}

type Hlc = { readonly l: number; readonly c: number };

/**
 * A PubAck's whole stamp: its milliseconds are the `ts` it gave, and one
 * stored message has one stamp however often it is acknowledged.
 */
function noteHlc(context: Context, hlcs: Map<string, Map<number, { hlc: Hlc; text: string; index: number }>>, ok: PublishOk, index: number): void {
  const hlc = parseHlc(ok.hlc!)!;
  const topic = publishInvokeOf(context, ok).topic;
  const base = { property: 'Timestamp Order', topic, offset: ok.offset } as const;
  if (ok.timestampMs !== undefined && hlc.l !== ok.timestampMs) {
    context.reportAt(index, { ...base, detail: `op ${ok.op}'s acknowledgement gave ts ${ok.timestampMs} ms and hlc ${ok.hlc}, whose milliseconds differ` });
  }
  const topicHlcs = hlcs.get(topic) ?? new Map<number, { hlc: Hlc; text: string; index: number }>();
  hlcs.set(topic, topicHlcs);
  const known = topicHlcs.get(ok.offset);
  if (known === undefined) topicHlcs.set(ok.offset, { hlc, text: ok.hlc!, index });
  else if (known.text !== ok.hlc) context.reportAt(index, { ...base, detail: `offset ${ok.offset} was acknowledged with hlc ${known.text} and then ${ok.hlc}` });
}

/** Along a topic, whole stamps strictly increase with the offset: the log's clock gives every message its own stamp. */
function checkHlcsIncrease(context: Context, hlcs: ReadonlyMap<string, ReadonlyMap<number, { hlc: Hlc; text: string; index: number }>>): void {
  for (const [topic, topicHlcs] of hlcs) {
    const offsets = [...topicHlcs.keys()].sort((a, b) => a - b);
    for (let i = 1; i < offsets.length; i++) {
      const earlier = topicHlcs.get(offsets[i - 1]!)!;
      const later = topicHlcs.get(offsets[i]!)!;
      if (later.hlc.l > earlier.hlc.l || (later.hlc.l === earlier.hlc.l && later.hlc.c > earlier.hlc.c)) continue;
      const detail = `offset ${offsets[i]} was acknowledged with hlc ${later.text}, not after offset ${offsets[i - 1]}'s ${earlier.text}: stamps strictly increase along a topic`;
      context.reportAt(Math.max(earlier.index, later.index), { property: 'Timestamp Order', detail, topic, offset: offsets[i]! });
      break;
    }
  }
}

/**
 * An ORDERED subscription merges its topics by timestamp: each delivery not
 * marked late is stamped no earlier than every delivery before it on the same
 * subscription (deliveries show whole milliseconds, so equal ones pass), and a
 * delivery marked late is stamped no later than one before it, or the mark
 * lies (one of the same millisecond may be late by its stamp's counter).
 */
function checkOrderedDeliveries(context: Context): void {
  const latest = new Map<SubscriptionId, { timestampMs: number; topic: string; offset: number }>();
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'deliver' || event.timestampMs === undefined) return;
    if (context.links.subscriptions.get(event.sub)?.subscribe.ordered !== true) return;
    context.judge('Ordered Delivery');
    const before = latest.get(event.sub);
    const base = { property: 'Ordered Delivery', subscription: event.sub, topic: event.topic, offset: event.offset } as const;
    const earlier = before !== undefined && event.timestampMs < before.timestampMs;
    if (earlier && event.late !== true) {
      const detail = `${event.topic} offset ${event.offset} stamped ${event.timestampMs} ms was delivered after ${before.topic} offset ${before.offset} stamped ${before.timestampMs} ms, and not marked late`;
      context.reportAt(index, { ...base, detail });
    } else if (event.late === true && (before === undefined || event.timestampMs > before.timestampMs)) {
      const detail = `${event.topic} offset ${event.offset} stamped ${event.timestampMs} ms was marked late, but nothing stamped later had been delivered before it`;
      context.reportAt(index, { ...base, detail });
    }
    if (before === undefined || event.timestampMs > before.timestampMs) latest.set(event.sub, { timestampMs: event.timestampMs, topic: event.topic, offset: event.offset });
  });
}

function publishInvokeOf(context: Context, ok: PublishOk): PublishInvoke {
  const invoke = context.links.operations.get(ok.op)?.invoke;
  // The links were checked before any property: a publish-ok always completes a publish-invoke.
  if (invoke?.kind !== 'publish-invoke') throw new Error(`op ${ok.op} is not a publish`);
  return invoke;
}

// ---- Duplicate Stored.

interface MsgIdGroup {
  readonly topic: string;
  readonly msgId: string;
  readonly attempts: { readonly index: number; readonly timeMs: number }[];
  readonly acks: { readonly index: number; readonly offset: number }[];
}

/**
 * Two stored copies of one message id on one topic must come from attempts
 * invoked at least a window apart (the broker forgets an id only after a
 * window). So a node may hold at most as many copies as the largest set of the
 * id's attempts that are pairwise a window apart; picking greedily from the
 * earliest finds that number. When every attempt falls within one window, every
 * acknowledgement must also name the same offset.
 */
function checkDuplicates(context: Context): void {
  for (const group of msgIdGroups(context)) {
    context.judge('Duplicate Stored');
    const copiesMax = windowSeparatedCount(group.attempts.map((a) => a.timeMs), context.windowMs);
    checkCopies(context, group, copiesMax);
    if (copiesMax === 1) checkAckOffsetsAgree(context, group);
  }
}

function msgIdGroups(context: Context): MsgIdGroup[] {
  const groups = new Map<string, MsgIdGroup>();
  context.history.events.forEach((event, index) => {
    if (event.kind === 'publish-invoke' && event.msgId !== undefined) {
      const key = `${event.topic}\u0000${event.msgId}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { topic: event.topic, msgId: event.msgId, attempts: [], acks: [] };
        groups.set(key, group);
      }
      group.attempts.push({ index, timeMs: event.timeMs });
    } else if (event.kind === 'publish-ok') {
      const invoke = publishInvokeOf(context, event);
      if (invoke.msgId !== undefined) groups.get(`${invoke.topic}\u0000${invoke.msgId}`)?.acks.push({ index, offset: event.offset });
    }
  });
  return [...groups.values()];
}

/** The size of the largest subset of `times` (ascending) whose members are pairwise at least `windowMs` apart. */
function windowSeparatedCount(times: readonly number[], windowMs: number): number {
  let count = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const time of times) {
    if (time - last >= windowMs) {
      count += 1;
      last = time;
    }
  }
  return count;
}

function checkCopies(context: Context, group: MsgIdGroup, copiesMax: number): void {
  const over: NodeId[] = [];
  let offsets: number[] = [];
  for (const node of context.logs.keys()) {
    const copies: number[] = [];
    context.logOf(node, group.topic).forEach((m) => {
      if (m.msgId === group.msgId) copies.push(m.offset);
    });
    if (copies.length <= copiesMax) continue;
    if (over.length === 0) offsets = copies;
    over.push(node);
  }
  if (over.length === 0) return;
  const last = group.attempts[group.attempts.length - 1] as { index: number };
  const first = group.attempts[0] as { timeMs: number };
  const spanMs = (context.history.events[last.index] as HistoryEvent).timeMs - first.timeMs;
  const detail =
    `message id ${group.msgId} is stored ${offsets.length} times (offsets ${offsets.join(', ')}), but its ` +
    `${group.attempts.length} attempts span ${spanMs} ms, room for at most ${copiesMax} ${copiesMax === 1 ? 'copy' : 'copies'} ` +
    `with a dedup window of ${context.windowMs} ms`;
  context.reportAt(last.index, { property: 'Duplicate Stored', detail, topic: group.topic, offset: offsets[copiesMax] ?? 0, nodes: over });
}

function checkAckOffsetsAgree(context: Context, group: MsgIdGroup): void {
  const first = group.acks[0];
  if (first === undefined) return;
  const other = group.acks.find((ack) => ack.offset !== first.offset);
  if (other === undefined) return;
  const detail =
    `attempts of message id ${group.msgId}, all within one dedup window, were acknowledged at ` +
    `offsets ${first.offset} and ${other.offset}: only one copy may be stored`;
  context.reportAt(other.index, { property: 'Duplicate Stored', detail, topic: group.topic, offset: other.offset });
}

// ---- Subscriptions and Delivery Mismatch.

interface Stream {
  readonly sub: Subscribe;
  readonly subscribeIndex: number;
  readonly topic: string;
  /** offset -> index of the event that first delivered it. */
  readonly delivered: Map<number, number>;
  maxOffset: number;
  firstIndex: number;
}

/**
 * Per subscription and per topic (a wildcard subscription interleaves topics,
 * and only within a topic is there an order): each delivery is the reference
 * log's message at its offset, never repeats an offset, never goes below the
 * highest offset delivered so far, and the offsets delivered form one gapless
 * run that starts where the subscription's mode says.
 */
function checkSubscriptions(context: Context): void {
  const streams = new Map<string, Stream>();
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'deliver') return;
    const link = context.links.subscriptions.get(event.sub);
    if (link === undefined) throw new Error(`delivery to unknown subscription ${event.sub}`);
    for (const property of ['Delivery Mismatch', 'Subscription Repeat', 'Subscription Order'] as const) context.judge(property);
    checkDeliveryContent(context, index, event, link.subscribe);
    const key = `${event.sub}\u0000${event.topic}`;
    let stream = streams.get(key);
    if (stream === undefined) {
      stream = { sub: link.subscribe, subscribeIndex: link.index, topic: event.topic, delivered: new Map(), maxOffset: 0, firstIndex: index };
      streams.set(key, stream);
    }
    checkDeliveryOrder(context, index, event, stream);
  });
  for (const stream of streams.values()) {
    context.judge('Subscription Gap');
    checkGaps(context, stream);
    checkStart(context, stream);
  }
  checkLiveStarts(context, streams);
}

/**
 * A live subscription means "from now": it may not deliver a message whose
 * publish was acknowledged before the subscription was made (its subscribe
 * event). Such a message was committed before the subscription reached any
 * node, so no node may count it as new. A duplicate's acknowledgement names an
 * older message and proves nothing about when it was stored, so only the
 * first, non-duplicate acknowledgement of an offset counts.
 */
function checkLiveStarts(context: Context, streams: ReadonlyMap<string, Stream>): void {
  const acknowledged = new Map<string, number>();
  for (const link of context.links.operations.values()) {
    const { invoke, completion } = link;
    if (invoke.kind !== 'publish-invoke' || completion?.kind !== 'publish-ok' || completion.duplicate) continue;
    const key = `${invoke.topic}\u0000${completion.offset}`;
    acknowledged.set(key, Math.min(acknowledged.get(key) ?? Number.POSITIVE_INFINITY, link.completionIndex));
  }
  for (const stream of streams.values()) {
    if (stream.sub.mode.type !== 'live') continue;
    context.judge('Live Start');
    for (const [offset, deliverIndex] of [...stream.delivered].sort(([a], [b]) => a - b)) {
      const ackIndex = acknowledged.get(`${stream.topic}\u0000${offset}`);
      if (ackIndex === undefined || ackIndex > stream.subscribeIndex) continue;
      const ack = context.history.events[ackIndex]!;
      const detail = `live subscription ${stream.sub.sub}, made at ${stream.sub.timeMs}ms, delivered offset ${offset} of ${stream.topic}, whose publish was acknowledged at ${ack.timeMs}ms, before it`;
      context.reportAt(deliverIndex, { property: 'Live Start', detail, subscription: stream.sub.sub, topic: stream.topic, offset });
      break;
    }
  }
}

function checkDeliveryContent(context: Context, index: number, deliver: Deliver, sub: Subscribe): void {
  const base = { property: 'Delivery Mismatch', subscription: deliver.sub, topic: deliver.topic, offset: deliver.offset } as const;
  if (!subjectMatches(sub.pattern, deliver.topic)) {
    context.reportAt(index, { ...base, detail: `topic ${deliver.topic} does not match the subscription's pattern ${sub.pattern}` });
    return;
  }
  // A message delivered before its removal cannot be compared; Retention judges the removal.
  if (context.isRemoved(deliver.topic, deliver.offset)) return;
  const reference = context.referenceLog(deliver.topic);
  const stored = messageAt(reference, deliver.offset);
  if (stored === undefined) {
    const detail = `delivered offset ${deliver.offset}, but the final log of ${deliver.topic} holds ${holdings(reference)}`;
    context.reportAt(index, { ...base, detail });
  } else if (!sameMessage(stored, deliver)) {
    const detail = `delivered ${describe(deliver)}, but the final log holds ${describe(stored)} at offset ${deliver.offset}`;
    context.reportAt(index, { ...base, detail });
  }
}

function checkDeliveryOrder(context: Context, index: number, deliver: Deliver, stream: Stream): void {
  const base = { subscription: deliver.sub, topic: deliver.topic, offset: deliver.offset } as const;
  const earlier = stream.delivered.get(deliver.offset);
  if (earlier !== undefined) {
    const detail = `offset ${deliver.offset} delivered again; first delivered at t=${(context.history.events[earlier] as HistoryEvent).timeMs}ms`;
    context.reportAt(index, { ...base, property: 'Subscription Repeat', detail });
    return;
  }
  if (deliver.offset < stream.maxOffset) {
    const detail = `offset ${deliver.offset} delivered after offset ${stream.maxOffset}`;
    context.reportAt(index, { ...base, property: 'Subscription Order', detail });
  }
  stream.delivered.set(deliver.offset, index);
  stream.maxOffset = Math.max(stream.maxOffset, deliver.offset);
}

function checkGaps(context: Context, stream: Stream): void {
  const offsets = [...stream.delivered.keys()].sort((a, b) => a - b);
  const firstKept = context.firstKept(stream.topic);
  for (let k = 1; k < offsets.length; k++) {
    const before = offsets[k - 1] as number;
    const after = offsets[k] as number;
    // Removed offsets may have been gone when the subscription passed them; only kept ones must be delivered.
    const low = Math.max(before + 1, firstKept);
    if (low > after - 1) continue;
    const missing = low === after - 1 ? `offset ${low} was` : `offsets ${low} to ${after - 1} were`;
    const detail = `${missing} never delivered, though ${before} and ${after} were`;
    const index = stream.delivered.get(after) as number;
    context.reportAt(index, { property: 'Subscription Gap', detail, subscription: stream.sub.sub, topic: stream.topic, offset: low });
  }
}

function checkStart(context: Context, stream: Stream): void {
  const mode = stream.sub.mode;
  if (mode.type === 'live') return;
  context.judge('Subscription Start');
  let first = Number.MAX_SAFE_INTEGER;
  for (const offset of stream.delivered.keys()) first = Math.min(first, offset);
  const allowed = mode.type === 'from-offset' ? [mode.offset] : durableStarts(context, stream, mode.consumer);
  if (allowed.includes(first)) return;
  // A subscription may skip from where it must start up to the first kept offset: those may have been removed already.
  if (first <= context.firstKept(stream.topic) && allowed.some((start) => start < first)) return;
  const expected = allowed.length === 1 ? `offset ${allowed[0]}` : `one of offsets ${allowed.join(', ')}`;
  const why =
    mode.type === 'from-offset'
      ? `it subscribed from offset ${mode.offset}`
      : `durable consumer ${mode.consumer} resumes after its acknowledged offset`;
  const detail = `first delivery of ${stream.topic} is offset ${first}, but ${why}, so it must start at ${expected}`;
  const index = stream.delivered.get(first) as number;
  context.reportAt(index, { property: 'Subscription Start', detail, subscription: stream.sub.sub, topic: stream.topic, offset: first });
}

/**
 * Where a durable consumer may resume on a topic: right after the highest
 * offset acknowledged before it subscribed, or right after an ack whose outcome
 * it could not know then (in flight, failed or timed out, or completed only
 * after the subscribe but invoked before the first delivery), since that ack
 * may have been applied first.
 */
function durableStarts(context: Context, stream: Stream, consumer: string): number[] {
  let confirmed = 0;
  const uncertain: number[] = [];
  for (const link of context.acksOf(consumer, stream.topic)) {
    const invoke = link.invoke as AckInvoke;
    // Acks are indexed in invocation order, so the first one after the first delivery ends the search.
    if (link.invokeIndex > stream.firstIndex) break;
    const completion = link.completion;
    const okBefore = completion?.kind === 'ack-ok' && link.completionIndex < stream.subscribeIndex;
    if (okBefore) confirmed = Math.max(confirmed, completion.offset);
    else uncertain.push(completion?.kind === 'ack-ok' ? completion.offset : invoke.offset);
  }
  const starts = new Set([confirmed + 1]);
  for (const offset of uncertain) if (offset > confirmed) starts.add(offset + 1);
  return [...starts].sort((a, b) => a - b);
}

// ---- History Read Mismatch.

/**
 * A history read returns a stretch of the committed log: consecutive offsets
 * from `from`, each the reference log's message, as many as the limit, the page
 * limit and the lastOffset it reports allow, and a lastOffset no node exceeds.
 */
function checkReads(context: Context): void {
  const ackedMax = new Map<string, number>();
  const ackedBeforeRead = new Map<number, number>();
  context.history.events.forEach((event, index) => {
    if (event.kind === 'publish-ok') {
      const topic = publishInvokeOf(context, event).topic;
      ackedMax.set(topic, Math.max(ackedMax.get(topic) ?? 0, event.offset));
    } else if (event.kind === 'history-read-invoke') {
      ackedBeforeRead.set(event.op, ackedMax.get(event.topic) ?? 0);
    } else if (event.kind === 'history-read-ok') {
      context.judge('History Read Mismatch');
      const problem = readProblem(context, event, ackedBeforeRead.get(event.op) ?? 0);
      if (problem === undefined) return;
      const invoke = context.links.operations.get(event.op)?.invoke;
      const topic = invoke?.kind === 'history-read-invoke' ? invoke.topic : '';
      context.reportAt(index, { property: 'History Read Mismatch', topic, ...problem });
    }
  });
}

function readProblem(context: Context, read: HistoryReadOk, acked: number): { detail: string; offset: number } | undefined {
  const invoke = context.links.operations.get(read.op)?.invoke;
  if (invoke?.kind !== 'history-read-invoke') throw new Error(`op ${read.op} is not a history read`);
  const { topic, from, limit } = invoke;
  const reference = context.referenceLog(topic);
  const firstKept = context.firstKept(topic);
  const asked = `read of ${topic} from ${from}, limit ${limit}`;
  // A topic that lost every message has no final last offset to hold lastOffset to.
  const lastKnown = reference.length > 0 || !context.retention.has(topic);
  if (lastKnown && read.lastOffset > lastOf(reference)) {
    return { detail: `${asked} reported lastOffset ${read.lastOffset}, but the final log holds ${holdings(reference)}`, offset: read.lastOffset };
  }
  const start = readStart(from, read, firstKept);
  const mismatch = readMessagesProblem(context, read, topic, start, asked);
  if (mismatch !== undefined) return mismatch;
  // An empty answer is right when everything up to lastOffset may have been removed already.
  const allRemoved = read.messages.length === 0 && read.lastOffset < firstKept;
  const expected = allRemoved ? 0 : Math.max(0, Math.min(limit, context.history.historyMessagesMax, read.lastOffset - start + 1));
  if (read.messages.length !== expected && !mayBePaced(context, read, topic, start, expected)) {
    const detail =
      `${asked} returned ${read.messages.length} messages; with lastOffset ${read.lastOffset} and ` +
      `historyMessagesMax ${context.history.historyMessagesMax} it must return ${expected}`;
    return { detail, offset: start };
  }
  if (context.readsSeeAcknowledged && read.lastOffset < acked) {
    return { detail: `${asked} reported lastOffset ${read.lastOffset}, though offset ${acked} was acknowledged before the read began`, offset: acked };
  }
  return undefined;
}

/** More than any ENTRY frame's control line and header block (Nats-Msg-Id, Chorus-Time) take beyond the topic, the id and the payload. */
const ENTRY_OVERHEAD_BYTES_MAX = 256;
/** More than the INFO a node sends a fresh connection, which may still be unread when its first HISTORY arrives. */
const INFO_BYTES_MAX = 1024;

/**
 * HISTORY pacing: with an output budget (history.outputBytesMax) a node
 * answers a read with as many messages as fit in the room left in the
 * reader's budget, and at least one. A short answer is allowed when it is not
 * empty and its messages and the next one might not all have fit. The
 * workload's reader asks only after it has read all it was sent, so its room
 * is the whole budget, less the INFO a fresh connection may not have read yet.
 */
function mayBePaced(context: Context, read: HistoryReadOk, topic: string, start: number, expected: number): boolean {
  const budget = context.history.outputBytesMax;
  const count = read.messages.length;
  if (budget === undefined || count === 0 || count >= expected) return false;
  let bytesMax = 0;
  for (let offset = start; offset <= start + count; offset++) {
    const message = messageAt(context.referenceLog(topic), offset);
    const payloadBytes = message === undefined ? undefined : context.payloadBytes(message.digest);
    // A message of unknown size might have been big enough not to fit.
    if (message === undefined || payloadBytes === undefined) return true;
    bytesMax += ENTRY_OVERHEAD_BYTES_MAX + topic.length + (message.msgId?.length ?? 0) + payloadBytes;
  }
  return bytesMax > budget - INFO_BYTES_MAX;
}

/**
 * Where a read's answer must start: at `from`, or later when every offset it
 * skips is removed (below the first kept), since those may have been gone when
 * it was served.
 */
function readStart(from: number, read: HistoryReadOk, firstKept: number): number {
  const first = read.messages[0]?.offset;
  return first !== undefined && first > from && first <= firstKept ? first : from;
}

/** The returned messages run from `start` without a hole, each the reference log's message, unless removed. */
function readMessagesProblem(context: Context, read: HistoryReadOk, topic: string, start: number, asked: string): { detail: string; offset: number } | undefined {
  const reference = context.referenceLog(topic);
  for (let k = 0; k < read.messages.length; k++) {
    const message = read.messages[k] as MessageRef;
    if (message.offset !== start + k) return { detail: `${asked} returned offset ${message.offset} in place ${k}, not ${start + k}`, offset: message.offset };
    if (context.isRemoved(topic, message.offset)) continue;
    const stored = messageAt(reference, message.offset);
    if (stored === undefined || !sameMessage(stored, message)) {
      return { detail: `${asked} returned ${describe(message)} at offset ${message.offset}, where the final log holds ${describe(stored)}`, offset: message.offset };
    }
  }
  return undefined;
}

// ---- Retention.

/** What the history shows of one offset of a topic: that a message was there, and what is known of it. */
interface OffsetEvidence {
  /** The first event that shows a message at the offset. */
  readonly index: number;
  /** The earliest timestamp any event gave the message; undefined when none did. */
  timestampMs: number | undefined;
  /** The earliest publish-invoke of the same topic, message id and digest; undefined when none matches. */
  publishedIndex: number | undefined;
}

/** What could have removed a topic's messages, as bounds on the offsets each explains. */
interface Removers {
  readonly limits: TopicRetention;
  /** The reference log's last offset; undefined when no node holds the topic. */
  readonly last: number | undefined;
  /** Offsets up to this may have been removed by max_msgs or max_bytes; 0 when neither applies. */
  readonly byLimitsThrough: number;
  /** Offsets up to this may have been past max_age at the end; 0 when max_age explains none. */
  readonly byAgeThrough: number;
  /** The lowest offset the history shows stamped younger than max_age at the end, which bounds byAgeThrough. */
  readonly youngest: { readonly offset: number; readonly timestampMs: number } | undefined;
  readonly purges: readonly PurgeWindow[];
}

/** A purge that may have taken effect: what it could remove, and until when. */
interface PurgeWindow {
  readonly op: number;
  /** It removes offsets up to this (all for a purge without keep, last - keep with one). */
  readonly through: number;
  /** The index of its purge-ok; it may take effect until then, or until the end when it has none. */
  readonly deadlineIndex: number;
}

/**
 * Per topic whose oldest messages may be removed: no node keeps more than the
 * limits allow, and every removed offset the history shows a message at was
 * removable by a limit or by a purge.
 */
function checkRetention(context: Context): void {
  if (context.retention.size === 0) return;
  const evidence = offsetEvidence(context);
  for (const limits of context.retention.values()) {
    context.judge('Retention');
    checkMessageCount(context, limits);
    checkMessageAge(context, limits);
    checkRemovals(context, limits, evidence.get(limits.topic) ?? new Map());
  }
}

/** max_msgs: no node holds more messages of the topic than it allows. */
function checkMessageCount(context: Context, limits: TopicRetention): void {
  const { topic, maxMsgs } = limits;
  if (maxMsgs === -1) return;
  const over = [...context.logs.keys()].filter((node) => context.logOf(node, topic).length > maxMsgs);
  const first = over[0];
  if (first === undefined) return;
  const log = context.logOf(first, topic);
  const detail = `n${first} keeps ${holdings(log)} of ${topic}, but max_msgs is ${maxMsgs}`;
  context.report({ property: 'Retention', detail, topic, offset: firstOf(log), nodes: over, timeMs: context.history.endMs });
}

/** max_age: on a node whose clock is known, no message with a known stamp is max_age or more older than it. */
function checkMessageAge(context: Context, limits: TopicRetention): void {
  const { topic, maxAgeMs } = limits;
  if (maxAgeMs === 0) return;
  const over: NodeId[] = [];
  let detail = '';
  let offset = 0;
  for (const { node, clockMs } of context.history.finalLogs) {
    if (clockMs === undefined) continue;
    const stale = context.logOf(node, topic).find((m) => m.timestampMs !== undefined && clockMs - m.timestampMs >= maxAgeMs);
    if (stale?.timestampMs === undefined) continue;
    if (over.length === 0) {
      offset = stale.offset;
      const age = `stamped ${stale.timestampMs} ms, ${clockMs - stale.timestampMs} ms before its clock ${clockMs} ms`;
      detail = `n${node} keeps offset ${stale.offset} of ${topic}, ${age}, but max_age is ${maxAgeMs} ms`;
    }
    over.push(node);
  }
  if (over.length > 0) context.report({ property: 'Retention', detail, topic, offset, nodes: over, timeMs: context.history.endMs });
}

/** Every removed offset that the history shows held a message is explained by something that removes messages. */
function checkRemovals(context: Context, limits: TopicRetention, evidence: ReadonlyMap<number, OffsetEvidence>): void {
  const firstKept = context.firstKept(limits.topic);
  const removed = [...evidence.entries()].filter(([offset]) => offset < firstKept).sort((a, b) => a[0] - b[0]);
  if (removed.length === 0) return;
  const removers = removersOf(context, limits, evidence);
  const unexplained = removed.filter(([offset, shown]) => !isExplained(removers, offset, shown));
  const first = unexplained[0];
  if (first === undefined) return;
  const [offset, shown] = first;
  const kept = firstKept === Number.POSITIVE_INFINITY ? 'no node holds any message of it' : `the final logs keep offsets from ${firstKept}`;
  const others = unexplained.slice(1, 6).map(([k]) => k);
  const more = others.length === 0 ? '' : `; so are removed offsets ${others.join(', ')}${unexplained.length > 6 ? ' and more' : ''}`;
  const detail = `offset ${offset} of ${limits.topic} was removed (${kept}), but nothing explains it: ${whyUnexplained(context, removers, offset, shown)}${more}`;
  context.reportAt(shown.index, { property: 'Retention', detail, topic: limits.topic, offset, nodes: [...context.logs.keys()] });
}

function isExplained(removers: Removers, offset: number, shown: OffsetEvidence): boolean {
  if (offset <= removers.byLimitsThrough || offset <= removers.byAgeThrough) return true;
  return removers.purges.some((purge) => offset <= purge.through && (shown.publishedIndex === undefined || shown.publishedIndex < purge.deadlineIndex));
}

function removersOf(context: Context, limits: TopicRetention, evidence: ReadonlyMap<number, OffsetEvidence>): Removers {
  const reference = context.referenceLog(limits.topic);
  const last = reference.length === 0 ? undefined : lastOf(reference);
  let byLimitsThrough = 0;
  if (last !== undefined && limits.maxMsgs !== -1) byLimitsThrough = last - limits.maxMsgs;
  // Sizes are not in the history, so max_bytes may have removed anything but the newest message (a larger one is refused).
  if (last !== undefined && limits.maxBytes !== -1) byLimitsThrough = Math.max(byLimitsThrough, last - 1);
  const youngest = youngestKnown(context, limits, evidence);
  const byAgeThrough = limits.maxAgeMs === 0 ? 0 : context.clockMs === undefined || youngest === undefined ? Number.POSITIVE_INFINITY : youngest.offset - 1;
  return { limits, last, byLimitsThrough, byAgeThrough, youngest, purges: purgeWindows(context, limits.topic, last) };
}

/**
 * The lowest offset whose stamp the history shows to be younger than max_age
 * at the end (the final clock less the stamp is under max_age); undefined when
 * none is, or when max_age or the clock is unknown. Stamps never decrease
 * along a topic (Timestamp Order checks it), so every offset from it up was
 * too young for max_age to remove, while any offset below it may have been old
 * enough, even one whose stamp the history lacks: a client that never saw a
 * message's stamp (its publish timed out, no subscriber was there) leaves no
 * evidence against its removal.
 */
function youngestKnown(context: Context, limits: TopicRetention, evidence: ReadonlyMap<number, OffsetEvidence>): { offset: number; timestampMs: number } | undefined {
  const clockMs = context.clockMs;
  if (limits.maxAgeMs === 0 || clockMs === undefined) return undefined;
  let youngest: { offset: number; timestampMs: number } | undefined;
  for (const [offset, shown] of evidence) {
    if (shown.timestampMs === undefined || clockMs - shown.timestampMs >= limits.maxAgeMs) continue;
    if (youngest === undefined || offset < youngest.offset) youngest = { offset, timestampMs: shown.timestampMs };
  }
  return youngest;
}

/**
 * The purges of a topic that may have taken effect: every one but those the
 * broker refused for good. One that keeps N removes at most up to the last
 * offset at its time less N, and only messages published before it completed.
 * The last offset at its time is at most one below the lowest offset of a
 * message published after it completed, and at most the final last offset.
 */
function purgeWindows(context: Context, topic: string, last: number | undefined): PurgeWindow[] {
  const windows: PurgeWindow[] = [];
  for (const link of context.links.operations.values()) {
    const { invoke, completion } = link;
    if (invoke.kind !== 'purge-invoke' || invoke.topic !== topic) continue;
    if (completion?.kind === 'purge-fail' && !completion.retryable) continue;
    const keep = invoke.keep ?? 0;
    const deadlineIndex = completion?.kind === 'purge-ok' ? link.completionIndex : Number.POSITIVE_INFINITY;
    const lastThen = Math.min(last ?? 0, firstPublishedAfter(context, topic, deadlineIndex) - 1);
    const through = keep === 0 ? Number.POSITIVE_INFINITY : lastThen - keep;
    windows.push({ op: invoke.op, through, deadlineIndex });
  }
  return windows;
}

/** The lowest offset acknowledged to a publish of `topic` invoked after event `index`; infinity when none was. */
function firstPublishedAfter(context: Context, topic: string, index: number): number {
  let lowest = Number.POSITIVE_INFINITY;
  if (index === Number.POSITIVE_INFINITY) return lowest;
  for (const link of context.links.operations.values()) {
    const { invoke, completion } = link;
    if (invoke.kind !== 'publish-invoke' || invoke.topic !== topic || link.invokeIndex <= index) continue;
    if (completion?.kind === 'publish-ok' && !completion.duplicate) lowest = Math.min(lowest, completion.offset);
  }
  return lowest;
}

/** Why each remover leaves an offset in place, in a sentence. */
function whyUnexplained(context: Context, removers: Removers, offset: number, shown: OffsetEvidence): string {
  const { maxMsgs, maxBytes, maxAgeMs } = removers.limits;
  const last = removers.last;
  const byCount = last === undefined ? `max_msgs ${maxMsgs} never empties a topic` : `max_msgs ${maxMsgs} removes offsets up to ${last - maxMsgs} only (the last is ${last})`;
  const reasons = [
    maxMsgs === -1 ? 'no max_msgs' : byCount,
    maxBytes === -1 ? 'no max_bytes' : 'max_bytes never empties a topic',
    maxAgeMs === 0 ? 'no max_age' : ageReason(context, maxAgeMs, offset, removers.youngest!),
    purgeReason(removers.purges, offset),
  ];
  return reasons.join('; ');
}

/** Why max_age leaves an offset: it, or an offset below it, is stamped too recently (an unexplained offset has such a one). */
function ageReason(context: Context, maxAgeMs: number, offset: number, youngest: { offset: number; timestampMs: number }): string {
  const clockMs = context.clockMs as number;
  const age = `only ${clockMs - youngest.timestampMs} ms before the final clock ${clockMs} ms`;
  if (youngest.offset === offset) return `max_age ${maxAgeMs} ms: it is stamped ${youngest.timestampMs} ms, ${age}`;
  return `max_age ${maxAgeMs} ms: offset ${youngest.offset}, below it, is stamped ${youngest.timestampMs} ms, ${age}, and it is stamped no earlier`;
}

function purgeReason(purges: readonly PurgeWindow[], offset: number): string {
  if (purges.length === 0) return 'no purge that may have taken effect';
  const reasons = purges.map((purge) =>
    offset > purge.through ? `op ${purge.op} keeps it` : `op ${purge.op} completed before it was published`,
  );
  return `purges: ${reasons.join(', ')}`;
}

/**
 * Per topic and offset, what the events show: a fresh publish-ok (a duplicate
 * names an offset another publish stored), a delivery or a read naming the offset.
 */
function offsetEvidence(context: Context): Map<string, Map<number, OffsetEvidence>> {
  const byTopic = new Map<string, Map<number, OffsetEvidence>>();
  const firstInvokes = new Map<string, number>();
  const note = (topic: string, message: { offset: number; msgId?: string; digest: string }, index: number, timestampMs: number | undefined): void => {
    if (!context.retention.has(topic)) return;
    const offsets = byTopic.get(topic) ?? new Map<number, OffsetEvidence>();
    byTopic.set(topic, offsets);
    const publishedIndex = firstInvokes.get(messageKey(topic, message));
    const known = offsets.get(message.offset);
    if (known === undefined) {
      offsets.set(message.offset, { index, timestampMs, publishedIndex });
      return;
    }
    known.timestampMs = minDefined(known.timestampMs, timestampMs);
    known.publishedIndex = minDefined(known.publishedIndex, publishedIndex);
  };
  context.history.events.forEach((event, index) => {
    if (event.kind === 'publish-invoke') {
      const key = messageKey(event.topic, event);
      if (!firstInvokes.has(key)) firstInvokes.set(key, index);
    } else if (event.kind === 'publish-ok' && !event.duplicate) {
      const invoke = publishInvokeOf(context, event);
      note(invoke.topic, { offset: event.offset, digest: invoke.digest, ...(invoke.msgId === undefined ? {} : { msgId: invoke.msgId }) }, index, event.timestampMs);
    } else if (event.kind === 'deliver') {
      note(event.topic, event, index, event.timestampMs);
    } else if (event.kind === 'history-read-ok') {
      const invoke = context.links.operations.get(event.op)?.invoke;
      if (invoke?.kind === 'history-read-invoke') for (const message of event.messages) note(invoke.topic, message, index, message.timestampMs);
    }
  });
  return byTopic;
}

/** Names a message by what a client can see of it: the same topic, message id and payload digest. */
function messageKey(topic: string, message: { readonly msgId?: string; readonly digest: string }): string {
  return JSON.stringify([topic, message.msgId ?? null, message.digest]);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

// ---- Where messages come from, and when they may be seen.

/** The index of the earliest publish-invoke of each message, by messageKey: when a client first offered it. */
function firstInvokes(context: Context): Map<string, number> {
  const first = new Map<string, number>();
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'publish-invoke') return;
    const key = messageKey(event.topic, event);
    if (!first.has(key)) first.set(key, index);
  });
  return first;
}

/**
 * Unpublished Message: every message a final log holds, a subscription
 * delivers or a read returns is one some client offered: a publish-invoke of
 * the same topic, message id (or none) and payload digest. Seen Before
 * Published: and no client is shown it before the first such invoke. A
 * broker cannot know a payload before it is sent, so a message seen earlier
 * is one the history misplaces (a client that records its requests late).
 * Each message is reported once, at the first event that shows it.
 */
function checkProvenance(context: Context): void {
  const invoked = firstInvokes(context);
  const reported = new Set<string>();
  const judge = (index: number, topic: string, message: { offset: number; msgId?: string; digest: string }, how: string): void => {
    const key = messageKey(topic, message);
    const first = invoked.get(key);
    context.judge('Unpublished Message');
    if (first !== undefined) context.judge('Seen Before Published');
    if (reported.has(key)) return;
    if (first !== undefined && first < index) return;
    reported.add(key);
    if (first === undefined) {
      const detail = `${how} ${describe(message)} at offset ${message.offset} of ${topic}, which no client published`;
      context.reportAt(index, { property: 'Unpublished Message', detail, topic, offset: message.offset });
    } else {
      const publishedAt = context.history.events[first]!.timeMs;
      const detail = `${how} ${describe(message)} at offset ${message.offset} of ${topic}, before its first publish was invoked (at ${publishedAt}ms, event ${first})`;
      context.reportAt(index, { property: 'Seen Before Published', detail, topic, offset: message.offset });
    }
  };
  context.history.events.forEach((event, index) => {
    if (event.kind === 'deliver') judge(index, event.topic, event, `sub ${event.sub} was delivered`);
    if (event.kind !== 'history-read-ok') return;
    const invoke = context.links.operations.get(event.op)?.invoke;
    if (invoke?.kind === 'history-read-invoke') for (const message of event.messages) judge(index, invoke.topic, message, `op ${event.op} read`);
  });
  for (const [node, topics] of context.logs) {
    for (const [topic, messages] of topics) {
      for (const message of messages) {
        const key = messageKey(topic, message);
        context.judge('Unpublished Message');
        if (reported.has(key) || invoked.has(key)) continue;
        reported.add(key);
        const detail = `n${node}'s final log holds ${describe(message)} at offset ${message.offset} of ${topic}, which no client published`;
        context.report({ property: 'Unpublished Message', detail, topic, offset: message.offset, nodes: [node], timeMs: context.history.endMs });
      }
    }
  }
}

// ---- Consumer Ack.

/**
 * What an ack-ok says, the consumer's acknowledged offset after the ack, is
 * bounded by what clients asked: it is at least the offset this ack asked
 * for (the broker keeps the higher of the two), it is an offset some ack of
 * the same consumer and topic asked for before this answer (the broker
 * invents none), and it is at least every offset an ack-ok of the same
 * consumer and topic gave before this ack was invoked (acks never rewind).
 * One violation per consumer and topic, at its first bad answer.
 */
function checkConsumerAcks(context: Context): void {
  const groups = new Set<string>();
  for (const link of context.links.operations.values()) {
    if (link.invoke.kind === 'ack-invoke') groups.add(JSON.stringify([link.invoke.consumer, link.invoke.topic]));
  }
  for (const group of groups) {
    const [consumer, topic] = JSON.parse(group) as [string, string];
    const acks = context.acksOf(consumer, topic);
    const problem = consumerAckProblem(context, acks);
    if (problem === undefined) continue;
    context.reportAt(problem.index, { property: 'Consumer Ack', detail: `consumer ${consumer} on ${topic}: ${problem.detail}`, topic, offset: problem.offset });
  }
}

function consumerAckProblem(context: Context, acks: readonly OperationLink[]): { index: number; offset: number; detail: string } | undefined {
  // The earliest invocation of each offset, and every answer in the order it came.
  const askedAt = new Map<number, number>();
  for (const link of acks) {
    const offset = (link.invoke as AckInvoke).offset;
    if (!askedAt.has(offset)) askedAt.set(offset, link.invokeIndex);
  }
  const answers = acks.filter((link) => link.completion?.kind === 'ack-ok').sort((a, b) => a.completionIndex - b.completionIndex);
  const problems: { index: number; offset: number; detail: string }[] = [];
  for (const link of answers) {
    context.judge('Consumer Ack');
    const asked = (link.invoke as AckInvoke).offset;
    const given = (link.completion as { offset: number }).offset;
    const index = link.completionIndex;
    if (given < asked) {
      problems.push({ index, offset: given, detail: `op ${link.invoke.op} asked to acknowledge up to ${asked} and was answered ${given}, below it` });
      continue;
    }
    const first = askedAt.get(given);
    if (first === undefined || first > index) {
      problems.push({ index, offset: given, detail: `op ${link.invoke.op} was answered ${given}, an offset no ack of this consumer had asked for` });
      continue;
    }
    const before = answers.filter((other) => other.completionIndex < link.invokeIndex);
    const highest = before.reduce((max, other) => Math.max(max, (other.completion as { offset: number }).offset), 0);
    if (given < highest) {
      const time = context.history.events[link.invokeIndex]!.timeMs;
      problems.push({ index, offset: given, detail: `op ${link.invoke.op}, invoked at ${time}ms after an ack was answered ${highest}, was answered ${given}: the offset went back` });
    }
  }
  return problems[0];
}

// ---- Real-Time Order.

/**
 * Once a client has seen a message committed at offset o of a topic (its
 * publish acknowledged, or the message delivered or read), a message first
 * offered after that is stored above o: it is proposed after o was committed,
 * and a topic's offsets follow the log. Judged for every fresh publish-ok,
 * against everything seen before the first invoke of its message (a retry
 * may store what an earlier attempt offered).
 */
function checkRealTimeOrder(context: Context): void {
  const seen = seenCommitted(context);
  const invoked = firstInvokes(context);
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'publish-ok' || event.duplicate) return;
    const invoke = publishInvokeOf(context, event);
    const offered = invoked.get(messageKey(invoke.topic, invoke)) ?? index;
    const before = highestSeenBefore(seen.get(invoke.topic), offered);
    if (before === undefined) return;
    context.judge('Real-Time Order');
    if (before.offset < event.offset) return;
    const shown = context.history.events[before.index]!;
    const detail =
      `op ${invoke.op} (${describe(invoke)}), first offered at ${context.history.events[offered]!.timeMs}ms, was stored at offset ${event.offset}, ` +
      `but offset ${before.offset} had already been seen committed (at ${shown.timeMs}ms, event ${before.index})`;
    context.reportAt(index, { property: 'Real-Time Order', detail, topic: invoke.topic, offset: event.offset });
  });
}

interface SeenMark {
  readonly index: number;
  readonly offset: number;
  /** The highest offset seen at or before this event. */
  readonly highest: number;
  /** The event that first showed `highest`. */
  readonly highestIndex: number;
}

/** Per topic, in event order, the offsets clients saw committed: acknowledged, delivered or read. */
function seenCommitted(context: Context): Map<string, SeenMark[]> {
  const marks = new Map<string, SeenMark[]>();
  const note = (topic: string, offset: number, index: number): void => {
    const list = marks.get(topic) ?? [];
    marks.set(topic, list);
    const last = list[list.length - 1];
    const higher = last === undefined || offset > last.highest;
    list.push({ index, offset, highest: higher ? offset : last.highest, highestIndex: higher ? index : last.highestIndex });
  };
  context.history.events.forEach((event, index) => {
    if (event.kind === 'publish-ok') note(publishInvokeOf(context, event).topic, event.offset, index);
    else if (event.kind === 'deliver') note(event.topic, event.offset, index);
    else if (event.kind === 'history-read-ok') {
      const invoke = context.links.operations.get(event.op)?.invoke;
      const last = event.messages[event.messages.length - 1];
      if (invoke?.kind === 'history-read-invoke' && last !== undefined) note(invoke.topic, last.offset, index);
    }
  });
  return marks;
}

/** The highest offset seen before event `index`, and the event that showed it; undefined when none was. */
function highestSeenBefore(marks: readonly SeenMark[] | undefined, index: number): { offset: number; index: number } | undefined {
  if (marks === undefined) return undefined;
  let low = 0;
  let high = marks.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (marks[middle]!.index < index) low = middle + 1;
    else high = middle;
  }
  const mark = marks[low - 1];
  return mark === undefined ? undefined : { offset: mark.highest, index: mark.highestIndex };
}

// ---- Ordered Skip.

/**
 * An ORDERED durable subscription replays the stored messages merged by
 * timestamp, after a read barrier: every message committed before it was made
 * is stored on its node when the replay starts, and the replay takes the
 * earliest-stamped of the topics' next messages at each step. So on every
 * topic it matches, the next message it owes (the one after the last it
 * delivered there, or where it may start) must come before any delivery
 * stamped later, whenever that message was seen committed before the
 * subscribe. Judged only where the final log gives the owed message's stamp,
 * and only on kept offsets. From-offset subscriptions have no barrier (their
 * node may not hold the message yet, and then delivers it late), so they are
 * not judged. One violation per subscription and topic.
 */
function checkOrderedSkips(context: Context): void {
  const seen = seenCommitted(context);
  const topics = [...context.reference.keys()];
  for (const { subscribe, index: subscribeIndex } of context.links.subscriptions.values()) {
    if (subscribe.ordered !== true || subscribe.mode.type !== 'durable') continue;
    const consumer = subscribe.mode.consumer;
    const matching = topics.filter((topic) => subjectMatches(subscribe.pattern, topic));
    const committed = new Map(matching.map((topic) => [topic, highestSeenBefore(seen.get(topic), subscribeIndex)?.offset ?? 0] as const));
    const next = new Map(matching.map((topic) => [topic, latestDurableStart(context, consumer, topic, subscribeIndex)] as const));
    const reported = new Set<string>();
    context.history.events.forEach((event, index) => {
      if (event.kind !== 'deliver' || event.sub !== subscribe.sub) return;
      if (next.has(event.topic)) next.set(event.topic, Math.max(next.get(event.topic)!, event.offset + 1));
      if (event.late === true || event.timestampMs === undefined) return;
      for (const topic of matching) {
        if (topic === event.topic || reported.has(topic)) continue;
        const owed = Math.max(next.get(topic)!, context.firstKept(topic));
        if (owed > committed.get(topic)!) continue;
        const message = messageAt(context.referenceLog(topic), owed);
        if (message?.timestampMs === undefined) continue;
        context.judge('Ordered Skip');
        if (message.timestampMs >= event.timestampMs) continue;
        reported.add(topic);
        const detail =
          `delivered ${event.topic} offset ${event.offset} stamped ${event.timestampMs} ms before ${topic} offset ${owed} stamped ` +
          `${message.timestampMs} ms, which was committed before the subscription began and is the next it owes on ${topic}`;
        context.reportAt(index, { property: 'Ordered Skip', detail, subscription: subscribe.sub, topic, offset: owed });
      }
    });
  }
}

/**
 * The highest offset a durable subscription made at event `subscribeIndex`
 * may start at on a topic: one past the highest offset any ack of the
 * consumer there asked for or was answered with before the subscribe (an
 * ack in flight may have been applied first). The highest, so that the check
 * never owes a message the subscription was allowed to start past.
 */
function latestDurableStart(context: Context, consumer: string, topic: string, subscribeIndex: number): number {
  let highest = 0;
  for (const link of context.acksOf(consumer, topic)) {
    if (link.invokeIndex > subscribeIndex) break;
    const answered = link.completion?.kind === 'ack-ok' ? link.completion.offset : 0;
    highest = Math.max(highest, (link.invoke as AckInvoke).offset, answered);
  }
  return highest + 1;
}
