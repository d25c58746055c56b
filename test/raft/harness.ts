// A tiny deterministic harness for driving RaftNode instances by hand.
//
// Nothing here is random and nothing is delivered unless a test says so: every
// message a node sends waits in `network` until the test delivers, drops or
// reorders it, so each test builds an exact schedule. The per-node "disk" keeps
// exactly what the Ready contract asks a driver to make durable, so a node can be
// rebuilt from it to model a crash and restart.

import { DEFAULT_RAFT_OPTIONS, type RaftConfig, type RaftOptions, type RandomSource } from '../../src/raft/config.js';
import { RaftNode } from '../../src/raft/node.js';
import {
  EMPTY_HARD_STATE,
  type DurableState,
  type Entry,
  type EntryKind,
  type HardState,
  type NodeId,
  type RaftMessage,
  type RaftMessageType,
  type Ready,
} from '../../src/raft/types.js';

export const GROUP = 1;

/** Cycles through a fixed list of floats, so every election timeout is known in advance. */
export class FixedRandom implements RandomSource {
  private position = 0;

  constructor(private readonly values: readonly number[]) {
    if (values.length === 0) throw new Error('FixedRandom needs at least one value');
    for (const value of values) {
      if (!(value >= 0 && value < 1)) throw new Error(`FixedRandom value ${value} is outside [0, 1)`);
    }
  }

  nextFloat(): number {
    const value = this.values[this.position % this.values.length]!;
    this.position++;
    return value;
  }
}

/** Builds an entry; the data defaults to empty for a noop and to a short label for a command. */
export function entry(index: number, term: number, kind: EntryKind = 'command', data?: Uint8Array): Entry {
  const bytes = data ?? (kind === 'noop' ? new Uint8Array(0) : new TextEncoder().encode(`e${index}t${term}`));
  return { index, term, kind, data: bytes };
}

/** A log of commands whose terms are given in index order, e.g. logOfTerms(1, 1, 2). */
export function logOfTerms(...terms: number[]): Entry[] {
  return terms.map((term, position) => entry(position + 1, term));
}

export function bytes(length: number): Uint8Array {
  return new Uint8Array(length).fill(7);
}

/** The terms of a log in index order: a compact picture for readable assertions. */
export function termsOf(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term);
}

export interface Disk {
  hardState: HardState;
  entries: Entry[];
}

export type NodeFactory = (config: RaftConfig, durable: DurableState) => RaftNode;

export interface ClusterOptions {
  /** Voter ids; defaults to 1..3. */
  readonly ids?: readonly NodeId[];
  readonly options?: Partial<RaftOptions>;
  /** What each node restarts from; a node not named starts empty. */
  readonly durable?: Readonly<Record<NodeId, DurableState>>;
  /** Each node's random sequence; defaults to every node drawing 0.5 forever. */
  readonly random?: (id: NodeId) => RandomSource;
  /** Lets a test substitute a planted-bug variant of RaftNode for some nodes. */
  readonly create?: NodeFactory;
}

export type MessageFilter = (message: RaftMessage) => boolean;

export const to =
  (...ids: NodeId[]): MessageFilter =>
  (m) =>
    ids.includes(m.to);
export const from =
  (...ids: NodeId[]): MessageFilter =>
  (m) =>
    ids.includes(m.from);
export const ofType =
  (...types: RaftMessageType[]): MessageFilter =>
  (m) =>
    types.includes(m.type);
export const all =
  (...filters: MessageFilter[]): MessageFilter =>
  (m) =>
    filters.every((f) => f(m));
export const everything: MessageFilter = () => true;
/** Messages between a and b in either direction. */
export const between =
  (a: NodeId, b: NodeId): MessageFilter =>
  (m) =>
    (m.from === a && m.to === b) || (m.from === b && m.to === a);

const defaultFactory: NodeFactory = (config, durable) => new RaftNode(config, durable);

export class Cluster {
  readonly ids: readonly NodeId[];
  readonly options: RaftOptions;
  private readonly nodes = new Map<NodeId, RaftNode>();
  private readonly disks = new Map<NodeId, Disk>();
  private readonly randomFor: (id: NodeId) => RandomSource;
  private readonly create: NodeFactory;
  /** Messages sent (after their Ready was persisted) and not yet delivered or dropped, in send order. */
  network: RaftMessage[] = [];
  /** Every message ever sent, in order, for counting round trips. */
  readonly sent: RaftMessage[] = [];
  /** Entries each node's driver applied, across incarnations, in the order they came. */
  readonly applied = new Map<NodeId, Entry[]>();
  /** The same, split by incarnation: a restart starts a new list. */
  readonly incarnations = new Map<NodeId, Entry[][]>();
  /** Every Ready each node produced, in order, for contract checks. */
  readonly readies = new Map<NodeId, Ready[]>();
  /** Called after a Ready is persisted and BEFORE its messages are sent. */
  onPersisted: ((id: NodeId, ready: Ready, disk: Disk) => void) | undefined = undefined;
  /** Called with the messages a node sends at once, outside any Ready, as they leave. */
  onImmediate: ((id: NodeId, messages: readonly RaftMessage[], disk: Disk) => void) | undefined = undefined;

  constructor(cluster: ClusterOptions = {}) {
    this.ids = cluster.ids ?? [1, 2, 3];
    this.options = { ...DEFAULT_RAFT_OPTIONS, ...cluster.options };
    this.randomFor = cluster.random ?? (() => new FixedRandom([0.5]));
    this.create = cluster.create ?? defaultFactory;
    for (const id of this.ids) {
      const durable = cluster.durable?.[id] ?? { hardState: EMPTY_HARD_STATE, entries: [] };
      this.disks.set(id, { hardState: durable.hardState, entries: durable.entries.slice() });
      this.applied.set(id, []);
      this.incarnations.set(id, []);
      this.readies.set(id, []);
      this.start(id);
    }
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} is down`);
    return node;
  }

  disk(id: NodeId): Disk {
    return this.disks.get(id)!;
  }

  // ---- The Ready loop.

  /**
   * Takes one Ready from the node, persists it, sends its messages, records its
   * committed entries and calls advance(). Returns the Ready, or undefined when there was none.
   */
  flush(id: NodeId): Ready | undefined {
    const ready = this.persistAndSend(id);
    if (ready !== undefined) this.node(id).advance();
    return ready;
  }

  /**
   * The first half of a Ready cycle: ready(), persist, send, apply, but no advance().
   * Lets a test deliver answers while the node still waits for its own write to be acknowledged.
   */
  persistAndSend(id: NodeId): Ready | undefined {
    const node = this.node(id);
    const immediate = node.takeImmediateMessages();
    if (immediate.length > 0) this.onImmediate?.(id, immediate, this.disk(id));
    for (const message of immediate) {
      this.network.push(message);
      this.sent.push(message);
    }
    if (!node.hasReady()) return undefined;
    const ready = node.ready();
    this.readies.get(id)!.push(ready);
    this.persist(id, ready);
    this.onPersisted?.(id, ready, this.disk(id));
    for (const message of ready.messages) {
      this.network.push(message);
      this.sent.push(message);
    }
    this.applied.get(id)!.push(...ready.committedEntries);
    this.incarnations.get(id)!.at(-1)!.push(...ready.committedEntries);
    return ready;
  }

  /** Flushes every live node until none has a Ready, without delivering anything. */
  flushAll(): void {
    for (let round = 0; round < 100; round++) {
      let flushed = false;
      for (const id of this.nodes.keys()) if (this.flush(id) !== undefined) flushed = true;
      if (!flushed) return;
    }
    throw new Error('flushAll did not settle');
  }

  private persist(id: NodeId, ready: Ready): void {
    const disk = this.disk(id);
    if (ready.hardState !== undefined) disk.hardState = ready.hardState;
    if (ready.truncateFrom !== undefined) disk.entries.length = Math.min(disk.entries.length, ready.truncateFrom - 1);
    for (const e of ready.entries) {
      if (e.index !== disk.entries.length + 1) {
        throw new Error(`node ${id}: Ready entry ${e.index} does not follow durable index ${disk.entries.length}`);
      }
      disk.entries.push(e);
    }
  }

  // ---- Time.

  /** Ticks one node `count` times, flushing after each tick. */
  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.node(id).tick();
      this.flush(id);
    }
  }

  /** Ticks until the node leaves the follower role; returns the ticks it took. */
  tickUntilCampaign(id: NodeId, ticksMax = 1000): number {
    for (let ticks = 1; ticks <= ticksMax; ticks++) {
      this.tick(id);
      if (this.node(id).role() !== 'follower') return ticks;
    }
    throw new Error(`node ${id} did not campaign within ${ticksMax} ticks`);
  }

  // ---- The network.

  /** Removes and returns the in-flight messages that match, keeping the rest in order. */
  take(filter: MessageFilter = everything): RaftMessage[] {
    const taken = this.network.filter(filter);
    this.network = this.network.filter((m) => !filter(m));
    return taken;
  }

  /** Drops the in-flight messages that match; returns how many. */
  drop(filter: MessageFilter = everything): number {
    return this.take(filter).length;
  }

  /** Peeks at the in-flight messages that match without removing them. */
  peek(filter: MessageFilter = everything): RaftMessage[] {
    return this.network.filter(filter);
  }

  /**
   * Steps the given messages into their receivers (in the given order) and flushes
   * each receiver after each message. A message to a down node is lost.
   */
  stepAll(messages: readonly RaftMessage[]): void {
    for (const message of messages) {
      if (!this.nodes.has(message.to)) continue;
      this.node(message.to).step(message);
      this.flush(message.to);
    }
  }

  /** Delivers (once) the in-flight messages that match, in send order; returns how many. */
  deliver(filter: MessageFilter = everything): number {
    const messages = this.take(filter);
    this.stepAll(messages);
    return messages.length;
  }

  /** Copies the in-flight messages that match to the end of the queue, as a network that duplicates. */
  duplicate(filter: MessageFilter = everything): number {
    const copies = this.network.filter(filter);
    this.network.push(...copies);
    return copies.length;
  }

  /** Reverses the order of everything in flight, as a network that reorders. */
  reverse(): void {
    this.network.reverse();
  }

  /**
   * Delivers matching messages round after round until none is in flight, and
   * drops every other message as it appears. Returns the number of rounds.
   */
  stabilize(filter: MessageFilter = everything, roundsMax = 200): number {
    this.flushAll();
    for (let round = 0; round < roundsMax; round++) {
      this.drop((m) => !filter(m));
      if (this.network.length === 0) return round;
      this.deliver(filter);
    }
    throw new Error(`stabilize did not settle within ${roundsMax} rounds`);
  }

  // ---- Crashes.

  /** Stops a node; what it had not made durable is gone, and messages to it are lost. */
  crash(id: NodeId): void {
    this.nodes.delete(id);
    this.network = this.network.filter((m) => m.to !== id);
  }

  /** Rebuilds the node from exactly what its disk holds. */
  restart(id: NodeId): RaftNode {
    this.nodes.delete(id);
    return this.start(id);
  }

  private start(id: NodeId): RaftNode {
    const disk = this.disk(id);
    const config: RaftConfig = {
      id,
      group: GROUP,
      peers: this.ids,
      options: this.options,
      random: this.randomFor(id),
    };
    const node = this.create(config, { hardState: disk.hardState, entries: disk.entries.slice() });
    this.nodes.set(id, node);
    this.incarnations.get(id)!.push([]);
    return node;
  }

  // ---- Scripted steps used by many tests.

  /**
   * Elects `id`: ticks it until it sends VoteRequests, then delivers the PreVote and
   * Vote exchanges among `voters` only (everything else in flight is left alone).
   * A lost pre-campaign (say, one that taught it a higher term) is retried a few times.
   * Returns once the node is leader; throws if it could not win.
   */
  elect(id: NodeId, voters: readonly NodeId[] = this.ids.filter((v) => v !== id)): void {
    const exchange: MessageFilter = (m) =>
      (m.type === 'VoteRequest' && m.from === id && voters.includes(m.to)) ||
      (m.type === 'VoteResponse' && m.to === id && voters.includes(m.from));
    for (let attempt = 0; attempt < 5; attempt++) {
      this.tickUntilVoteRequests(id);
      for (let round = 0; round < 10 && this.node(id).role() !== 'leader'; round++) {
        if (this.deliver(exchange) === 0) break;
      }
      if (this.node(id).role() === 'leader') return;
    }
    throw new Error(`node ${id} did not win with voters ${voters.join(',')}`);
  }

  private tickUntilVoteRequests(id: NodeId, ticksMax = 1000): void {
    const sentBefore = this.sent.length;
    for (let ticks = 1; ticks <= ticksMax; ticks++) {
      this.tick(id);
      if (this.sent.slice(sentBefore).some((m) => m.type === 'VoteRequest' && m.from === id)) return;
    }
    throw new Error(`node ${id} sent no VoteRequest within ${ticksMax} ticks`);
  }
}

/** A follower-side helper: an AppendRequest as a leader would send it. */
export function appendRequest(fields: {
  from: NodeId;
  to: NodeId;
  term: number;
  prevLogIndex: number;
  prevLogTerm: number;
  entries?: readonly Entry[];
  leaderCommit?: number;
}): RaftMessage {
  return {
    type: 'AppendRequest',
    group: GROUP,
    from: fields.from,
    to: fields.to,
    term: fields.term,
    prevLogIndex: fields.prevLogIndex,
    prevLogTerm: fields.prevLogTerm,
    entries: fields.entries ?? [],
    leaderCommit: fields.leaderCommit ?? 0,
  };
}

/** A VoteRequest as a (pre-)candidate would send it. */
export function voteRequest(fields: {
  from: NodeId;
  to: NodeId;
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
  preVote?: boolean;
  transfer?: boolean;
}): RaftMessage {
  return {
    type: 'VoteRequest',
    group: GROUP,
    from: fields.from,
    to: fields.to,
    term: fields.term,
    preVote: fields.preVote ?? false,
    lastLogIndex: fields.lastLogIndex,
    lastLogTerm: fields.lastLogTerm,
    transfer: fields.transfer ?? false,
  };
}

export function heartbeat(fields: { from: NodeId; to: NodeId; term: number; commit?: number; seq?: number }): RaftMessage {
  return {
    type: 'Heartbeat',
    group: GROUP,
    from: fields.from,
    to: fields.to,
    term: fields.term,
    commit: fields.commit ?? 0,
    seq: fields.seq ?? 1,
  };
}

/** Narrows a message list to one type, for typed field access in assertions. */
export function only<T extends RaftMessageType>(messages: readonly RaftMessage[], type: T): Extract<RaftMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<RaftMessage, { type: T }> => m.type === type);
}

/** A durable state with the given log, term and vote. */
export function durable(entries: readonly Entry[], term: number, vote: NodeId = 0): DurableState {
  return { hardState: { term, vote }, entries };
}
