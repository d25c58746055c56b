import { DEFAULT_RAFT_OPTIONS, validateRaftOptions, type RaftConfig, type RaftOptions } from '../src/raft/config.js';
import { RaftNode } from '../src/raft/node.js';
import { encodedSizeBytes } from '../src/raft/size.js';
import {
  RAFT_MESSAGE_TYPES,
  RAFT_MESSAGE_TYPE_CODES,
  raftMessageTypeCode,
  type DurableState,
  type Entry,
  type NodeId,
  type RaftMessage,
  type RaftMessageType,
  type Ready,
  type Role,
  type SnapshotMeta,
} from '../src/raft/types.js';
import { SafetyChecker, type Violation } from './checker.js';
import { SimClock } from './clock.js';
import { DEFAULT_DISK_OPTIONS, DurableLedger, type DiskOptions } from './disk.js';
import { SimFileSystem } from './sim-file-system.js';
import { NodeStorage, type OpenedStorage, type PersistOutcome } from '../src/storage/node-storage.js';
import { FileMessageStores } from '../src/broker/file-message-store.js';
import type { MessageStores } from '../src/broker/message-store.js';
import { crc32 } from '../src/storage/crc32.js';
import { errorCode } from '../src/storage/file-system.js';
import { ChainMachine } from './chain-machine.js';
import { RunningHash } from './hash.js';
import { DEFAULT_NETWORK_OPTIONS, SimNetwork, STANDARD_NETWORK_MODEL, type CutReason, type NetworkModel, type NetworkOptions } from './network.js';
import { REAL_MODE_TIMING, type ClusterTiming } from '../src/runtime/timing.js';
import { SimRandom } from './random.js';
import { Scheduler } from './scheduler.js';
import { EventKind, EventPool, mixEvent, type SimEvent } from './events.js';
import { BrokerNode, type BrokerNodeOptions } from '../src/node/broker-node.js';
import { isBrokerPeerMessage, type BrokerPeerMessage, type ClockStamp, type PeerMessage } from '../src/node/peer-messages.js';
import type { ClientLink, ConnectionHandlers } from './clients.js';

export interface ClockOptions {
  /** Each node's clock offset is drawn from [-offsetMsMax, offsetMsMax]. */
  offsetMsMax: number;
  /** Each node's drift rate is drawn from [-driftPpmMax, driftPpmMax]. */
  driftPpmMax: number;
}

export interface SimClusterOptions {
  nodes: number;
  seed: number | string;
  /** Local time between two ticks of a node's Raft core. */
  tickMs: number;
  raft: Partial<RaftOptions>;
  network: Partial<NetworkOptions>;
  disk: Partial<DiskOptions>;
  clocks: Partial<ClockOptions>;
  /** How many recent events to keep for reports; the hash covers every event regardless. */
  recentEventsMax: number;
  /** Called with every event as it runs, for a full trace; the hash covers every event regardless. */
  onEvent: ((event: SimEvent) => void) | undefined;
  /** Makes each node's core; tests pass planted-bug variants here. */
  createNode: (config: RaftConfig, restored: DurableState) => RaftNode;
  /**
   * When set, every node runs the whole broker core (BrokerNode) around its Raft
   * core, and simulated clients can connect through `clients`.
   */
  broker: BrokerSimOptions | undefined;
  /**
   * A node takes a snapshot of its state machine once it has applied this
   * many entries past its last one, and its log is compacted behind it
   * (keeping raft.snapshotTrailingEntries); 0 never does.
   */
  snapshotEveryEntries: number;
  /**
   * Decides each message's loss, delay and duplication on links that are not
   * cut, drawing from the run's `network` stream; the standard model follows
   * the `network` options.
   */
  networkModel: NetworkModel;
  /**
   * Called as any node applies an entry or takes a snapshot's state, in every
   * incarnation of every node: it survives crashes and restarts. It should
   * only look; to act on what it sees, schedule the action with `after`.
   */
  onApply: ApplyListener | undefined;
  /**
   * Receives the one-line warning the constructor gives when the network's
   * delays are too long for the election timeout (see `timingWarning`).
   * By default it goes to console.warn.
   */
  onWarning: (line: string) => void;
}

/** A node applied an entry: the `onApply` listener's event. */
export interface AppliedEntryEvent {
  readonly type: 'entry';
  readonly node: NodeId;
  /** The node's incarnation: 0 until its first crash, then one more for each. */
  readonly incarnation: number;
  readonly entry: Entry;
  /**
   * For a command, its position among the committed commands: 1 for the
   * first command ever committed, n for the nth; noops (a new leader's first
   * entry) are not counted. 0 for a noop. In broker mode every broker
   * command counts (publishes, stream changes, consumer acknowledgements...).
   */
  readonly commandIndex: number;
}

/**
 * A node's state machine took a snapshot's state instead of applying the
 * entries it covers: at a restart from its own snapshot, or when it
 * installed its leader's. It applies from `index + 1` on.
 */
export interface AppliedSnapshotEvent {
  readonly type: 'snapshot';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly index: number;
  readonly term: number;
  /** How many commands the snapshot covers: the next command applied is number `commandsThrough + 1`. */
  readonly commandsThrough: number;
}

export type ApplyEvent = AppliedEntryEvent | AppliedSnapshotEvent;
export type ApplyListener = (event: ApplyEvent) => void;

export type { ClusterTiming };

/**
 * The timing real mode runs with (100 ms ticks, elections after 1 to 2 s,
 * heartbeats every 100 ms), to spread into the options:
 * `new SimCluster({ nodes: 5, seed, ...REAL_MODE_TIMING })`.
 */
export { REAL_MODE_TIMING };

/** The simulator's own default timing: 10 ms ticks, elections after 150 to 300 ms, heartbeats every 50 ms. */
export const SIM_DEFAULT_TIMING: ClusterTiming = { tickMs: 10, raft: { electionTicksMin: 15, heartbeatTicks: 5 } };

export interface BrokerSimOptions {
  readonly node?: Partial<BrokerNodeOptions>;
  /** Makes each node's broker core; tests pass planted-bug variants here. */
  readonly createBroker?: (config: RaftConfig, restored: DurableState, options: Partial<BrokerNodeOptions>, snapshotData?: Uint8Array, messageStores?: MessageStores) => BrokerNode;
  /** Mean one-way delay between a client and its node, in ms (exponential, after a 0.05 ms minimum). */
  readonly clientDelayMeanMs?: number;
}

export const DEFAULT_SIM_CLUSTER_OPTIONS: Omit<SimClusterOptions, 'nodes' | 'seed'> = {
  tickMs: SIM_DEFAULT_TIMING.tickMs,
  // Small snapshot chunks and a short trailing log, so that a snapshot takes
  // many chunks and a follower a little behind already needs one.
  raft: { ...SIM_DEFAULT_TIMING.raft, snapshotChunkBytes: 512, snapshotTrailingEntries: 30 },
  network: {},
  disk: {},
  clocks: { offsetMsMax: 0, driftPpmMax: 0 },
  recentEventsMax: 256,
  onEvent: undefined,
  createNode: (config, restored) => new RaftNode(config, restored),
  broker: undefined,
  snapshotEveryEntries: 0,
  networkModel: STANDARD_NETWORK_MODEL,
  onApply: undefined,
  onWarning: (line) => console.warn(line),
};

/** Where each simulated node keeps its data on its own disk. */
const SIM_DATA_DIR = '/data';
/** Small segments, so that runs roll over, truncate across and recover many of them. */
const SIM_SEGMENT_BYTES_MAX = 64 * 1024;
const SIM_MESSAGES_DIR = '/data/messages';
/** Small blocks and a small cache, so that simulated runs roll, release and miss them. */
const SIM_MESSAGE_STORE_OPTIONS = { blockBytesMax: 4096, readCacheBytes: 2048 };

export const NODES_MAX = 15;
export const RAFT_GROUP = 1;

export interface NodeStatus {
  readonly id: NodeId;
  readonly up: boolean;
  readonly role: Role | 'down';
  readonly term: number;
  readonly leader: NodeId;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly appliedIndex: number;
}

export interface ProposeOutcome {
  /** True when the node took the command into its log. */
  readonly accepted: boolean;
  readonly index: number;
  readonly term: number;
  /** Whether the node was leader when asked (the Start call of the classic Raft lab). */
  readonly isLeader: boolean;
  /** The leader the node knows of (itself, when leader), or 0. */
  readonly leaderHint: NodeId;
  /**
   * The command's position among commands (see AppliedEntryEvent.commandIndex)
   * if it commits at `index`: the commands committed before it plus those in
   * the leader's log between them and it. 0 on refusal.
   */
  readonly commandIndex: number;
  /** Why the proposal was refused, when it was. */
  readonly reason: 'down' | 'not-leader' | 'too-large' | 'overloaded' | undefined;
  /** A readable explanation of the refusal, when there was one. */
  readonly error: string | undefined;
}

export interface TrafficCounter {
  count: number;
  bytes: number;
}

/** One simulated node: its core, disk, clock and the bookkeeping of its current incarnation. */
/** A Ready handed to the disk, and what the disk answered once it did. */
interface PersistingReady {
  readonly ready: Ready;
  outcome: PersistOutcome | undefined;
}

class SimHost {
  core: RaftNode | undefined = undefined;
  /** In broker mode, the whole node core around `core`. */
  broker: BrokerNode | undefined = undefined;
  /** The storage engine over this node's disk, while the node runs. */
  storage: NodeStorage | undefined = undefined;
  /** True from a start until the storage has recovered and the core runs. */
  starting = false;
  /** What the storage has reported durable, for the checker. */
  readonly durable = new DurableLedger();
  /** Why the node last failed to start or had to stop, if it did. */
  stopReason: string | undefined = undefined;
  /** Counts crashes: a stamp from an earlier incarnation makes an event or callback stale. */
  incarnation = 0;
  /**
   * The Readies whose writes are on their way to disk, oldest first (the core
   * may hand out several, see readiesInFlightMax). Each is finished only after
   * every Ready before it, whatever order their syncs come back in.
   */
  persisting: PersistingReady[] = [];
  /**
   * The index of the last entry this incarnation's state machine holds: from
   * the snapshot it started from or installed, then one entry at a time (the
   * checker verifies each applied entry is the log's). Counting, rather than
   * keeping one more reference to every entry per node, spares the collector
   * a great deal on long runs.
   */
  appliedIndex = 0;
  /** A Raft-only node's state machine. */
  machine = new ChainMachine();
  /** True while a snapshot of this node's state machine is being written. */
  snapshotSaving = false;
  crashes = 0;
  /**
   * The newest term any node held when this node's disk was last wiped. A
   * wipe breaks Raft's promise of stable storage: a leader of that term or an
   * older one may still count the entries the wiped node once acknowledged,
   * so the match-index check holds only leaders of later terms to this node.
   */
  wipedThroughTerm = 0;
  /** True time of this node's next tick on its own (drifting) clock. */
  nextTickUs = 0;
  /** When the pending tick event fires, or -1 when none is pending. */
  pendingTickUs = -1;
  /** Stamps tick events; a tick event with an older stamp is stale and ignored. */
  tickStamp = 0;
  /** Ticks given to this node's cores, over all its incarnations: the clock the Leadership check counts in. */
  ticksGiven = 0;
  /**
   * The true length of one tick period and the drift it was computed for. Every
   * event asks for the period, and it only changes when the clock's drift does,
   * so it is computed once per drift rather than divided out on every event.
   */
  private periodUs = 0;
  private periodDriftPpm = Number.NaN;

  /** Set once, right after construction: the disk needs the cluster's scheduler. */
  disk!: SimFileSystem;

  constructor(
    readonly id: NodeId,
    readonly clock: SimClock,
    readonly random: SimRandom,
    private readonly tickUs: number,
    /** The clock the node was created with; healing puts it back. */
    readonly initialClock: { readonly offsetUs: number; readonly driftPpm: number },
  ) {}

  /** True time between two ticks of this node's drifting clock, in whole microseconds (at least 1). */
  tickPeriodUs(): number {
    if (this.clock.driftPpm !== this.periodDriftPpm) {
      this.periodDriftPpm = this.clock.driftPpm;
      this.periodUs = Math.max(1, Math.round(this.clock.trueDurationUs(this.tickUs)));
    }
    return this.periodUs;
  }
}

/**
 * A whole cluster of Raft cores driven by one seed through a simulated network,
 * disks and clocks. This is the embedding API of docs/sim-api.md.
 */
export class SimCluster {
  readonly options: SimClusterOptions;
  readonly nodeIds: readonly NodeId[];
  readonly checker: SafetyChecker;
  readonly network: SimNetwork;
  private readonly scheduler = new Scheduler<SimEvent>();
  private readonly events = new EventPool();
  private readonly hosts: SimHost[] = [];
  private readonly raftOptions: RaftOptions;
  private readonly traceHash = new RunningHash();
  /** A ring of the last recentEventsMax events; recentNext is where the next one goes. */
  private readonly recent: SimEvent[] = [];
  private recentNext = 0;
  private eventCount = 0;
  private readonly traffic = new Map<RaftMessageType, TrafficCounter>();
  /** The same counters as `traffic`, indexed by RAFT_MESSAGE_TYPE_CODES, for the hot path. */
  private readonly trafficByCode: TrafficCounter[] = [];
  private dropped = 0;
  private duplicated = 0;
  /** Broker messages handed to the network, by type. */
  private readonly brokerTraffic = new Map<string, TrafficCounter>();
  /** Client connections, by session id; a session lives on one node incarnation. */
  private readonly sessions = new Map<number, ClientSessionLink>();
  /** Client name -> until when (µs) it does not read: the slow-client fault. */
  private readonly clientPausedUntilUs = new Map<string, number>();
  /** Links holding output their paused client has not read yet, closed ones included. */
  private readonly heldLinks = new Set<ClientSessionLink>();
  private nextSession = 1;
  private readonly clientRandom: SimRandom;
  private readonly tornRandom: SimRandom;
  /** What simulated clients use to reach the nodes; only in broker mode. */
  readonly clients: ClientLink;

  constructor(options: Partial<SimClusterOptions> & Pick<SimClusterOptions, 'nodes' | 'seed'>) {
    this.options = { ...DEFAULT_SIM_CLUSTER_OPTIONS, ...withoutUndefined(options), nodes: options.nodes, seed: options.seed };
    const count = this.options.nodes;
    if (!Number.isInteger(count) || count < 1 || count > NODES_MAX) {
      throw new Error(`nodes must be an integer from 1 to ${NODES_MAX}, got ${String(count)}`);
    }
    if (!(this.options.tickMs > 0)) throw new Error(`tickMs must be positive, got ${this.options.tickMs}`);
    this.raftOptions = { ...DEFAULT_RAFT_OPTIONS, ...DEFAULT_SIM_CLUSTER_OPTIONS.raft, ...this.options.raft };
    const raftProblems = validateRaftOptions(this.raftOptions);
    if (raftProblems.length > 0) throw new Error(`bad raft options: ${raftProblems.join('; ')}`);
    const seed = this.options.seed;
    const networkOptions = { ...DEFAULT_NETWORK_OPTIONS, ...this.options.network };
    this.network = new SimNetwork(count, networkOptions, SimRandom.stream(seed, 'network'), this.options.networkModel, () => this.nowMs());
    this.nodeIds = Array.from({ length: count }, (_, i) => i + 1);
    this.checker = new SafetyChecker(() => this.scheduler.now());
    for (const type of RAFT_MESSAGE_TYPES) {
      const counter = { count: 0, bytes: 0 };
      this.traffic.set(type, counter);
      this.trafficByCode[RAFT_MESSAGE_TYPE_CODES[type]] = counter;
    }
    const clockRandom = SimRandom.stream(seed, 'clocks');
    const clocks = { offsetMsMax: 0, driftPpmMax: 0, ...this.options.clocks };
    checkDrift(clocks.driftPpmMax);
    for (const id of this.nodeIds) {
      const offsetUs = clockRandom.between(-clocks.offsetMsMax, clocks.offsetMsMax) * 1000;
      const clock = new SimClock(offsetUs, clockRandom.between(-clocks.driftPpmMax, clocks.driftPpmMax));
      const initialClock = { offsetUs: clock.offsetUs, driftPpm: clock.driftPpm };
      const host = new SimHost(id, clock, SimRandom.stream(seed, `node/${id}`), this.options.tickMs * 1000, initialClock);
      host.disk = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS, ...this.options.disk }, SimRandom.stream(seed, `disk/${id}`), (delayUs, action) =>
        this.scheduler.schedule(this.events.disk(id, action), delayUs),
      );
      this.hosts.push(host);
    }
    this.clientRandom = SimRandom.stream(seed, 'clients');
    this.tornRandom = SimRandom.stream(seed, 'torn-writes');
    this.clients = {
      nodeIds: this.nodeIds,
      nowMs: () => this.nowMs(),
      after: (delayMs, label, action) => this.after(delayMs, label, action),
      connect: (node, handlers, client) => this.clientConnect(node, handlers, client),
      send: (session, bytes) => this.clientSend(session, bytes),
      close: (session) => this.clientClose(session),
    };
    const warning = this.timingWarning();
    if (warning !== undefined) this.options.onWarning(warning);
    for (const host of this.hosts) this.start(host);
  }

  /**
   * A line of warning when the network's mean one-way delay is so long that
   * an election's round trip (a vote request and its answer) does not fit in
   * the shortest election timeout: candidates then give up before their
   * votes come back, and elections keep failing until the core's election
   * backoff has stretched the timeout. Undefined when the timing fits, or
   * when the network model does not say what delays it gives.
   */
  timingWarning(): string | undefined {
    const meanMs = this.network.delayMeanMs();
    const electionMs = this.raftOptions.electionTicksMin * this.options.tickMs;
    if (meanMs === undefined || 2 * meanMs < electionMs) return undefined;
    const round = (ms: number): string => String(Math.round(ms));
    return (
      `warning: network delays average ${round(meanMs)} ms one way, so an election's round trip (about ${round(2 * meanMs)} ms) ` +
      `does not fit in the shortest election timeout (${round(electionMs)} ms = raft.electionTicksMin x tickMs) and elections will mostly fail; ` +
      `raise tickMs or raft.electionTicksMin (REAL_MODE_TIMING gives 1000 ms; see docs/sim-api.md, "Timing under long delays")`
    );
  }

  // ---- Time.

  /** Simulated time in milliseconds. */
  nowMs(): number {
    return this.scheduler.now() / 1000;
  }

  /** Runs every event up to now + durationMs. */
  runFor(durationMs: number): void {
    if (!(durationMs >= 0)) throw new Error(`runFor needs a duration >= 0, got ${durationMs}`);
    this.runUntilTime(this.scheduler.now() + Math.round(durationMs * 1000));
  }

  /**
   * Runs until `predicate` holds (checked after every event) or timeoutMs of
   * simulated time pass. Returns whether the predicate held.
   */
  runUntil(predicate: (cluster: SimCluster) => boolean, timeoutMs: number): boolean {
    const deadline = this.scheduler.now() + Math.round(timeoutMs * 1000);
    if (predicate(this)) return true;
    while (this.scheduler.peekTime() !== undefined && this.scheduler.peekTime()! <= deadline) {
      this.runOneEvent();
      if (predicate(this)) return true;
    }
    this.scheduler.advanceTo(Math.max(deadline, this.scheduler.now()));
    return false;
  }

  /** Schedules `action` to run at simulated time atMs (or now, if that has passed). */
  at(atMs: number, label: string, action: () => void): void {
    const delay = Math.max(0, atMs * 1000 - this.scheduler.now());
    this.scheduler.schedule(this.events.call(label, action), delay);
  }

  /** Schedules `action` to run delayMs from now. */
  after(delayMs: number, label: string, action: () => void): void {
    this.at(this.nowMs() + delayMs, label, action);
  }

  // ---- Observing.

  status(id: NodeId): NodeStatus {
    const host = this.host(id);
    const core = host.core;
    if (core === undefined) {
      return { id, up: false, role: 'down', term: 0, leader: 0, commitIndex: 0, lastIndex: 0, appliedIndex: 0 };
    }
    return {
      id,
      up: true,
      role: core.role(),
      term: core.term(),
      leader: core.leader(),
      commitIndex: core.commitIndex(),
      lastIndex: core.lastIndex(),
      appliedIndex: host.appliedIndex,
    };
  }

  statuses(): NodeStatus[] {
    return this.nodeIds.map((id) => this.status(id));
  }

  /** The node that is leader in the highest term among live nodes, if any. */
  leader(): NodeId | undefined {
    let best: NodeStatus | undefined;
    for (const status of this.statuses()) {
      if (status.role === 'leader' && (best === undefined || status.term > best.term)) best = status;
    }
    return best?.id;
  }

  isUp(id: NodeId): boolean {
    return this.host(id).core !== undefined;
  }

  /** The entries a node has applied in its current incarnation, in order (a fresh copy). */
  applied(id: NodeId): readonly Entry[] {
    const host = this.host(id);
    if (host.core === undefined) return [];
    const log = host.core.log;
    return log.view().slice(0, Math.max(0, host.appliedIndex - (log.firstIndex() - 1)));
  }

  /** The entry at `index` if the node has applied it in its current incarnation, without copying anything. */
  appliedEntry(id: NodeId, index: number): Entry | undefined {
    const host = this.host(id);
    if (host.core === undefined || !(index >= 1 && index <= host.appliedIndex)) return undefined;
    return host.core.log.entry(index);
  }

  /** The Raft core of a live node, for tests that look deeper. */
  core(id: NodeId): RaftNode | undefined {
    return this.host(id).core;
  }

  /** The broker core of a live node, in broker mode. */
  broker(id: NodeId): BrokerNode | undefined {
    return this.host(id).broker;
  }

  violations(): readonly Violation[] {
    return this.checker.violations;
  }

  /** A hash of every event so far: equal seeds and inputs give equal hashes. */
  traceHashHex(): string {
    return this.traceHash.hex();
  }

  eventsProcessed(): number {
    return this.eventCount;
  }

  /** The last recentEventsMax events, oldest first. */
  recentEvents(): readonly SimEvent[] {
    return [...this.recent.slice(this.recentNext), ...this.recent.slice(0, this.recentNext)];
  }

  /** Messages and bytes handed to the network, by message type. */
  trafficByType(): ReadonlyMap<RaftMessageType, Readonly<TrafficCounter>> {
    return this.traffic;
  }

  /** Broker messages (forwarding, results, relays) handed to the network, by type. */
  brokerTrafficByType(): ReadonlyMap<string, Readonly<TrafficCounter>> {
    return this.brokerTraffic;
  }

  messagesDropped(): number {
    return this.dropped;
  }

  messagesDuplicated(): number {
    return this.duplicated;
  }

  // ---- Acting.

  /** The Start call of the classic Raft lab: propose on one node, leader or not. */
  propose(id: NodeId, command: Uint8Array | string): ProposeOutcome {
    const host = this.host(id);
    const core = host.core;
    if (core === undefined) {
      return { accepted: false, index: 0, term: 0, isLeader: false, leaderHint: 0, commandIndex: 0, reason: 'down', error: `node ${id} is down` };
    }
    const data = typeof command === 'string' ? new TextEncoder().encode(command) : command;
    this.catchUpTicks(host);
    const isLeader = core.role() === 'leader';
    const result = core.propose(data);
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
    if (result.ok) {
      const commandIndex = this.pendingCommandIndex(core, result.index);
      return { accepted: true, index: result.index, term: result.term, isLeader, leaderHint: id, commandIndex, reason: undefined, error: undefined };
    }
    const { term, leaderHint, reason, message } = result;
    return { accepted: false, index: 0, term, isLeader, leaderHint, commandIndex: 0, reason, error: message };
  }

  // ---- Commands and their indices. A command's index counts commands only,
  // not the noop each new leader appends, so a test written for a Raft
  // without noops (as the classic labs are) can number commands its own way.

  /**
   * commandsThrough[i] is how many commands the committed log holds at
   * indices 1..i (commandsThrough[0] is 0). It grows as the first node to
   * apply each index applies it; the committed log is one and the same on
   * every node (State Machine Safety, which the checker watches).
   */
  private readonly commandsThrough: number[] = [0];

  /**
   * The command index of the committed entry at log index `index`: n for
   * the nth command committed, 0 for a noop, undefined while no node has
   * applied that index.
   */
  commandIndexOf(index: number): number | undefined {
    if (!(Number.isInteger(index) && index >= 1 && index < this.commandsThrough.length)) return undefined;
    const count = this.commandsThrough[index]!;
    return count > this.commandsThrough[index - 1]! ? count : 0;
  }

  /** How many commands the committed log holds, as far as any node has applied it. */
  commandsCommitted(): number {
    return this.commandsThrough[this.commandsThrough.length - 1]!;
  }

  /** The command index a leader's new entry at `index` will have if it commits there. */
  private pendingCommandIndex(core: RaftNode, index: number): number {
    // Everything through the leader's commit index is committed and in its log;
    // whatever of that some node applied is counted already.
    const known = Math.min(this.commandsThrough.length - 1, core.commitIndex());
    let count = this.commandsThrough[known]!;
    for (let i = known + 1; i <= index; i++) {
      const entry = core.log.entry(i);
      if (entry === undefined) return 0;
      if (entry.kind === 'command') count++;
    }
    return count;
  }

  /** A node applied an entry: count it among the commands and tell the listener. */
  private noteApplied(host: SimHost, entry: Entry): void {
    const through = this.commandsThrough;
    const isCommand = entry.kind === 'command';
    if (entry.index === through.length) through.push(through[entry.index - 1]! + (isCommand ? 1 : 0));
    const listener = this.options.onApply;
    if (listener === undefined) return;
    const commandIndex = isCommand && entry.index < through.length ? through[entry.index]! : 0;
    listener({ type: 'entry', node: host.id, incarnation: host.incarnation, entry, commandIndex });
  }

  /** A node's state machine took a snapshot's state through `index`. */
  private noteSnapshotApplied(host: SimHost, index: number, term: number): void {
    const listener = this.options.onApply;
    if (listener === undefined) return;
    listener({ type: 'snapshot', node: host.id, incarnation: host.incarnation, index, term, commandsThrough: this.commandsThrough[index] ?? 0 });
  }

  /**
   * Kills a node: its memory and unsynced writes are lost; its synced disk stays.
   * A torn crash strikes mid-write: part of what was written but not synced
   * survives (a prefix of the entries; the hard state or not), as a real disk
   * may keep some of a write the process never saw synced.
   */
  crash(id: NodeId, options: { torn?: boolean } = {}): void {
    const host = this.host(id);
    if (host.core === undefined && !host.starting) return;
    if (options.torn === true) host.disk.tornCrash(this.tornRandom);
    else host.disk.crash();
    this.halt(host);
  }

    restart(id: NodeId): void {
    const host = this.host(id);
    if (host.core !== undefined || host.starting) return;
    this.start(host);
  }

  /**
   * Stops a node and empties its disk, as an operator wipes a data directory
   * to rebuild a node from its peers; the node stays down until restarted.
   */
  wipe(id: NodeId): void {
    const host = this.host(id);
    host.wipedThroughTerm = Math.max(0, ...this.hosts.map((other) => other.core?.term() ?? 0));
    this.crash(id);
    host.starting = false;
    const random = SimRandom.stream(this.options.seed, `disk/${id}/wiped/${host.crashes}`);
    host.disk = new SimFileSystem(host.disk.options(), random, (delayUs, action) => this.scheduler.schedule(this.events.disk(id, action), delayUs));
  }

  /** Why a node last failed to start or had to stop (a full disk, damaged storage), if it did. */
  stopReason(id: NodeId): string | undefined {
    return this.host(id).stopReason;
  }

  /** The node's simulated disk, for tests and faults that reach below the storage engine. */
  disk(id: NodeId): SimFileSystem {
    return this.host(id).disk;
  }

  /** Ends a node's incarnation: its memory, connections and pending work are gone; its disk stays as it is. */
  private halt(host: SimHost): void {
    this.closeSessionsOf(host);
    host.core = undefined;
    host.broker = undefined;
    host.storage = undefined;
    host.starting = false;
    host.persisting = [];
    host.appliedIndex = 0;
    host.snapshotSaving = false;
    host.incarnation++;
    host.tickStamp++;
    host.crashes++;
  }

  // ---- Links. Each fault that cuts links keeps its own reason (see CutReason),
  // and undoing one fault removes only its reason, so faults compose: a node
  // reconnected inside a partition still cannot reach the other side.

  /**
   * Disconnects a node as a whole: no message leaves it or reaches it until
   * `reconnect(id)` or `heal()`. Partitions and one-way cuts made meanwhile
   * are kept apart and outlast the reconnection.
   */
  disconnect(id: NodeId): void {
    this.network.setDisconnected(this.host(id).id, true);
  }

  /**
   * Ends `disconnect(id)`: the node's links carry messages again, except
   * those that a partition or a one-way cut still holds, or that lead to a
   * node still disconnected itself.
   */
  reconnect(id: NodeId): void {
    this.network.setDisconnected(this.host(id).id, false);
  }

  /** Whether the node is connected as a whole: false from `disconnect(id)` until `reconnect(id)` or `heal()`. */
  isConnected(id: NodeId): boolean {
    return !this.network.isDisconnected(this.host(id).id);
  }

  /** Whether a message sent from `from` to `to` now would be carried (it may still be lost, by the network model). */
  linkOpen(from: NodeId, to: NodeId): boolean {
    return this.cutReasons(from, to).length === 0;
  }

  /** Why the directed link from `from` to `to` is cut: every reason that holds, or none. */
  cutReasons(from: NodeId, to: NodeId): CutReason[] {
    const a = this.host(from).id;
    const b = this.host(to).id;
    return a === b ? [] : this.network.cutReasons(a, b);
  }

  /**
   * Splits the cluster: nodes talk only within their group; nodes in no group
   * are isolated. It replaces the previous partition, and only that:
   * disconnected nodes and one-way cuts stay as they are.
   * `partition([cluster.nodeIds])` ends the partition alone.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const id of group) {
        this.host(id);
        if (groupOf.has(id)) throw new Error(`node ${id} is in two partition groups`);
        groupOf.set(id, index);
      }
    });
    for (const from of this.nodeIds) {
      for (const to of this.nodeIds) {
        if (from === to) continue;
        const a = groupOf.get(from);
        this.network.setPartitionCut(from, to, a === undefined || a !== groupOf.get(to));
      }
    }
  }

  /** Drops messages from every node of `from` to every node of `to`, but not back, until `healOneWay` or `heal`. */
  partitionOneWay(from: readonly NodeId[], to: readonly NodeId[]): void {
    this.setOneWay(from, to, true);
  }

  /** Removes the one-way cuts from every node of `from` to every node of `to`; other reasons stay. */
  healOneWay(from: readonly NodeId[], to: readonly NodeId[]): void {
    this.setOneWay(from, to, false);
  }

  private setOneWay(from: readonly NodeId[], to: readonly NodeId[], cut: boolean): void {
    for (const a of from) for (const b of to) if (a !== b) this.network.setOneWayCut(this.host(a).id, this.host(b).id, cut);
  }

  /** Restores every link: ends the partition, every one-way cut and every disconnection. */
  heal(): void {
    this.network.healAll();
  }

  /**
   * Undoes every fault: heals every link, puts the network, every disk and every
   * clock back to what the cluster was created with (the clocks' own small
   * offsets and drift stay: they are the machines'), and restarts every crashed
   * node. Clocks must heal too: a node whose clock is far off the majority's
   * refuses to lead, and if only such nodes held the newest log, no leader
   * could be elected until the clocks are set right.
   */
  resetFaults(): void {
    this.heal();
    this.network.configure({ ...DEFAULT_NETWORK_OPTIONS, ...this.options.network });
    for (const id of this.nodeIds) {
      this.setDisk(id, { ...DEFAULT_DISK_OPTIONS, ...this.options.disk });
      const host = this.host(id);
      this.setClock(id, { offsetMs: host.initialClock.offsetUs / 1000, driftPpm: host.initialClock.driftPpm });
      this.restart(id);
    }
  }

  /** Changes loss, duplication and delays from now on; the network model sees the new options. */
  setNetwork(changes: Partial<NetworkOptions>): void {
    this.network.configure(changes);
  }

  setDisk(id: NodeId, changes: Partial<DiskOptions>): void {
    this.host(id).disk.configure(changes);
  }

  /** How far the node's clock reads from true time, in ms. */
  clockOffsetMs(id: NodeId): number {
    return this.host(id).clock.offsetUs / 1000;
  }

  /** How far the node's clock reads ahead of true time now (negative: behind), in ms: its offset plus the drift so far. */
  clockAheadMs(id: NodeId): number {
    const nowUs = this.scheduler.now();
    return (this.host(id).clock.localTimeUs(nowUs) - nowUs) / 1000;
  }

  setClock(id: NodeId, clock: { offsetMs?: number; driftPpm?: number }): void {
    const host = this.host(id);
    this.recordClocksAhead();
    if (clock.offsetMs !== undefined) {
      if (!Number.isFinite(clock.offsetMs)) throw new Error(`clock offset must be a finite number of ms, got ${clock.offsetMs}`);
      host.clock.offsetUs = clock.offsetMs * 1000;
    }
    if (clock.driftPpm !== undefined) {
      checkDrift(clock.driftPpm);
      host.clock.driftPpm = clock.driftPpm;
    }
  }

  // ---- The event loop.

  private runUntilTime(deadline: number): void {
    for (;;) {
      const next = this.scheduler.peekTime();
      if (next === undefined || next > deadline) break;
      this.runOneEvent();
    }
    this.scheduler.advanceTo(deadline);
  }

  private runOneEvent(): void {
    const event = this.scheduler.pop()!;
    this.eventCount++;
    mixEvent(this.traceHash, event);
    this.remember(event);
    this.options.onEvent?.(event);
    switch (event.kind) {
      case EventKind.Tick:
        this.onTick(event.node, event.stamp);
        break;
      case EventKind.Deliver:
        this.onDeliver(event.message);
        break;
      case EventKind.Disk:
        event.action();
        break;
      case EventKind.Call:
        event.action();
        break;
    }
    // The event has left the queue and run; unless the ring of recent events or
    // an observer may hold it, nothing refers to it any more.
    if (this.options.recentEventsMax <= 0 && this.options.onEvent === undefined) this.events.release(event);
  }

  private remember(event: SimEvent): void {
    const max = this.options.recentEventsMax;
    if (max <= 0) return;
    if (this.recent.length < max) {
      this.recent.push(event);
      return;
    }
    this.recent[this.recentNext] = event;
    this.recentNext = (this.recentNext + 1) % max;
  }

  private onTick(id: NodeId, stamp: number): void {
    const host = this.host(id);
    if (host.core === undefined || host.tickStamp !== stamp) return;
    host.pendingTickUs = -1;
    this.catchUpTicks(host);
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  private onDeliver(message: RaftMessage): void {
    const host = this.host(message.to);
    if (host.core === undefined || this.network.isBlocked(message.from, message.to)) {
      this.dropped++;
      return;
    }
    this.catchUpTicks(host);
    this.checker.noteDelivered(message, host.ticksGiven);
    if (host.broker !== undefined) {
      host.broker.step(message, this.localMs(host), this.clockStamps.get(message));
      this.checkTimestamps(host.id, host.broker);
    } else {
      host.core.step(message);
    }
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  private onPersisted(host: SimHost, incarnation: number, persisting: PersistingReady, error: Error | undefined, outcome: PersistOutcome): void {
    if (host.core === undefined || host.incarnation !== incarnation) return;
    if (error !== undefined) {
      this.stopOnDiskError(host, `disk write failed: ${error.message}`);
      return;
    }
    persisting.outcome = outcome;
    if (host.persisting[0] !== persisting) return;
    this.catchUpTicks(host);
    // This Ready and every later one already durable finish now, in the order they were handed out.
    while (host.persisting.length > 0 && host.persisting[0]!.outcome !== undefined) {
      const { ready, outcome: finished } = host.persisting.shift()!;
      host.durable.record(finished!.refused === undefined ? ready : { ...ready, snapshot: undefined });
      this.finishReady(host, ready, finished);
      if (host.core === undefined || host.incarnation !== incarnation) return;
    }
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  // ---- Ticks. A node ticks every tickMs of its own clock. Ticks that only count
  // are not events: they are delivered just before the node's next input, and an
  // event is scheduled only for the tick that will act (RaftNode.ticksUntilActive).
  // The node sees the same ticks in the same order relative to its inputs, and
  // the simulation runs far fewer events.

  /** Delivers every tick that fell due up to now. */
  private catchUpTicks(host: SimHost): void {
    const now = this.scheduler.now();
    if (host.nextTickUs > now) return;
    const core = host.core!;
    const broker = host.broker;
    const period = host.tickPeriodUs();
    while (host.nextTickUs <= now) {
      if (broker !== undefined) broker.tick(host.clock.localTimeUs(host.nextTickUs) / 1000);
      else core.tick();
      host.ticksGiven++;
      host.nextTickUs += period;
    }
  }

  /** Makes sure an event is pending no later than the node's next acting tick. */
  private planTick(host: SimHost): void {
    const core = host.core;
    if (core === undefined) return;
    const actingTickUs = host.nextTickUs + (core.ticksUntilActive() - 1) * host.tickPeriodUs();
    if (host.pendingTickUs >= 0 && host.pendingTickUs <= actingTickUs) return;
    host.tickStamp++;
    host.pendingTickUs = actingTickUs;
    this.scheduler.schedule(this.events.tick(host.id, host.tickStamp), actingTickUs - this.scheduler.now());
  }

  // ---- Driving one node: the Ready contract.

  /**
   * Starts a node as a real one starts: its storage recovers what the disk
   * holds, and the core runs once that recovery is durable. Storage that
   * cannot recover keeps the node down, with the reason; the checker reports
   * it, since the disk only ever holds what a crash may leave.
   */
  private start(host: SimHost): void {
    host.starting = true;
    const incarnation = host.incarnation;
    const options = { segmentBytesMax: SIM_SEGMENT_BYTES_MAX, note: () => undefined };
    NodeStorage.open(host.disk, SIM_DATA_DIR, options, (error, opened) => {
      if (host.incarnation !== incarnation || !host.starting) return;
      host.starting = false;
      if (error !== undefined || opened === undefined) {
        host.stopReason = `storage did not recover: ${error?.message ?? 'no result'}`;
        // A full disk keeps a node from starting, as it would a real one; anything else is the storage's fault.
        if (errorCode(error) !== 'ENOSPC') this.checker.reportStorageFailure(host.id, host.stopReason);
        return;
      }
      this.checker.noteStorageRecovered();
      this.boot(host, opened);
    });
  }

  private boot(host: SimHost, opened: OpenedStorage): void {
    const config: RaftConfig = {
      id: host.id,
      group: RAFT_GROUP,
      peers: this.nodeIds,
      options: this.raftOptions,
      random: host.random,
      snapshots: opened.storage.snapshots,
    };
    host.storage = opened.storage;
    host.durable.reset(opened.durable);
    if (!this.restoreMachine(host, opened.snapshotData)) return;
    const brokerOptions = this.options.broker;
    if (brokerOptions === undefined) {
      host.core = this.options.createNode(config, opened.durable);
    } else {
      const create = brokerOptions.createBroker ?? ((c, restored, o, data, stores) => new BrokerNode(c, restored, o, data, stores));
      const nodeOptions = { ...brokerOptions.node, incarnation: opened.incarnation, snapshotEveryEntries: this.options.snapshotEveryEntries };
      try {
        const stores = new FileMessageStores(host.disk, SIM_MESSAGES_DIR, SIM_MESSAGE_STORE_OPTIONS);
        const broker = create(config, opened.durable, nodeOptions, opened.snapshotData, stores);
        broker.onApply = (entry, stamp) => {
          host.appliedIndex = entry.index;
          this.checker.checkApply(broker.raft, host.incarnation, entry);
          this.noteApplied(host, entry);
          if (stamp !== undefined) this.checker.checkAppliedStamp(host.id, broker.hybridClock, stamp, entry.index);
          this.checkTimestamps(host.id, broker);
        };
        host.broker = broker;
      } catch (error) {
        // The stores' files could not give back what the snapshot names: as storage that cannot recover.
        host.stopReason = `message stores did not recover: ${(error as Error).message}`;
        if (errorCode(error) !== 'ENOSPC') this.checker.reportStorageFailure(host.id, host.stopReason);
        host.storage?.close();
        host.storage = undefined;
        return;
      }
      host.core = host.broker.raft;
      if (opened.snapshotData !== undefined) this.checkBrokerSnapshot(host, host.broker);
    }
    host.appliedIndex = host.core.appliedIndex();
    if (opened.snapshotData !== undefined) this.noteSnapshotApplied(host, host.appliedIndex, host.core.snapshotMeta().term);
    host.nextTickUs = this.scheduler.now() + host.tickPeriodUs();
    host.pendingTickUs = -1;
    this.checkAfter(host);
    if (opened.snapshotData !== undefined && host.broker === undefined) this.checker.checkSnapshot(host.core, host.incarnation, host.appliedIndex, host.machine.chain);
    this.planTick(host);
  }

  /** A Raft-only node's state machine from its snapshot's bytes, or a fresh one; false (and reported) when they are not a snapshot. */
  private restoreMachine(host: SimHost, data: Uint8Array | undefined): boolean {
    if (this.options.broker !== undefined) return true;
    try {
      host.machine = data === undefined ? new ChainMachine() : ChainMachine.decode(data);
      return true;
    } catch (error) {
      host.stopReason = `snapshot did not restore: ${(error as Error).message}`;
      this.checker.reportStorageFailure(host.id, host.stopReason);
      host.storage?.close();
      host.storage = undefined;
      return false;
    }
  }

  /** Hands out Readies until one needs the disk or none is left. */
  private pump(host: SimHost): void {
    if (host.broker !== undefined) {
      this.pumpBroker(host, host.broker);
      return;
    }
    const core = host.core!;
    // Indexed loops rather than for-of: the core hands out both frozen shared empty
    // arrays and ordinary ones, and for-of over that mix falls back to a generic
    // iterator that allocates a result object per element.
    const immediate = core.takeImmediateMessages();
    for (let i = 0; i < immediate.length; i++) this.send(immediate[i]!);
    while (core.hasReady()) {
      const ready = core.ready();
      if (this.startPersisting(host, ready)) continue;
      // A Ready that writes nothing still waits for those before it.
      if (host.persisting.length > 0) this.queueWithoutWrites(host, ready);
      else this.finishReady(host, ready);
    }
  }

  /** The same for a broker core, which also has broker messages and client output after every step. */
  private pumpBroker(host: SimHost, broker: BrokerNode): void {
    for (;;) {
      const immediate = broker.takePeerMessages();
      for (let i = 0; i < immediate.length; i++) this.sendAny(immediate[i]!);
      if (!broker.hasReady()) break;
      const ready = broker.ready();
      if (this.startPersisting(host, ready)) continue;
      if (host.persisting.length > 0) this.queueWithoutWrites(host, ready);
      else this.finishReady(host, ready);
    }
    this.flushClientOutput(host, broker);
  }

  /** Starts the disk write a Ready needs, if it needs one; its messages and applies wait for it. */
  private startPersisting(host: SimHost, ready: Ready): boolean {
    const writesNothing = ready.hardState === undefined && ready.truncateFrom === undefined && ready.entries.length === 0;
    if (writesNothing && ready.snapshotChunks.length === 0 && ready.snapshot === undefined) return false;
    const persisting: PersistingReady = { ready, outcome: undefined };
    host.persisting.push(persisting);
    const incarnation = host.incarnation;
    let synchronous = true;
    host.storage!.persist(ready, (error, outcome) => {
      // A write refused at once (a full disk) answers before persist returns: finish it as its own event.
      if (synchronous) this.scheduler.schedule(this.events.disk(host.id, () => this.onPersisted(host, incarnation, persisting, error, outcome)), 0);
      else this.onPersisted(host, incarnation, persisting, error, outcome);
    });
    synchronous = false;
    return true;
  }

  /** A Ready with nothing to write behind others in flight: it finishes right after them. */
  private queueWithoutWrites(host: SimHost, ready: Ready): void {
    host.persisting.push({ ready, outcome: {} });
  }

  /** AFTER the Ready is durable: install its snapshot, send its messages, apply its entries, advance. */
  private finishReady(host: SimHost, ready: Ready, outcome: PersistOutcome = {}): void {
    const core = host.core!;
    if (ready.snapshot !== undefined) this.finishInstall(host, ready.snapshot.index, ready.snapshot.term, outcome);
    const messages = ready.messages;
    for (let i = 0; i < messages.length; i++) this.send(messages[i]!);
    if (host.broker !== undefined) {
      // A broker core applies entries as they commit and reports each (see boot), the Ready's among them.
      host.broker.advance(ready, outcome.installed);
      if (ready.snapshot !== undefined && outcome.installed !== undefined) this.checkBrokerSnapshot(host, host.broker);
    } else {
      const committed = ready.committedEntries;
      for (let i = 0; i < committed.length; i++) {
        const entry = committed[i]!;
        host.appliedIndex = entry.index;
        this.checker.checkApply(core, host.incarnation, entry);
        host.machine.apply(entry);
        this.noteApplied(host, entry);
      }
      core.advance();
    }
    this.maybeSnapshot(host);
  }

  /** A received snapshot was checked and made durable (or refused): the state machine takes it. */
  private finishInstall(host: SimHost, index: number, term: number, outcome: PersistOutcome): void {
    const core = host.core!;
    if (outcome.installed === undefined) {
      // A broker core tells its Raft core itself, in advance().
      if (host.broker === undefined) core.snapshotFailed();
      return;
    }
    if (host.broker === undefined) {
      host.machine = ChainMachine.decode(outcome.installed);
      this.checker.checkSnapshot(core, host.incarnation, index, host.machine.chain);
    }
    host.appliedIndex = index;
    this.noteSnapshotApplied(host, index, term);
  }

  /** The digest of each snapshot's state machine, by index: every node's snapshot at an index must hold the same state. */
  private readonly snapshotDigests = new Map<number, string>();

  /**
   * A broker node holds a snapshot's state at its index (restored, installed
   * or just taken): its digest must equal every other node's at that index,
   * and it applies from the next index on.
   */
  private checkBrokerSnapshot(host: SimHost, broker: BrokerNode): void {
    const index = broker.state.appliedIndex;
    const digest = broker.state.digest();
    const known = this.snapshotDigests.get(index);
    if (known === undefined) this.snapshotDigests.set(index, digest);
    this.checker.checkSnapshot(broker.raft, host.incarnation, index, known === undefined || known === digest ? this.checker.committedChainAt(index) : undefined);
  }

  /**
   * Takes a snapshot once the state machine has applied snapshotEveryEntries
   * entries past the last one: writes it durably, and only then lets the core
   * and the storage drop the log behind it.
   */
  private maybeSnapshot(host: SimHost): void {
    const every = this.options.snapshotEveryEntries;
    const core = host.core;
    const storage = host.storage;
    if (every <= 0 || core === undefined || storage === undefined || host.snapshotSaving) return;
    const broker = host.broker;
    let snapshot: { readonly index: number; readonly term: number; readonly data: Uint8Array } | undefined;
    if (broker !== undefined) {
      snapshot = broker.snapshotToSave();
      if (snapshot !== undefined) this.checkBrokerSnapshot(host, broker);
    } else if (host.appliedIndex - core.snapshotMeta().index >= every && host.appliedIndex === core.appliedIndex()) {
      snapshot = { index: host.appliedIndex, term: core.log.term(host.appliedIndex)!, data: host.machine.encode() };
    }
    if (snapshot === undefined) return;
    const meta = { index: snapshot.index, term: snapshot.term };
    const data = snapshot.data;
    host.snapshotSaving = true;
    const incarnation = host.incarnation;
    const save = (): void => {
      let synchronous = true;
      storage.saveSnapshot({ ...meta, size: data.length, crc: crc32(data) }, data, (error) => {
        // A write refused at once (a full disk) answers before saveSnapshot returns: finish it as its own event.
        if (synchronous) this.scheduler.schedule(this.events.disk(host.id, () => this.onSnapshotSaved(host, incarnation, meta, error)), 0);
        else this.onSnapshotSaved(host, incarnation, meta, error);
      });
      synchronous = false;
    };
    if (broker === undefined) {
      save();
      return;
    }
    // A broker's snapshot names messages in its stores' files: they are made durable first.
    let synchronous = true;
    broker.syncMessageStores((error) => {
      const next = (): void => {
        if (host.incarnation !== incarnation || host.storage !== storage) return;
        if (error === undefined) save();
        else this.onSnapshotSaved(host, incarnation, meta, error);
      };
      if (synchronous) this.scheduler.schedule(this.events.disk(host.id, next), 0);
      else next();
    });
    synchronous = false;
  }

  /**
   * As a real node does after a failed write or sync: the disk's state is
   * unknown, so the node stops (its process exits) rather than acknowledge
   * what may not be there.
   */
  private stopOnDiskError(host: SimHost, reason: string): void {
    host.stopReason = reason;
    host.disk.crash();
    this.halt(host);
  }

  private onSnapshotSaved(host: SimHost, incarnation: number, meta: SnapshotMeta, error: Error | undefined): void {
    const storage = host.storage;
    if (host.incarnation !== incarnation || host.core === undefined || storage === undefined) return;
    host.snapshotSaving = false;
    if (error !== undefined) {
      this.stopOnDiskError(host, `snapshot write failed: ${error.message}`);
      return;
    }
    this.catchUpTicks(host);
    if (host.broker !== undefined) storage.compactLog(host.broker.snapshotSaved(meta));
    // A snapshot installed from the leader meanwhile supersedes this one.
    else if (host.core.snapshotMeta().index < meta.index) storage.compactLog(host.core.snapshotTaken(meta));
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  /** The furthest any node's clock has read ahead of true time, in ms; it only grows. */
  private clocksAheadMaxMs = 0;

  private checkTimestamps(id: NodeId, broker: BrokerNode): void {
    this.recordClocksAhead();
    this.checker.checkTimestampBound(id, broker.state.nowMs, broker.hybridClock.l, this.scheduler.now() / 1000, this.clocksAheadMaxMs);
  }

  /**
   * Between two clock changes a node's lead over true time moves linearly
   * (constant drift), so its largest value is at a change or at a check: it is
   * recorded at both, and a stamp taken in between is within the record.
   */
  private recordClocksAhead(): void {
    const nowUs = this.scheduler.now();
    for (const host of this.hosts) {
      const aheadMs = (host.clock.localTimeUs(nowUs) - nowUs) / 1000;
      if (aheadMs > this.clocksAheadMaxMs) this.clocksAheadMaxMs = aheadMs;
    }
  }

  /**
   * The clock stamp each message of a broker cluster travels with, taken as it
   * is sent, as the real transport writes it in the message's frame. Keyed by
   * the message itself, so a duplicated delivery carries the same stamp.
   */
  private readonly clockStamps = new WeakMap<PeerMessage, ClockStamp>();

  private stampClock(message: PeerMessage): void {
    const sender = this.host(message.from);
    if (sender.broker !== undefined) this.clockStamps.set(message, sender.broker.clockStampFor(message.to, this.localMs(sender)));
  }

  private sendAny(message: PeerMessage): void {
    if (isBrokerPeerMessage(message)) this.sendBroker(message);
    else this.send(message);
  }

  /**
   * Broker messages cross the same network, with the same blocking, loss, delay
   * and duplication as Raft's, and arrive as Call events labelled with their type.
   */
  private sendBroker(message: BrokerPeerMessage): void {
    let counter = this.brokerTraffic.get(message.type);
    if (counter === undefined) {
      counter = { count: 0, bytes: 0 };
      this.brokerTraffic.set(message.type, counter);
    }
    counter.count++;
    this.stampClock(message);
    const delay = this.drawTransit(message);
    if (delay < 0) return;
    const label = `deliver ${message.type} n${message.from}->n${message.to}`;
    const deliver = (): void => this.onDeliverBroker(message);
    this.scheduler.schedule(this.events.call(label, deliver), delay);
    const again = this.drawDuplicateTransit(message, delay);
    if (again >= 0) this.scheduler.schedule(this.events.call(label, deliver), again);
  }

  private onDeliverBroker(message: BrokerPeerMessage): void {
    const host = this.host(message.to);
    if (host.broker === undefined || this.network.isBlocked(message.from, message.to)) {
      this.dropped++;
      return;
    }
    this.catchUpTicks(host);
    host.broker.step(message, this.localMs(host), this.clockStamps.get(message));
    this.checkTimestamps(host.id, host.broker);
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  /** The node's own clock reading now, in ms: what it stamps publishes with when it leads. */
  private localMs(host: SimHost): number {
    return host.clock.localTimeUs(this.scheduler.now()) / 1000;
  }

  // ---- Client connections (broker mode). Bytes between a client and its node
  // take a short random delay each way and stay in order, as on a TCP
  // connection; a connection ends when its node crashes.

  private clientDelayUs(): number {
    const mean = this.options.broker?.clientDelayMeanMs ?? 0.2;
    return 50 + Math.round(this.clientRandom.exponential(mean * 1000));
  }

  private clientConnect(node: NodeId, handlers: ConnectionHandlers, client: string | undefined): number | undefined {
    const host = this.host(node);
    const broker = host.broker;
    if (broker === undefined) {
      if (this.options.broker === undefined) throw new Error('clients need a cluster created with the broker option');
      return undefined;
    }
    const session = this.nextSession++;
    this.sessions.set(session, { node, incarnation: host.incarnation, handlers, toNodeUs: 0, toClientUs: 0, open: true, client, held: [] });
    this.catchUpTicks(host);
    broker.openSession(session);
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
    return session;
  }

  private clientSend(session: number, bytes: Uint8Array): void {
    const link = this.sessions.get(session);
    if (link === undefined || !link.open) return;
    const at = Math.max(this.scheduler.now() + this.clientDelayUs(), link.toNodeUs);
    link.toNodeUs = at;
    this.scheduler.schedule(
      this.events.call(`client ${session} -> n${link.node}`, () => {
        const host = this.host(link.node);
        if (!link.open || host.broker === undefined || host.incarnation !== link.incarnation) return;
        this.catchUpTicks(host);
        host.broker.receive(session, bytes, this.localMs(host));
        this.pump(host);
        this.checkAfter(host);
        this.planTick(host);
      }),
      at - this.scheduler.now(),
    );
  }

  private clientClose(session: number): void {
    const link = this.sessions.get(session);
    if (link === undefined || !link.open) return;
    link.open = false;
    this.sessions.delete(session);
    // The client closed it: what it had not read is gone with it.
    link.held.length = 0;
    this.heldLinks.delete(link);
    const host = this.host(link.node);
    if (host.broker !== undefined && host.incarnation === link.incarnation) {
      host.broker.closeSession(session);
      this.pump(host);
    }
  }

  private flushClientOutput(host: SimHost, broker: BrokerNode): void {
    const outputs = broker.takeClientOutput();
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs[i]!;
      const link = this.sessions.get(output.session);
      if (link === undefined) continue;
      const at = Math.max(this.scheduler.now() + this.clientDelayUs(), link.toClientUs);
      link.toClientUs = at;
      if (output.close) {
        link.open = false;
        this.sessions.delete(output.session);
      }
      const arrival: HeldOutput = { host, incarnation: host.incarnation, session: output.session, bytes: output.bytes, close: output.close };
      this.scheduler.schedule(
        this.events.call(`n${host.id} -> client ${output.session}`, () => this.arriveAtClient(link, arrival)),
        at - this.scheduler.now(),
      );
    }
  }

  /** Output reaches the client: it reads it now, or holds it unread while its reads are paused. */
  private arriveAtClient(link: ClientSessionLink, arrival: HeldOutput): void {
    if (this.readsPaused(link)) {
      link.held.push(arrival);
      this.heldLinks.add(link);
      return;
    }
    this.readAtClient(link, arrival);
  }

  private readAtClient(link: ClientSessionLink, arrival: HeldOutput): void {
    let total = 0;
    for (const bytes of arrival.bytes) {
      link.handlers.onBytes(bytes);
      total += bytes.length;
    }
    if (arrival.close) link.handlers.onClose();
    else if (arrival.host !== undefined) this.clientRead(arrival.host, arrival.incarnation, arrival.session, total);
  }

  /** A link's reads wait while its client is paused, and while it holds output unread, so that output stays in order. */
  private readsPaused(link: ClientSessionLink): boolean {
    if (link.held.length > 0) return true;
    return link.client !== undefined && (this.clientPausedUntilUs.get(link.client) ?? 0) > this.scheduler.now();
  }

  /**
   * A slow client: the client named `client` stops reading its connections
   * (those it has and those it opens) for forMs. What the nodes send it waits
   * unread, and the nodes are not told it was written, so their output budget
   * for it fills: stored deliveries pause, HISTORY reads wait, and an unstored
   * message over the budget cuts it as a slow consumer. Then it reads all it
   * was sent, in order. Returns false when there are no clients (a Raft-only
   * cluster), so the fault had nothing to act on.
   */
  pauseClientReads(client: string, forMs: number): boolean {
    if (this.options.broker === undefined) return false;
    const untilUs = this.scheduler.now() + Math.round(forMs * 1000);
    this.clientPausedUntilUs.set(client, Math.max(untilUs, this.clientPausedUntilUs.get(client) ?? 0));
    this.scheduler.schedule(this.events.call(`client ${client} reads again`, () => this.resumeClientReads(client)), untilUs - this.scheduler.now());
    return true;
  }

  private resumeClientReads(client: string): void {
    if ((this.clientPausedUntilUs.get(client) ?? 0) > this.scheduler.now()) return; // A later pause holds it longer.
    this.clientPausedUntilUs.delete(client);
    for (const link of [...this.heldLinks]) {
      if (link.client !== client) continue;
      this.heldLinks.delete(link);
      const held = link.held.splice(0);
      for (const arrival of held) this.readAtClient(link, arrival);
    }
  }

  /**
   * A simulated client read what the node sent it: the node's socket has taken
   * it, and output that waited for room may go on.
   */
  private clientRead(host: SimHost, incarnation: number, session: number, bytes: number): void {
    const broker = host.broker;
    if (broker === undefined || host.incarnation !== incarnation || !this.sessions.get(session)?.open) return;
    this.catchUpTicks(host);
    broker.clientWritten(session, bytes, this.localMs(host));
    this.pump(host);
    this.checkAfter(host);
    this.planTick(host);
  }

  /** A crash ends every connection to the node; each client learns it a moment later. */
  private closeSessionsOf(host: SimHost): void {
    for (const [session, link] of this.sessions) {
      if (link.node !== host.id) continue;
      link.open = false;
      this.sessions.delete(session);
      const at = Math.max(this.scheduler.now() + this.clientDelayUs(), link.toClientUs);
      // A client that is not reading learns of the end only after what it holds unread.
      const end: HeldOutput = { host: undefined, incarnation: link.incarnation, session, bytes: [], close: true };
      this.scheduler.schedule(this.events.call(`connection ${session} to n${host.id} lost`, () => this.arriveAtClient(link, end)), at - this.scheduler.now());
    }
  }

  private send(message: RaftMessage): void {
    const counter = this.trafficByCode[raftMessageTypeCode(message.type)]!;
    counter.count++;
    counter.bytes += encodedSizeBytes(message);
    this.checker.checkSend(message);
    this.checker.checkDurableBeforeSend(message, this.host(message.from).durable);
    if (this.options.broker !== undefined) this.stampClock(message);
    const delay = this.drawTransit(message);
    if (delay < 0) return;
    this.scheduler.schedule(this.events.deliver(message), delay);
    const again = this.drawDuplicateTransit(message, delay);
    if (again >= 0) this.scheduler.schedule(this.events.deliver(message), again);
  }

  /** The network's verdict on one message: its delay in µs, or -1 when it is blocked or lost (and counted as dropped). */
  private drawTransit(message: PeerMessage): number {
    if (this.network.isBlocked(message.from, message.to)) {
      this.dropped++;
      return -1;
    }
    const delay = this.network.drawDelayUs(message);
    if (delay === undefined) {
      this.dropped++;
      return -1;
    }
    return delay;
  }

  /** Whether a delivered message arrives a second time: the copy's delay in µs, or -1. */
  private drawDuplicateTransit(message: PeerMessage, delay: number): number {
    if (!this.network.drawDuplicate(message)) return -1;
    this.duplicated++;
    return this.network.drawDelayUs(message) ?? delay;
  }

  private checkAfter(host: SimHost): void {
    const core = host.core;
    if (core === undefined) return;
    this.checker.checkNode(core, host.incarnation);
    // Without CheckQuorum a leader makes no promise to step down, so it is held to none.
    if (this.raftOptions.checkQuorum) this.checker.checkLeaderHearing(core, host.ticksGiven, this.raftOptions.electionTicksMin);
    // A leader's match index moves on its own events, a follower's log on the follower's.
    if (core.role() === 'leader') {
      for (const other of this.hosts) {
        if (other.core !== undefined && other !== host && core.term() > other.wipedThroughTerm) this.checker.checkMatchIndex(core, other.core);
      }
    } else {
      for (const other of this.hosts) {
        if (other.core !== undefined && other.core.role() === 'leader' && other.core.term() > host.wipedThroughTerm) this.checker.checkMatchIndex(other.core, core);
      }
    }
  }

  private host(id: NodeId): SimHost {
    const host = this.hosts[id - 1];
    if (host === undefined) throw new Error(`no node ${id}; nodes are 1..${this.hosts.length}`);
    return host;
  }
}

interface ClientSessionLink {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly handlers: ConnectionHandlers;
  /** When the last bytes to the node arrive there; later bytes arrive no earlier. */
  toNodeUs: number;
  /** The same for bytes to the client. */
  toClientUs: number;
  open: boolean;
  /** The client's name, which a slow-client fault names. */
  readonly client: string | undefined;
  /** Output that reached the client while its reads were paused, in order: read when they resume. */
  readonly held: HeldOutput[];
}

/** Output on its way to a client; a connection's end when `host` is undefined and `close` is set. */
interface HeldOutput {
  readonly host: SimHost | undefined;
  readonly incarnation: number;
  readonly session: number;
  readonly bytes: readonly Uint8Array[];
  readonly close: boolean;
}

/** A clock may run fast or slow, but not stop or run backwards: at most half again or half as fast. */
export const DRIFT_PPM_MAX = 500_000;

function checkDrift(driftPpm: number): void {
  if (!(Math.abs(driftPpm) <= DRIFT_PPM_MAX)) {
    throw new Error(`clock drift must be within ±${DRIFT_PPM_MAX} ppm, got ${driftPpm}`);
  }
}

/** Drops keys whose value is undefined, so that `{ createNode: undefined }` keeps the default. */
function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
