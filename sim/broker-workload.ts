// The broker workload of a simulated run: publishers, subscribers of every
// kind and a history reader, all recording into one client history, which the
// history checker judges at the end. runSimulation uses it when the run's
// workload is 'broker'.

import { streamConfigWithDefaults, type StreamConfig } from '../src/broker/stream-config.js';
import type { SimCluster } from './cluster.js';
import { SimHistoryReader, SimPublisher, SimSubscriber, type ClientLink } from './clients.js';
import { HistoryRecorder, payloadDigest, type History, type NodeSnapshot } from './history.js';
import { SimPurger, SimStreamCreator } from './stream-admin.js';
import { SimRandom } from './random.js';

/** Limits every workload topic's stream keeps (JetStream's: -1 for no count or size limit, 0 for no age limit). */
export interface WorkloadLimits {
  readonly maxMsgs: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly discard: 'old' | 'new';
}

export const NO_LIMITS: WorkloadLimits = { maxMsgs: -1, maxBytes: -1, maxAgeMs: 0, discard: 'old' };

/** A purge a client asks for during the run: all of a topic's stream, or all but its newest `keep` messages. */
export interface PlannedPurge {
  readonly atMs: number;
  readonly topic: string;
  readonly keep?: number;
}

export interface BrokerWorkloadOptions {
  readonly publishers: number;
  /**
   * Publishes per simulated second over all publishers. Closed loop: when no
   * message waits for an answer or a retry. Open loop: new messages, whatever
   * the answers (those that find a full window are not made).
   */
  readonly publishesPerSecond: number;
  /**
   * Each publisher's window: how many messages it has in hand at once. The
   * i-th publisher takes the i-th entry, and the last entry stands for any
   * beyond the list; absent, every publisher has one message in flight.
   */
  readonly windows?: readonly number[];
  /** Open loop: publishers make new messages at the rate whatever the answers (see PublisherOptions.openLoop). */
  readonly openLoop?: boolean;
  readonly topics: readonly string[];
  readonly publishTimeoutMs: number;
  readonly attemptsMax: number;
  readonly limits: WorkloadLimits;
  readonly purges: readonly PlannedPurge[];
}

export const DEFAULT_BROKER_WORKLOAD: BrokerWorkloadOptions = {
  publishers: 3,
  publishesPerSecond: 60,
  topics: ['orders.eu', 'orders.us', 'orders.asia'],
  publishTimeoutMs: 1500,
  attemptsMax: 20,
  limits: NO_LIMITS,
  purges: [],
};

export interface BrokerWorkloadStats {
  readonly published: number;
  readonly duplicates: number;
  readonly gaveUp: number;
  readonly delivered: number;
  /** Deliveries of ORDERED subscriptions marked late (Chorus-Late). */
  readonly lateDeliveries: number;
  readonly reads: number;
  /** History reads that returned fewer messages than asked and than the topic held: paced to the reader's output budget. */
  readonly pacedReads: number;
  /** Connections the nodes cut as slow consumers (-ERR 'Slow Consumer'). */
  readonly slowConsumerCuts: number;
}

export class BrokerWorkload {
  readonly recorder: HistoryRecorder;
  private readonly publishers: SimPublisher[] = [];
  private readonly subscribers: SimSubscriber[] = [];
  private readonly readers: SimHistoryReader[] = [];
  private readonly purgers: SimPurger[] = [];
  private readonly creator: SimStreamCreator;

  /** The clients reach the nodes through `link`: a simulated cluster's, or real sockets. */
  constructor(
    link: ClientLink,
    seed: number,
    options: BrokerWorkloadOptions,
    window: { readonly dedupWindowMs: number; readonly historyMessagesMax: number; readonly outputBytesMax?: number },
    stopMs: number,
  ) {
    const limited = options.limits.maxMsgs !== -1 || options.limits.maxBytes !== -1 || options.limits.maxAgeMs !== 0;
    const { maxMsgs, maxBytes, maxAgeMs } = options.limits;
    const retention = limited ? { retention: options.topics.map((topic) => ({ topic, maxMsgs, maxBytes, maxAgeMs })) } : {};
    this.recorder = new HistoryRecorder({ nodes: link.nodeIds, seed, ...window, ...retention });
    const random = (name: string): SimRandom => SimRandom.stream(seed, `client/${name}`);
    // Open loop: each publisher makes its share of the rate. Closed loop: each
    // slot of every window does, so that when nothing waits the rate is the
    // same whatever the windows; the windows matter when answers are slow.
    let slots = 0;
    for (let i = 1; i <= options.publishers; i++) slots += options.openLoop === true ? 1 : publisherWindow(options, i);
    const meanIntervalMs = (1000 * slots) / options.publishesPerSecond;
    for (let i = 1; i <= options.publishers; i++) {
      const id = `p${i}`;
      this.publishers.push(
        new SimPublisher(link, this.recorder, random(id), {
          id,
          topics: options.topics,
          meanIntervalMs,
          timeoutMs: options.publishTimeoutMs,
          attemptsMax: options.attemptsMax,
          startMs: 100,
          stopMs,
          // The first publisher asks for causal stamps (Chorus-Time); a time it saw from
          // a clock far ahead is refused by the other leaders, as the protocol says.
          causal: i === 1,
          window: publisherWindow(options, i),
          openLoop: options.openLoop === true,
        }),
      );
    }
    const [first, second] = [options.topics[0]!, options.topics[1] ?? options.topics[0]!];
    const wildcard = first.includes('.') ? `${first.split('.')[0]!}.>` : '>';
    const subscriber = (id: string, kind: 'live' | 'replay' | 'durable', subject: string, startMs: number, ordered = false): SimSubscriber =>
      new SimSubscriber(link, this.recorder, random(id), { id, kind, subject, startMs, stopMs, ackEvery: 3, meanReconnectMs: 5000, ordered });
    this.subscribers.push(
      subscriber('live1', 'live', wildcard, 0),
      subscriber('live2', 'live', first, 2000),
      subscriber('replay1', 'replay', first, 5000),
      subscriber('durable1', 'durable', second, 1000),
      // Every topic merged by timestamp, resuming per topic after its acknowledgements.
      subscriber('ordered1', 'durable', wildcard, 1500, true),
    );
    this.readers.push(
      new SimHistoryReader(link, this.recorder, random('reader1'), { id: 'reader1', topics: options.topics, meanIntervalMs: 2000, limit: 50, startMs: 3000, stopMs }),
    );
    // The workload makes its streams through the protocol, as a user's program would.
    const streams = streamsForTopics(options.topics, link.nodeIds.length, options.limits);
    this.creator = new SimStreamCreator(link, random('streams'), { id: 'admin1', streams, timeoutMs: options.publishTimeoutMs });
    if (options.purges.length > 0) {
      this.purgers.push(new SimPurger(link, this.recorder, random('purger1'), { id: 'purger1', purges: options.purges, timeoutMs: options.publishTimeoutMs }));
    }
  }

  /** Starts every client; the publishers once their streams exist. */
  start(): void {
    for (const client of [...this.subscribers, ...this.readers, ...this.purgers]) client.start();
    this.creator.start(() => {
      for (const publisher of this.publishers) publisher.start();
    });
  }

  /** Ends every client: nothing more is recorded after this. */
  stop(): void {
    this.creator.stop();
    for (const client of [...this.publishers, ...this.subscribers, ...this.readers, ...this.purgers]) client.stop();
  }

  stats(): BrokerWorkloadStats {
    const sum = <T>(items: readonly T[], value: (item: T) => number): number => items.reduce((total, item) => total + value(item), 0);
    return {
      published: sum(this.publishers, (p) => p.acknowledged),
      duplicates: sum(this.publishers, (p) => p.duplicates),
      gaveUp: sum(this.publishers, (p) => p.gaveUp),
      delivered: sum(this.subscribers, (s) => s.delivered),
      lateDeliveries: sum(this.subscribers, (s) => s.lateDeliveries),
      reads: sum(this.readers, (r) => r.reads),
      pacedReads: sum(this.readers, (r) => r.pacedReads),
      slowConsumerCuts: sum(this.publishers, (p) => p.slowConsumerCuts) + sum(this.subscribers, (s) => s.slowConsumerCuts),
    };
  }

  /** Records the nodes' topic logs as the history's final logs, and returns the history. */
  finish(endMs: number, logs: readonly NodeSnapshot[]): History {
    this.recorder.recordFinalLogs(endMs, logs);
    return this.recorder.history();
  }
}

/** The window of the i-th publisher (from 1): its entry in `windows`, or the last one, or 1. */
export function publisherWindow(options: BrokerWorkloadOptions, i: number): number {
  const windows = options.windows ?? [];
  return windows[Math.min(i, windows.length) - 1] ?? 1;
}

/**
 * The streams a workload's topics need: one stream per topic, so that a
 * topic's offsets (its stream's sequences) are dense, as the history checker
 * reads them. Named after the topic, upper-cased, with '.' as '_' (a stream
 * name may not hold a '.').
 */
export function streamsForTopics(topics: readonly string[], replicas: number, limits: WorkloadLimits = NO_LIMITS): StreamConfig[] {
  return topics.map((topic) => streamConfigWithDefaults({ name: topicStreamName(topic), subjects: [topic], ...limits }, replicas));
}

/** The stream a workload topic gets. */
export function topicStreamName(topic: string): string {
  return topic.toUpperCase().replaceAll('.', '_');
}

/** Every live node's topic logs in a simulated cluster, as the history records them. */
export function simulatedFinalLogs(cluster: SimCluster): NodeSnapshot[] {
  const logs: NodeSnapshot[] = [];
  for (const id of cluster.nodeIds) {
    const broker = cluster.broker(id);
    if (broker === undefined) continue;
    const topics = broker.state.topics().map((topic) => {
      // History reads come in pages of at most historyMessagesMax; limits and
      // purges may have removed a topic's oldest offsets.
      const messages = [];
      for (let from = 1; from <= topic.lastOffset; ) {
        const read = broker.state.history(topic.name, from, topic.lastOffset - from + 1);
        if (!read.ok || read.messages.length === 0) break;
        messages.push(...read.messages);
        from = read.messages[read.messages.length - 1]!.offset + 1;
      }
      return { topic: topic.name, messages: messages.map((message) => snapshotRef(message.offset, message.payload, message.msgId, message.timestampMs)) };
    });
    logs.push({ node: id, topics, clockMs: broker.state.nowMs });
  }
  return logs;
}

/** One stored message as a final log lists it. */
export function snapshotRef(offset: number, payload: Uint8Array, msgId: string | undefined, timestampMs?: number): { offset: number; digest: string; msgId?: string; timestampMs?: number } {
  return { offset, digest: payloadDigest(payload), ...(msgId === undefined ? {} : { msgId }), ...(timestampMs === undefined ? {} : { timestampMs }) };
}


