import { assert, fail, unreachable } from './assert.js';
import { validateRaftOptions, type RaftConfig, type RaftOptions, type RandomSource, type SnapshotSource } from './config.js';
import { RaftLog } from './log.js';
import { appendRequest, appendResponse, heartbeat, heartbeatResponse, installSnapshot, installSnapshotResponse, timeoutNow, voteRequest, voteResponse } from './messages.js';
import { Progress } from './progress.js';
import {
  NO_NODE,
  type AppendRequest,
  type AppendResponse,
  type DurableState,
  type Entry,
  type GroupId,
  type HardState,
  type Heartbeat,
  type HeartbeatResponse,
  type InstallSnapshot,
  type InstallSnapshotResponse,
  type NodeId,
  type ProposeResult,
  type RaftMessage,
  type Ready,
  type Role,
  type SnapshotChunk,
  type SnapshotMeta,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

/** A vote (or a request for votes) and an acknowledgement of entries are promises the disk must keep. */
function promisesDurableState(message: RaftMessage): boolean {
  switch (message.type) {
    case 'VoteRequest':
      return !message.preVote;
    case 'VoteResponse':
      return !message.preVote && message.granted;
    case 'AppendResponse':
      return message.success;
    case 'InstallSnapshotResponse':
      return message.installed;
    case 'AppendRequest':
    case 'Heartbeat':
    case 'HeartbeatResponse':
    case 'TimeoutNow':
    case 'InstallSnapshot':
      return false;
  }
}

/**
 * Shared by every Ready without messages, so that a quiet Ready allocates less.
 * Because it is frozen, loops over message arrays are indexed rather than for-of:
 * for-of over a mix of frozen and ordinary arrays takes the engine's generic
 * iterator path, which allocates a result object per element.
 */
const NO_MESSAGES: readonly RaftMessage[] = Object.freeze([]);
const NO_CHUNKS: readonly SnapshotChunk[] = Object.freeze([]);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/** A snapshot a follower is receiving, and from whom. */
/** What the driver's advance() of one Ready in flight makes true. */
interface InflightReady {
  /** The hard state it writes, on disk once it is advanced. */
  readonly hardState: HardState | undefined;
  /** Every committed entry up to this index was handed out by then: in this Ready, an earlier one, or takeCommittedEntries(). */
  readonly appliedUpTo: number;
  readonly carriesCommitted: boolean;
}

interface IncomingSnapshot extends SnapshotMeta {
  readonly size: number;
  readonly crc: number;
  readonly from: NodeId;
  /** Bytes received without a gap from the start. Invariant: received <= size. */
  received: number;
  /**
   * Chunks received past a gap, by offset, with their lengths: a network that
   * reorders delivers a window's chunks out of order, and dropping all but
   * the next would leave the transfer crawling one chunk per retry.
   */
  readonly ahead: Map<number, number>;
}

/**
 * How many of its election timeouts a node refused leadership waits before it
 * campaigns anyway. Long enough that a node allowed to lead, with a log as
 * new, wins first; finite, so that a cluster whose newest logs are all on
 * refused nodes still elects one, which then hands leadership on.
 */
const REFUSED_CAMPAIGN_TIMEOUTS = 3;

/**
 * Copies the first `length` messages out of a reused outbox buffer into an array
 * of exactly that size, and clears their slots so the buffer keeps nothing alive.
 */
function drain(buffer: (RaftMessage | undefined)[], length: number): RaftMessage[] {
  const messages = new Array<RaftMessage>(length);
  for (let i = 0; i < length; i++) {
    messages[i] = buffer[i]!;
    buffer[i] = undefined;
  }
  return messages;
}

/**
 * One node's Raft consensus as a pure state machine (sans-IO, in the etcd-raft manner).
 *
 * Inputs:  tick(), step(message), propose(data).
 * Outputs: ready() hands out a batch of persistence work, messages and committed
 *          entries; the driver performs it (see the contract on Ready) and calls advance().
 *
 * No clock, timer, randomness or I/O lives here: time is ticks, randomness is the
 * seeded RandomSource in the config.
 */
export class RaftNode {
  readonly id: NodeId;
  readonly group: GroupId;
  /** Every voter, this node included, ascending. */
  readonly voters: readonly NodeId[];
  /** Every voter but this node. */
  readonly others: readonly NodeId[];
  readonly options: RaftOptions;
  private readonly random: RandomSource;
  private readonly snapshots: SnapshotSource | undefined;
  private readonly quorum: number;

  // Persistent state (Figure 2), made durable through Ready.hardState and Ready.entries.
  private termValue: number;
  private voteValue: NodeId;
  readonly log: RaftLog;

  // Volatile state.
  /** Invariant: commit <= log.lastIndex(), and it never decreases within an incarnation. */
  private commitValue: number;
  private roleValue: Role = 'follower';
  private leaderValue: NodeId = NO_NODE;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /**
   * The election timeout's range is stretched 2^electionBackoff times. It
   * grows when a vote arrives for a candidacy this node gave up on because
   * its timeout ran out: evidence that an election's round trip takes longer
   * than the timeout, so candidates keep giving up just before they would
   * win. Invariant: 0 <= electionBackoff <= options.electionBackoffMax.
   */
  private electionBackoff = 0;
  /** The term of the candidacy this node last gave up on when its timeout ran out, or 0. */
  private abandonedCandidacyTerm = 0;
  /** Votes received in the current (pre-)campaign: voter -> granted. */
  private readonly votes = new Map<NodeId, boolean>();
  /**
   * Only while leader: one Progress per other voter, indexed by node id. An array
   * rather than a Map, because the leader looks one up for every answer it gets
   * and walks them all to count a quorum, and iterating a Map allocates.
   */
  private readonly progressById: (Progress | undefined)[] = [];
  /** Only while leader: the same Progress objects in the order of `others`. */
  private readonly progressList: Progress[] = [];
  /** Only while leader: heartbeats sent in this term. */
  private heartbeatSeq = 0;
  /** Only while leader: bytes of this term's commands appended but not yet committed. */
  private uncommittedBytes = 0;
  /**
   * Messages that must wait until the next Ready's writes are durable: the first
   * outboxLength slots of a buffer that is reused, so that queueing a message does
   * not grow a fresh array every time; a Ready gets an exact copy.
   */
  private readonly outbox: (RaftMessage | undefined)[] = [];
  private outboxLength = 0;
  /** Messages that depend on nothing unwritten, kept the same way; see takeImmediateMessages(). */
  private readonly outboxNow: (RaftMessage | undefined)[] = [];
  private outboxNowLength = 0;
  private handedHardState: HardState;
  /**
   * The Readies handed out and not yet advanced, oldest first: what each one's
   * advance() makes true (see InflightReady). At most readiesInFlightMax.
   */
  private readonly inflightReadies: InflightReady[] = [];
  /** The term on disk; a message of a newer term waits for it, as it may rely on that term. */
  private durableTerm: number;
  /** Invariant: appliedIndex <= appliedHandedIndex <= commit. */
  private appliedHandedIndex = 0;
  private appliedIndexValue = 0;
  /** Proposals were made since appends were last sent; see propose. */
  private appendsDue = false;
  /**
   * How many Readies in flight carry committed entries, which the driver
   * applies before anything takeCommittedEntries() could hand.
   */
  private committedInFlight = 0;
  /** Set while the layer above forbids this node to lead; see refuseLeadership(). */
  private leadershipRefusal: string | undefined = undefined;
  /** The follower a leader is handing leadership to, or NO_NODE; see transferLeadership(). */
  private leadTransferee: NodeId = NO_NODE;
  /** Leader ticks since the transfer began; it is abandoned after an election timeout. */
  private transferElapsed = 0;
  /** Reused by quorumMatchIndex so that counting a quorum allocates nothing. */
  private readonly matchScratch: number[];
  /**
   * The highest commit index a leader has told this incarnation of (in an
   * append, or a heartbeat). A restarted node has caught up with the cluster
   * once it has applied this far.
   */
  private leaderCommitHeard = 0;
  /** Only while following: the snapshot being received. */
  private incomingSnapshot: IncomingSnapshot | undefined = undefined;
  /** Received chunks for the next Ready to write. */
  private pendingChunks: SnapshotChunk[] = [];
  /** A received snapshot for the next Ready to install. */
  private pendingInstall: IncomingSnapshot | undefined = undefined;
  /** The snapshot the Ready in flight installs; it takes effect at advance(). */
  private installHanded: IncomingSnapshot | undefined = undefined;
  /** Whether that install keeps the log after it, as the Ready told the driver. */
  private installKeepsLog = false;

  constructor(config: RaftConfig, restored: DurableState) {
    const problems = validateRaftOptions(config.options);
    assert(problems.length === 0, `invalid raft options: ${problems.join('; ')}`);
    assert(config.peers.includes(config.id), `node ${config.id} is not among its peers`);
    assert(config.id !== NO_NODE, 'node id 0 is reserved');
    this.id = config.id;
    this.group = config.group;
    this.voters = [...config.peers].sort((a, b) => a - b);
    this.others = this.voters.filter((peer) => peer !== config.id);
    this.options = config.options;
    this.random = config.random;
    this.snapshots = config.snapshots;
    this.quorum = Math.floor(this.voters.length / 2) + 1;
    this.matchScratch = new Array<number>(this.voters.length).fill(0);
    this.log = new RaftLog(restored.entries, restored.snapshot);
    this.termValue = restored.hardState.term;
    this.voteValue = this.restoredVote(restored.hardState);
    // A snapshot holds only committed entries, and the state machine restarts from it.
    this.commitValue = this.log.snapshotMeta().index;
    this.appliedHandedIndex = this.commitValue;
    this.appliedIndexValue = this.commitValue;
    assert(
      this.log.lastTerm() <= this.termValue,
      `restored log ends in term ${this.log.lastTerm()}, after the restored term ${this.termValue}`,
    );
    this.handedHardState = restored.hardState;
    this.durableTerm = restored.hardState.term;
    this.resetElectionTimer();
  }

  // ---- Read-only views for drivers, checkers and tests.

  term(): number {
    return this.termValue;
  }
  vote(): NodeId {
    return this.voteValue;
  }
  role(): Role {
    return this.roleValue;
  }
  leader(): NodeId {
    return this.leaderValue;
  }
  commitIndex(): number {
    return this.commitValue;
  }
  appliedIndex(): number {
    return this.appliedIndexValue;
  }
  lastIndex(): number {
    return this.log.lastIndex();
  }
  /** The highest commit index a leader has told this node of since it started; see leaderCommitHeard. */
  leaderCommitKnown(): number {
    return this.roleValue === 'leader' ? this.commitValue : this.leaderCommitHeard;
  }
  /** The newest snapshot this node knows: taken here, installed from a leader, or restored. */
  snapshotMeta(): SnapshotMeta {
    return this.log.snapshotMeta();
  }
  hardState(): HardState {
    return { term: this.termValue, vote: this.voteValue };
  }
  /** A follower's progress as the leader sees it; undefined unless leader. */
  progressOf(peer: NodeId): Readonly<Progress> | undefined {
    return this.progressById[peer];
  }

  /**
   * How many more tick() calls until one does more than count: starts a campaign,
   * sends heartbeats or checks the quorum. The ticks before it change only
   * counters, so a driver may hold them back and deliver them just before this
   * node's next input without changing anything the node does.
   */
  ticksUntilActive(): number {
    if (this.roleValue === 'leader') {
      const untilHeartbeat = this.options.heartbeatTicks - this.heartbeatElapsed;
      const untilQuorumCheck = this.quorumCheckTicks() - this.electionElapsed;
      const untilTransferGivenUp = this.leadTransferee === NO_NODE ? untilQuorumCheck : this.options.electionTicksMin - this.transferElapsed;
      return Math.max(1, Math.min(untilHeartbeat, untilQuorumCheck, untilTransferGivenUp));
    }
    return Math.max(1, this.campaignDueTicks() - this.electionElapsed);
  }

  /** Whether this node leads, or has heard from its leader within the last electionTicksMin ticks. */
  hearsFromLeader(): boolean {
    if (this.roleValue === 'leader') return true;
    return this.leaderValue !== NO_NODE && this.electionElapsed < this.options.electionTicksMin;
  }

  /** Why this node may not lead now, or undefined when it may. */
  leadershipRefused(): string | undefined {
    return this.leadershipRefusal;
  }

  /** The follower this leader is handing leadership to, or NO_NODE. */
  leadershipTransferee(): NodeId {
    return this.leadTransferee;
  }

  // ---- Inputs.

  /**
   * The layer above forbids or allows this node to serve as leader (the broker
   * refuses to let a node with a far-off clock stamp messages). A refused node
   * still votes, and campaigns only as a last resort, after
   * REFUSED_CAMPAIGN_TIMEOUTS election timeouts without a leader: if only
   * refused nodes hold the newest log, no other node can win a vote, and
   * someone must bring the others up to date. A refused leader accepts no
   * proposals; it keeps replicating, so the layer above can hand leadership to
   * a node that may serve (transferLeadership). Safety never depends on any of
   * this: a refused leader is an ordinary Raft leader that proposes nothing.
   */
  refuseLeadership(reason: string | undefined): void {
    this.leadershipRefusal = reason;
  }

  /**
   * Hands leadership to `target` (thesis section 3.10): the leader stops
   * accepting proposals, brings the target's log up to its own, then tells it
   * to campaign at once (TimeoutNow). Abandoned after an election timeout if
   * the target has not taken over by then. Does nothing unless this node leads.
   */
  transferLeadership(target: NodeId): void {
    assert(this.isOther(target), `cannot transfer leadership to ${target}: not another voter`);
    if (this.roleValue !== 'leader') return;
    this.leadTransferee = target;
    this.transferElapsed = 0;
    const progress = this.progressById[target]!;
    if (progress.match === this.log.lastIndex()) this.send(timeoutNow(this.group, this.id, target, this.termValue));
    else this.sendAppends(target);
  }

  tick(): void {
    if (this.roleValue === 'leader') {
      this.tickLeader();
    } else {
      this.tickElection();
    }
  }

  /**
   * Proposes a command. Only a leader accepts one; any other node fails at once and
   * names the leader it knows of, so the caller can go there.
   */
  propose(data: Uint8Array): ProposeResult {
    if (this.roleValue !== 'leader') {
      const known = this.leaderValue === NO_NODE ? 'no leader is known' : `the leader is node ${this.leaderValue}`;
      return this.refuse('not-leader', `node ${this.id} is not the leader; ${known}`);
    }
    if (this.leadTransferee !== NO_NODE) {
      return this.refuse('not-leader', `node ${this.id} is handing leadership to node ${this.leadTransferee}`);
    }
    if (this.leadershipRefusal !== undefined) {
      return this.refuse('not-leader', `node ${this.id} leads only to hand leadership on: ${this.leadershipRefusal}`);
    }
    if (data.length > this.options.commandBytesMax) {
      return this.refuse('too-large', `command of ${data.length} bytes exceeds commandBytesMax ${this.options.commandBytesMax}`);
    }
    if (this.uncommittedBytes + data.length > this.options.uncommittedBytesMax) {
      return this.refuse('overloaded', `uncommitted bytes would exceed uncommittedBytesMax ${this.options.uncommittedBytesMax}`);
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.termValue, kind: 'command', data };
    this.log.append(entry);
    this.uncommittedBytes += data.length;
    // The appends go when the driver next takes messages: proposals made in one
    // go (a batch of client publishes read at once) leave as one append per
    // follower, not one each.
    this.appendsDue = true;
    // A single voter commits on its own once the entry is durable (see advance()).
    return { ok: true, index: entry.index, term: entry.term };
  }

  private refuse(reason: 'not-leader' | 'too-large' | 'overloaded', message: string): ProposeResult {
    return { ok: false, reason, message, leaderHint: this.leaderValue, term: this.termValue };
  }

  step(message: RaftMessage): void {
    if (message.group !== this.group || message.to !== this.id) return;
    if (!this.isOther(message.from)) return;
    if (message.type === 'VoteResponse') this.maybeBackOffElections(message);
    if (message.term > this.termValue) {
      if (!this.acceptHigherTerm(message)) return;
    } else if (message.term < this.termValue) {
      this.answerLowerTerm(message);
      return;
    }
    if (message.type === 'VoteRequest') {
      this.handleVoteRequest(message);
      return;
    }
    switch (this.roleValue) {
      case 'leader':
        this.stepLeader(message);
        break;
      case 'precandidate':
      case 'candidate':
        this.stepCandidate(message);
        break;
      case 'follower':
        this.stepFollower(message);
        break;
      default:
        unreachable(this.roleValue);
    }
  }

  // ---- Outputs.

  hasReady(): boolean {
    if (!this.mayHandReady()) return false;
    return (
      this.hardStateChanged() ||
      this.log.hasUnpersisted() ||
      this.outboxLength > 0 ||
      this.commitValue > this.appliedHandedIndex ||
      this.pendingChunks.length > 0 ||
      this.pendingInstall !== undefined
    );
  }

  /**
   * Whether another Ready may be handed out now: fewer than
   * readiesInFlightMax are in flight, and none of them installs a snapshot. A
   * snapshot install goes alone: it waits for the Readies before it, since it
   * decides from the durable log whether the log after it stays.
   */
  private mayHandReady(): boolean {
    const inFlight = this.inflightReadies.length;
    if (inFlight === 0) return true;
    if (inFlight >= this.options.readiesInFlightMax || this.installHanded !== undefined) return false;
    return this.pendingInstall === undefined;
  }

  ready(): Ready {
    assert(this.mayHandReady(), `ready() called with ${this.inflightReadies.length} Readies in flight, beyond what hasReady() allows`);
    this.sendDueAppends();
    const hardState = this.hardStateChanged() ? this.hardState() : undefined;
    if (hardState !== undefined) this.handedHardState = hardState;
    const snapshotChunks = this.pendingChunks.length === 0 ? NO_CHUNKS : this.pendingChunks;
    this.pendingChunks = snapshotChunks === NO_CHUNKS ? this.pendingChunks : [];
    let install = this.pendingInstall;
    this.pendingInstall = undefined;
    if (install !== undefined && install.index <= this.commitValue) {
      // Entries from another leader committed past the snapshot while it was being received: it holds nothing new.
      this.incomingSnapshot = undefined;
      this.send(installSnapshotResponse(this.group, this.id, install.from, this.termValue, install.index, install.size, true));
      install = undefined;
    }
    this.installHanded = install;
    if (install !== undefined) return this.installReady(hardState, snapshotChunks, install);
    const truncateFrom = this.log.takeUnpersistedTruncation();
    const entries = this.log.takeUnpersistedEntries();
    const applyUpTo = Math.min(this.commitValue, this.appliedHandedIndex + this.options.committedEntriesPerReadyMax);
    const committedEntries = this.log.range(this.appliedHandedIndex + 1, applyUpTo);
    this.appliedHandedIndex = applyUpTo;
    const carriesCommitted = committedEntries.length > 0;
    if (carriesCommitted) this.committedInFlight++;
    const messages = this.outboxLength === 0 ? NO_MESSAGES : drain(this.outbox, this.outboxLength);
    this.outboxLength = 0;
    this.inflightReadies.push({ hardState, appliedUpTo: applyUpTo, carriesCommitted });
    return { hardState, truncateFrom, entries, messages, committedEntries, snapshotChunks, snapshot: undefined };
  }

  /**
   * A Ready that installs a snapshot carries nothing of the log: entries,
   * truncations and applies wait for the next one, since the install may
   * replace the whole log and its index may lie past them.
   */
  private installReady(hardState: HardState | undefined, snapshotChunks: readonly SnapshotChunk[], install: IncomingSnapshot): Ready {
    assert(install.index > this.log.snapshotMeta().index, `installing a snapshot at ${install.index}, not past the one at ${this.log.snapshotMeta().index}`);
    const keepsLog = this.log.keepsAfterSnapshot(install);
    this.installKeepsLog = keepsLog;
    if (!keepsLog) this.dropAcknowledgementsPast(install.index);
    const messages = this.outboxLength === 0 ? NO_MESSAGES : drain(this.outbox, this.outboxLength);
    this.outboxLength = 0;
    this.log.handReadyWithoutEntries();
    this.inflightReadies.push({ hardState, appliedUpTo: this.appliedHandedIndex, carriesCommitted: false });
    const snapshot = { index: install.index, term: install.term, size: install.size, crc: install.crc, keepsLog };
    return { hardState, truncateFrom: undefined, entries: NO_ENTRIES, messages, committedEntries: NO_ENTRIES, snapshotChunks, snapshot };
  }

  /**
   * The driver lost its connection to `peer`: the socket closed, as it does
   * at once when a process is killed. When `peer` is this follower's leader,
   * the follower does not wait out its election timeout: it forgets the
   * leader (so its lease no longer turns candidates away) and campaigns after
   * 1 + its rank among the other survivors ticks, so that survivors that all
   * saw the loss campaign one after another instead of splitting the vote.
   * The campaign is a PreVote, granted only by voters that lost the leader
   * too. A hint for liveness, never needed for safety: a wrong one costs a
   * PreVote round.
   */
  peerUnreachable(peer: NodeId): void {
    if (this.roleValue !== 'follower' || this.leaderValue !== peer || peer === NO_NODE) return;
    this.leaderValue = NO_NODE;
    const survivors = this.voters.filter((voter) => voter !== peer).sort((a, b) => a - b);
    const delayTicks = 1 + survivors.indexOf(this.id);
    this.electionElapsed = Math.max(this.electionElapsed, this.campaignDueTicks() - delayTicks);
  }

  /** Sends the appends that proposals made due (see propose). */
  private sendDueAppends(): void {
    if (!this.appendsDue) return;
    this.appendsDue = false;
    if (this.roleValue !== 'leader') return;
    for (let i = 0; i < this.others.length; i++) this.sendAppends(this.others[i]!);
  }

  /**
   * Committed entries not handed out yet, for a driver that applies entries
   * as soon as they commit instead of with the Ready that carries them. A
   * committed entry is durable on a quorum (a leader counts itself only for
   * what its own disk holds), so applying it waits for nothing of this node's
   * disk, and may happen while a Ready is being written. The driver applies
   * them at once, in order; the Readies then carry only what it did not take.
   * Nothing is handed while a snapshot install is pending or under way (the
   * install decides where applying goes on from), nor while the Ready in
   * flight carries committed entries of its own (they come first).
   */
  takeCommittedEntries(): readonly Entry[] {
    if (this.pendingInstall !== undefined || this.installHanded !== undefined || this.committedInFlight > 0) return NO_ENTRIES;
    const applyUpTo = Math.min(this.commitValue, this.appliedHandedIndex + this.options.committedEntriesPerReadyMax);
    if (applyUpTo <= this.appliedHandedIndex) return NO_ENTRIES;
    const entries = this.log.range(this.appliedHandedIndex + 1, applyUpTo);
    this.appliedHandedIndex = applyUpTo;
    this.appliedIndexValue = applyUpTo;
    return entries;
  }

  /**
   * Messages the driver may send at once, even while a Ready is being written:
   * heartbeats and their answers, appends from the leader, PreVotes, refusals.
   * None of them promises anything the disk does not yet hold: a vote grant, a
   * request for votes and an acknowledgement of entries always wait in a Ready,
   * and so does every message while the node's newest term is not yet on disk.
   * A leader's appends may leave before its own copy of the entries is durable
   * (thesis section 10.2.1): it counts itself toward commit only once they are.
   * Without this, a slow disk would hold back heartbeats and make followers
   * call elections.
   */
  takeImmediateMessages(): readonly RaftMessage[] {
    this.sendDueAppends();
    if (this.outboxNowLength === 0) return NO_MESSAGES;
    const messages = drain(this.outboxNow, this.outboxNowLength);
    this.outboxNowLength = 0;
    return messages;
  }

  /**
   * Called AFTER the driver made the oldest Ready in flight durable (and every
   * Ready before it: they are written and advanced in the order they were
   * handed out), sent its messages and applied its entries.
   */
  advance(): void {
    const advanced = this.inflightReadies.shift();
    assert(advanced !== undefined, 'advance() without a Ready in flight');
    if (advanced.carriesCommitted) this.committedInFlight--;
    if (advanced.hardState !== undefined) this.durableTerm = advanced.hardState.term;
    this.log.markPersisted();
    const installed = this.installHanded;
    this.installHanded = undefined;
    if (installed !== undefined) this.finishInstall(installed);
    this.appliedIndexValue = Math.max(this.appliedIndexValue, advanced.appliedUpTo, installed?.index ?? 0);
    if (this.roleValue === 'leader' && this.maybeCommit()) this.broadcastCommit();
  }

  /**
   * The driver found the snapshot handed in the Ready in flight damaged (its
   * size or CRC does not match) and did not install it. Call BEFORE
   * advance(). The transfer starts over.
   */
  snapshotFailed(): void {
    const failed = this.installHanded;
    assert(failed !== undefined, 'snapshotFailed() without a snapshot to install in flight');
    this.installHanded = undefined;
    this.incomingSnapshot = undefined;
    this.send(installSnapshotResponse(this.group, this.id, failed.from, this.termValue, failed.index, 0, false));
  }

  /**
   * The driver made a snapshot of the state machine at `snapshot.index` (at
   * or below the applied index) durable. The log drops what it no longer
   * needs, keeping snapshotTrailingEntries behind the snapshot; returns the
   * index before the first entry it still holds, so the driver can drop the
   * durable entries up to it too (keeping that one, whose term a restart needs).
   */
  snapshotTaken(snapshot: SnapshotMeta): number {
    assert(snapshot.index <= this.appliedIndexValue, `snapshot at ${snapshot.index} is past the applied index ${this.appliedIndexValue}`);
    let keepFrom = snapshot.index - this.options.snapshotTrailingEntries + 1;
    // A follower being sent an older snapshot will need the entries after it:
    // dropping them would send it straight into another transfer.
    for (let i = 0; i < this.progressList.length; i++) {
      const transfer = this.progressList[i]!.transfer;
      if (transfer !== undefined) keepFrom = Math.min(keepFrom, transfer.index + 1);
    }
    this.log.compact(snapshot, keepFrom, this.appliedIndexValue);
    return this.log.firstIndex() - 1;
  }

  private finishInstall(installed: IncomingSnapshot): void {
    this.log.installSnapshot({ index: installed.index, term: installed.term }, this.installKeepsLog);
    // Entries appended while the install was being written went with the log.
    if (!this.installKeepsLog) this.dropAcknowledgementsPast(installed.index);
    this.commitValue = Math.max(this.commitValue, installed.index);
    this.appliedHandedIndex = Math.max(this.appliedHandedIndex, installed.index);
    if (this.incomingSnapshot?.index === installed.index) this.incomingSnapshot = undefined;
    this.send(installSnapshotResponse(this.group, this.id, installed.from, this.termValue, installed.index, installed.size, true));
  }

  /**
   * An install that replaces the whole log also takes the entries appended
   * after the snapshot's index that were never durable: answers not yet sent
   * that acknowledge them would promise the leader entries this node will not
   * hold. They are dropped; the leader learns where this node stands from the
   * install's answer and its next probe.
   */
  private dropAcknowledgementsPast(index: number): void {
    let kept = 0;
    for (let i = 0; i < this.outboxLength; i++) {
      const message = this.outbox[i]!;
      if (message.type === 'AppendResponse' && message.success && message.matchIndex > index) continue;
      this.outbox[kept++] = message;
    }
    for (let i = kept; i < this.outboxLength; i++) this.outbox[i] = undefined;
    this.outboxLength = kept;
  }

  // ---- Overridable rules. Planted-bug variants in the tests override these and
  // nothing in production does; each is the one line a classic bug gets wrong.

  /** Section 5.4.2: a leader commits by counting replicas only entries of its own term. */
  protected mayCommitByCounting(index: number): boolean {
    return this.log.term(index) === this.termValue;
  }

  /** Figure 2: votedFor is persistent state. */
  protected restoredVote(hardState: HardState): NodeId {
    return hardState.vote;
  }

  /**
   * Section 5.3: if an existing entry conflicts with a new one (same index,
   * different term), delete it and all that follow; append entries not already in the log.
   * An entry that does not conflict is kept, so a stale request never shortens the log.
   */
  protected appendFromLeader(prevLogIndex: number, entries: readonly Entry[]): void {
    let position = 0;
    for (; position < entries.length; position++) {
      const entry = entries[position]!;
      const existingTerm = this.log.term(entry.index);
      if (existingTerm === undefined) break;
      if (existingTerm !== entry.term) {
        if (!(entry.index > this.commitValue)) fail(`conflict at committed index ${entry.index}`);
        this.log.truncateFrom(entry.index);
        break;
      }
    }
    assert(prevLogIndex + position <= this.log.lastIndex(), 'appendFromLeader would leave a gap');
    for (; position < entries.length; position++) this.log.append(entries[position]!);
  }

  /** Figure 2: commitIndex = min(leaderCommit, index of last new entry). */
  protected followerCommitBound(lastNewIndex: number, leaderCommit: number): number {
    return Math.min(leaderCommit, lastNewIndex);
  }

  /**
   * A heartbeat carries the commit index only up to what the follower is known to
   * hold (etcd's rule), so a heartbeat alone never makes a follower commit entries
   * the leader has not verified against its log.
   */
  protected heartbeatTo(peer: NodeId, progress: Readonly<Progress>, seq: number): RaftMessage {
    const commit = Math.min(progress.match, this.commitValue);
    return heartbeat(this.group, this.id, peer, this.termValue, commit, seq);
  }

  // ---- Terms.

  /** Returns false when the message must be dropped without touching our term. */
  private acceptHigherTerm(message: RaftMessage): boolean {
    if (message.type === 'VoteRequest') {
      // CheckQuorum lease (thesis 4.2.3): while we hear from a leader, a disruptive
      // candidate cannot make us move on; one the leader itself asked to take
      // over is no disruption.
      if (this.inLeaderLease() && !message.transfer) return false;
      // A PreVote carries a future term and must not change ours.
      if (message.preVote) return true;
    }
    if (message.type === 'VoteResponse' && message.preVote && message.granted) return true;
    const leader = message.type === 'AppendRequest' || message.type === 'Heartbeat' ? message.from : NO_NODE;
    this.becomeFollower(message.term, leader);
    return true;
  }

  /**
   * A message of an older term changes nothing here; some get an answer.
   * Protected so that a planted-bug variant in the tests can count a vote
   * granted in an older term, which the simulator's election check must catch.
   */
  protected answerLowerTerm(message: RaftMessage): void {
    // A deposed leader cut off by a partition would otherwise never learn the new
    // term: with PreVote and CheckQuorum our own elections do not reach it.
    if (message.type === 'AppendRequest' || message.type === 'Heartbeat') {
      this.sendAppendResponse(message.from, false, 0, 0, 0, 0);
    } else if (message.type === 'VoteRequest' && message.preVote) {
      this.send(voteResponse(this.group, this.id, message.from, this.termValue, true, false));
    }
  }

  private inLeaderLease(): boolean {
    return (
      this.options.checkQuorum && this.leaderValue !== NO_NODE && this.electionElapsed < this.options.electionTicksMin
    );
  }

  // ---- Roles.

  private becomeFollower(term: number, leader: NodeId): void {
    if (!(term >= this.termValue)) fail(`becomeFollower to older term ${term} from ${this.termValue}`);
    if (term > this.termValue) {
      this.termValue = term;
      this.voteValue = NO_NODE;
    }
    this.roleValue = 'follower';
    this.leaderValue = leader;
    if (leader !== NO_NODE) this.endElectionBackoff();
    this.leadTransferee = NO_NODE;
    this.clearProgress();
    this.votes.clear();
    this.resetElectionTimer();
  }

  /** A TimeoutNow from the leader skips PreVote: the leader itself asked, so no vote is disrupted. */
  private campaign(preVote: boolean, transfer = false): void {
    this.votes.clear();
    this.leaderValue = NO_NODE;
    this.resetElectionTimer();
    if (preVote) {
      this.roleValue = 'precandidate';
    } else {
      this.roleValue = 'candidate';
      this.termValue += 1;
      this.voteValue = this.id;
    }
    this.votes.set(this.id, true);
    if (this.grantedVotes() >= this.quorum) {
      this.winCampaign();
      return;
    }
    const term = preVote ? this.termValue + 1 : this.termValue;
    for (let i = 0; i < this.others.length; i++) {
      const peer = this.others[i]!;
      this.send(voteRequest(this.group, this.id, peer, term, preVote, this.log.lastIndex(), this.log.lastTerm(), transfer));
    }
  }

  private winCampaign(): void {
    if (this.roleValue === 'precandidate') {
      this.campaign(false);
    } else {
      this.becomeLeader();
    }
  }

  private becomeLeader(): void {
    if (this.roleValue !== 'candidate') fail(`becomeLeader from ${this.roleValue}`);
    this.roleValue = 'leader';
    this.leaderValue = this.id;
    // A backoff stays while leading: it stretches the quorum checks too, and decays as they pass.
    this.abandonedCandidacyTerm = 0;
    this.votes.clear();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.heartbeatSeq = 0;
    this.uncommittedBytes = 0;
    this.leadTransferee = NO_NODE;
    this.clearProgress();
    for (const peer of this.others) {
      const progress = new Progress(this.log.lastIndex() + 1, this.options.inflightAppendsMax);
      this.progressById[peer] = progress;
      this.progressList.push(progress);
    }
    // Section 8: a noop of the new term lets the leader commit what earlier terms left.
    this.log.append({ index: this.log.lastIndex() + 1, term: this.termValue, kind: 'noop', data: new Uint8Array(0) });
    for (let i = 0; i < this.others.length; i++) this.sendAppends(this.others[i]!);
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    // Exactly one draw, whatever the backoff, so that stretching it moves no other draw.
    const min = this.options.electionTicksMin * 2 ** this.electionBackoff;
    this.randomizedElectionTicks = min + Math.floor(this.random.nextFloat() * min);
  }

  /**
   * A granted vote for a candidacy this node abandoned when its timeout ran
   * out came back too late: stretch the election timeout, once per such
   * candidacy. The new range takes effect at the next reset of the timer.
   */
  private maybeBackOffElections(message: VoteResponse): void {
    if (message.preVote || !message.granted || message.term !== this.abandonedCandidacyTerm) return;
    this.abandonedCandidacyTerm = 0;
    this.electionBackoff = Math.min(this.electionBackoff + 1, this.options.electionBackoffMax);
  }

  /** A leader is in office, this node or another it hears from: elections work, so the timeout returns to its normal range. */
  private endElectionBackoff(): void {
    this.electionBackoff = 0;
    this.abandonedCandidacyTerm = 0;
  }

  // ---- Ticks.

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.campaignDueTicks() && !this.installing()) {
      if (this.roleValue === 'candidate') this.abandonedCandidacyTerm = this.termValue;
      this.campaign(this.options.preVote);
    }
  }

  /**
   * Whether a received snapshot waits to be installed or is being installed.
   * Such a node does not campaign: the votes it would ask for describe the
   * log the install is about to replace, and a leader's log must never be
   * replaced under it. The install takes one Ready; then it may.
   */
  private installing(): boolean {
    return this.pendingInstall !== undefined || this.installHanded !== undefined;
  }

  /**
   * A node that may not serve as leader lets the others try first, for several
   * election timeouts; see refuseLeadership().
   */
  private campaignDueTicks(): number {
    if (this.leadershipRefusal === undefined) return this.randomizedElectionTicks;
    return this.randomizedElectionTicks * REFUSED_CAMPAIGN_TIMEOUTS;
  }

  private tickLeader(): void {
    this.electionElapsed++;
    this.heartbeatElapsed++;
    if (this.leadTransferee !== NO_NODE && ++this.transferElapsed >= this.options.electionTicksMin) {
      this.leadTransferee = NO_NODE;
    }
    if (this.electionElapsed >= this.quorumCheckTicks()) {
      this.electionElapsed = 0;
      if (this.options.checkQuorum && !this.quorumRecentlyActive()) {
        this.becomeFollower(this.termValue, NO_NODE);
        return;
      }
      if (this.electionBackoff > 0) this.electionBackoff--;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeatSeq++;
      for (let i = 0; i < this.others.length; i++) {
        const peer = this.others[i]!;
        const progress = this.progressById[peer]!;
        progress.sentHeartbeat(this.heartbeatSeq);
        this.send(this.heartbeatTo(peer, progress, this.heartbeatSeq));
        progress.commitSent = Math.max(progress.commitSent, Math.min(progress.match, this.commitValue));
      }
    }
  }

  /**
   * Ticks between two quorum checks: an election timeout, stretched as far as
   * the timeout that elected this leader was. Where a round trip takes longer
   * than electionTicksMin, a new leader would otherwise step down at its first
   * check, before its followers' answers could come back. Public for the
   * simulator's Leadership check, which allows a leader two of these.
   */
  quorumCheckTicks(): number {
    return this.options.electionTicksMin * 2 ** this.electionBackoff;
  }

  /** CheckQuorum: counts the voters heard from since the last check, and starts a new window. Protected for a planted bug in the tests. */
  protected quorumRecentlyActive(): boolean {
    let active = 1;
    for (let i = 0; i < this.progressList.length; i++) {
      const progress = this.progressList[i]!;
      if (progress.recentActive) active++;
      progress.recentActive = false;
    }
    return active >= this.quorum;
  }

  // ---- Votes.

  private handleVoteRequest(message: VoteRequest): void {
    const canVote =
      this.voteValue === message.from ||
      (this.voteValue === NO_NODE && this.leaderValue === NO_NODE) ||
      (message.preVote && message.term > this.termValue);
    if (canVote && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm)) {
      // A granted PreVote answers in the candidate's future term, or it would look stale there.
      this.send(voteResponse(this.group, this.id, message.from, message.term, message.preVote, true));
      if (!message.preVote) {
        this.voteValue = message.from;
        this.electionElapsed = 0;
      }
    } else {
      this.send(voteResponse(this.group, this.id, message.from, this.termValue, message.preVote, false));
    }
  }

  private stepCandidate(message: RaftMessage): void {
    switch (message.type) {
      case 'VoteResponse':
        this.handleVoteResponse(message);
        break;
      case 'AppendRequest':
        this.becomeFollower(message.term, message.from);
        this.handleAppendRequest(message);
        break;
      case 'Heartbeat':
        this.becomeFollower(message.term, message.from);
        this.handleHeartbeat(message);
        break;
      case 'InstallSnapshot':
        this.becomeFollower(message.term, message.from);
        this.handleInstallSnapshot(message);
        break;
      case 'VoteRequest':
      case 'AppendResponse':
      case 'HeartbeatResponse':
      case 'TimeoutNow':
      case 'InstallSnapshotResponse':
        break;
      default:
        unreachable(message);
    }
  }

  private handleVoteResponse(message: VoteResponse): void {
    if (message.preVote !== (this.roleValue === 'precandidate')) return;
    this.votes.set(message.from, message.granted);
    if (this.grantedVotes() >= this.quorum) {
      this.winCampaign();
    } else if (this.votes.size - this.grantedVotes() >= this.quorum) {
      this.becomeFollower(this.termValue, NO_NODE);
    }
  }

  private grantedVotes(): number {
    let granted = 0;
    for (const vote of this.votes.values()) if (vote) granted++;
    return granted;
  }

  // ---- Followers.

  private stepFollower(message: RaftMessage): void {
    switch (message.type) {
      case 'AppendRequest':
        this.electionElapsed = 0;
        this.leaderValue = message.from;
        this.endElectionBackoff();
        this.handleAppendRequest(message);
        break;
      case 'Heartbeat':
        this.electionElapsed = 0;
        this.leaderValue = message.from;
        this.endElectionBackoff();
        this.handleHeartbeat(message);
        break;
      case 'TimeoutNow':
        // Only our own leader may hand over, and only to a node allowed to serve.
        if (message.from === this.leaderValue && this.leadershipRefusal === undefined && !this.installing()) this.campaign(false, true);
        break;
      case 'InstallSnapshot':
        this.electionElapsed = 0;
        this.leaderValue = message.from;
        this.endElectionBackoff();
        this.handleInstallSnapshot(message);
        break;
      case 'VoteRequest':
      case 'VoteResponse':
      case 'AppendResponse':
      case 'HeartbeatResponse':
      case 'InstallSnapshotResponse':
        break;
      default:
        unreachable(message);
    }
  }

  private handleAppendRequest(message: AppendRequest): void {
    this.leaderCommitHeard = Math.max(this.leaderCommitHeard, message.leaderCommit);
    const prevLogIndex = message.prevLogIndex;
    if (prevLogIndex < this.commitValue) {
      // Everything up to our commit index already matches the leader.
      this.sendAppendResponse(message.from, true, this.commitValue, prevLogIndex, 0, 0);
      return;
    }
    const ourPrevTerm = this.log.term(prevLogIndex);
    if (ourPrevTerm === undefined) {
      this.sendAppendResponse(message.from, false, 0, prevLogIndex, 0, this.log.lastIndex() + 1);
      return;
    }
    if (ourPrevTerm !== message.prevLogTerm) {
      const conflictIndex = this.log.firstIndexOfTermAt(prevLogIndex);
      this.sendAppendResponse(message.from, false, 0, prevLogIndex, ourPrevTerm, conflictIndex);
      return;
    }
    this.appendFromLeader(prevLogIndex, message.entries);
    const lastNewIndex = prevLogIndex + message.entries.length;
    this.commitTo(this.followerCommitBound(lastNewIndex, message.leaderCommit));
    this.sendAppendResponse(message.from, true, lastNewIndex, 0, 0, 0);
  }

  private handleHeartbeat(message: Heartbeat): void {
    this.leaderCommitHeard = Math.max(this.leaderCommitHeard, message.commit);
    this.commitTo(Math.min(message.commit, this.log.lastIndex()));
    this.send(heartbeatResponse(this.group, this.id, message.from, this.termValue, message.seq, this.log.lastIndex(), this.log.lastTerm()));
  }

  /**
   * A chunk of the leader's snapshot (extended paper, section 7). Chunks are
   * taken in order only; any other is answered with the offset expected, from
   * which the leader sends again. A chunk at offset 0 of another snapshot
   * starts that one over. Once all of it is here, the next Ready hands it to
   * the driver to check and install; the answer that says so goes after.
   */
  private handleInstallSnapshot(message: InstallSnapshot): void {
    const from = message.from;
    if (message.snapshotIndex <= this.commitValue) {
      // Everything it holds is committed here already: say so, and the leader goes on from there.
      this.send(installSnapshotResponse(this.group, this.id, from, this.termValue, message.snapshotIndex, message.size, true));
      return;
    }
    let incoming = this.incomingSnapshot;
    const sameSnapshot = incoming !== undefined && incoming.index === message.snapshotIndex && incoming.term === message.snapshotTerm && incoming.crc === message.crc && incoming.size === message.size;
    if (!sameSnapshot) {
      if (message.offset !== 0 || this.installHanded !== undefined || this.pendingInstall !== undefined) {
        this.sendSnapshotAnswer(from, message.snapshotIndex, 0);
        return;
      }
      incoming = { index: message.snapshotIndex, term: message.snapshotTerm, size: message.size, crc: message.crc, from, received: 0, ahead: new Map() };
      this.incomingSnapshot = incoming;
    }
    const current = incoming!;
    const { snapshotIndex, snapshotTerm, size, crc, offset, data } = message;
    // A chunk already held, or further ahead than the leader's window could put it, is only answered.
    const windowBytes = this.options.snapshotChunkBytes * this.options.snapshotChunksInflightMax;
    const useful = offset >= current.received && offset < current.received + windowBytes && !current.ahead.has(offset) && current.received < current.size;
    if (useful) {
      this.pendingChunks.push({ snapshotIndex, snapshotTerm, size, crc, offset, data });
      current.ahead.set(offset, data.length);
      for (let length = current.ahead.get(current.received); length !== undefined; length = current.ahead.get(current.received)) {
        current.ahead.delete(current.received);
        current.received += length;
      }
      if (current.received === current.size) {
        this.pendingInstall = current;
        return;
      }
    }
    this.sendSnapshotAnswer(from, current.index, current.received);
  }

  private sendSnapshotAnswer(to: NodeId, snapshotIndex: number, nextOffset: number): void {
    this.send(installSnapshotResponse(this.group, this.id, to, this.termValue, snapshotIndex, nextOffset, false));
  }

  private commitTo(index: number): void {
    if (index <= this.commitValue) return;
    if (!(index <= this.log.lastIndex())) fail(`commit ${index} beyond last index ${this.log.lastIndex()}`);
    this.commitValue = index;
  }

  // ---- Leaders.

  private stepLeader(message: RaftMessage): void {
    switch (message.type) {
      case 'AppendResponse':
        this.handleAppendResponse(message);
        break;
      case 'HeartbeatResponse':
        this.handleHeartbeatResponse(message);
        break;
      case 'InstallSnapshotResponse':
        this.handleInstallSnapshotResponse(message);
        break;
      case 'VoteRequest':
      case 'VoteResponse':
      case 'AppendRequest':
      case 'Heartbeat':
      case 'TimeoutNow':
      case 'InstallSnapshot':
        break;
      default:
        unreachable(message);
    }
  }

  private handleHeartbeatResponse(message: HeartbeatResponse): void {
    const progress = this.progressById[message.from]!;
    progress.recentActive = true;
    if (progress.state === 'snapshot') {
      this.retrySnapshotIfStalled(message.from, progress);
      return;
    }
    progress.probeSent = false;
    // The follower acknowledged up to matchThen before this heartbeat went out; its
    // log can only end below that if its disk lost acknowledged entries.
    const matchThen = progress.matchAtHeartbeat(message.seq);
    if (matchThen !== undefined && message.lastIndex < Math.min(matchThen, progress.match)) {
      progress.resetMatchTo(message.lastIndex);
    } else if (progress.state === 'replicate' && this.followerNeedsProbe(progress, message)) {
      progress.becomeProbe();
    }
    if (progress.match < this.log.lastIndex()) this.sendAppends(message.from);
  }

  /**
   * In replicate state, a follower needs probing again when its log has entries
   * ours lacks (its last entry is not ours), or when appends sent before the
   * heartbeat preceding the answered one are still unacknowledged: they had a
   * whole heartbeat interval more than the heartbeat, so they or their answers
   * count as lost.
   */
  private followerNeedsProbe(progress: Progress, answer: HeartbeatResponse): boolean {
    if (this.log.term(answer.lastIndex) !== answer.lastTerm) return true;
    const nextBefore = progress.nextAtHeartbeatInThisState(answer.seq - 1);
    return nextBefore !== undefined && progress.match + 1 < nextBefore;
  }

  private handleAppendResponse(message: AppendResponse): void {
    const progress = this.progressById[message.from]!;
    progress.recentActive = true;
    // Answers to appends sent before the snapshot began tell nothing the snapshot does not settle.
    if (progress.state === 'snapshot') return;
    if (message.success) {
      const acknowledged = this.acknowledgedIndex(message, progress);
      if (acknowledged > this.log.lastIndex()) return;
      // Only news sends more: answers to stale or duplicated requests would
      // otherwise multiply the traffic on a network that reorders. A probing
      // leader also takes an answer that confirms the match it has (as
      // etcd-raft does): the probe itself may have been lost, and then that
      // answer is the only one to come.
      const confirmsProbe = progress.state === 'probe' && acknowledged === progress.match;
      if (progress.maybeUpdate(acknowledged) || confirmsProbe) {
        if (progress.state === 'probe') progress.becomeReplicate();
        // A match at or below the commit index cannot lift the quorum's index
        // above it: after the first acknowledgements of an entry commit it, the
        // rest skip counting.
        const committed = acknowledged > this.commitValue && this.maybeCommit();
        this.sendAppends(message.from);
        if (committed) this.broadcastCommit();
        else this.sendCommit(message.from, progress);
        if (message.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
          this.send(timeoutNow(this.group, this.id, message.from, this.termValue));
        }
      }
      return;
    }
    if (progress.maybeDecreaseTo(message.rejectedIndex, this.nextFromConflictHint(message))) {
      this.sendAppends(message.from);
    }
  }

  /**
   * The last index a successful answer shows the follower holds: the one it
   * names, never what was sent since. Protected so that a planted-bug variant
   * in the tests can take more, which the simulator's match check must catch.
   */
  protected acknowledgedIndex(message: AppendResponse, _progress: Readonly<Progress>): number {
    return message.matchIndex;
  }

  /** The fast backtracking of the extended Raft paper (end of section 5.3). */
  private nextFromConflictHint(message: AppendResponse): number {
    if (message.conflictTerm === 0) return message.conflictIndex;
    const lastOfTerm = this.log.lastIndexOfTerm(message.conflictTerm);
    return lastOfTerm > 0 ? lastOfTerm + 1 : message.conflictIndex;
  }

  /** Sends what the follower's progress allows: one probe, or a pipeline of appends. */
  private sendAppends(peer: NodeId): void {
    const progress = this.progressById[peer]!;
    do {
      if (progress.isPaused()) return;
      const sent = this.sendAppend(peer, progress);
      if (!sent || progress.state === 'probe') return;
    } while (progress.next <= this.log.lastIndex());
  }

  private sendAppend(peer: NodeId, progress: Progress): boolean {
    const prevLogIndex = progress.next - 1;
    if (prevLogIndex < this.log.firstIndex() - 1) {
      // The entries the follower needs next are compacted away: only the snapshot has them.
      this.startSnapshot(peer, progress);
      return false;
    }
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) fail(`progress.next ${progress.next} beyond log of ${this.log.lastIndex()}`);
    // In replicate state an append without entries is not sent, and there are
    // none past the end of the log: answer that before slicing an empty array,
    // since every acknowledgement of a follower that is up to date asks it.
    if (progress.state === 'replicate' && progress.next > this.log.lastIndex()) return false;
    const entries = this.log.slice(progress.next, this.options.entriesPerMessageMax, this.options.bytesPerMessageMax);
    this.send(appendRequest(this.group, this.id, peer, this.termValue, prevLogIndex, prevLogTerm, entries, this.commitValue));
    const last = entries.length > 0 ? entries[entries.length - 1]!.index : prevLogIndex;
    progress.sentAppend(last, entries.length);
    // The follower commits up to the smaller of the two (followerCommitBound).
    progress.commitSent = Math.max(progress.commitSent, Math.min(this.commitValue, last));
    return true;
  }

  /**
   * Tells a follower in replicate state a commit index it has not been sent,
   * at once, by an append without entries after the entry it is known to
   * hold, rather than leaving it to learn it from the next heartbeat: a
   * follower's subscribers then see a message about one round trip after the
   * leader's. An append carrying new entries carries the commit index too, so
   * this goes only when there is nothing else to send.
   */
  private sendCommit(peer: NodeId, progress: Progress): void {
    if (progress.state !== 'replicate') return;
    const commit = Math.min(progress.match, this.commitValue);
    if (commit <= progress.commitSent) return;
    const prevLogTerm = this.log.term(progress.match);
    if (prevLogTerm === undefined) return;
    this.send(appendRequest(this.group, this.id, peer, this.termValue, progress.match, prevLogTerm, NO_ENTRIES, this.commitValue));
    progress.commitSent = commit;
  }

  /** The commit index advanced: every follower that holds some of the newly committed entries hears of it now. */
  private broadcastCommit(): void {
    for (let i = 0; i < this.others.length; i++) {
      const peer = this.others[i]!;
      this.sendCommit(peer, this.progressById[peer]!);
    }
  }

  // ---- Snapshots to followers.

  private startSnapshot(peer: NodeId, progress: Progress): void {
    assert(this.snapshots !== undefined, `node ${this.id} compacted its log to ${this.log.firstIndex() - 1} without a snapshot source`);
    const latest = this.snapshots.latest();
    // None can be read now (the driver could not assemble it, and says why): the next answer from the follower tries again.
    if (latest === undefined) return;
    if (latest.index < this.log.firstIndex() - 1) fail(`node ${this.id} compacted its log to ${this.log.firstIndex() - 1} without a snapshot that covers it`);
    assert(latest.size > 0, `snapshot at ${latest.index} is empty`);
    progress.becomeSnapshot(latest);
    this.sendSnapshotChunks(peer, progress, true);
  }

  /** Sends chunks while the window allows: at most snapshotChunksInflightMax chunks beyond what the follower acknowledged. */
  private sendSnapshotChunks(peer: NodeId, progress: Progress, justStarted = false): void {
    const transfer = progress.transfer!;
    const chunkBytes = this.options.snapshotChunkBytes;
    const windowBytes = chunkBytes * this.options.snapshotChunksInflightMax;
    while (transfer.sent < transfer.size && transfer.sent - transfer.acked < windowBytes) {
      const length = Math.min(chunkBytes, transfer.size - transfer.sent);
      const data = this.snapshots!.read(transfer.index, transfer.sent, length);
      if (data === undefined) {
        // A newer snapshot replaced this one: send that instead, from its start.
        if (justStarted) fail(`the snapshot source names the snapshot at ${transfer.index} as the newest but cannot read it`);
        this.startSnapshot(peer, progress);
        return;
      }
      assert(data.length === length, `snapshot at ${transfer.index} gave ${data.length} bytes at ${transfer.sent}, asked ${length}`);
      this.send(installSnapshot(this.group, this.id, peer, this.termValue, transfer, transfer.sent, data));
      transfer.sent += length;
    }
  }

  private handleInstallSnapshotResponse(message: InstallSnapshotResponse): void {
    const progress = this.progressById[message.from]!;
    progress.recentActive = true;
    const transfer = progress.transfer;
    if (progress.state !== 'snapshot' || transfer === undefined || message.snapshotIndex !== transfer.index) return;
    if (message.installed) {
      progress.snapshotInstalled(transfer.index);
      this.sendAppends(message.from);
      return;
    }
    transfer.lastAnswered = message.nextOffset;
    if (message.nextOffset === 0 && transfer.acked > 0) {
      // The follower started over (it restarted, or found the snapshot damaged).
      transfer.acked = 0;
      transfer.sent = 0;
    } else if (message.nextOffset <= transfer.acked) {
      // An answer overtaken by later ones on a network that reorders: it tells nothing new.
      return;
    }
    transfer.acked = message.nextOffset;
    transfer.sent = Math.max(transfer.sent, transfer.acked);
    this.sendSnapshotChunks(message.from, progress);
  }

  /**
   * Heartbeat answers pace the retries: when the follower acknowledged
   * nothing more since the last one, the chunks after its acknowledgement
   * are taken as lost and sent again. When it had acknowledged every chunk,
   * the answer that says it installed the snapshot was lost: the last chunk
   * goes again, and a follower that installed it answers that at once.
   */
  private retrySnapshotIfStalled(peer: NodeId, progress: Progress): void {
    const transfer = progress.transfer!;
    if (transfer.acked !== transfer.ackedAtLastHeartbeat) {
      transfer.ackedAtLastHeartbeat = transfer.acked;
      return;
    }
    if (transfer.lastAnswered < transfer.acked) {
      // Stalled while the follower's latest answer names an earlier offset:
      // it does not hold what `acked` says. A follower that restarted asks
      // for offset 0, the leader starts over, and an answer sent before the
      // restart, delayed or duplicated on the network, can then raise `acked`
      // past everything the new transfer holds; the follower refuses chunks
      // that far ahead of its window, and answers that only repeat its offset
      // would never count. Going back to where it says it is costs at most
      // chunks sent twice, when that answer was merely overtaken.
      transfer.acked = transfer.lastAnswered;
      transfer.ackedAtLastHeartbeat = transfer.acked;
    }
    if (transfer.acked >= transfer.size) {
      const chunkBytes = this.options.snapshotChunkBytes;
      transfer.sent = transfer.size - (transfer.size % chunkBytes === 0 ? chunkBytes : transfer.size % chunkBytes);
    } else {
      transfer.sent = transfer.acked;
    }
    this.sendSnapshotChunks(peer, progress);
  }

  /**
   * Advances commit to the highest index a quorum holds durably. The leader counts
   * itself only for entries its own disk has made stable.
   */
  private maybeCommit(): boolean {
    const quorumIndex = this.quorumMatchIndex();
    if (quorumIndex <= this.commitValue || !this.mayCommitByCounting(quorumIndex)) return false;
    for (let index = this.commitValue + 1; index <= quorumIndex; index++) {
      const entry = this.log.entry(index)!;
      if (entry.term === this.termValue) this.uncommittedBytes -= entry.data.length;
    }
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes);
    this.commitValue = quorumIndex;
    return true;
  }

  /** The highest index that a quorum (the leader's stable log included) holds. */
  private quorumMatchIndex(): number {
    const matches = this.matchScratch;
    matches[0] = this.log.stableIndex();
    let count = 1;
    const progressList = this.progressList;
    for (let i = 0; i < progressList.length; i++) matches[count++] = progressList[i]!.match;
    // Insertion sort, descending: there are at most a handful of voters.
    for (let i = 1; i < count; i++) {
      const value = matches[i]!;
      let j = i - 1;
      while (j >= 0 && matches[j]! < value) {
        matches[j + 1] = matches[j]!;
        j--;
      }
      matches[j + 1] = value;
    }
    return matches[this.quorum - 1]!;
  }

  // ---- Messages.

  /**
   * The fields are positional rather than an object so that answering an append,
   * the commonest thing a follower does, builds one message and nothing else.
   */
  private sendAppendResponse(
    to: NodeId,
    success: boolean,
    matchIndex: number,
    rejectedIndex: number,
    conflictTerm: number,
    conflictIndex: number,
  ): void {
    this.send(appendResponse(this.group, this.id, to, this.termValue, success, matchIndex, rejectedIndex, conflictTerm, conflictIndex));
  }

  private send(message: RaftMessage): void {
    if (this.termValue === this.durableTerm && !promisesDurableState(message)) {
      this.outboxNow[this.outboxNowLength++] = message;
    } else {
      this.outbox[this.outboxLength++] = message;
    }
  }

  /**
   * Whether `id` is another voter. step() asks this of every message; a plain
   * loop over a handful of voters is inlined where the includes builtin is a call.
   */
  private isOther(id: NodeId): boolean {
    const others = this.others;
    for (let i = 0; i < others.length; i++) if (others[i] === id) return true;
    return false;
  }

  private clearProgress(): void {
    for (const peer of this.others) this.progressById[peer] = undefined;
    this.progressList.length = 0;
  }

  private hardStateChanged(): boolean {
    const handed = this.handedHardState;
    return handed.term !== this.termValue || handed.vote !== this.voteValue;
  }
}
