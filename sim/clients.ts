// Simulated clients of the broker: publishers, subscribers and history readers
// that speak the wire protocol to the nodes of a simulated cluster and record
// what they ask and what they are told into a HistoryRecorder, in simulated
// time. The history checker then judges the run from that record alone.
//
// They behave as careful real clients do. A publisher gives every message an
// id (Nats-Msg-Id), waits for the PubAck with a timeout, and retries a
// retryable failure or a timeout with the same id, on another node if its node
// seems gone. A subscriber that loses its node reconnects elsewhere and
// subscribes again: a live one from now, a replaying one from the offset after
// its last delivery, a durable one by name. Durable consumers acknowledge as
// they go and now and then leave and come back, to exercise resuming.
//
// Everything they do is scheduled through the ClientLink, so a run stays a
// function of its seed.

import { SimRandom } from './random.js';
import { parseHlc, type HistoryRecorder, type SubscriptionMode } from './history.js';
import type { NodeId } from '../src/raft/types.js';
import { assert } from '../src/raft/assert.js';
import { ServerParser, type ServerFrame } from '../src/protocol/server-parser.js';
import { LATE_HEADER } from '../src/node/replies.js';

/** What the simulated clients need from the simulator. */
export interface ClientLink {
  readonly nodeIds: readonly NodeId[];
  nowMs(): number;
  after(delayMs: number, label: string, action: () => void): void;
  /**
   * Opens a connection for the client named `client`; undefined when the
   * node is down. The name lets a fault find the client's connections (a
   * slow client stops reading all of them).
   */
  connect(node: NodeId, handlers: ConnectionHandlers, client?: string): number | undefined;
  send(session: number, bytes: Uint8Array): void;
  close(session: number): void;
}

export interface ConnectionHandlers {
  onBytes(bytes: Uint8Array): void;
  /** The connection ended: the node crashed, or closed it. */
  onClose(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MSG_ID_HEADER = 'Nats-Msg-Id';
const CAUSAL_TIME_HEADER = 'Chorus-Time';
/** The -ERR a node sends a client it cuts for not reading (nats-server's words). */
const SLOW_CONSUMER_ERROR = 'Slow Consumer';
const DELIVERY_META = /^\$CHORUS\.(?:MSG|ACK\.[A-Za-z0-9_-]+)\.([0-9]+)\.([0-9]+)\.(.+)$/;

/** One client's connection to one node: frames in, bytes out. */
export class Connection {
  private readonly parser = new ServerParser();
  closed = false;

  private constructor(
    private readonly link: ClientLink,
    readonly node: NodeId,
    readonly session: number,
  ) {}

  /** Connects and sends CONNECT; undefined when the node is down. */
  static open(link: ClientLink, node: NodeId, onFrame: (frame: ServerFrame) => void, onClose: () => void, client?: string): Connection | undefined {
    let connection: Connection | undefined;
    const session = link.connect(
      node,
      {
      onBytes: (bytes) => {
        if (connection === undefined || connection.closed) return;
        for (const frame of connection.parser.feed(bytes)) {
          // As every NATS client does: a node with pings on (real mode) closes a client that leaves them unanswered.
          if (frame.type === 'Ping') connection.write('PONG\r\n');
          else onFrame(frame);
        }
      },
      onClose: () => {
        if (connection === undefined || connection.closed) return;
        connection.closed = true;
        onClose();
      },
      },
      client,
    );
    if (session === undefined) return undefined;
    connection = new Connection(link, node, session);
    connection.write('CONNECT {"verbose":false,"headers":true,"echo":true}\r\n');
    return connection;
  }

  write(text: string | Uint8Array): void {
    if (this.closed) return;
    this.link.send(this.session, typeof text === 'string' ? encoder.encode(text) : text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.link.close(this.session);
  }
}

function hpub(subject: string, replyTo: string, headers: string, payload: string): Uint8Array {
  const headerBytes = encoder.encode(headers);
  const payloadBytes = encoder.encode(payload);
  const line = encoder.encode(`HPUB ${subject} ${replyTo} ${headerBytes.length} ${headerBytes.length + payloadBytes.length}\r\n`);
  const out = new Uint8Array(line.length + headerBytes.length + payloadBytes.length + 2);
  out.set(line, 0);
  out.set(headerBytes, line.length);
  out.set(payloadBytes, line.length + headerBytes.length);
  out.set([0x0d, 0x0a], out.length - 2);
  return out;
}

export function parseJson(payload: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(payload));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The description and retryability of an `{"error":{...}}` reply. */
function errorOf(reply: Record<string, unknown>): { error: string; retryable: boolean } | undefined {
  const error = reply.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as Record<string, unknown>;
  return { error: `${String(fields.reason)}: ${String(fields.description)}`, retryable: fields.retryable === true };
}

/** Picks a node other than `avoid` when there is one. */
export function otherNode(random: SimRandom, nodes: readonly NodeId[], avoid: NodeId | undefined): NodeId {
  const others = nodes.filter((node) => node !== avoid);
  return random.pick(others.length > 0 ? others : nodes);
}

export interface PublisherOptions {
  readonly id: string;
  readonly topics: readonly string[];
  /**
   * Closed loop: mean simulated milliseconds between one message's final
   * answer and the next message of its slot. Open loop: mean milliseconds
   * between two new messages, whatever the answers.
   */
  readonly meanIntervalMs: number;
  readonly timeoutMs: number;
  /** Tries of one message before the publisher gives up on it. */
  readonly attemptsMax: number;
  readonly startMs: number;
  readonly stopMs: number;
  /** Sends the newest timestamp it was shown as Chorus-Time, so each message is stamped after it. */
  readonly causal: boolean;
  /** Messages in hand at once (sent and unanswered, or waiting for a retry); 1 when absent. */
  readonly window?: number;
  /**
   * Open loop: new messages come at the mean interval whether or not earlier
   * ones were answered (a new one is not made while the window is full), so a
   * leader that commits slowly builds a long uncommitted tail. Closed loop
   * (the default): each slot of the window waits for its message's answer.
   */
  readonly openLoop?: boolean;
}

/** One message in hand: its current attempt, and the op that records it. */
interface PublishInHand {
  /** The attempt's reply inbox is `_INBOX.<publisher>.<token>`; tokens count this publisher's attempts. */
  readonly token: number;
  readonly message: { readonly topic: string; readonly msgId: string; readonly payload: string };
  readonly attempt: number;
  /** The node it was sent to, and the newest time it named (Chorus-Time), as its invoke records them. */
  readonly node: NodeId;
  readonly after: number | undefined;
  /** The op of its publish-invoke; recorded as the attempt is sent, so a completion always has one. */
  op: number | undefined;
  /**
   * Set once the op has a completion in the history (a failure or a timeout)
   * while the message waits for its retry, so nothing completes the op twice.
   */
  answered: boolean;
}

/**
 * Publishes messages, each with its own id, up to a window of them in flight
 * on one connection, retrying each until acknowledged or out of attempts.
 */
export class SimPublisher {
  acknowledged = 0;
  duplicates = 0;
  gaveUp = 0;
  slowConsumerCuts = 0;
  private stopped = false;
  private connection: Connection | undefined;
  private sequence = 0;
  /** The newest timestamp this publisher was shown, sent as Chorus-Time so the next message is stamped after it. */
  private seenMs: number | undefined;
  /** Invariant: with waitingForNode, at most the window's size. By token, in the order the attempts were sent. */
  private readonly inHand = new Map<number, PublishInHand>();
  private tokens = 0;
  /** Messages waiting for a node to connect to: in hand too, though they have no op yet. */
  private waitingForNode = 0;
  private readonly window: number;
  private readonly openLoop: boolean;

  constructor(
    private readonly link: ClientLink,
    private readonly history: HistoryRecorder,
    private readonly random: SimRandom,
    private readonly options: PublisherOptions,
  ) {
    this.window = options.window ?? 1;
    this.openLoop = options.openLoop ?? false;
    if (!(Number.isInteger(this.window) && this.window >= 1)) throw new Error(`publisher ${options.id}: window must be a positive integer, got ${this.window}`);
  }

  start(): void {
    if (this.openLoop) {
      this.link.after(this.options.startMs, 'publisher', () => this.arrive());
      return;
    }
    for (let slot = 0; slot < this.window; slot++) this.link.after(this.options.startMs, 'publisher', () => this.next());
  }

  /** Ends the client: its connection closes and it records nothing more. */
  stop(): void {
    this.stopped = true;
    this.inHand.clear();
    this.dropConnection();
  }

  /** Open loop: a new message arrives; it is made unless the window is full. */
  private arrive(): void {
    if (this.stopped || this.link.nowMs() >= this.options.stopMs) return;
    if (this.inHand.size + this.waitingForNode < this.window) this.next();
    this.link.after(this.random.exponential(this.options.meanIntervalMs), 'publisher', () => this.arrive());
  }

  /** Closed loop: the slot a message freed makes its next one after a pause. */
  private slotFreed(): void {
    if (this.openLoop) return;
    this.link.after(this.random.exponential(this.options.meanIntervalMs), 'publisher', () => this.next());
  }

  private next(): void {
    if (this.stopped || this.link.nowMs() >= this.options.stopMs) return;
    this.sequence++;
    const msgId = `${this.options.id}-${this.sequence}`;
    const message = { topic: this.random.pick(this.options.topics), msgId, payload: `${msgId} at ${this.link.nowMs().toFixed(3)}` };
    this.attempt(message, 1);
  }

  private attempt(message: PublishInHand['message'], attempt: number): void {
    if (this.stopped) return;
    const connection = this.ensureConnection(undefined);
    if (connection === undefined) {
      // Every node this client tried is down; try again a little later, same message.
      this.waitingForNode++;
      this.link.after(50, 'publisher', () => {
        this.waitingForNode--;
        this.attempt(message, attempt);
      });
      return;
    }
    const entry: PublishInHand = { token: ++this.tokens, message, attempt, node: connection.node, after: this.seenMs, op: undefined, answered: false };
    entry.op = this.recordInvoke(entry);
    this.inHand.set(entry.token, entry);
    const causal = entry.after === undefined ? '' : `${CAUSAL_TIME_HEADER}: ${entry.after}\r\n`;
    const headers = `NATS/1.0\r\n${MSG_ID_HEADER}: ${message.msgId}\r\n${causal}\r\n`;
    connection.write(hpub(message.topic, `_INBOX.${this.options.id}.${entry.token}`, headers, message.payload));
    this.link.after(this.options.timeoutMs, 'publish-timeout', () => {
      if (this.inHand.get(entry.token) !== entry || entry.answered) return;
      entry.answered = true;
      this.history.publishTimeout({ timeMs: this.link.nowMs(), op: this.recordedOp(entry) });
      // The node may be gone or cut off: try the same message elsewhere.
      this.dropConnection();
      this.retry(entry);
    });
  }

  /** Records the attempt's publish-invoke, now, and returns its op. */
  private recordInvoke(entry: PublishInHand): number {
    const { message, attempt, node, after } = entry;
    const { topic, msgId, payload } = message;
    return this.history.publishInvoke({ timeMs: this.link.nowMs(), client: this.options.id, node, topic, msgId, attempt, payload, ...(after === undefined ? {} : { after }) });
  }

  /** The op an attempt's completion names: the one recorded as it was sent. */
  private recordedOp(entry: PublishInHand): number {
    assert(entry.op !== undefined, `publisher ${this.options.id}: attempt ${entry.token} completes before its invoke was recorded`);
    return entry.op;
  }

  private ensureConnection(avoid: NodeId | undefined): Connection | undefined {
    if (this.connection !== undefined && !this.connection.closed) return this.connection;
    const node = otherNode(this.random, this.link.nodeIds, avoid);
    const connection = Connection.open(this.link, node, (frame) => this.onFrame(frame), () => this.onClose(), this.options.id);
    if (connection === undefined) return undefined;
    connection.write(`SUB _INBOX.${this.options.id}.* inbox\r\n`);
    this.connection = connection;
    return connection;
  }

  /**
   * Closes the connection. The other messages sent on it will get no answer
   * now: each gets a timeout in the history and is tried again soon.
   */
  private dropConnection(): void {
    this.connection?.close();
    this.connection = undefined;
    this.abandonUnanswered();
  }

  private abandonUnanswered(): void {
    if (this.stopped) return;
    for (const entry of this.inHand.values()) {
      if (entry.answered) continue;
      entry.answered = true;
      this.history.publishTimeout({ timeMs: this.link.nowMs(), op: this.recordedOp(entry) });
      this.link.after(10, 'publisher', () => this.retry(entry));
    }
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === 'Err' && frame.message === SLOW_CONSUMER_ERROR) this.slowConsumerCuts++;
    if (frame.type !== 'Msg') return;
    const prefix = `_INBOX.${this.options.id}.`;
    if (!frame.subject.startsWith(prefix)) return;
    const entry = this.inHand.get(Number(frame.subject.slice(prefix.length)));
    // A late answer to an op given up on.
    if (entry === undefined || entry.answered) return;
    const reply = parseJson(frame.payload);
    const op = this.recordedOp(entry);
    const timeMs = this.link.nowMs();
    if (reply !== undefined && typeof reply.seq === 'number') {
      const stamp = typeof reply.ts === 'number' ? reply.ts : undefined;
      const hlc = typeof reply.hlc === 'string' && parseHlc(reply.hlc) !== undefined ? { hlc: reply.hlc } : {};
      this.history.publishOk({ timeMs, op, offset: reply.seq, duplicate: reply.duplicate === true, ...(stamp === undefined ? {} : { timestampMs: stamp }), ...hlc });
      if (this.options.causal && stamp !== undefined && (this.seenMs === undefined || stamp > this.seenMs)) this.seenMs = stamp;
      this.inHand.delete(entry.token);
      this.acknowledged++;
      if (reply.duplicate === true) this.duplicates++;
      this.slotFreed();
      return;
    }
    const failure = (reply === undefined ? undefined : errorOf(reply)) ?? { error: 'unreadable PubAck', retryable: false };
    this.history.publishFail({ timeMs, op, error: failure.error, retryable: failure.retryable });
    entry.answered = true;
    if (failure.retryable) {
      // No leader, or leadership moving: back off exponentially (an election
      // takes a while), then try another node.
      this.dropConnection();
      const backoffMs = Math.min(1000, 25 * 2 ** (entry.attempt - 1));
      this.link.after(backoffMs + this.random.exponential(backoffMs / 2), 'publisher', () => this.retry(entry));
    } else {
      this.inHand.delete(entry.token);
      this.gaveUp++;
      this.slotFreed();
    }
  }

  private onClose(): void {
    this.connection = undefined;
    // The connection died with answers outstanding: the client cannot know their outcomes.
    this.abandonUnanswered();
  }

  private retry(entry: PublishInHand): void {
    if (this.inHand.get(entry.token) !== entry) return;
    this.inHand.delete(entry.token);
    if (entry.attempt >= this.options.attemptsMax || this.link.nowMs() >= this.options.stopMs) {
      this.gaveUp++;
      this.slotFreed();
      return;
    }
    this.attempt(entry.message, entry.attempt + 1);
  }
}

export type SubscriberKind = 'live' | 'replay' | 'durable';

export interface SubscriberOptions {
  readonly id: string;
  readonly kind: SubscriberKind;
  /** A wildcard pattern for live subscribers; one topic for replaying and durable ones, which resume per topic. */
  readonly subject: string;
  readonly startMs: number;
  readonly stopMs: number;
  /** Durable only: acknowledge after this many deliveries. */
  readonly ackEvery: number;
  /** Durable only: mean simulated milliseconds between voluntary disconnects, to exercise resuming. */
  readonly meanReconnectMs: number;
  /** Replay and durable: XSUB ... ORDERED, merging the matching topics by timestamp. */
  readonly ordered?: boolean;
}

/** Subscribes, records every delivery, and subscribes again after losing its node. */
export class SimSubscriber {
  delivered = 0;
  lateDeliveries = 0;
  slowConsumerCuts = 0;
  private stopped = false;
  private connection: Connection | undefined;
  private subscriptions = 0;
  private currentSub: string | undefined;
  /** Replay and durable: the last offset delivered of the subject's topic. */
  private lastOffset = 0;
  private sinceAck = 0;
  private readonly acksWaiting = new Map<string, number>();
  private node: NodeId | undefined;

  constructor(
    private readonly link: ClientLink,
    private readonly history: HistoryRecorder,
    private readonly random: SimRandom,
    private readonly options: SubscriberOptions,
  ) {}

  start(): void {
    this.link.after(this.options.startMs, 'subscriber', () => this.subscribe());
    if (this.options.kind === 'durable') this.scheduleReconnect();
  }

  /** Ends the client: its connection closes and it records nothing more. */
  stop(): void {
    this.stopped = true;
    this.currentSub = undefined;
    this.acksWaiting.clear();
    this.connection?.close();
    this.connection = undefined;
  }

  private subscribe(): void {
    if (this.stopped || this.link.nowMs() >= this.options.stopMs) return;
    const node = otherNode(this.random, this.link.nodeIds, this.node);
    const connection = Connection.open(this.link, node, (frame) => this.onFrame(frame), () => this.onClose(), this.options.id);
    if (connection === undefined) {
      this.link.after(50, 'subscriber', () => this.subscribe());
      return;
    }
    this.connection = connection;
    this.node = node;
    const sub = `${this.options.id}-${++this.subscriptions}`;
    this.currentSub = sub;
    const mode = this.mode();
    this.history.subscribe({ timeMs: this.link.nowMs(), client: this.options.id, node, sub, pattern: this.options.subject, mode, ordered: this.options.ordered === true });
    connection.write(`SUB _INBOX.${this.options.id}.* inbox\r\n`);
    connection.write(`${this.command(mode)}\r\n`);
  }

  private mode(): SubscriptionMode {
    switch (this.options.kind) {
      case 'live':
        return { type: 'live' };
      case 'replay':
        return { type: 'from-offset', offset: this.lastOffset + 1 };
      case 'durable':
        return { type: 'durable', consumer: this.options.id };
    }
  }

  private command(mode: SubscriptionMode): string {
    const ordered = this.options.ordered === true ? ' ORDERED' : '';
    switch (mode.type) {
      case 'live':
        return `SUB ${this.options.subject} s`;
      case 'from-offset':
        return `XSUB ${this.options.subject} s FROM ${mode.offset}${ordered}`;
      case 'durable':
        return `XSUB ${this.options.subject} s DURABLE ${mode.consumer}${ordered}`;
    }
  }

  private onFrame(frame: ServerFrame): void {
    if (this.stopped) return;
    if (frame.type === 'Err' && frame.message === SLOW_CONSUMER_ERROR) this.slowConsumerCuts++;
    if (frame.type === 'Err' && frame.message.startsWith('durable subscription')) {
      // No leader to pass the read barrier: try again, elsewhere.
      this.resubscribeLater();
      return;
    }
    if (frame.type !== 'Msg') return;
    if (frame.sid === 'inbox') return this.onAckReply(frame.subject, frame.payload);
    const meta = frame.replyTo === undefined ? null : DELIVERY_META.exec(frame.replyTo);
    if (meta === null || this.currentSub === undefined) return;
    const offset = Number(meta[1]);
    const msgId = frame.headers.fields.get(MSG_ID_HEADER)?.[0];
    const late = frame.headers.fields.has(LATE_HEADER);
    if (late) this.lateDeliveries++;
    this.history.deliver({
      timeMs: this.link.nowMs(),
      sub: this.currentSub,
      topic: frame.subject,
      offset,
      timestampMs: Number(meta[2]),
      late,
      ...(msgId === undefined ? {} : { msgId }),
      payload: frame.payload,
    });
    this.delivered++;
    this.lastOffset = offset;
    if (this.options.kind === 'durable' && ++this.sinceAck >= this.options.ackEvery) {
      this.sinceAck = 0;
      this.acknowledge(frame.replyTo!, frame.subject, offset);
    }
  }

  private acknowledge(ackSubject: string, topic: string, offset: number): void {
    if (this.connection === undefined || this.node === undefined) return;
    const op = this.history.ackInvoke({ timeMs: this.link.nowMs(), client: this.options.id, node: this.node, consumer: this.options.id, topic, offset });
    const inbox = `_INBOX.${this.options.id}.ack${op}`;
    this.acksWaiting.set(inbox, op);
    this.connection.write(`PUB ${ackSubject} ${inbox} 0\r\n\r\n`);
  }

  private onAckReply(subject: string, payload: Uint8Array): void {
    const op = this.acksWaiting.get(subject);
    if (op === undefined) return;
    this.acksWaiting.delete(subject);
    const reply = parseJson(payload);
    if (reply !== undefined && typeof reply.ack === 'number') {
      this.history.ackOk({ timeMs: this.link.nowMs(), op, offset: reply.ack });
      return;
    }
    const failure = (reply === undefined ? undefined : errorOf(reply)) ?? { error: 'unreadable ack reply', retryable: false };
    this.history.ackFail({ timeMs: this.link.nowMs(), op, ...failure });
  }

  private onClose(): void {
    this.connection = undefined;
    this.currentSub = undefined;
    // Acks without an answer stay without one: their outcome is unknown.
    this.acksWaiting.clear();
    if (this.stopped) return;
    this.link.after(20 + this.random.exponential(30), 'subscriber', () => this.subscribe());
  }

  private resubscribeLater(): void {
    this.connection?.close();
    this.onClose();
  }

  private scheduleReconnect(): void {
    this.link.after(this.random.exponential(this.options.meanReconnectMs), 'subscriber-leaves', () => {
      if (this.stopped || this.link.nowMs() >= this.options.stopMs) return;
      if (this.connection !== undefined) this.resubscribeLater();
      this.scheduleReconnect();
    });
  }
}

export interface ReaderOptions {
  readonly id: string;
  readonly topics: readonly string[];
  readonly meanIntervalMs: number;
  readonly limit: number;
  readonly startMs: number;
  readonly stopMs: number;
}

/** Reads topic history now and then, from a random offset. */
export class SimHistoryReader {
  reads = 0;
  /** Reads answered with fewer messages than asked and than the topic held: the node paced them to the output budget. */
  pacedReads = 0;
  private stopped = false;
  private connection: Connection | undefined;
  private waiting: { op: number; topic: string; from: number; count: number; lastOffset: number; messages: { offset: number; msgId?: string; payload: Uint8Array }[] } | undefined;
  private node: NodeId | undefined;

  constructor(
    private readonly link: ClientLink,
    private readonly history: HistoryRecorder,
    private readonly random: SimRandom,
    private readonly options: ReaderOptions,
  ) {}

  start(): void {
    this.link.after(this.options.startMs, 'reader', () => this.read());
  }

  /** Ends the client: its connection closes and it records nothing more. */
  stop(): void {
    this.stopped = true;
    this.waiting = undefined;
    this.connection?.close();
    this.connection = undefined;
  }

  private read(): void {
    if (this.stopped || this.link.nowMs() >= this.options.stopMs) return;
    this.link.after(this.random.exponential(this.options.meanIntervalMs), 'reader', () => this.read());
    if (this.waiting !== undefined) return;
    if (this.connection === undefined) {
      const node = otherNode(this.random, this.link.nodeIds, this.node);
      this.connection = Connection.open(this.link, node, (frame) => this.onFrame(frame), () => this.onClose(), this.options.id);
      if (this.connection === undefined) return;
      this.node = node;
    }
    const topic = this.random.pick(this.options.topics);
    const from = this.random.int(1, 20);
    const op = this.history.historyReadInvoke({ timeMs: this.link.nowMs(), client: this.options.id, node: this.node!, topic, from, limit: this.options.limit });
    this.waiting = { op, topic, from, count: -1, lastOffset: 0, messages: [] };
    this.connection.write(`HISTORY ${topic} ${from} ${this.options.limit}\r\n`);
  }

  private onFrame(frame: ServerFrame): void {
    const waiting = this.waiting;
    if (waiting === undefined || this.stopped) return;
    if (frame.type === 'HistoryHead') {
      waiting.count = frame.count;
      waiting.lastOffset = frame.lastOffset;
    } else if (frame.type === 'Entry') {
      const msgId = frame.headers.fields.get(MSG_ID_HEADER)?.[0];
      waiting.messages.push({ offset: frame.offset, payload: frame.payload, ...(msgId === undefined ? {} : { msgId }) });
    } else if (frame.type === 'Err') {
      this.history.historyReadFail({ timeMs: this.link.nowMs(), op: waiting.op, error: frame.message });
      this.waiting = undefined;
      return;
    }
    if (waiting.count >= 0 && waiting.messages.length === waiting.count) {
      this.history.historyReadOk({ timeMs: this.link.nowMs(), op: waiting.op, lastOffset: waiting.lastOffset, messages: waiting.messages });
      this.reads++;
      const first = waiting.messages[0]?.offset ?? waiting.from;
      if (waiting.count > 0 && waiting.count < Math.min(this.options.limit, waiting.lastOffset - first + 1)) this.pacedReads++;
      this.waiting = undefined;
    }
  }

  private onClose(): void {
    this.connection = undefined;
    // A read cut short has no completion: the client never learned its result.
    this.waiting = undefined;
  }
}
