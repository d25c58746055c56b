// Which subjects each node's clients listen to, told between nodes so that
// NATS core traffic (subjects no stream captures) behaves across the cluster
// as it does on one nats-server: a publish is relayed only to nodes with a
// matching subscription, a queue group gets each message once in the whole
// cluster (a member on the publishing node first, as nats-server prefers
// local members), and a request nobody listens to is answered at once with
// NATS's 503 no-responders status.
//
// Each node advertises its live subscriptions as (subject pattern, queue
// group, member count) entries. An update carries absolute counts (0: gone),
// so applying one twice changes nothing; updates of one incarnation (epoch)
// are numbered, and one older than the last applied is dropped, so a
// reordered network cannot bring back a subscription that left. A lost update
// is made good by the full advertisement every node sends every few ticks,
// which replaces what its peers knew of it. Interest is soft state, like
// nats-server's route subscriptions: briefly stale after a change, never wrong
// for long, and never a matter of safety.

import type { NodeId } from '../raft/types.js';
import { SubjectIndex } from '../broker/subjects.js';

export interface InterestEntry {
  readonly subject: string;
  /** The queue group, or undefined for a plain subscription. */
  readonly queue: string | undefined;
  /** Members subscribed; 0 in an update means the entry is gone. */
  readonly count: number;
}

export interface InterestUpdate {
  /** The sender's incarnation: a restarted node starts its numbering afresh. */
  readonly epoch: number;
  readonly version: number;
  /** A full update replaces everything the receiver knew of the sender. */
  readonly full: boolean;
  readonly entries: readonly InterestEntry[];
}

/** One subscription pattern and queue group, as a map key (subjects hold no spaces). */
export function interestKey(subject: string, queue: string | undefined): string {
  return queue === undefined ? subject : `${subject} ${queue}`;
}

/** What this node has told its peers of its own interest, and what to tell them next. */
export class InterestAdvertiser {
  private advertised = new Map<string, InterestEntry>();
  private version = 0;
  private ticksSinceFull = 0;

  constructor(
    private readonly epoch: number,
    /** Ticks between full advertisements, which repair anything lost. */
    private readonly fullEveryTicks: number,
  ) {}

  /** The entries that changed since the last update, or undefined when none did. */
  changes(current: readonly InterestEntry[]): InterestUpdate | undefined {
    const now = new Map(current.map((entry) => [interestKey(entry.subject, entry.queue), entry]));
    const changed: InterestEntry[] = [];
    for (const [key, entry] of now) if (this.advertised.get(key)?.count !== entry.count) changed.push(entry);
    for (const [key, entry] of this.advertised) if (!now.has(key)) changed.push({ ...entry, count: 0 });
    if (changed.length === 0) return undefined;
    this.advertised = now;
    return { epoch: this.epoch, version: ++this.version, full: false, entries: changed };
  }

  /** Counts a tick; every fullEveryTicks it returns the whole interest. */
  tick(current: readonly InterestEntry[]): InterestUpdate | undefined {
    if (++this.ticksSinceFull < this.fullEveryTicks) return undefined;
    this.ticksSinceFull = 0;
    this.advertised = new Map(current.map((entry) => [interestKey(entry.subject, entry.queue), entry]));
    return { epoch: this.epoch, version: ++this.version, full: true, entries: current };
  }
}

interface PeerState {
  epoch: number;
  version: number;
  readonly entries: Map<string, InterestEntry>;
  readonly index: SubjectIndex<string>;
}

/** What this node knows of its peers' interest. */
export class PeerInterest {
  private readonly peers = new Map<NodeId, PeerState>();

  apply(peer: NodeId, update: InterestUpdate): void {
    let state = this.peers.get(peer);
    if (state !== undefined && (update.epoch < state.epoch || (update.epoch === state.epoch && update.version <= state.version))) return;
    if (state === undefined || update.full || update.epoch !== state.epoch) {
      state = { epoch: update.epoch, version: update.version, entries: new Map(), index: new SubjectIndex() };
      this.peers.set(peer, state);
    }
    state.version = update.version;
    for (const entry of update.entries) {
      const key = interestKey(entry.subject, entry.queue);
      const known = state.entries.has(key);
      if (entry.count > 0) {
        state.entries.set(key, entry);
        if (!known) state.index.add(entry.subject, key);
      } else if (known) {
        state.entries.delete(key);
        state.index.remove(entry.subject, key);
      }
    }
  }

  /** Every peer entry whose pattern matches the literal `subject`, peers in id order. */
  matching(subject: string): { readonly peer: NodeId; readonly entry: InterestEntry }[] {
    const found: { peer: NodeId; entry: InterestEntry }[] = [];
    for (const peer of [...this.peers.keys()].sort((a, b) => a - b)) {
      const state = this.peers.get(peer)!;
      for (const key of state.index.match(subject)) found.push({ peer, entry: state.entries.get(key)! });
    }
    return found;
  }
}
