// A client history: what the simulated clients asked of the cluster and what
// they were told, in simulated time, followed by a snapshot of every node's
// topic logs taken after healing. The history checker (history-checker.ts)
// judges the broker from this alone, and so can a checker written elsewhere:
// docs/history-format.md describes the JSON field by field.
//
// Why invocations and completions are separate events: a client that times out
// does not know whether its publish was stored, so the history must say what
// the client knew and when, not what the broker did. Each invocation carries an
// `op` number unique in the history, and its completion (if any) repeats it,
// so a client may have several requests in flight without ambiguity.
//
// Why digests and not payloads in most places: deliveries, reads and final logs
// are compared by value, and a short digest keeps a long run's history small.
// A publish invocation keeps its payload as well, so a person reading the
// history can see what was sent, and its digest is checked against it.
//
// Trust boundary: historyFromJSON reads files that may come from anywhere, so
// it never throws on bad input other than by HistoryFormatError naming the path
// of every bad field. The recorder is fed by our own simulator, so a bad event
// there is a programmer error and throws InvariantError at once.

import { createHash } from 'node:crypto';
import { isValidPublishSubject, isValidSubject } from '../src/protocol/client-subjects.js';
import { assert, unreachable } from '../src/raft/assert.js';
import type { NodeId } from '../src/raft/types.js';

export const HISTORY_FORMAT = 'chorus-history';
export const HISTORY_VERSION = 1;
/** A digest is this many lowercase hex digits: the first 64 bits of the SHA-256 of the payload bytes. */
export const DIGEST_HEX_LENGTH = 16;
/** historyFromJSON stops collecting problems after this many; the first ones are the useful ones. */
export const FORMAT_PROBLEMS_MAX = 20;

export type ClientId = string;
export type SubscriptionId = string;
export type PayloadEncoding = 'utf8' | 'base64';

/** One message as a node stores it, a delivery names it, or a history read returns it. */
export interface MessageRef {
  readonly offset: number;
  readonly msgId?: string;
  readonly digest: string;
  /** The message's timestamp, when the final log or the read gives it. */
  readonly timestampMs?: number;
}

/**
 * A topic's retention limits, as its stream's config gives them. Retention
 * removes a topic's oldest messages, so a topic with an entry may end with a
 * final log that starts above offset 1.
 */
export interface TopicRetention {
  readonly topic: string;
  /** At most this many messages are kept; -1 for no limit. */
  readonly maxMsgs: number;
  /** At most this many bytes are kept; -1 for no limit. Sizes are not in the history, so the checker only lets it explain removals. */
  readonly maxBytes: number;
  /** Messages stamped this long before the replicated clock are removed; 0 for no limit. */
  readonly maxAgeMs: number;
}

interface EventBase {
  /** Simulated milliseconds; fractions allowed. Invariant: never less than the previous event's. */
  readonly timeMs: number;
  readonly client: ClientId;
  /** The node the client is attached to when the event happens. */
  readonly node: NodeId;
}

export interface PublishInvoke extends EventBase {
  readonly kind: 'publish-invoke';
  readonly op: number;
  readonly topic: string;
  readonly msgId?: string;
  /** 1 for the first try of a message, one more for each retry with the same msgId. */
  readonly attempt: number;
  readonly payload: string;
  readonly encoding: PayloadEncoding;
  readonly digest: string;
  /** The time the publisher asked its message to be stamped after (a Chorus-Time header), if it did. */
  readonly after?: number;
}

export interface PublishOk extends EventBase {
  readonly kind: 'publish-ok';
  readonly op: number;
  /** The stored message's offset; for a duplicate, the offset of the message that first carried the msgId. */
  readonly offset: number;
  readonly duplicate: boolean;
  /** The stored message's timestamp, as the acknowledgement gave it, when it did. */
  readonly timestampMs?: number;
  /**
   * The stored message's whole hybrid-logical-clock stamp, as the PubAck's
   * `hlc` gave it, when it did: "<ms>.<counter>". Stamps strictly increase
   * along the log, which milliseconds alone cannot show.
   */
  readonly hlc?: string;
}

export interface PublishFail extends EventBase {
  readonly kind: 'publish-fail';
  readonly op: number;
  readonly error: string;
  readonly retryable: boolean;
}

/** The client stopped waiting. The publish may or may not have been stored, now or later. */
export interface PublishTimeout extends EventBase {
  readonly kind: 'publish-timeout';
  readonly op: number;
}

export type SubscriptionMode =
  | { readonly type: 'live' }
  | { readonly type: 'from-offset'; readonly offset: number }
  | { readonly type: 'durable'; readonly consumer: string };

export interface Subscribe extends EventBase {
  readonly kind: 'subscribe';
  readonly sub: SubscriptionId;
  /** A subject, wildcards allowed. */
  readonly pattern: string;
  readonly mode: SubscriptionMode;
  /** True for an ORDERED subscription: its deliveries, across topics, must come in timestamp order. */
  readonly ordered?: boolean;
}

export interface Deliver extends EventBase {
  readonly kind: 'deliver';
  readonly sub: SubscriptionId;
  readonly topic: string;
  readonly offset: number;
  readonly msgId?: string;
  readonly digest: string;
  /** The message's timestamp, as the delivery gave it, when it did. */
  readonly timestampMs?: number;
  /** True when the delivery was marked late (Chorus-Late): it comes after a later-stamped one. */
  readonly late?: boolean;
}

/** A durable consumer acknowledges every message of `topic` up to and including `offset`. */
export interface AckInvoke extends EventBase {
  readonly kind: 'ack-invoke';
  readonly op: number;
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

export interface AckOk extends EventBase {
  readonly kind: 'ack-ok';
  readonly op: number;
  /** The consumer's acknowledged offset after the ack: acks never rewind, so it may exceed the one asked for. */
  readonly offset: number;
}

export interface AckFail extends EventBase {
  readonly kind: 'ack-fail';
  readonly op: number;
  readonly error: string;
  readonly retryable: boolean;
}

export interface HistoryReadInvoke extends EventBase {
  readonly kind: 'history-read-invoke';
  readonly op: number;
  readonly topic: string;
  readonly from: number;
  readonly limit: number;
}

export interface HistoryReadOk extends EventBase {
  readonly kind: 'history-read-ok';
  readonly op: number;
  /** The topic's last committed offset as the serving node saw it. */
  readonly lastOffset: number;
  readonly messages: readonly MessageRef[];
}

export interface HistoryReadFail extends EventBase {
  readonly kind: 'history-read-fail';
  readonly op: number;
  readonly error: string;
}

/** The client asks to remove a topic's messages: all of them, or all but the newest `keep`. */
export interface PurgeInvoke extends EventBase {
  readonly kind: 'purge-invoke';
  readonly op: number;
  readonly topic: string;
  /** Keep the newest this many; absent (or 0) purges them all. */
  readonly keep?: number;
}

export interface PurgeOk extends EventBase {
  readonly kind: 'purge-ok';
  readonly op: number;
  /** How many messages the purge removed, as the broker said. */
  readonly purged: number;
}

export interface PurgeFail extends EventBase {
  readonly kind: 'purge-fail';
  readonly op: number;
  readonly error: string;
  /** False when the broker refused the purge for good: then it took no effect. */
  readonly retryable: boolean;
}

/** The client stopped waiting. The purge may or may not take effect, now or later. */
export interface PurgeTimeout extends EventBase {
  readonly kind: 'purge-timeout';
  readonly op: number;
}

export type InvokeEvent = PublishInvoke | AckInvoke | HistoryReadInvoke | PurgeInvoke;
export type CompletionEvent =
  | PublishOk
  | PublishFail
  | PublishTimeout
  | AckOk
  | AckFail
  | HistoryReadOk
  | HistoryReadFail
  | PurgeOk
  | PurgeFail
  | PurgeTimeout;
export type HistoryEvent = InvokeEvent | CompletionEvent | Subscribe | Deliver;
export type HistoryEventKind = HistoryEvent['kind'];

export interface TopicSnapshot {
  readonly topic: string;
  /**
   * Invariant: messages[k].offset === messages[0].offset + k, and messages[0].offset
   * is 1 unless the topic has a retention entry or a purge event (which remove the oldest).
   */
  readonly messages: readonly MessageRef[];
}

export interface NodeSnapshot {
  readonly node: NodeId;
  /** The node's replicated clock at the end: the largest leader timestamp it applied, when known. */
  readonly clockMs?: number;
  /** Sorted by topic name, each topic once; a topic with no messages is left out. */
  readonly topics: readonly TopicSnapshot[];
}

export interface History {
  readonly format: typeof HISTORY_FORMAT;
  readonly version: typeof HISTORY_VERSION;
  /** The run's seed, when the history came from a seeded run. */
  readonly seed?: number;
  /** Every node of the cluster. */
  readonly nodes: readonly NodeId[];
  /**
   * The dedup window the checker holds the broker to, in simulated ms: the broker's window
   * reduced by whatever clock offsets and delays the run allows (see docs/history-format.md).
   */
  readonly dedupWindowMs: number;
  /** The broker's page limit for history reads. */
  readonly historyMessagesMax: number;
  /**
   * The nodes' output budget per client connection, in bytes, when the run
   * set one: a history read is then paced to the room left in the reader's
   * budget, and may return fewer messages than its page (see docs/history-format.md).
   */
  readonly outputBytesMax?: number;
  /** The retention limits of the topics that have any, each topic once. */
  readonly retention?: readonly TopicRetention[];
  /** When finalLogs was taken; not before the last event. */
  readonly endMs: number;
  readonly events: readonly HistoryEvent[];
  /** One snapshot per node that was up after healing, each node once. */
  readonly finalLogs: readonly NodeSnapshot[];
}

/** The first 64 bits of the SHA-256 of the payload, in hex: easy to compute in any language. */
export function payloadDigest(payload: Uint8Array | string): string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return createHash('sha256').update(bytes).digest('hex').slice(0, DIGEST_HEX_LENGTH);
}

/** A message reference for a final log or a read, built from the payload. */
export function messageRef(offset: number, payload: Uint8Array | string, msgId?: string, timestampMs?: number): MessageRef {
  const digest = payloadDigest(payload);
  const id = msgId === undefined ? {} : { msgId };
  const stamp = timestampMs === undefined ? {} : { timestampMs };
  return { offset, ...id, digest, ...stamp };
}

/**
 * The topics whose final logs may start above offset 1: those with a
 * retention entry or a purge event. Anything else must keep every offset.
 */
export function topicsWithRemovals(history: Pick<History, 'retention' | 'events'>): ReadonlySet<string> {
  return removalTopicsOf(history.retention, history.events);
}

// ---- Linking: the rules that tie events together, shared by the recorder and the reader.

export interface OperationLink {
  readonly invoke: InvokeEvent;
  readonly invokeIndex: number;
  completion: CompletionEvent | undefined;
  completionIndex: number;
}

export interface SubscriptionLink {
  readonly subscribe: Subscribe;
  readonly index: number;
}

/** Which completions may answer which invocations. */
const COMPLETES: Readonly<Record<CompletionEvent['kind'], InvokeEvent['kind']>> = {
  'publish-ok': 'publish-invoke',
  'publish-fail': 'publish-invoke',
  'publish-timeout': 'publish-invoke',
  'ack-ok': 'ack-invoke',
  'ack-fail': 'ack-invoke',
  'history-read-ok': 'history-read-invoke',
  'history-read-fail': 'history-read-invoke',
  'purge-ok': 'purge-invoke',
  'purge-fail': 'purge-invoke',
  'purge-timeout': 'purge-invoke',
};

const INVOKE_KINDS: ReadonlySet<HistoryEventKind> = new Set(Object.values(COMPLETES));

/** True for an event that opens a request (it carries a new op), not a completion, a subscribe or a delivery. */
export function isInvokeEvent(event: HistoryEvent): event is InvokeEvent {
  return INVOKE_KINDS.has(event.kind);
}

/**
 * Checks each event against those before it: time never goes back, op numbers
 * are unique, a completion answers one earlier invocation of its kind from the
 * same client on the same node, and a delivery belongs to an earlier
 * subscription of the same client. It keeps the links for the checker.
 */
export class HistoryLinks {
  readonly operations = new Map<number, OperationLink>();
  readonly subscriptions = new Map<SubscriptionId, SubscriptionLink>();
  private readonly nodes: ReadonlySet<NodeId>;
  private lastTimeMs = 0;
  private count = 0;

  constructor(nodes: readonly NodeId[]) {
    this.nodes = new Set(nodes);
  }

  get lastEventTimeMs(): number {
    return this.lastTimeMs;
  }

  /** Links the next event; returns a problem (without the event's path) instead when it does not fit. */
  add(event: HistoryEvent): string | undefined {
    const problem = this.problemOf(event);
    if (problem !== undefined) return problem;
    const index = this.count;
    this.count += 1;
    this.lastTimeMs = event.timeMs;
    if (isInvokeEvent(event)) {
      this.operations.set(event.op, { invoke: event, invokeIndex: index, completion: undefined, completionIndex: -1 });
      return undefined;
    }
    switch (event.kind) {
      case 'subscribe':
        this.subscriptions.set(event.sub, { subscribe: event, index });
        return undefined;
      case 'deliver':
        return undefined;
      default: {
        const link = this.operations.get(event.op);
        assert(link !== undefined, 'problemOf accepted a completion without an invocation');
        link.completion = event;
        link.completionIndex = index;
        return undefined;
      }
    }
  }

  private problemOf(event: HistoryEvent): string | undefined {
    if (event.timeMs < this.lastTimeMs) return `timeMs ${event.timeMs} is before the previous event's ${this.lastTimeMs}`;
    if (!this.nodes.has(event.node)) return `node ${event.node} is not one of the history's nodes`;
    if (isInvokeEvent(event)) return this.operations.has(event.op) ? `op ${event.op} is already used by an earlier invocation` : undefined;
    switch (event.kind) {
      case 'subscribe':
        return this.subscriptions.has(event.sub) ? `sub ${JSON.stringify(event.sub)} is already used by an earlier subscribe` : undefined;
      case 'deliver':
        return this.deliveryProblem(event);
      default:
        return this.completionProblem(event);
    }
  }

  private deliveryProblem(event: Deliver): string | undefined {
    const link = this.subscriptions.get(event.sub);
    if (link === undefined) return `sub ${JSON.stringify(event.sub)} names no earlier subscribe`;
    const { client, node } = link.subscribe;
    if (event.client !== client || event.node !== node) {
      return `sub ${JSON.stringify(event.sub)} belongs to client ${JSON.stringify(client)} on node ${node}`;
    }
    return undefined;
  }

  private completionProblem(event: CompletionEvent): string | undefined {
    const link = this.operations.get(event.op);
    if (link === undefined) return `op ${event.op} names no earlier invocation`;
    if (link.invoke.kind !== COMPLETES[event.kind]) return `op ${event.op} is a ${link.invoke.kind}, which a ${event.kind} cannot complete`;
    if (link.completion !== undefined) return `op ${event.op} is already completed`;
    if (event.client !== link.invoke.client || event.node !== link.invoke.node) {
      return `op ${event.op} was invoked by client ${JSON.stringify(link.invoke.client)} on node ${link.invoke.node}`;
    }
    return undefined;
  }
}

// ---- Recording.

export interface HistoryHeader {
  readonly nodes: readonly NodeId[];
  readonly dedupWindowMs: number;
  readonly historyMessagesMax: number;
  readonly outputBytesMax?: number;
  readonly seed?: number;
  readonly retention?: readonly TopicRetention[];
}

type Payload = Uint8Array | string;
/** A message given by payload (the recorder digests it) or by digest. */
export type MessageInput = { readonly offset: number; readonly msgId?: string; readonly timestampMs?: number } & (
  | { readonly payload: Payload }
  | { readonly digest: string }
);

interface At {
  readonly timeMs: number;
}
interface Attached extends At {
  readonly client: ClientId;
  readonly node: NodeId;
}

/**
 * Appends a run's events in the order they happen and, at the end, the final
 * logs. Typed helpers fill in op numbers, digests and the client and node of a
 * completion; append() takes a whole event. Every event is checked on the way
 * in: the simulator feeding it is our code, so a misfit throws.
 */
export class HistoryRecorder {
  private readonly events: HistoryEvent[] = [];
  private readonly links: HistoryLinks;
  private finalLogs: readonly NodeSnapshot[] | undefined;
  private endMs = 0;
  private nextOp = 1;

  constructor(private readonly header: HistoryHeader) {
    const problems: string[] = [];
    checkHeader(header, problems);
    assert(problems.length === 0, `bad history header: ${problems.join('; ')}`);
    this.links = new HistoryLinks(header.nodes);
  }

  get eventCount(): number {
    return this.events.length;
  }

  append(event: HistoryEvent): void {
    assert(this.finalLogs === undefined, 'an event was recorded after the final logs');
    const problems: string[] = [];
    checkEventFields(event, `events[${this.events.length}]`, problems);
    assert(problems.length === 0, problems.join('; '));
    const problem = this.links.add(event);
    assert(problem === undefined, `events[${this.events.length}]: ${problem ?? ''}`);
    this.events.push(event);
    if (isInvokeEvent(event)) this.nextOp = Math.max(this.nextOp, event.op + 1);
  }

  /** Returns the op number that the publish's completion must name. */
  publishInvoke(at: Attached & { topic: string; msgId?: string; attempt: number; payload: Payload; after?: number }): number {
    const op = this.nextOp;
    const { payload, encoding } = encodePayload(at.payload);
    const msgId = at.msgId === undefined ? {} : { msgId: at.msgId };
    const after = at.after === undefined ? {} : { after: at.after };
    const { timeMs, client, node, topic, attempt } = at;
    this.append({ timeMs, client, node, kind: 'publish-invoke', op, topic, ...msgId, attempt, payload, encoding, digest: payloadDigest(at.payload), ...after });
    return op;
  }

  publishOk(at: At & { op: number; offset: number; duplicate: boolean; timestampMs?: number; hlc?: string }): void {
    const stamp = at.timestampMs === undefined ? {} : { timestampMs: at.timestampMs };
    const hlc = at.hlc === undefined ? {} : { hlc: at.hlc };
    this.append({ ...this.completionBase(at), kind: 'publish-ok', op: at.op, offset: at.offset, duplicate: at.duplicate, ...stamp, ...hlc });
  }

  publishFail(at: At & { op: number; error: string; retryable: boolean }): void {
    this.append({ ...this.completionBase(at), kind: 'publish-fail', op: at.op, error: at.error, retryable: at.retryable });
  }

  publishTimeout(at: At & { op: number }): void {
    this.append({ ...this.completionBase(at), kind: 'publish-timeout', op: at.op });
  }

  subscribe(at: Attached & { sub: SubscriptionId; pattern: string; mode: SubscriptionMode; ordered?: boolean }): void {
    const { timeMs, client, node, sub, pattern, mode } = at;
    this.append({ timeMs, client, node, kind: 'subscribe', sub, pattern, mode, ...(at.ordered === true ? { ordered: true } : {}) });
  }

  deliver(at: At & { sub: SubscriptionId; topic: string; timestampMs?: number; late?: boolean } & MessageInput): void {
    const link = this.links.subscriptions.get(at.sub);
    assert(link !== undefined, `delivery to unknown subscription ${at.sub}`);
    const { client, node } = link.subscribe;
    const message = toMessageRef(at);
    const stamp = at.timestampMs === undefined ? {} : { timestampMs: at.timestampMs };
    const late = at.late === true ? { late: true } : {};
    this.append({ timeMs: at.timeMs, client, node, kind: 'deliver', sub: at.sub, topic: at.topic, ...message, ...stamp, ...late });
  }

  ackInvoke(at: Attached & { consumer: string; topic: string; offset: number }): number {
    const op = this.nextOp;
    const { timeMs, client, node, consumer, topic, offset } = at;
    this.append({ timeMs, client, node, kind: 'ack-invoke', op, consumer, topic, offset });
    return op;
  }

  ackOk(at: At & { op: number; offset: number }): void {
    this.append({ ...this.completionBase(at), kind: 'ack-ok', op: at.op, offset: at.offset });
  }

  ackFail(at: At & { op: number; error: string; retryable: boolean }): void {
    this.append({ ...this.completionBase(at), kind: 'ack-fail', op: at.op, error: at.error, retryable: at.retryable });
  }

  historyReadInvoke(at: Attached & { topic: string; from: number; limit: number }): number {
    const op = this.nextOp;
    const { timeMs, client, node, topic, from, limit } = at;
    this.append({ timeMs, client, node, kind: 'history-read-invoke', op, topic, from, limit });
    return op;
  }

  historyReadOk(at: At & { op: number; lastOffset: number; messages: readonly MessageInput[] }): void {
    const messages = at.messages.map(toMessageRef);
    this.append({ ...this.completionBase(at), kind: 'history-read-ok', op: at.op, lastOffset: at.lastOffset, messages });
  }

  historyReadFail(at: At & { op: number; error: string }): void {
    this.append({ ...this.completionBase(at), kind: 'history-read-fail', op: at.op, error: at.error });
  }

  /** Returns the op number that the purge's completion must name. */
  purgeInvoke(at: Attached & { topic: string; keep?: number }): number {
    const op = this.nextOp;
    const { timeMs, client, node, topic } = at;
    this.append({ timeMs, client, node, kind: 'purge-invoke', op, topic, ...(at.keep === undefined ? {} : { keep: at.keep }) });
    return op;
  }

  // The purge completions take the client and node from the caller, and linking checks them against the invocation.
  purgeOk(at: Attached & { op: number; purged: number }): void {
    const { timeMs, client, node, op, purged } = at;
    this.append({ timeMs, client, node, kind: 'purge-ok', op, purged });
  }

  purgeFail(at: Attached & { op: number; error: string; retryable: boolean }): void {
    const { timeMs, client, node, op, error, retryable } = at;
    this.append({ timeMs, client, node, kind: 'purge-fail', op, error, retryable });
  }

  purgeTimeout(at: Attached & { op: number }): void {
    const { timeMs, client, node, op } = at;
    this.append({ timeMs, client, node, kind: 'purge-timeout', op });
  }

  /** Records the nodes' logs after healing; no event may follow. Topics are sorted here. */
  recordFinalLogs(timeMs: number, logs: readonly NodeSnapshot[]): void {
    assert(this.finalLogs === undefined, 'the final logs were already recorded');
    const sorted = logs.map((log) => ({
      node: log.node,
      ...(log.clockMs === undefined ? {} : { clockMs: log.clockMs }),
      topics: [...log.topics].sort((a, b) => compareText(a.topic, b.topic)),
    }));
    const problems: string[] = [];
    checkFinalLogs(sorted, this.header.nodes, removalTopicsOf(this.header.retention, this.events), problems);
    assert(problems.length === 0, problems.join('; '));
    assert(timeMs >= this.links.lastEventTimeMs, `final logs at ${timeMs} ms, before the last event`);
    this.finalLogs = sorted;
    this.endMs = timeMs;
  }

  /** The complete history. Throws until the final logs are recorded: without them nothing can be checked. */
  history(): History {
    assert(this.finalLogs !== undefined, 'the history is incomplete until recordFinalLogs is called');
    const { nodes, dedupWindowMs, historyMessagesMax, outputBytesMax, seed, retention } = this.header;
    const seedField = seed === undefined ? {} : { seed };
    const retentionField = retention === undefined ? {} : { retention: retention.map(copyRetention) };
    return {
      format: HISTORY_FORMAT,
      version: HISTORY_VERSION,
      ...seedField,
      nodes,
      dedupWindowMs,
      historyMessagesMax,
      ...(outputBytesMax === undefined ? {} : { outputBytesMax }),
      ...retentionField,
      endMs: this.endMs,
      events: [...this.events],
      finalLogs: this.finalLogs,
    };
  }

  toJSON(): string {
    return historyToJSON(this.history());
  }

  private completionBase(at: At & { op: number }): EventBase {
    const link = this.links.operations.get(at.op);
    assert(link !== undefined, `completion of unknown op ${at.op}`);
    return { timeMs: at.timeMs, client: link.invoke.client, node: link.invoke.node };
  }
}

/** Text that is strict UTF-8 stays readable; other bytes go as base64. */
function encodePayload(payload: Payload): { payload: string; encoding: PayloadEncoding } {
  if (typeof payload === 'string') return { payload, encoding: 'utf8' };
  try {
    return { payload: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload), encoding: 'utf8' };
  } catch {
    return { payload: Buffer.from(payload).toString('base64'), encoding: 'base64' };
  }
}

function toMessageRef(input: MessageInput): MessageRef {
  const digest = 'digest' in input ? input.digest : payloadDigest(input.payload);
  return copyMessageRef({ offset: input.offset, msgId: input.msgId, digest, timestampMs: input.timestampMs });
}

// ---- JSON out.

/**
 * One line per event and per final-log message, so a long history can be read
 * with grep and compared with diff. Keys go in a fixed order, kind first, so
 * equal histories give equal text.
 */
export function historyToJSON(history: History): string {
  const lines: string[] = ['{'];
  lines.push(`  "format": ${JSON.stringify(history.format)},`);
  lines.push(`  "version": ${history.version},`);
  if (history.seed !== undefined) lines.push(`  "seed": ${history.seed},`);
  lines.push(`  "nodes": ${JSON.stringify(history.nodes)},`);
  lines.push(`  "dedupWindowMs": ${history.dedupWindowMs},`);
  lines.push(`  "historyMessagesMax": ${history.historyMessagesMax},`);
  if (history.outputBytesMax !== undefined) lines.push(`  "outputBytesMax": ${history.outputBytesMax},`);
  if (history.retention !== undefined) lines.push(...retentionLines(history.retention));
  lines.push(`  "endMs": ${history.endMs},`);
  lines.push(`  "events": [${history.events.length === 0 ? '],' : ''}`);
  history.events.forEach((event, i) => lines.push(`    ${JSON.stringify(canonicalEvent(event))}${i + 1 < history.events.length ? ',' : ''}`));
  if (history.events.length > 0) lines.push('  ],');
  lines.push(`  "finalLogs": [${history.finalLogs.length === 0 ? ']' : ''}`);
  history.finalLogs.forEach((log, i) => {
    lines.push(`    {"node":${log.node},${log.clockMs === undefined ? '' : `"clockMs":${log.clockMs},`}"topics":[`);
    log.topics.forEach((topic, j) => {
      lines.push(`      {"topic":${JSON.stringify(topic.topic)},"messages":[`);
      topic.messages.forEach((m, k) => lines.push(`        ${JSON.stringify(copyMessageRef(m))}${k + 1 < topic.messages.length ? ',' : ''}`));
      lines.push(`      ]}${j + 1 < log.topics.length ? ',' : ''}`);
    });
    lines.push(`    ]}${i + 1 < history.finalLogs.length ? ',' : ''}`);
  });
  if (history.finalLogs.length > 0) lines.push('  ]');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** One line per topic's limits, like the events. */
function retentionLines(retention: readonly TopicRetention[]): string[] {
  if (retention.length === 0) return ['  "retention": [],'];
  const entries = retention.map((entry, i) => `    ${JSON.stringify(copyRetention(entry))}${i + 1 < retention.length ? ',' : ''}`);
  return ['  "retention": [', ...entries, '  ],'];
}

/** A copy with the keys in canonical order. */
function copyRetention(entry: TopicRetention | Json): TopicRetention {
  const { topic, maxMsgs, maxBytes, maxAgeMs } = entry as TopicRetention;
  return { topic, maxMsgs, maxBytes, maxAgeMs };
}

// ---- JSON in.

export class HistoryFormatError extends Error {
  override name = 'HistoryFormatError';
  constructor(readonly problems: readonly string[]) {
    super(`not a valid chorus history: ${problems.join('; ')}`);
  }
}

export type HistoryReadResult = { readonly ok: true; readonly history: History } | { readonly ok: false; readonly problems: readonly string[] };

/** Parses and validates a history. Never throws: every problem names the path of its field. */
export function readHistoryJSON(text: string): HistoryReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  const problems: string[] = [];
  const history = decodeHistory(value, problems);
  if (history === undefined || problems.length > 0) return { ok: false, problems: problems.slice(0, FORMAT_PROBLEMS_MAX) };
  return { ok: true, history };
}

/** Parses and validates a history; throws HistoryFormatError listing the bad fields by path. */
export function historyFromJSON(text: string): History {
  const result = readHistoryJSON(text);
  if (!result.ok) throw new HistoryFormatError(result.problems);
  return result.history;
}

/** The problems of an in-memory history, as the reader would report them; empty when it is valid. */
export function historyProblems(history: History): string[] {
  const problems: string[] = [];
  decodeHistory(JSON.parse(historyToJSON(history)), problems);
  return problems.slice(0, FORMAT_PROBLEMS_MAX);
}

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const HISTORY_KEYS = ['format', 'version', 'seed', 'nodes', 'dedupWindowMs', 'historyMessagesMax', 'outputBytesMax', 'retention', 'endMs', 'events', 'finalLogs'];

function decodeHistory(value: unknown, problems: string[]): History | undefined {
  if (!isObject(value)) {
    problems.push('the history must be a JSON object');
    return undefined;
  }
  if (value.format !== HISTORY_FORMAT) problems.push(`format must be ${JSON.stringify(HISTORY_FORMAT)}`);
  if (value.version !== HISTORY_VERSION) {
    problems.push(`version must be ${HISTORY_VERSION} (this reader knows only version ${HISTORY_VERSION}), got ${JSON.stringify(value.version)}`);
    return undefined;
  }
  unknownKeys(value, HISTORY_KEYS, '', problems);
  const { nodes, dedupWindowMs, historyMessagesMax, outputBytesMax, seed, retention } = value;
  const header: RawHeader = { nodes, dedupWindowMs, historyMessagesMax, outputBytesMax, seed, retention };
  const before = problems.length;
  checkHeader(header, problems);
  const endMs = value.endMs;
  if (!isTime(endMs)) problems.push(`endMs must be a non-negative finite number, got ${show(endMs)}`);
  if (problems.length > before || !isTime(endMs)) return undefined;
  const nodeIds = nodes as NodeId[];
  const events = decodeEvents(value.events, nodeIds, endMs, problems);
  // The topics come from the raw events, so a final log is held to the same rule whether or not every event is well formed.
  const finalLogs = decodeFinalLogs(value.finalLogs, nodeIds, removalTopicsOf(retention, value.events), problems);
  if (events === undefined || finalLogs === undefined) return undefined;
  const seedField = seed === undefined ? {} : { seed: seed as number };
  const retentionField = retention === undefined ? {} : { retention: (retention as Json[]).map(copyRetention) };
  const limits = {
    dedupWindowMs: dedupWindowMs as number,
    historyMessagesMax: historyMessagesMax as number,
    ...(outputBytesMax === undefined ? {} : { outputBytesMax: outputBytesMax as number }),
  };
  return { format: HISTORY_FORMAT, version: HISTORY_VERSION, ...seedField, nodes: nodeIds, ...limits, ...retentionField, endMs, events, finalLogs };
}

interface RawHeader {
  readonly nodes: unknown;
  readonly dedupWindowMs: unknown;
  readonly historyMessagesMax: unknown;
  readonly outputBytesMax?: unknown;
  readonly seed?: unknown;
  readonly retention?: unknown;
}

function checkHeader(header: RawHeader, problems: string[]): void {
  const { nodes, dedupWindowMs, historyMessagesMax, outputBytesMax, seed, retention } = header;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    problems.push('nodes must be a non-empty array of node ids');
  } else {
    nodes.forEach((node: unknown, i) => {
      if (!isPositiveInteger(node)) problems.push(`nodes[${i}] must be a positive integer, got ${show(node)}`);
      else if (nodes.indexOf(node) !== i) problems.push(`nodes[${i}] repeats node ${node}`);
    });
  }
  if (typeof dedupWindowMs !== 'number' || !Number.isFinite(dedupWindowMs) || dedupWindowMs <= 0) {
    problems.push(`dedupWindowMs must be a positive finite number, got ${show(dedupWindowMs)}`);
  }
  if (!isPositiveInteger(historyMessagesMax)) problems.push(`historyMessagesMax must be a positive integer, got ${show(historyMessagesMax)}`);
  if (outputBytesMax !== undefined && !isPositiveInteger(outputBytesMax)) problems.push(`outputBytesMax must be a positive integer, got ${show(outputBytesMax)}`);
  if (seed !== undefined && !(Number.isSafeInteger(seed) && (seed as number) >= 0)) {
    problems.push(`seed must be a non-negative integer, got ${show(seed)}`);
  }
  if (retention !== undefined) checkRetention(retention, problems);
}

const RETENTION_KEYS = ['topic', 'maxMsgs', 'maxBytes', 'maxAgeMs'];

/** Each entry names one literal topic, once, with limits as a stream config gives them. */
function checkRetention(value: unknown, problems: string[]): void {
  if (!Array.isArray(value)) {
    problems.push(`retention must be an array of topic limits, got ${show(value)}`);
    return;
  }
  const seen = new Set<string>();
  value.forEach((entry: unknown, i) => {
    const path = `retention[${i}]`;
    if (!isObject(entry)) {
      problems.push(`${path} must be an object`);
      return;
    }
    unknownKeys(entry, RETENTION_KEYS, `${path}.`, problems);
    const topic = entry.topic;
    if (typeof topic !== 'string' || !isValidPublishSubject(topic)) problems.push(`${path}.topic must be a literal subject (no wildcards), got ${show(topic)}`);
    else if (seen.has(topic)) problems.push(`${path}.topic repeats topic ${JSON.stringify(topic)}: each topic has one entry`);
    if (typeof topic === 'string') seen.add(topic);
    for (const key of ['maxMsgs', 'maxBytes']) {
      if (!isLimit(entry[key])) problems.push(`${path}.${key} must be -1 (no limit) or a positive integer, got ${show(entry[key])}`);
    }
    if (!isTime(entry.maxAgeMs)) problems.push(`${path}.maxAgeMs must be 0 (no limit) or a positive finite number, got ${show(entry.maxAgeMs)}`);
  });
}

function isLimit(value: unknown): boolean {
  return value === -1 || isPositiveInteger(value);
}

/**
 * The topics with a retention entry or a purge-invoke. Lenient about malformed
 * input, which the rest of the reader reports: this only decides which rule a
 * final log's first offset is held to.
 */
function removalTopicsOf(retention: unknown, events: unknown): Set<string> {
  const topics = new Set<string>();
  const add = (item: unknown): void => {
    if (isObject(item) && typeof item.topic === 'string') topics.add(item.topic);
  };
  if (Array.isArray(retention)) retention.forEach(add);
  if (!Array.isArray(events)) return topics;
  for (const event of events as unknown[]) {
    if (isObject(event) && event.kind === 'purge-invoke') add(event);
  }
  return topics;
}

function decodeEvents(value: unknown, nodes: readonly NodeId[], endMs: number, problems: string[]): HistoryEvent[] | undefined {
  if (!Array.isArray(value)) {
    problems.push('events must be an array');
    return undefined;
  }
  const links = new HistoryLinks(nodes);
  const events: HistoryEvent[] = [];
  let valid = true;
  value.forEach((item: unknown, i) => {
    // A badly broken file gives its first problems, not a million of them.
    if (problems.length >= FORMAT_PROBLEMS_MAX) return;
    const event = decodeEvent(item, `events[${i}]`, problems);
    // Linking needs every earlier event, so the links stop at the first malformed one.
    if (event === undefined) valid = false;
    if (event === undefined || !valid) return;
    const problem = links.add(event);
    if (problem !== undefined) {
      problems.push(`events[${i}]: ${problem}`);
      valid = false;
    }
    events.push(event);
  });
  if (valid && links.lastEventTimeMs > endMs) problems.push(`endMs ${endMs} is before the last event's timeMs ${links.lastEventTimeMs}`);
  return valid ? events : undefined;
}

function decodeFinalLogs(value: unknown, nodes: readonly NodeId[], removalTopics: ReadonlySet<string>, problems: string[]): NodeSnapshot[] | undefined {
  if (!Array.isArray(value)) {
    problems.push('finalLogs must be an array');
    return undefined;
  }
  const before = problems.length;
  checkFinalLogs(value, nodes, removalTopics, problems);
  if (problems.length > before) return undefined;
  return (value as Json[]).map((log) => ({
    node: log.node as NodeId,
    ...(log.clockMs === undefined ? {} : { clockMs: log.clockMs as number }),
    topics: (log.topics as Json[]).map((topic) => ({
      topic: topic.topic as string,
      messages: (topic.messages as unknown[]).map((m) => copyMessageRef(m as Json)),
    })),
  }));
}

function checkFinalLogs(value: readonly unknown[], nodes: readonly NodeId[], removalTopics: ReadonlySet<string>, problems: string[]): void {
  if (value.length === 0) problems.push('finalLogs must hold at least one node: without them nothing can be checked');
  const seen = new Set<unknown>();
  value.forEach((log, i) => {
    const path = `finalLogs[${i}]`;
    if (!isObject(log)) {
      problems.push(`${path} must be an object`);
      return;
    }
    unknownKeys(log, ['node', 'clockMs', 'topics'], `${path}.`, problems);
    if (!isPositiveInteger(log.node) || !nodes.includes(log.node)) problems.push(`${path}.node must be one of the history's nodes, got ${show(log.node)}`);
    else if (seen.has(log.node)) problems.push(`${path}.node repeats node ${log.node}`);
    seen.add(log.node);
    if (log.clockMs !== undefined) checkField(log, 'clockMs', 'time', `${path}.clockMs`, problems);
    const topics = log.topics;
    if (!Array.isArray(topics)) {
      problems.push(`${path}.topics must be an array`);
      return;
    }
    topics.forEach((topic: unknown, j) => checkTopicSnapshot(topic, `${path}.topics[${j}]`, topics[j - 1], removalTopics, problems));
  });
}

function checkTopicSnapshot(topic: unknown, path: string, previous: unknown, removalTopics: ReadonlySet<string>, problems: string[]): void {
  if (!isObject(topic)) {
    problems.push(`${path} must be an object`);
    return;
  }
  unknownKeys(topic, ['topic', 'messages'], `${path}.`, problems);
  if (typeof topic.topic !== 'string' || !isValidPublishSubject(topic.topic)) {
    problems.push(`${path}.topic must be a literal subject, got ${show(topic.topic)}`);
  } else if (isObject(previous) && typeof previous.topic === 'string' && compareText(previous.topic, topic.topic) >= 0) {
    problems.push(`${path}.topic ${JSON.stringify(topic.topic)} is out of order: topics are sorted by name, each once`);
  }
  if (!Array.isArray(topic.messages)) {
    problems.push(`${path}.messages must be an array`);
    return;
  }
  const mayStartAbove1 = typeof topic.topic === 'string' && removalTopics.has(topic.topic);
  checkSnapshotOffsets(topic.messages, path, mayStartAbove1, problems);
}

/**
 * Offsets go up by one from the first. Only retention and purges remove
 * messages, and only the oldest, so only a topic with either may start above 1.
 */
function checkSnapshotOffsets(messages: readonly unknown[], path: string, mayStartAbove1: boolean, problems: string[]): void {
  // Undefined while the first offset is unknown (its message is malformed), so later ones are not judged against a guess.
  let first: number | undefined = mayStartAbove1 ? undefined : 1;
  messages.forEach((message: unknown, k) => {
    const at = `${path}.messages[${k}]`;
    if (!checkMessageRef(message, at, problems)) return;
    const offset = (message as Json).offset as number;
    if (k === 0 && first === undefined) first = offset;
    if (first === undefined || offset === first + k) return;
    const rule = mayStartAbove1 ? 'offsets increase by one from the first' : 'offsets are dense from 1';
    problems.push(`${at}.offset must be ${first + k}: ${rule}`);
  });
}

/** Returns true when the message is well formed. */
function checkMessageRef(value: unknown, path: string, problems: string[]): boolean {
  if (!isObject(value)) {
    problems.push(`${path} must be an object`);
    return false;
  }
  const before = problems.length;
  unknownKeys(value, ['offset', 'msgId', 'digest', 'timestampMs'], `${path}.`, problems);
  checkField(value, 'offset', 'offset', `${path}.offset`, problems);
  if (value.msgId !== undefined) checkField(value, 'msgId', 'name', `${path}.msgId`, problems);
  checkField(value, 'digest', 'digest', `${path}.digest`, problems);
  if (value.timestampMs !== undefined) checkField(value, 'timestampMs', 'time', `${path}.timestampMs`, problems);
  return problems.length === before;
}

/** A copy with the keys in canonical order and no key whose value is undefined. */
function copyMessageRef(value: Json | MessageRef): MessageRef {
  const { offset, msgId, digest, timestampMs } = value as MessageRef;
  const id = msgId === undefined ? {} : { msgId };
  const stamp = timestampMs === undefined ? {} : { timestampMs };
  return { offset, ...id, digest, ...stamp };
}

// ---- Event fields, by kind.

type FieldType =
  | 'time'
  | 'node'
  | 'op'
  | 'offset'
  | 'count'
  | 'name'
  | 'text'
  | 'boolean'
  | 'topic'
  | 'pattern'
  | 'digest'
  | 'encoding'
  | 'mode'
  | 'messages'
  | 'hlc'
  | 'kind';

interface RequiredField {
  readonly type: FieldType;
  readonly optional?: false;
}
interface OptionalField {
  readonly type: FieldType;
  readonly optional: true;
}

/** Exactly the fields of one event type, each optional in the table exactly when it is optional in the type. */
type FieldTable<E> = { readonly [F in keyof E]-?: undefined extends E[F] ? OptionalField : RequiredField };
type EventTables = { readonly [K in HistoryEventKind]: FieldTable<Extract<HistoryEvent, { kind: K }>> };

const BASE = { kind: { type: 'kind' }, timeMs: { type: 'time' }, client: { type: 'name' }, node: { type: 'node' } } as const;

// The order of each table is the order of keys in the JSON this module writes.
const EVENT_FIELDS: EventTables = {
  'publish-invoke': {
    ...BASE,
    op: { type: 'op' },
    topic: { type: 'topic' },
    msgId: { type: 'name', optional: true },
    attempt: { type: 'offset' },
    payload: { type: 'text' },
    encoding: { type: 'encoding' },
    digest: { type: 'digest' },
    after: { type: 'time', optional: true },
  },
  'publish-ok': {
    ...BASE,
    op: { type: 'op' },
    offset: { type: 'offset' },
    duplicate: { type: 'boolean' },
    timestampMs: { type: 'time', optional: true },
    hlc: { type: 'hlc', optional: true },
  },
  'publish-fail': { ...BASE, op: { type: 'op' }, error: { type: 'text' }, retryable: { type: 'boolean' } },
  'publish-timeout': { ...BASE, op: { type: 'op' } },
  subscribe: { ...BASE, sub: { type: 'name' }, pattern: { type: 'pattern' }, mode: { type: 'mode' }, ordered: { type: 'boolean', optional: true } },
  deliver: {
    ...BASE,
    sub: { type: 'name' },
    topic: { type: 'topic' },
    offset: { type: 'offset' },
    msgId: { type: 'name', optional: true },
    digest: { type: 'digest' },
    timestampMs: { type: 'time', optional: true },
    late: { type: 'boolean', optional: true },
  },
  'ack-invoke': { ...BASE, op: { type: 'op' }, consumer: { type: 'name' }, topic: { type: 'topic' }, offset: { type: 'offset' } },
  'ack-ok': { ...BASE, op: { type: 'op' }, offset: { type: 'offset' } },
  'ack-fail': { ...BASE, op: { type: 'op' }, error: { type: 'text' }, retryable: { type: 'boolean' } },
  'history-read-invoke': { ...BASE, op: { type: 'op' }, topic: { type: 'topic' }, from: { type: 'offset' }, limit: { type: 'count' } },
  'history-read-ok': { ...BASE, op: { type: 'op' }, lastOffset: { type: 'count' }, messages: { type: 'messages' } },
  'history-read-fail': { ...BASE, op: { type: 'op' }, error: { type: 'text' } },
  'purge-invoke': { ...BASE, op: { type: 'op' }, topic: { type: 'topic' }, keep: { type: 'count', optional: true } },
  'purge-ok': { ...BASE, op: { type: 'op' }, purged: { type: 'count' } },
  'purge-fail': { ...BASE, op: { type: 'op' }, error: { type: 'text' }, retryable: { type: 'boolean' } },
  'purge-timeout': { ...BASE, op: { type: 'op' } },
};

const EVENT_KINDS = Object.keys(EVENT_FIELDS);

function isEventKind(value: unknown): value is HistoryEventKind {
  return typeof value === 'string' && Object.hasOwn(EVENT_FIELDS, value);
}

function decodeEvent(value: unknown, path: string, problems: string[]): HistoryEvent | undefined {
  if (!isObject(value)) {
    problems.push(`${path} must be an object`);
    return undefined;
  }
  if (!isEventKind(value.kind)) {
    problems.push(`${path}.kind must be one of ${EVENT_KINDS.join(', ')}, got ${show(value.kind)}`);
    return undefined;
  }
  const before = problems.length;
  checkEventFields(value, path, problems);
  if (problems.length > before) return undefined;
  // Rebuilt in table order, so that reading and writing a history gives back the same text.
  // Safe: checkEventFields found every field of this kind present with its type, and no other field.
  return canonicalEvent(value) as unknown as HistoryEvent;
}

/** A copy with the keys in table order (kind first), whatever order they were built or read in. */
function canonicalEvent(value: Json | HistoryEvent): Json {
  const record = value as Json;
  // An unknown kind is left as it is, for the reader to report.
  if (!isEventKind(record.kind)) return record;
  const event: Record<string, unknown> = {};
  for (const key of Object.keys(EVENT_FIELDS[record.kind])) {
    if (record[key] !== undefined) event[key] = copyField(key, record[key]);
  }
  return event;
}

/** Copies nested objects with their keys in canonical order. */
function copyField(key: string, value: unknown): unknown {
  if (key === 'messages') return (value as Json[]).map(copyMessageRef);
  if (key !== 'mode') return value;
  const mode = value as Json;
  if (mode.type === 'from-offset') return { type: mode.type, offset: mode.offset };
  if (mode.type === 'durable') return { type: mode.type, consumer: mode.consumer };
  return { type: mode.type };
}

/** Checks an event's fields by its kind's table: each present with its type, nothing else. */
function checkEventFields(value: Json | HistoryEvent, path: string, problems: string[]): void {
  const record = value as Json;
  if (!isEventKind(record.kind)) {
    problems.push(`${path}.kind must be one of ${EVENT_KINDS.join(', ')}, got ${show(record.kind)}`);
    return;
  }
  const table: Readonly<Record<string, RequiredField | OptionalField>> = EVENT_FIELDS[record.kind];
  const kind = record.kind;
  const before = problems.length;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(table, key) && record[key] !== undefined) problems.push(`${path}.${key} is not a field of a ${kind} event`);
  }
  for (const [key, field] of Object.entries(table)) {
    if (record[key] === undefined && field.optional === true) continue;
    checkField(record, key, field.type, `${path}.${key}`, problems);
  }
  if (kind === 'publish-invoke' && problems.length === before) checkPayload(record, path, problems);
}

function checkPayload(record: Json, path: string, problems: string[]): void {
  const payload = record.payload as string;
  let bytes: Uint8Array = Buffer.from(payload, 'utf8');
  if (record.encoding === 'base64') {
    bytes = Buffer.from(payload, 'base64');
    if (Buffer.from(bytes).toString('base64') !== payload) {
      problems.push(`${path}.payload must be canonical base64 (with padding) when encoding is "base64"`);
      return;
    }
  }
  const digest = payloadDigest(bytes);
  if (digest !== record.digest) problems.push(`${path}.digest must be ${digest}, the digest of the payload, got ${show(record.digest)}`);
}

function checkField(record: Json, key: string, type: FieldType, path: string, problems: string[]): void {
  const value = record[key];
  const expected = fieldProblem(type, value);
  if (expected !== undefined) problems.push(`${path} must be ${expected}, got ${show(value)}`);
  if (type === 'mode' && expected === undefined) checkMode(value as Json, path, problems);
  if (type === 'messages' && expected === undefined) (value as unknown[]).forEach((m, i) => checkMessageRef(m, `${path}[${i}]`, problems));
}

/** What the value must be, or undefined when it is that. */
function fieldProblem(type: FieldType, value: unknown): string | undefined {
  switch (type) {
    case 'time':
      return isTime(value) ? undefined : 'a non-negative finite number';
    case 'node':
    case 'op':
    case 'offset':
      return isPositiveInteger(value) ? undefined : 'a positive integer';
    case 'count':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? undefined : 'a non-negative integer';
    case 'name':
      return typeof value === 'string' && value.length > 0 ? undefined : 'a non-empty string';
    case 'text':
      return typeof value === 'string' ? undefined : 'a string';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'true or false';
    case 'topic':
      return typeof value === 'string' && isValidPublishSubject(value) ? undefined : 'a literal subject (no wildcards)';
    case 'pattern':
      return typeof value === 'string' && isValidSubject(value) ? undefined : 'a subject (wildcards allowed)';
    case 'digest':
      return typeof value === 'string' && DIGEST_PATTERN.test(value) ? undefined : `${DIGEST_HEX_LENGTH} lowercase hex digits`;
    case 'encoding':
      return value === 'utf8' || value === 'base64' ? undefined : '"utf8" or "base64"';
    case 'mode':
      return isObject(value) ? undefined : 'an object';
    case 'messages':
      return Array.isArray(value) ? undefined : 'an array';
    case 'hlc':
      return typeof value === 'string' && parseHlc(value) !== undefined ? undefined : 'a hybrid-logical-clock stamp "<ms>.<counter>" (two non-negative integers)';
    case 'kind':
      return isEventKind(value) ? undefined : `one of ${EVENT_KINDS.join(', ')}`;
    default:
      return unreachable(type);
  }
}

function checkMode(mode: Json, path: string, problems: string[]): void {
  switch (mode.type) {
    case 'live':
      unknownKeys(mode, ['type'], `${path}.`, problems);
      return;
    case 'from-offset':
      unknownKeys(mode, ['type', 'offset'], `${path}.`, problems);
      checkField(mode, 'offset', 'offset', `${path}.offset`, problems);
      return;
    case 'durable':
      unknownKeys(mode, ['type', 'consumer'], `${path}.`, problems);
      checkField(mode, 'consumer', 'name', `${path}.consumer`, problems);
      return;
    default:
      problems.push(`${path}.type must be "live", "from-offset" or "durable", got ${show(mode.type)}`);
  }
}

const HLC_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** A PubAck's "<ms>.<counter>" stamp as numbers, or undefined when it is not one. */
export function parseHlc(text: string): { readonly l: number; readonly c: number } | undefined {
  const match = HLC_PATTERN.exec(text);
  if (match === null) return undefined;
  const l = Number(match[1]);
  const c = Number(match[2]);
  return Number.isSafeInteger(l) && Number.isSafeInteger(c) ? { l, c } : undefined;
}

const DIGEST_PATTERN = new RegExp(`^[0-9a-f]{${DIGEST_HEX_LENGTH}}$`);

function unknownKeys(value: Json, known: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push(`${prefix}${key} is not a known field`);
  }
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/** A short rendering of a bad value for an error message. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
