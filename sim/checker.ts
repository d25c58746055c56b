import type { RaftNode } from '../src/raft/node.js';
import type { Entry, NodeId, RaftMessage, RaftMessageType } from '../src/raft/types.js';
import type { DurableView } from './disk.js';
import { chainHash, hashBytes } from './hash.js';

export type SafetyProperty =
  | 'Election Safety'
  | 'Leader Append-Only'
  | 'Log Matching'
  | 'Leader Completeness'
  | 'State Machine Safety'
  | 'Commit Monotonic'
  | 'Applied Within Commit'
  | 'Apply Order'
  | 'Single Vote Per Term'
  | 'Durable Before Send'
  | 'Storage Recovery'
  | 'Timestamp Bound'
  | 'Election Quorum'
  | 'Clock Covers Applied'
  | 'Match Within Shared Log'
  | 'Leadership';

/** Every property the checker judges, in the order reports list them. */
export const SAFETY_PROPERTIES: readonly SafetyProperty[] = [
  'Election Safety',
  'Leader Append-Only',
  'Log Matching',
  'Leader Completeness',
  'State Machine Safety',
  'Commit Monotonic',
  'Applied Within Commit',
  'Apply Order',
  'Single Vote Per Term',
  'Durable Before Send',
  'Storage Recovery',
  'Timestamp Bound',
  'Election Quorum',
  'Clock Covers Applied',
  'Match Within Shared Log',
  'Leadership',
];

/**
 * After the last heal, with no fault left, a run may see at most this many
 * elections and its highest term may grow by at most this many: a healed
 * cluster elects one leader (a few more when a vote splits, or when a node
 * that refused to lead hands over) and keeps it. See docs/sim-api.md.
 */
export const ELECTIONS_AFTER_HEAL_MAX = 4;
export const TERMS_AFTER_HEAL_MAX = 8;

export interface Violation {
  readonly property: SafetyProperty;
  readonly detail: string;
  readonly nodes: readonly NodeId[];
  readonly term: number;
  readonly index: number;
  /** Simulated time in microseconds. */
  readonly timeUs: number;
}

export function formatViolation(violation: Violation): string {
  const seconds = (violation.timeUs / 1_000_000).toFixed(6);
  const nodes = violation.nodes.map((node) => `n${node}`).join(',');
  return `${violation.property} violated at t=${seconds}s (nodes ${nodes}, term ${violation.term}, index ${violation.index}): ${violation.detail}`;
}

/**
 * What the checker remembers of one node: its log as of the last check, with a
 * prefix hash per entry. The log is held as a prefix shared with the checker's
 * canonical log (see SafetyChecker) and the node's own entries after it.
 */
interface NodeRecord {
  incarnation: number;
  /** How many entries the node's log held at the last check. */
  length: number;
  /** Positions 0..shared-1 of the node's log hold exactly the canonical entries there. */
  shared: number;
  /** The node's entries at positions shared..length-1, where it leaves the canonical log. */
  ownEntries: Entry[];
  /** ownChains[i] is the prefix hash up to and including ownEntries[i]. */
  ownChains: number[];
  commit: number;
  applied: number;
  /** The term in which this node was last seen as leader, or 0. */
  leaderTerm: number;
}

/** A node's leadership of one term, as the Leadership property follows it. */
interface Tenure {
  readonly term: number;
  /** How many ticks the node had been given when it was first seen leading this term. */
  readonly sinceTick: number;
  /** Per voter, the node's tick count when that voter's last answer of this term reached it. */
  readonly heardAtTick: Map<NodeId, number>;
  /** The longest quorum-check window the node has used in this term (an election timeout, stretched by its election backoff). */
  windowMax: number;
  /** Reported once per term, not after every event that follows. */
  reported: boolean;
}

/** The answers a leader's CheckQuorum counts as hearing from a voter. */
const LEADER_HEARS: ReadonlySet<RaftMessageType> = new Set<RaftMessageType>(['AppendResponse', 'HeartbeatResponse', 'InstallSnapshotResponse']);

const TERM_KEY_LIMIT = 2 ** 21;

/**
 * The Raft safety properties (Figure 3 and a few more), checked incrementally
 * after every event, so a violation is reported at the event that caused it.
 *
 * Logs are compared through prefix hashes: two logs hold the same prefix up to i
 * exactly when their chain values at i agree (up to hash collisions, which could
 * only hide a violation, never invent one).
 *
 * Nodes mostly hold the same entries, so the checker keeps one canonical log of
 * entries and prefix hashes, and remembers each node as how far it follows the
 * canonical log plus its own entries beyond that. A node appending the very entry
 * object the canonical log already has at that position costs a comparison, not
 * a hash and a copy of the log per node. The canonical log follows whichever
 * node first writes each position; a position no node has shown committed may
 * be rewritten when a node that follows it wholly writes a different entry there,
 * as a new leader does over its predecessor's uncommitted entries.
 */
export class SafetyChecker {
  readonly violations: Violation[] = [];
  /**
   * How many times each property had something to judge: a property a run
   * never judged was never tested by it, however clean the run.
   */
  readonly judged: Record<SafetyProperty, number> = Object.fromEntries(SAFETY_PROPERTIES.map((property) => [property, 0])) as Record<SafetyProperty, number>;
  /** Indexed by node id. */
  private readonly nodes: (NodeRecord | undefined)[] = [];
  /**
   * The one prefix hash ever seen for each (index, term): Log Matching across all
   * time. Nearly every index only ever has one term, kept in the flat arrays; the
   * rare other terms of an index go to the map.
   */
  private readonly firstTermAt: number[] = [];
  private readonly firstChainAt: number[] = [];
  private readonly chainByIndexTerm = new Map<number, number>();
  /**
   * The canonical log, 0-based: canonEntries[p] is the entry at index p + 1 and
   * canonChains[p] the prefix hash through it, built from canonChains[p - 1].
   */
  private readonly canonEntries: Entry[] = [];
  private readonly canonChains: number[] = [];
  private readonly leaderByTerm = new Map<number, NodeId>();
  /** Every election seen, in the order they happened. */
  readonly elections: { readonly term: number; readonly node: NodeId; readonly timeUs: number }[] = [];
  /** The longest committed prefix seen on any node, as prefix hashes (1-based via index - 1). */
  private readonly committedChains: number[] = [];
  /** The entries of that prefix: what a node's compacted log holds where it no longer shows it. */
  private readonly committedEntries: Entry[] = [];
  /**
   * The term of the node that first showed each index committed. The checker
   * looks after every event, so that is the term of the leader that committed it.
   */
  private readonly committedInTerm: number[] = [];
  /** The prefix hash of the entry applied at each index by whichever node applied it first. */
  private readonly appliedChains: number[] = [];
  private readonly voteByTermAndVoter = new Map<string, NodeId>();
  private readonly dataHashes = new WeakMap<Uint8Array, number>();
  /** Per node id, the leadership it holds now, for the Leadership property; undefined while it does not lead. */
  private readonly tenures: (Tenure | undefined)[] = [];
  /** The highest term any message has carried: the cluster's term, as far as anyone could learn it. */
  private highestTerm = 0;
  /** What the cluster had reached when the last heal came; undefined before it. */
  private atHeal: { readonly elections: number; readonly term: number } | undefined;

  constructor(
    private readonly now: () => number,
    private readonly violationsMax = 100,
  ) {}

  /**
   * Checks a node's state after an event it handled. Most events (ticks,
   * heartbeats, answers to appends) change nothing the properties look at, and
   * only what changed is looked at: a log only changes at its end, so the same
   * length and the same last entry object mean the same log.
   */
  checkNode(node: RaftNode, incarnation: number): void {
    const record = this.recordFor(node.id, incarnation);
    const log = node.log.view();
    const offset = node.log.firstIndex() - 1;
    const length = offset + log.length;
    // Not indexed at -1 when empty: a negative key would make these loads megamorphic.
    const logUnchanged = length === record.length && (log.length === 0 || log[log.length - 1] === this.entryAt(record, length - 1)) && record.shared >= offset;
    const commit = node.commitIndex();
    const leaderTerm = node.role() === 'leader' ? node.term() : 0;
    if (logUnchanged && commit === record.commit && leaderTerm === record.leaderTerm) return;
    if (!logUnchanged) this.syncLog(node, record);
    if (commit !== record.commit) this.checkCommit(node, record);
    if (leaderTerm !== record.leaderTerm) this.checkLeadership(node, record);
  }

  /** Checks one message the moment a node hands it to the network. */
  checkSend(message: RaftMessage): void {
    if (message.term > this.highestTerm) this.highestTerm = message.term;
    if (message.type === 'VoteRequest' && !message.preVote) {
      // A candidate asks for votes only once its vote for itself is durable.
      this.recordVote(message.from, message.term, message.from);
    } else if (message.type === 'VoteResponse' && !message.preVote && message.granted) {
      this.recordVote(message.from, message.term, message.to);
    }
  }

  /**
   * The Ready contract, checked against the sender's disk as a message leaves: a
   * message never claims a term, a vote or entries that a crash could still undo.
   */
  checkDurableBeforeSend(message: RaftMessage, disk: DurableView): void {
    const prevote = (message.type === 'VoteRequest' || message.type === 'VoteResponse') && message.preVote;
    if (!prevote) this.judged['Durable Before Send']++;
    const problem = prevote ? undefined : undurableClaim(message, disk);
    if (problem !== undefined) {
      this.report('Durable Before Send', `n${message.from} sent ${message.type} to n${message.to}: ${problem}`, [message.from], message.term, 0);
    }
  }

  private recordVote(voter: NodeId, term: number, candidate: NodeId): void {
    this.judged['Single Vote Per Term']++;
    const key = `${term}/${voter}`;
    const earlier = this.voteByTermAndVoter.get(key);
    if (earlier === undefined) {
      this.voteByTermAndVoter.set(key, candidate);
    } else if (earlier !== candidate) {
      this.report('Single Vote Per Term', `n${voter} voted in term ${term} for n${earlier} and then for n${candidate}`, [voter, earlier, candidate], term, 0);
    }
  }

  /** Checks one entry the moment a node's state machine applies it. */
  checkApply(node: RaftNode, incarnation: number, entry: Entry): void {
    const record = this.recordFor(node.id, incarnation);
    this.judged['Apply Order']++;
    this.judged['Applied Within Commit']++;
    if (entry.index !== record.applied + 1) {
      this.report('Apply Order', `n${node.id} applied index ${entry.index} after ${record.applied}`, [node.id], entry.term, entry.index);
    }
    record.applied = entry.index;
    if (entry.index > node.commitIndex()) {
      this.report('Applied Within Commit', `n${node.id} applied index ${entry.index} beyond its commit index ${node.commitIndex()}`, [node.id], entry.term, entry.index);
    }
    const chain = this.chainOfApplied(node, record, entry);
    const earlier = this.appliedChains[entry.index - 1];
    if (earlier === undefined) {
      this.appliedChains[entry.index - 1] = chain;
    } else {
      this.judged['State Machine Safety']++;
      if (earlier !== chain) {
        this.report('State Machine Safety', `n${node.id} applied a different entry at index ${entry.index} than another node did`, [node.id], entry.term, entry.index);
      }
    }
  }

  /** The highest index known committed anywhere. */
  committedIndex(): number {
    return this.committedChains.length;
  }

  /** The entry known committed at an index, whatever has been compacted since; undefined above committedIndex(). */
  committedEntry(index: number): Entry | undefined {
    return this.committedEntries[index - 1];
  }

  private recordFor(id: NodeId, incarnation: number): NodeRecord {
    let record = this.nodes[id];
    if (record === undefined) {
      record = { incarnation, length: 0, shared: 0, ownEntries: [], ownChains: [], commit: 0, applied: 0, leaderTerm: 0 };
      this.nodes[id] = record;
    } else if (record.incarnation !== incarnation) {
      // A restart: volatile state starts over; the remembered log is re-synced below.
      record.incarnation = incarnation;
      record.commit = 0;
      record.applied = 0;
      record.leaderTerm = 0;
    }
    return record;
  }

  /** The node's entry at 0-based position p as of the last check (p < record.length). */
  private entryAt(record: NodeRecord, p: number): Entry {
    return p < record.shared ? this.canonEntries[p]! : record.ownEntries[p - record.shared]!;
  }

  /** The node's prefix hash through 0-based position p as of the last check, 0 before the log. */
  private chainAt(record: NodeRecord, p: number): number {
    if (p < 0) return 0;
    return p < record.shared ? this.canonChains[p]! : record.ownChains[p - record.shared]!;
  }

  /** Brings the remembered log up to the node's log, checking Leader Append-Only and Log Matching on the way. */
  private syncLog(node: RaftNode, record: NodeRecord): void {
    const log = node.log.view();
    const offset = node.log.firstIndex() - 1;
    // Entries a node compacted away lie within the committed prefix (a snapshot
    // holds only committed entries, and the simulator checks what each snapshot
    // holds against it): there, the node's log is the canonical one.
    this.rebaseRecord(record, offset);
    const length = offset + log.length;
    let same = Math.min(record.length, length);
    while (same > offset && this.entryAt(record, same - 1) !== log[same - 1 - offset]) same--;
    const leading = record.leaderTerm === node.term() && node.role() === 'leader';
    if (leading) this.judged['Leader Append-Only']++;
    if (same < record.length && leading) {
      this.report('Leader Append-Only', `leader n${node.id} removed or replaced entries from index ${same + 1} in term ${node.term()}`, [node.id], node.term(), same + 1);
    }
    if (same < record.length) this.truncateRecord(record, same);
    for (let p = same; p < length; p++) this.appendToRecord(node.id, record, log[p - offset]!);
  }

  /**
   * Makes the record hold the committed prefix up to `offset`, the node's
   * compacted log: the canonical entries as far as they are the committed
   * ones (prefix hashes agree there), the committed entries after that.
   */
  private rebaseRecord(record: NodeRecord, offset: number): void {
    if (record.shared >= offset) return;
    if (this.committedChains.length < offset) throw new Error(`a node compacted its log to ${offset}, past the ${this.committedChains.length} entries known committed`);
    // Prefix hashes agree up to some position and differ after it: find where canonical stops being committed.
    let low = 0;
    let high = Math.min(this.canonEntries.length, offset);
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.canonChains[middle - 1] === this.committedChains[middle - 1]) low = middle;
      else high = middle - 1;
    }
    const shared = Math.min(record.shared, low);
    const keptOwn = record.length > offset ? record.ownEntries.slice(offset - record.shared) : [];
    const keptChains = record.length > offset ? record.ownChains.slice(offset - record.shared) : [];
    record.shared = Math.max(shared, low);
    record.ownEntries = [...this.committedEntries.slice(record.shared, offset), ...keptOwn];
    record.ownChains = [...this.committedChains.slice(record.shared, offset), ...keptChains];
    record.length = Math.max(record.length, offset);
  }

  /**
   * A node's state machine now holds a snapshot at `index` (installed from a
   * leader, or restored at a start) whose content has the prefix hash `chain`:
   * it must be the committed prefix, and the node applies from index + 1 on.
   */
  checkSnapshot(node: RaftNode, incarnation: number, index: number, chain: number | undefined): void {
    const record = this.recordFor(node.id, incarnation);
    const committed = this.committedChains[index - 1];
    if (index > 0) this.judged['State Machine Safety']++;
    if (index > 0 && committed !== chain) {
      const what = committed === undefined ? 'that no node has shown committed' : 'that differs from the committed log there';
      this.report('State Machine Safety', `n${node.id} holds a snapshot at index ${index} ${what}`, [node.id], node.term(), index);
    }
    record.applied = Math.max(record.applied, index);
  }

  /** The prefix hash of the committed log through `index` (0 for index 0), or undefined when it is not known committed. */
  committedChainAt(index: number): number | undefined {
    return index === 0 ? 0 : this.committedChains[index - 1];
  }

  private truncateRecord(record: NodeRecord, length: number): void {
    if (length <= record.shared) {
      record.shared = length;
      record.ownEntries.length = 0;
      record.ownChains.length = 0;
    } else {
      record.ownEntries.length = length - record.shared;
      record.ownChains.length = length - record.shared;
    }
    record.length = length;
  }

  /** The node's log grew by `entry` at position record.length. */
  private appendToRecord(id: NodeId, record: NodeRecord, entry: Entry): void {
    const p = record.length;
    record.length = p + 1;
    if (record.shared === p) {
      const canonLength = this.canonEntries.length;
      if (p < canonLength && this.canonEntries[p] === entry) {
        // The canonical entry itself, on the canonical prefix: its hash and its
        // Log Matching check are the canonical log's.
        record.shared = p + 1;
        return;
      }
      // A position nobody has shown committed may be rewritten by a node that
      // wholly follows the canonical log; a committed one never is.
      if (p === canonLength || p >= this.committedChains.length) {
        if (p < canonLength) this.rewriteCanonFrom(p);
        const chain = chainHash(p === 0 ? 0 : this.canonChains[p - 1]!, entry.term, entry.index, this.dataHash(entry));
        this.canonEntries.push(entry);
        this.canonChains.push(chain);
        record.shared = p + 1;
        this.checkLogMatching(id, entry, chain);
        return;
      }
    }
    const chain = chainHash(this.chainAt(record, p - 1), entry.term, entry.index, this.dataHash(entry));
    record.ownEntries.push(entry);
    record.ownChains.push(chain);
    this.checkLogMatching(id, entry, chain);
  }

  /**
   * Cuts the canonical log back to p entries. Nodes that followed it further keep
   * what they hold: the canonical entries from p on become their own.
   */
  private rewriteCanonFrom(p: number): void {
    for (const record of this.nodes) {
      if (record === undefined || record.shared <= p) continue;
      record.ownEntries = this.canonEntries.slice(p, record.shared).concat(record.ownEntries);
      record.ownChains = this.canonChains.slice(p, record.shared).concat(record.ownChains);
      record.shared = p;
    }
    this.canonEntries.length = p;
    this.canonChains.length = p;
  }

  private checkLogMatching(id: NodeId, entry: Entry, chain: number): void {
    this.judged['Log Matching']++;
    const position = entry.index - 1;
    let seen: number | undefined;
    const firstTerm = this.firstTermAt[position];
    if (firstTerm === undefined) {
      this.firstTermAt[position] = entry.term;
      this.firstChainAt[position] = chain;
      return;
    }
    if (firstTerm === entry.term) {
      seen = this.firstChainAt[position]!;
    } else {
      if (entry.term >= TERM_KEY_LIMIT) throw new Error(`term ${entry.term} too large for the checker`);
      const key = entry.index * TERM_KEY_LIMIT + entry.term;
      seen = this.chainByIndexTerm.get(key);
      if (seen === undefined) this.chainByIndexTerm.set(key, chain);
    }
    if (seen !== undefined && seen !== chain) {
      this.report('Log Matching', `n${id} holds an entry at index ${entry.index}, term ${entry.term} whose preceding log differs from another node's`, [id], entry.term, entry.index);
    }
  }

  private checkCommit(node: RaftNode, record: NodeRecord): void {
    const commit = node.commitIndex();
    this.judged['Commit Monotonic']++;
    if (commit < record.commit) {
      this.report('Commit Monotonic', `n${node.id} commit index went from ${record.commit} back to ${commit}`, [node.id], node.term(), commit);
    }
    for (let index = record.commit + 1; index <= commit; index++) {
      if (index > record.length) break;
      const chain = this.chainAt(record, index - 1);
      const known = this.committedChains[index - 1];
      if (known === undefined) {
        this.committedChains[index - 1] = chain;
        this.committedEntries[index - 1] = this.entryAt(record, index - 1);
        this.committedInTerm[index - 1] = node.term();
      } else {
        this.judged['State Machine Safety']++;
        if (known !== chain) {
          this.report('State Machine Safety', `n${node.id} committed a different entry at index ${index} than another node did`, [node.id], node.term(), index);
          break;
        }
      }
    }
    record.commit = Math.max(record.commit, commit);
  }

  private checkLeadership(node: RaftNode, record: NodeRecord): void {
    if (node.role() !== 'leader') {
      record.leaderTerm = 0;
      return;
    }
    const term = node.term();
    if (record.leaderTerm === term) return;
    record.leaderTerm = term;
    this.judged['Election Safety']++;
    this.judged['Leader Completeness']++;
    const other = this.leaderByTerm.get(term);
    if (other !== undefined && other !== node.id) {
      this.report('Election Safety', `n${other} and n${node.id} were both elected leader of term ${term}`, [other, node.id], term, 0);
    }
    this.leaderByTerm.set(term, node.id);
    this.elections.push({ term, node: node.id, timeUs: this.now() });
    this.checkElectionQuorum(node, term);
    // Section 5.4: every entry committed in a term before this one must be in the
    // new leader's log. A leader of a lower term may legally be elected after a
    // higher term committed entries (its votes were delayed), so those do not count.
    let committed = this.committedChains.length;
    while (committed > 0 && this.committedInTerm[committed - 1]! >= term) committed--;
    if (committed === 0) return;
    if (record.length < committed || this.chainAt(record, committed - 1) !== this.committedChains[committed - 1]) {
      this.report('Leader Completeness', `n${node.id} became leader of term ${term} without the committed entries up to index ${committed}`, [node.id], term, committed);
    }
  }

  /**
   * A leader of term T was granted votes in T by a quorum: its own (it voted
   * for itself) and grants that voters sent it in that very term. A candidate
   * that counted a grant of an earlier term, or a vote it never got, is caught
   * here at once, whether or not another leader of T shows up.
   */
  private checkElectionQuorum(node: RaftNode, term: number): void {
    this.judged['Election Quorum']++;
    const quorum = Math.floor(node.voters.length / 2) + 1;
    let granted = node.vote() === node.id ? 1 : 0;
    for (const voter of node.voters) {
      if (voter !== node.id && this.voteByTermAndVoter.get(`${term}/${voter}`) === node.id) granted++;
    }
    if (granted < quorum) {
      this.report('Election Quorum', `n${node.id} became leader of term ${term} with ${granted} of the ${quorum} votes of that term a quorum needs`, [node.id], term, 0);
    }
  }

  /**
   * Leadership, as a message reaches a node: an answer of a leader's own term
   * from one of its voters (to an append, a heartbeat or a snapshot chunk) is
   * what its CheckQuorum counts as hearing from that voter. `ticks` is how
   * many ticks the receiving node has been given so far.
   */
  noteDelivered(message: RaftMessage, ticks: number): void {
    if (!LEADER_HEARS.has(message.type)) return;
    const tenure = this.tenures[message.to];
    if (tenure === undefined || tenure.term !== message.term) return;
    tenure.heardAtTick.set(message.from, ticks);
  }

  /**
   * Leadership: a leader hears from a quorum (itself and voters answering in
   * its term) within every two election timeouts of its own ticks, once it has
   * led for one. A correct core checks its quorum at the end of each election
   * timeout (ticks W, 2W, ... of its term) and steps down unless a quorum
   * answered since the previous check, so at any tick r >= W of its term a
   * quorum answered at or after tick floor(r/W)*W - W, which is after r - 2W.
   * Counted in ticks the node was given, so clock drift, jumps and ticks held
   * back by the driver change nothing: the node counts the same ticks. A
   * leader elected after its election backoff stretched its timeouts checks
   * its quorum as far apart (RaftNode.quorumCheckTicks), and the stretch only
   * shrinks after a check it passed, so W here is the longest window it used
   * in the term: a quorum answered within the last two of those.
   */
  checkLeaderHearing(node: RaftNode, ticks: number, electionTicksMin: number): void {
    if (node.role() !== 'leader') {
      this.tenures[node.id] = undefined;
      return;
    }
    let tenure = this.tenures[node.id];
    if (tenure === undefined || tenure.term !== node.term()) {
      tenure = { term: node.term(), sinceTick: ticks, heardAtTick: new Map(), reported: false, windowMax: electionTicksMin };
      this.tenures[node.id] = tenure;
    }
    tenure.windowMax = Math.max(tenure.windowMax, node.quorumCheckTicks());
    const electionTicks = tenure.windowMax;
    const led = ticks - tenure.sinceTick;
    if (led < electionTicks || tenure.reported) return;
    this.judged['Leadership']++;
    const quorum = Math.floor(node.voters.length / 2) + 1;
    let heard = 1;
    for (const voter of node.voters) {
      if (voter !== node.id && (tenure.heardAtTick.get(voter) ?? Number.NEGATIVE_INFINITY) > ticks - 2 * electionTicks) heard++;
    }
    if (heard >= quorum) return;
    tenure.reported = true;
    const detail =
      `n${node.id} has led term ${node.term()} for ${led} ticks and heard from ${heard} of the ${quorum} voters a quorum needs ` +
      `in the last ${2 * electionTicks} ticks (two of its election timeouts), yet still leads`;
    this.report('Leadership', detail, [node.id], node.term(), 0);
  }

  /** Leadership: every fault has just healed; from here on, elections and new terms are counted. */
  noteHealed(): void {
    this.atHeal = { elections: this.elections.length, term: this.highestTerm };
  }

  /**
   * Leadership, at the end of a run: since the last heal, at most
   * ELECTIONS_AFTER_HEAL_MAX elections and TERMS_AFTER_HEAL_MAX new terms. A
   * healed cluster that keeps electing (leaders that lose office with nothing
   * wrong, or candidates that keep disrupting) makes little progress however
   * safe each step is.
   */
  checkAfterHeal(): void {
    if (this.atHeal === undefined) return;
    this.judged['Leadership']++;
    const elections = this.elections.length - this.atHeal.elections;
    const terms = this.highestTerm - this.atHeal.term;
    if (elections > ELECTIONS_AFTER_HEAL_MAX) {
      const terms = this.elections.slice(this.atHeal.elections).map((election) => `${election.term} (n${election.node})`);
      this.report('Leadership', `${elections} elections after the last heal, more than ${ELECTIONS_AFTER_HEAL_MAX}: terms ${terms.join(', ')}`, [], this.highestTerm, 0);
    } else if (terms > TERMS_AFTER_HEAL_MAX) {
      this.report('Leadership', `the highest term went from ${this.atHeal.term} to ${this.highestTerm} after the last heal, more than ${TERMS_AFTER_HEAL_MAX} new terms`, [], this.highestTerm, 0);
    }
  }

  /**
   * A leader's bookkeeping: the match index it keeps for a follower never
   * lies past the prefix the two logs really share. Judged only while the
   * follower is in the leader's term, when nothing but this leader writes its
   * log; where either log no longer holds the index (a snapshot covers it),
   * the entry is committed and the same on both. An index the follower's log
   * does not reach, or holds in another term, means the leader counts toward
   * commit a copy the follower does not have.
   */
  checkMatchIndex(leader: RaftNode, follower: RaftNode): void {
    if (leader.role() !== 'leader' || follower.term() !== leader.term()) return;
    const match = leader.progressOf(follower.id)?.match ?? 0;
    if (match === 0) return;
    const leaderTerm = leader.log.term(match);
    const followerTerm = follower.log.term(match);
    if (leaderTerm === undefined || (followerTerm === undefined && match < follower.log.firstIndex())) return;
    this.judged['Match Within Shared Log']++;
    if (followerTerm === leaderTerm) return;
    const what = followerTerm === undefined ? `its log ends at ${follower.log.lastIndex()}` : `its entry there is of term ${followerTerm}, the leader's of term ${leaderTerm}`;
    this.report('Match Within Shared Log', `leader n${leader.id} records n${follower.id} as matching up to index ${match}, but ${what}`, [leader.id, follower.id], leader.term(), match);
  }

  /**
   * Broker mode: once a node applies a message, its hybrid logical clock is at
   * or past the message's stamp, so whatever it stamps next (as a leader) or
   * sends (to its peers) comes after everything it has applied.
   */
  checkAppliedStamp(node: NodeId, hybrid: { readonly l: number; readonly c: number }, stamp: { readonly l: number; readonly c: number }, index: number): void {
    this.judged['Clock Covers Applied']++;
    if (hybrid.l > stamp.l || (hybrid.l === stamp.l && hybrid.c >= stamp.c)) return;
    this.report('Clock Covers Applied', `n${node} applied a message stamped ${stamp.l}.${stamp.c} at index ${index}, and its hybrid clock reads ${hybrid.l}.${hybrid.c}, behind it`, [node], 0, index);
  }

  /**
   * The prefix hash through an applied entry. An applied entry must be the very
   * entry the node's log holds at its index (the simulator counts applied entries
   * and reads them back from the log), so anything else is reported.
   */
  private chainOfApplied(node: RaftNode, record: NodeRecord, entry: Entry): number {
    const p = entry.index - 1;
    if (p < record.length && this.entryAt(record, p) === entry) return this.chainAt(record, p);
    this.syncLog(node, record);
    if (p < record.length && this.entryAt(record, p) === entry) return this.chainAt(record, p);
    this.report('Apply Order', `n${node.id} applied an entry at index ${entry.index} that is not the one its log holds there`, [node.id], entry.term, entry.index);
    return chainHash(0, entry.term, entry.index, this.dataHash(entry));
  }


  private dataHash(entry: Entry): number {
    // Short commands are cheaper to hash again than to look up.
    if (entry.data.length <= 32) return hashBytes(entry.data);
    let hash = this.dataHashes.get(entry.data);
    if (hash === undefined) {
      hash = hashBytes(entry.data);
      this.dataHashes.set(entry.data, hash);
    }
    return hash;
  }

  /**
   * Broker mode: a node's replicated clock (the newest timestamp it applied)
   * never runs ahead of true time by more than the furthest any node's clock
   * has run ahead: a leader stamps with its own clock, and nothing else moves
   * the replicated clock forward.
   */
  /**
   * A node's replicated clock (the latest stamp it applied) and its hybrid
   * logical clock stay within the furthest any physical clock has run ahead of
   * true time (plus a millisecond, for stamps in whole ms).
   */
  checkTimestampBound(node: NodeId, replicatedClockMs: number, hybridClockMs: number, trueMs: number, aheadMaxMs: number): void {
    this.judged['Timestamp Bound']++;
    const limitMs = trueMs + aheadMaxMs + 1;
    const bound = `no clock ran more than ${aheadMaxMs.toFixed(0)} ms ahead`;
    if (replicatedClockMs > limitMs) {
      this.report('Timestamp Bound', `n${node} applied a timestamp ${(replicatedClockMs - trueMs).toFixed(0)} ms ahead of true time; ${bound}`, [node], 0, 0);
    } else if (hybridClockMs > limitMs) {
      this.report('Timestamp Bound', `n${node}'s hybrid logical clock reads ${(hybridClockMs - trueMs).toFixed(0)} ms ahead of true time; ${bound}`, [node], 0, 0);
    }
  }

  /**
   * A node's storage refused what its disk held at a start. The simulated disk
   * only ever holds what a crash may leave (durable writes, and a torn prefix
   * of the rest), so a refusal is the storage engine's bug: it would keep a
   * real node down after an ordinary power cut.
   */
  /** A node's storage recovered what its disk held at a start: Storage Recovery judged, and passed. */
  noteStorageRecovered(): void {
    this.judged['Storage Recovery']++;
  }

  reportStorageFailure(node: NodeId, reason: string): void {
    this.judged['Storage Recovery']++;
    this.report('Storage Recovery', `n${node} could not start: ${reason}`, [node], 0, 0);
  }

  private report(property: SafetyProperty, detail: string, nodes: NodeId[], term: number, index: number): void {
    if (this.violations.length >= this.violationsMax) return;
    this.violations.push({ property, detail, nodes: [...new Set(nodes)], term, index, timeUs: this.now() });
  }
}

/** What a message claims that the disk does not hold, or undefined. PreVotes claim nothing. */
function undurableClaim(message: RaftMessage, disk: DurableView): string | undefined {
  if (message.term > disk.term) return `its term ${message.term} is not on disk (disk has term ${disk.term})`;
  // A vote of term T is kept either by T and the vote on disk, or by any later
  // term on disk: a node never votes in a term below its own.
  if (message.type === 'VoteRequest' && disk.term === message.term && disk.vote !== message.from) {
    return `asks for votes in term ${message.term} without a durable vote for itself`;
  }
  if (message.type === 'VoteResponse' && message.granted && disk.term === message.term && disk.vote !== message.to) {
    return `grants its vote in term ${message.term} without it on disk`;
  }
  if (message.type === 'AppendResponse' && message.success && message.term === disk.term && message.matchIndex > disk.lastIndex) {
    return `acknowledges index ${message.matchIndex} with ${disk.lastIndex} durable entries`;
  }
  return undefined;
}
