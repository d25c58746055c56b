// One node's metrics in Prometheus's text format, through prom-client.
//
// Most figures are read when Prometheus scrapes, from what the core keeps
// anyway (its status, counters, the leader's view of each follower, the
// streams' totals): gauges and counters with collect() callbacks, so the
// publish path pays nothing for them. Only the two latency histograms are
// fed as things happen, one observation per Ready written and per PubAck;
// docs/real-mode.md names every metric and what it means.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BrokerNode } from '../node/broker-node.js';
import type { Role } from '../raft/types.js';
import { nodeHealth } from './health.js';

/** The runner's own counts of its disk work (NodeRunner.stats). */
export interface RunnerStats {
  readonly readies: number;
  readonly entries: number;
  readonly fsyncs: number;
  readonly snapshotsSaved: number;
  readonly snapshotsInstalled: number;
}

const ROLES: readonly Role[] = ['follower', 'precandidate', 'candidate', 'leader'];
/** Seconds: a local fdatasync takes a fraction of a millisecond, a struggling disk seconds. */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Seconds: a PubAck takes a round trip to a majority and an fsync on each, more under load or in an election. */
const PUBACK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly fsyncSeconds: Histogram;
  private readonly pubAckSeconds: Histogram;
  /** The two PubAck series, bound once: an observation then skips hashing its labels. */
  private readonly pubAcked: ReturnType<Histogram['labels']>;
  private readonly pubFailed: ReturnType<Histogram['labels']>;
  private readonly leaderChanges: Counter;

  constructor(
    private readonly core: BrokerNode,
    private readonly stats: RunnerStats,
  ) {
    const registers = [this.registry];
    this.fsyncSeconds = new Histogram({
      name: 'chorus_log_fsync_duration_seconds',
      help: 'Time from handing a batch of Raft log entries and hard state to storage until it is written and fdatasynced (waiting for an fsync in flight included), or one periodic log sync under storage.sync interval',
      buckets: FSYNC_BUCKETS,
      registers,
    });
    this.pubAckSeconds = new Histogram({
      name: 'chorus_puback_latency_seconds',
      help: "Time from a stored publish's arrival at this node to its PubAck (or error) going back to the client",
      labelNames: ['result'],
      buckets: PUBACK_BUCKETS,
      registers,
    });
    // Both series exist from the start, so a rate over them has a zero to start from.
    for (const result of ['acked', 'failed']) this.pubAckSeconds.zero({ result });
    this.pubAcked = this.pubAckSeconds.labels('acked');
    this.pubFailed = this.pubAckSeconds.labels('failed');
    this.leaderChanges = new Counter({ name: 'chorus_raft_leader_changes_total', help: 'Times the leader this node knows of changed, to another node or to none', registers });
    this.raftGauges();
    this.followerGauges();
    this.workCounters();
    this.clientAndStreamGauges();
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  observeFsync(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }

  observePubAck(seconds: number, acked: boolean): void {
    (acked ? this.pubAcked : this.pubFailed).observe(seconds);
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  private raftGauges(): void {
    const raft = this.core.raft;
    this.gauge('chorus_raft_term', 'The current Raft term', () => raft.term());
    this.gauge('chorus_raft_leader_id', 'The id of the leader this node knows of; 0 when it knows none', () => raft.leader());
    this.gauge('chorus_raft_commit_index', 'The highest log index this node knows to be committed', () => raft.commitIndex());
    this.gauge('chorus_raft_applied_index', "The highest log index applied to this node's state machine", () => this.core.state.appliedIndex);
    this.gauge('chorus_raft_last_index', "The last index in this node's log", () => raft.lastIndex());
    this.gauge('chorus_refuses_to_lead', "1 while this node refuses to lead (its clock is too far off the majority's), else 0", () => (raft.leadershipRefused() === undefined ? 0 : 1));
    this.gauge('chorus_ready', '1 when /healthz answers 200 (caught up after its start and hearing from a leader), else 0', () => (nodeHealth(this.core).ready ? 1 : 0));
    new Gauge({
      name: 'chorus_raft_role',
      help: "1 for this node's current Raft role, 0 for the others",
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        const role = raft.role();
        for (const each of ROLES) this.set({ role: each }, each === role ? 1 : 0);
      },
    });
  }

  /** The leader's view of each follower; a node that does not lead reports none. */
  private followerGauges(): void {
    const raft = this.core.raft;
    const followers = (): { id: string; match: number }[] => {
      if (raft.role() !== 'leader') return [];
      return raft.voters.filter((id) => id !== raft.id).map((id) => ({ id: String(id), match: raft.progressOf(id)?.match ?? 0 }));
    };
    new Gauge({
      name: 'chorus_raft_follower_match_index',
      help: "On the leader: the highest log index each follower is known to hold durably and in agreement with the leader's log",
      labelNames: ['follower'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const follower of followers()) this.set({ follower: follower.id }, follower.match);
      },
    });
    new Gauge({
      name: 'chorus_raft_follower_lag_entries',
      help: "On the leader: how many entries each follower is behind the leader's last index",
      labelNames: ['follower'],
      registers: [this.registry],
      collect() {
        this.reset();
        const last = raft.lastIndex();
        for (const follower of followers()) this.set({ follower: follower.id }, Math.max(0, last - follower.match));
      },
    });
  }

  /** Counts the core and the runner keep anyway, read at each scrape. */
  private workCounters(): void {
    const counters = (): ReturnType<BrokerNode['counters']> => this.core.counters();
    this.counter('chorus_publishes_received_total', 'Publishes to stored subjects that clients of this node sent', () => counters().publishesReceived);
    this.counter('chorus_publishes_acked_total', "Publishes from this node's clients answered with a PubAck (stored, or a duplicate)", () => counters().publishesAcked);
    this.counter('chorus_publishes_failed_total', "Publishes from this node's clients answered with an error", () => counters().publishesFailed);
    this.counter('chorus_forwards_sent_total', 'Commands (publishes, acknowledgements, barriers) this node forwarded to the leader', () => counters().forwardsSent);
    this.counter('chorus_forwards_received_total', 'Commands other nodes forwarded to this node as their leader', () => counters().forwardsReceived);
    this.counter('chorus_stored_deliveries_total', "Stored messages delivered to this node's subscriptions (SUB and XSUB to stored subjects)", () => counters().storedDeliveries);
    this.counter('chorus_core_deliveries_total', "NATS core messages delivered to this node's subscriptions, replies to inboxes (PubAcks, API answers) included", () => counters().coreDeliveries);
    this.counter('chorus_slow_consumers_total', 'Clients this node cut as slow consumers', () => counters().slowConsumers);
    this.counter('chorus_auth_refusals_total', 'Clients this node refused for missing or wrong credentials', () => this.core.authRefusalCount);
    this.counter('chorus_log_readies_total', 'Batches (Raft Readies) written to the log', () => this.stats.readies);
    this.counter('chorus_log_entries_written_total', 'Raft log entries written', () => this.stats.entries);
    this.counter('chorus_log_fsyncs_total', 'fdatasyncs of the log and hard state', () => this.stats.fsyncs);
    this.counter('chorus_snapshots_saved_total', 'Snapshots of the state machine this node saved', () => this.stats.snapshotsSaved);
    this.counter('chorus_snapshots_installed_total', 'Snapshots from the leader this node installed', () => this.stats.snapshotsInstalled);
  }

  private clientAndStreamGauges(): void {
    const core = this.core;
    this.gauge('chorus_client_connections', 'Client connections open on this node', () => core.sessionCount());
    const labelled = (name: string, help: string, label: string, values: () => Iterable<[string, number]>): void => {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [key, value] of values()) this.set({ [label]: key }, value);
        },
      });
    };
    const streams = (): { name: string; messages: number; bytes: number }[] => core.state.streamList().map((stream) => ({ name: stream.name, ...stream.info() }));
    labelled('chorus_stream_messages', 'Messages each stream holds, on this node', 'stream', () => streams().map((stream) => [stream.name, stream.messages]));
    labelled('chorus_stream_bytes', 'Bytes of message each stream holds, on this node', 'stream', () => streams().map((stream) => [stream.name, stream.bytes]));
    labelled('chorus_consumer_pending_messages', 'Messages each durable consumer has not been delivered yet', 'consumer', () => core.consumerStats().map((stats) => [stats.consumer, stats.pending]));
    labelled('chorus_consumer_ack_pending_messages', 'Messages delivered to each durable consumer on this node and not acknowledged yet', 'consumer', () =>
      core.consumerStats().map((stats) => [stats.consumer, stats.ackPending]),
    );
  }

  private gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /**
   * A counter over a count kept elsewhere: each scrape adds what the count
   * grew by since the last one. The count and the registry start together
   * with the process, so the two never disagree.
   */
  private counter(name: string, help: string, read: () => number): void {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  }
}
