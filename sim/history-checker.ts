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
//
// The final logs are the reference: they are the state every node agreed on
// once healed (and where they do not agree, Divergent Topic Order says so, and
// the longest log of the topic stands as the reference for the other checks).
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
  | 'Ordered Delivery';

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
  // A stable sort keeps the check order among violations seen at the same time.
  const sorted = [...context.violations].sort((a, b) => a.timeMs - b.timeMs);
  return sorted.slice(0, options.violationsMax ?? HISTORY_VIOLATIONS_MAX);
}

/** What every check needs: the links between events, and the final logs by node and topic. */
class Context {
  readonly violations: HistoryViolation[] = [];
  readonly links: HistoryLinks;
  readonly windowMs: number;
  readonly readsSeeAcknowledged: boolean;
  /** node -> topic -> messages, in finalLogs order. */
  readonly logs = new Map<NodeId, ReadonlyMap<string, readonly MessageRef[]>>();
  /** topic -> the longest final log of it (the first node's among equals), and whose it is. */
  readonly reference = new Map<string, { readonly node: NodeId; readonly messages: readonly MessageRef[] }>();
  private acks: Map<string, OperationLink[]> | undefined;

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
      for (const [topic, messages] of topics) {
        const best = this.reference.get(topic);
        if (best === undefined || messages.length > best.messages.length) this.reference.set(topic, { node: snapshot.node, messages });
      }
    }
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

  /** The reference log of a topic; empty for a topic no node holds. */
  referenceLog(topic: string): readonly MessageRef[] {
    return this.reference.get(topic)?.messages ?? [];
  }

  logOf(node: NodeId, topic: string): readonly MessageRef[] {
    return this.logs.get(node)?.get(topic) ?? [];
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

// ---- Divergent Topic Order.

/** Once healed, every node in finalLogs holds an identical log of every topic. */
function checkDivergence(context: Context): void {
  for (const [topic, { node: referenceNode, messages: reference }] of context.reference) {
    const differing: NodeId[] = [];
    let firstOffset = Number.MAX_SAFE_INTEGER;
    let example = '';
    for (const node of context.logs.keys()) {
      const log = context.logOf(node, topic);
      const offset = firstDifference(log, reference);
      if (offset === undefined) continue;
      differing.push(node);
      if (offset < firstOffset) {
        firstOffset = offset;
        example =
          `n${node} holds ${log.length} messages and n${referenceNode} ${reference.length}; at offset ${offset} ` +
          `n${node} has ${describe(log[offset - 1])} and n${referenceNode} ${describe(reference[offset - 1])}` +
          (offset > log.length ? behindNote(node, referenceNode, topic) : '');
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

/** The first offset where two logs differ, or undefined when they are identical. */
function firstDifference(a: readonly MessageRef[], b: readonly MessageRef[]): number | undefined {
  const common = Math.min(a.length, b.length);
  for (let k = 0; k < common; k++) if (!sameMessage(a[k] as MessageRef, b[k] as MessageRef)) return k + 1;
  return a.length === b.length ? undefined : common + 1;
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
  const missing: NodeId[] = [];
  let example = '';
  const reference = context.reference.get(topic);
  for (const node of context.logs.keys()) {
    const log = context.logOf(node, topic);
    const stored = log[ok.offset - 1];
    if (stored !== undefined && stored.msgId === msgId && (ok.duplicate || stored.digest === digest)) continue;
    if (missing.length === 0) {
      const behind = stored === undefined && reference !== undefined && firstDifference(log, reference.messages) === log.length + 1;
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
  const stamps = new Map<string, Map<number, { timestampMs: number; index: number }>>();
  const note = (topic: string, offset: number, timestampMs: number, index: number): void => {
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
    if (event.kind !== 'publish-ok' || event.timestampMs === undefined) return;
    const invoke = publishInvokeOf(context, event);
    note(invoke.topic, event.offset, event.timestampMs, index);
    if (!event.duplicate && invoke.after !== undefined && event.timestampMs <= invoke.after) {
      const detail = `op ${invoke.op} asked to be stamped after ${invoke.after} ms and was stamped ${event.timestampMs} ms`;
      context.reportAt(index, { property: 'Causal Order', detail, topic: invoke.topic, offset: event.offset });
    }
  });
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

/**
 * An ORDERED subscription merges its topics by timestamp: each delivery not
 * marked late is stamped no earlier than every delivery before it on the same
 * subscription (deliveries show whole milliseconds, so equal ones pass), and a
 * delivery marked late is stamped earlier than one before it, or the mark lies.
 */
function checkOrderedDeliveries(context: Context): void {
  const latest = new Map<SubscriptionId, { timestampMs: number; topic: string; offset: number }>();
  context.history.events.forEach((event, index) => {
    if (event.kind !== 'deliver' || event.timestampMs === undefined) return;
    if (context.links.subscriptions.get(event.sub)?.subscribe.ordered !== true) return;
    const before = latest.get(event.sub);
    const base = { property: 'Ordered Delivery', subscription: event.sub, topic: event.topic, offset: event.offset } as const;
    const earlier = before !== undefined && event.timestampMs < before.timestampMs;
    if (earlier && event.late !== true) {
      const detail = `${event.topic} offset ${event.offset} stamped ${event.timestampMs} ms was delivered after ${before.topic} offset ${before.offset} stamped ${before.timestampMs} ms, and not marked late`;
      context.reportAt(index, { ...base, detail });
    } else if (!earlier && event.late === true) {
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
    checkGaps(context, stream);
    checkStart(context, stream);
  }
}

function checkDeliveryContent(context: Context, index: number, deliver: Deliver, sub: Subscribe): void {
  const base = { property: 'Delivery Mismatch', subscription: deliver.sub, topic: deliver.topic, offset: deliver.offset } as const;
  if (!subjectMatches(sub.pattern, deliver.topic)) {
    context.reportAt(index, { ...base, detail: `topic ${deliver.topic} does not match the subscription's pattern ${sub.pattern}` });
    return;
  }
  const reference = context.referenceLog(deliver.topic);
  const stored = reference[deliver.offset - 1];
  if (stored === undefined) {
    const detail = `delivered offset ${deliver.offset}, but the final log of ${deliver.topic} holds ${reference.length} messages`;
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
  for (let k = 1; k < offsets.length; k++) {
    const before = offsets[k - 1] as number;
    const after = offsets[k] as number;
    if (after === before + 1) continue;
    const missing = after === before + 2 ? `offset ${before + 1} was` : `offsets ${before + 1} to ${after - 1} were`;
    const detail = `${missing} never delivered, though ${before} and ${after} were`;
    const index = stream.delivered.get(after) as number;
    context.reportAt(index, { property: 'Subscription Gap', detail, subscription: stream.sub.sub, topic: stream.topic, offset: before + 1 });
  }
}

function checkStart(context: Context, stream: Stream): void {
  const mode = stream.sub.mode;
  if (mode.type === 'live') return;
  let first = Number.MAX_SAFE_INTEGER;
  for (const offset of stream.delivered.keys()) first = Math.min(first, offset);
  const allowed = mode.type === 'from-offset' ? [mode.offset] : durableStarts(context, stream, mode.consumer);
  if (allowed.includes(first)) return;
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
  const asked = `read of ${topic} from ${from}, limit ${limit}`;
  if (read.lastOffset > reference.length) {
    return { detail: `${asked} reported lastOffset ${read.lastOffset}, but the final log holds ${reference.length} messages`, offset: read.lastOffset };
  }
  for (let k = 0; k < read.messages.length; k++) {
    const message = read.messages[k] as MessageRef;
    if (message.offset !== from + k) return { detail: `${asked} returned offset ${message.offset} in place ${k}, not ${from + k}`, offset: message.offset };
    const stored = reference[message.offset - 1];
    if (stored === undefined || !sameMessage(stored, message)) {
      return { detail: `${asked} returned ${describe(message)} at offset ${message.offset}, where the final log holds ${describe(stored)}`, offset: message.offset };
    }
  }
  const expected = Math.max(0, Math.min(limit, context.history.historyMessagesMax, read.lastOffset - from + 1));
  if (read.messages.length !== expected) {
    const detail =
      `${asked} returned ${read.messages.length} messages; with lastOffset ${read.lastOffset} and ` +
      `historyMessagesMax ${context.history.historyMessagesMax} it must return ${expected}`;
    return { detail, offset: from };
  }
  if (context.readsSeeAcknowledged && read.lastOffset < acked) {
    return { detail: `${asked} reported lastOffset ${read.lastOffset}, though offset ${acked} was acknowledged before the read began`, offset: acked };
  }
  return undefined;
}
