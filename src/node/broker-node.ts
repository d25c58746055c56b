// One node's whole core: the Raft core, the broker's state machine and the
// node's client sessions, joined by two rules.
//   - A publish is acknowledged only AFTER its entry is committed and applied.
//   - A subscriber receives only applied (so committed) messages, through the
//     cursors of subscriptions.ts: in offset order, with no gap, never twice.
//
// Pure and sans-IO like its parts. Inputs: tick(nowMs), step(message, nowMs, clock),
// openSession / receive / closeSession for client bytes. Outputs: ready() and
// advance(ready) as in the Raft core (the driver makes the Ready durable, sends
// its messages, then calls advance, which applies committed entries and
// settles publishes), takePeerMessages() for messages that may go at once, and
// takeClientOutput() for bytes to write to clients. `nowMs` is the node's wall
// clock: a leader stamps the publishes it proposes with it, and every node
// measures the others' clocks against it (see Clocks below). Every message a
// driver sends to a peer goes with clockStampFor(peer, nowMs), taken as it is
// sent, and the receiver's driver hands that stamp to step.
//
// A client may use any node. A publish on a follower is forwarded to the
// leader it knows (Forward); the leader answers once the entry is applied
// (ForwardResult), and the follower answers its client. With no known
// leader, or no answer within forwardTimeoutTicks, the client gets a retryable
// error; retrying with the same Nats-Msg-Id cannot store the message twice.
// Acknowledgements of durable consumers travel the same way.
//
// Read barrier. A durable consumer must resume right after its last
// acknowledged offset, but a follower's applied state may lag the leader's. So
// a durable XSUB first sends a DedupExpire command through the log (a command
// with no visible effect but freeing expired message ids) and starts only once
// this node has applied it: every acknowledgement committed before the XSUB
// is then applied here too.

import { assert } from '../raft/assert.js';
import type { RaftConfig } from '../raft/config.js';
import { RaftNode } from '../raft/node.js';
import type { DurableState, Entry, NodeId, Ready } from '../raft/types.js';
import { NO_NODE } from '../raft/types.js';
import { encodeBrokerCommand, type BrokerCommand, type MessageHeaders, type PublishCommand } from '../broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../broker/options.js';
import { BrokerStateMachine, type ApplyResult, type StoredMessage } from '../broker/state-machine.js';
import { FileMessageStores } from '../broker/file-message-store.js';
import { MemoryMessageStores, type MessageStores, type SnapshotStream } from '../broker/message-store.js';
import { decodeBrokerSnapshot, encodeBrokerSnapshot, snapshotKind } from '../broker/snapshot.js';
import { WholeSnapshotSource } from '../broker/whole-snapshot-source.js';
import type { SyncDone } from '../storage/file-system.js';
import { consumerAckProblem, publishProblem, type Rejection } from '../broker/validation.js';
import { subjectMatches } from '../broker/subjects.js';
import type { StreamConfig } from '../broker/stream-config.js';
import type { ClientCommand, ClientParseOutput, ConnectOptions, HeaderBlock, HistoryStart } from '../protocol/client-commands.js';
import { DEFAULT_REORDER_BOUND_MS, EMPTY_HEADER_BLOCK } from '../protocol/client-commands.js';
import { encodeErr, encodeHMsg, encodeInfo, encodeMsg, encodeOk, encodePing, encodePong } from '../protocol/client-encoder.js';
import { encodeHeaderBlock } from '../protocol/client-headers.js';
import type { ProtocolError } from '../protocol/client-errors.js';
import type { ClockStamp, CommandFailed, CommandOutcome, Forward, ForwardedCommand, PeerMessage, PublishAcked, PublishFailure } from './peer-messages.js';
import { isBrokerPeerMessage } from './peer-messages.js';
import { OffsetEstimator, offsetSample, type OffsetEstimate } from '../clock/offset-estimator.js';
import { HybridLogicalClock, type HlcTimestamp } from '../clock/hlc.js';
import {
  ackJson,
  deliveryReplySubject,
  encodeEntry,
  encodeHistoryHead,
  encodeStatus,
  INBOX_PREFIX,
  isMsgMetadataSubject,
  LATE_HEADER,
  parseAckSubject,
  pubAckJson,
  RESERVED_PREFIX,
} from './replies.js';
import { ClientSession } from './session.js';
import { ClientLiveness } from './client-liveness.js';
import { codeOfErrCode, jetStreamErrCode } from './replies.js';
import { CoreRouter } from './core-router.js';
import { JS_API_PREFIX, parseStreamApiRequest, streamApiError, streamApiResponse, type StreamApiOp, type StreamApiRequest } from './stream-api.js';
import { SubscriptionTable, type Member, type Ordering, type StartRule } from './subscriptions.js';
import { consumerStats, type ConsumerStats } from './consumer-stats.js';
import {
  AUTHORIZATION_VIOLATION,
  judgeCredentials,
  mayPublish,
  mayReceive,
  maySubscribe,
  publishViolation,
  subscribeViolation,
  type ClientAuthOptions,
  type Permissions,
} from './client-auth.js';

/** A bcrypt comparison the driver runs for the core: see BrokerNode.takeCredentialChecks. */
export interface CredentialCheck {
  readonly session: number;
  readonly given: string;
  readonly hash: string;
}

export interface BrokerNodeOptions {
  readonly broker: BrokerOptions;
  /** The name INFO gives clients. */
  readonly serverName: string;
  readonly version: string;
  /** Extra INFO fields a driver knows and the core does not (host, port). */
  readonly infoExtra: Readonly<Record<string, unknown>>;
  /** A forwarded publish unanswered after this many ticks fails as retryable. */
  readonly forwardTimeoutTicks: number;
  /** Forwarded publishes awaiting an answer; beyond this a publish fails as overloaded. */
  readonly pendingForwardsMax: number;
  /**
   * Output bytes pending for one client (queued, or not yet written to its
   * socket) before its stored deliveries pause (they catch up from the log
   * later) and its HISTORY reads wait.
   */
  readonly sessionOutputBytesMax: number;
  /**
   * Output bytes pending for one client beyond which an unstored (core NATS)
   * message to it cuts it as a slow consumer: such a message cannot wait.
   * nats-server's max_pending, with its default.
   */
  readonly sessionPendingBytesMax: number;
  /** Messages delivered from the log to catching-up subscriptions per input, over all of them. */
  readonly catchUpMessagesPerRound: number;
  readonly sessionsMax: number;
  readonly subscriptionsPerSessionMax: number;
  readonly controlLineBytesMax: number;
  /** Ticks after which a peer this node has sent nothing to gets a ClockProbe, so every pair of nodes measures each other. */
  readonly clockSyncTicks: number;
  /**
   * A node whose clock is off from the majority's by more than this refuses to
   * lead, and a peer's hybrid clock reading further than this ahead of ours is
   * not merged into our clock.
   */
  readonly maxClockOffsetMs: number;
  /**
   * Which start of this node's data this core is: every start must be given a
   * number above every earlier one's (the driver keeps a durable counter). It
   * makes forward tokens unique across restarts, so an answer to a forward of
   * an earlier incarnation can never settle a publish of this one.
   */
  readonly incarnation: number;
  /**
   * Ticks between the clock commands a leader proposes while a stream has a
   * max_age, so that age empties an idle stream too: age is measured in the
   * leader timestamps the log carries, and an idle log carries none.
   */
  readonly clockAdvanceTicks: number;
  /** Ticks between full advertisements of this node's subscriptions to its peers (interest.ts). */
  readonly interestSyncTicks: number;
  /**
   * Streams the cluster is declared with (cluster.yaml): a leader creates
   * those missing from the replicated state before it proposes anything
   * else, and every node treats their subjects as stored from the start.
   * Every node must be given the same list.
   */
  readonly streams: readonly StreamConfig[];
  /**
   * The node snapshots its state machine once it has applied this many
   * entries past its last snapshot, so its log can be compacted behind it
   * (the driver saves it; see snapshotToSave). 0 never does.
   */
  readonly snapshotEveryEntries: number;
  /**
   * Client liveness (client-liveness.ts), in ticks, 0 turning a check off:
   * CONNECT must come within connectTimeoutTicks of opening; a client quiet
   * for pingIntervalTicks is sent a PING, and closed when pingsOutstandingMax
   * are unanswered. Off in the core by default; real mode sets nats-server's
   * defaults from cluster.yaml's `connections` section.
   */
  readonly connectTimeoutTicks: number;
  readonly pingIntervalTicks: number;
  readonly pingsOutstandingMax: number;
  /**
   * Client authentication and permissions (client-auth.ts); undefined lets
   * every client in with every permission, as nats-server without an
   * authorization block does.
   */
  readonly auth: ClientAuthOptions | undefined;
}

export const DEFAULT_BROKER_NODE_OPTIONS: BrokerNodeOptions = {
  broker: DEFAULT_BROKER_OPTIONS,
  serverName: 'chorus',
  version: '0.1.0',
  infoExtra: {},
  forwardTimeoutTicks: 200,
  pendingForwardsMax: 10_000,
  sessionOutputBytesMax: 4 * 1024 * 1024,
  sessionPendingBytesMax: 64 * 1024 * 1024,
  catchUpMessagesPerRound: 1024,
  // nats-server's max_connections.
  sessionsMax: 65_536,
  subscriptionsPerSessionMax: 10_000,
  controlLineBytesMax: 4096,
  clockSyncTicks: 20,
  maxClockOffsetMs: 500,
  incarnation: 1,
  interestSyncTicks: 20,
  clockAdvanceTicks: 10,
  streams: [],
  connectTimeoutTicks: 0,
  pingIntervalTicks: 0,
  pingsOutstandingMax: 2,
  snapshotEveryEntries: 4_000,
  auth: undefined,
};

/** Forward tokens are incarnation * 2^32 + a counter; both stay within a safe integer. */
const TOKENS_PER_INCARNATION = 2 ** 32;
export const INCARNATION_MAX = Math.floor(Number.MAX_SAFE_INTEGER / TOKENS_PER_INCARNATION) - 1;

export interface ClientOutput {
  readonly session: number;
  readonly bytes: readonly Uint8Array[];
  /** The driver writes `bytes`, then closes the connection; the core has already forgotten the session. */
  readonly close: boolean;
}

/** Who waits for a command's outcome: a client of this node, or a follower that forwarded it. */
type Waiter =
  | { readonly kind: 'publish'; readonly session: number; readonly replyTo: string | undefined; readonly receivedMs: number }
  | { readonly kind: 'ack'; readonly session: number; readonly replyTo: string | undefined }
  | DurableWaiter
  | ApiWaiter
  | LiveWaiter
  | { readonly kind: 'remote'; readonly node: NodeId; readonly token: number };

interface DurableWaiter {
  readonly kind: 'durable';
  readonly session: number;
  readonly sid: string;
  readonly subject: string;
  readonly consumer: string;
  readonly ordering: Ordering | undefined;
}

/** A stream API request (stream-api.ts): answered once its write or read barrier is applied on this node. */
interface ApiWaiter {
  readonly kind: 'api';
  readonly session: number;
  readonly replyTo: string | undefined;
  readonly request: Exclude<StreamApiRequest, { kind: 'refused' }>;
}

/** A live SUB to stored subjects, waiting for its read barrier; see subscribe. */
interface LiveWaiter {
  readonly kind: 'live';
  readonly session: number;
  readonly sid: string;
  readonly subject: string;
  readonly queue: string | undefined;
  /** An UNSUB with a max that came before the subscription started. */
  max: number | undefined;
}

/** Who waits for a read barrier (or a write) to be applied on this node. */
type BarrierWaiter = DurableWaiter | ApiWaiter | LiveWaiter;

type LocalWaiter = Exclude<Waiter, { kind: 'remote' }>;

/** A command proposed on this leader, waiting to be applied. Exported for the planted bugs that override outcome(). */
export interface PendingEntry {
  readonly waiter: Waiter;
  /** The term the entry was proposed in; an entry of another term at its index means it was lost. */
  readonly term: number;
}

interface PendingForward {
  readonly waiter: LocalWaiter;
  /** The leader it was forwarded to. */
  readonly leader: NodeId;
  readonly deadlineTick: number;
}

/** Reads a recovering node holds until it is ready; more are refused. */
const READS_WAITING_MAX = 1000;
/** Messages a paced HISTORY read takes from the store at a time. */
const HISTORY_PAGE_MESSAGES = 64;
const MSG_ID_HEADER = 'Nats-Msg-Id';
const CAUSAL_TIME_HEADER = 'Chorus-Time';
const PROTOCOL_VERSION = 1;
/** The log keeps a stamp's counter in 32 bits. */
const UINT32_MAX = 0xffff_ffff;

export class BrokerNode {
  readonly raft: RaftNode;
  /** Replaced whole when a snapshot from the leader is installed. */
  private stateValue: BrokerStateMachine;
  readonly options: BrokerNodeOptions;
  /** From snapshotToSave() until the driver reports the snapshot saved (or failed): what its streams keep, for releasing the rest. */
  private snapshotSaving: readonly SnapshotStream[] | undefined = undefined;
  /** Where the streams' messages live: files in a node, the heap without a disk. */
  readonly messageStores: MessageStores;
  /** Called with each entry once it is applied: how a simulator checks what a node applies. */
  onApply: ((entry: Entry, stamp: HlcTimestamp | undefined) => void) | undefined = undefined;
  /**
   * Called as a client of this node is answered about a stored publish, with
   * the clock reading the publish arrived at and the failure if it failed:
   * how a driver measures PubAck latency, and sees limits hit, without the
   * core reading a clock or logging.
   */
  onPublishAnswered: ((receivedMs: number, failure: CommandFailed | undefined) => void) | undefined = undefined;
  /** Counts of this node's work since it started, for monitoring; see counters(). */
  private readonly counted = { publishesReceived: 0, publishesAcked: 0, publishesFailed: 0, forwardsReceived: 0 };
  /** Why the last write of stored messages failed, until one succeeds. */
  private messageStoreProblem: string | undefined = undefined;
  /** What followers are sent, when the stores keep messages in files; see WholeSnapshotSource. */
  private readonly wholeSnapshots: WholeSnapshotSource | undefined;
  /** Set once this node has caught up with its cluster after starting; see recoveryState. */
  private recovered = false;
  /** Clients cut as slow consumers since this node started. */
  private slowConsumers = 0;
  /** Clients refused for bad or missing credentials since this node started. */
  private authRefusals = 0;
  /** CONNECTs whose hashed password the driver has not been asked to check yet. */
  private credentialChecks: CredentialCheck[] = [];
  /** Sessions waiting on a hashed-password check, and who they will be if it passes. */
  private readonly pendingCredentials = new Map<number, { readonly user: string; readonly permissions: Permissions | undefined }>();
  /** Reads held while this node recovers; see whenReady. */
  private readsWaiting: { readonly session: number; readonly read: () => void }[] = [];
  private readonly sessions = new Map<number, ClientSession>();
  private readonly subscriptions = new SubscriptionTable();
  /** Connection hygiene: the CONNECT deadline and pings of every open session. */
  private readonly liveness: ClientLiveness;
  /** Keyed by log index. Invariant: every key is above the last applied index. */
  private readonly pending = new Map<number, PendingEntry>();
  private readonly forwards = new Map<number, PendingForward>();
  /** The leader this node believed in when it last checked its forwards. */
  private forwardsLeader: NodeId = NO_NODE;
  /** Durable XSUBs whose barrier passed at an index this node has not applied yet. */
  private barrierWaits: { readonly index: number; readonly waiter: BarrierWaiter; readonly purged: number }[] = [];
  /** Live SUBs waiting for their read barrier, by "session sid"; see subscribe. */
  private readonly liveStarting = new Map<string, LiveWaiter>();
  /** Live SUBs whose barrier failed, to send again; see retryLive. */
  private liveRetries: LiveWaiter[] = [];
  /** session -> PINGs to answer once its live SUBs have started. */
  private readonly deferredPongs = new Map<number, number>();
  /** "session sid" of durable XSUBs and live SUBs waiting for their barrier: the sid is taken. */
  private readonly startingSubscriptions = new Set<string>();
  /** Forwards sent by this incarnation; the next token is firstToken + forwardsSent % TOKENS_PER_INCARNATION. */
  private forwardsSent = 0;
  private readonly firstToken: number;
  private ticks = 0;
  /** The node's clock at its last input: when applied messages enter ORDERED subscriptions' reorder buffers. */
  private clockMs = 0;
  private peerOutbox: PeerMessage[] = [];
  /** Sessions closed by the core whose last bytes the driver has not taken yet. */
  private readonly closed = new Map<number, ClientSession>();
  /** Stamps every message to a peer, and the publishes this node proposes while it leads; see commandFor. */
  private readonly hlc = new HybridLogicalClock();
  /** peer -> the estimate of its clock minus ours. */
  private readonly clockEstimators = new Map<NodeId, OffsetEstimator>();
  /** peer -> the newest stamp heard from it (its sentMs) and when, on our clock: what our next stamp to it echoes. */
  private readonly lastHeard = new Map<NodeId, { readonly sentMs: number; readonly receivedMs: number }>();
  /** peer -> the tick of the last stamp this node took for a message to it. */
  private readonly lastSentTick = new Map<NodeId, number>();
  /** Peer clock readings too far ahead to merge into our hybrid clock; see onClockStamp. */
  private clockStampsRefused = 0;
  /** NATS core: subjects no stream captures, routed by what every node subscribes to. */
  private readonly core: CoreRouter;
  /** The term in which this node, as leader, last proposed the declared streams; see maybeCreateDeclaredStreams. */
  private declaredStreamsTerm = 0;
  /** The tick of the last clock command this node proposed; see maybeAdvanceReplicatedClock. */
  private lastClockAdvanceTick = 0;
  /** Leadership hand-overs this node began while refused; see maybeHandLeadershipOn. */
  private handOverAttempts = 0;

  /**
   * A node restarted from what its storage recovered: the Raft state, and the
   * bytes of its newest snapshot when there is one (the state machine starts
   * from them). Bytes that do not decode throw: they passed their CRC, so
   * they were written by a chorus that encodes snapshots differently.
   * `messageStores` holds the streams' messages: a node's files (whose
   * messages a metadata snapshot names), or the heap by default.
   */
  constructor(config: RaftConfig, restored: DurableState, options: Partial<BrokerNodeOptions> = {}, snapshotData?: Uint8Array, messageStores: MessageStores = new MemoryMessageStores()) {
    this.options = { ...DEFAULT_BROKER_NODE_OPTIONS, ...options };
    this.liveness = new ClientLiveness(this.options);
    const incarnation = this.options.incarnation;
    assert(Number.isSafeInteger(incarnation) && incarnation >= 1 && incarnation <= INCARNATION_MAX, `incarnation ${incarnation} is not an integer from 1 to ${INCARNATION_MAX}`);
    this.firstToken = incarnation * TOKENS_PER_INCARNATION;
    this.messageStores = messageStores;
    if (messageStores instanceof FileMessageStores && config.snapshots !== undefined) {
      this.wholeSnapshots = new WholeSnapshotSource(config.snapshots, messageStores);
      this.raft = this.newRaftNode({ ...config, snapshots: this.wholeSnapshots }, restored);
    } else {
      this.raft = this.newRaftNode(config, restored);
    }
    if (snapshotData === undefined) {
      // Without a snapshot the log replays from its first entry, and stores every message again.
      messageStores.clear();
      this.stateValue = new BrokerStateMachine(this.options.broker, messageStores);
    } else {
      this.stateValue = this.decodeSnapshot(snapshotData, this.raft.snapshotMeta().index);
    }
    this.core = new CoreRouter(
      {
        subscriptions: this.subscriptions,
        peers: this.raft.others,
        session: (id) => this.sessions.get(id),
        hasRoom: (member) => (this.sessions.get(member.session)?.outputBytes ?? Infinity) < this.options.sessionPendingBytesMax,
        cutSlowConsumer: (session) => this.cutSlowConsumer(session),
        send: (message) => this.peerOutbox.push({ ...message, group: this.raft.group, from: this.id } as PeerMessage),
      },
      incarnation,
      this.options.interestSyncTicks,
    );
  }

  get id(): NodeId {
    return this.raft.id;
  }

  get state(): BrokerStateMachine {
    return this.stateValue;
  }

  // ---- Snapshots.

  /**
   * A snapshot of the state machine for the driver to save, when one is due
   * (snapshotEveryEntries applied past the last) and none is being saved.
   * The driver makes it durable and then calls snapshotSaved.
   */
  snapshotToSave(): { readonly index: number; readonly term: number; readonly data: Uint8Array } | undefined {
    const every = this.options.snapshotEveryEntries;
    if (every <= 0 || this.snapshotSaving !== undefined) return undefined;
    const index = this.stateValue.appliedIndex;
    if (index - this.raft.snapshotMeta().index < every || index !== this.raft.appliedIndex()) return undefined;
    this.snapshotSaving = this.stateValue.snapshotStreams();
    return { index, term: this.raft.log.term(index)!, data: encodeBrokerSnapshot(this.stateValue) };
  }

  /**
   * Makes every message stored so far durable: the driver calls it after
   * snapshotToSave and before saving the snapshot, which names messages the
   * stores keep (a metadata snapshot; see snapshot.ts).
   */
  syncMessageStores(done: SyncDone): void {
    this.messageStores.sync(done);
  }

  /**
   * The snapshot handed out by snapshotToSave is durable (or, with `saved`
   * false, could not be made so). Returns the index before the first log
   * entry still needed, so the driver can drop the durable entries before it.
   * The message stores drop what the snapshot no longer needs.
   */
  snapshotSaved(snapshot: { readonly index: number; readonly term: number }, saved = true): number {
    const kept = this.snapshotSaving;
    this.snapshotSaving = undefined;
    // A snapshot installed from the leader meanwhile supersedes this one.
    if (!saved || this.raft.snapshotMeta().index >= snapshot.index) return this.raft.log.firstIndex() - 1;
    const compactTo = this.raft.snapshotTaken(snapshot);
    if (kept !== undefined) this.messageStores.release(kept);
    return compactTo;
  }

  /**
   * One write a stream block for everything this Ready stored. A write the
   * disk refuses leaves the records pending, to be written by the next flush,
   * and the sync before the next snapshot reports it (stopping the node).
   */
  private flushMessageStores(): void {
    try {
      this.messageStores.flush();
      this.messageStoreProblem = undefined;
    } catch (error) {
      this.messageStoreProblem = (error as Error).message;
    }
  }

  /** Closes the message stores' files; the node is not used after. */
  closeStorage(): void {
    this.wholeSnapshots?.close();
    this.messageStores.close();
  }

  /** Why the last whole snapshot for a follower could not be made, if it could not. */
  snapshotSendProblem(): string | undefined {
    return this.wholeSnapshots?.lastError;
  }

  private decodeSnapshot(data: Uint8Array, index: number): BrokerStateMachine {
    const decoded = decodeBrokerSnapshot(data, this.options.broker, this.messageStores);
    if (!decoded.ok) throw new Error(`node ${this.raft.id}: the snapshot at index ${index} does not decode: ${decoded.error}`);
    assert(decoded.machine.appliedIndex === index, `the snapshot at index ${index} holds a state machine at ${decoded.machine.appliedIndex}`);
    return decoded.machine;
  }

  /**
   * The Ready in flight installed a snapshot from the leader (its bytes), or
   * refused it as damaged (undefined). Commands this node proposed that the
   * snapshot passes over can no longer be told apart: they fail as retryable.
   */
  private installSnapshot(index: number, data: Uint8Array | undefined): void {
    // A leader sends whole snapshots; one that names messages in files this node does not have cannot be installed.
    if (data !== undefined && snapshotKind(data) !== 'whole') data = undefined;
    if (data === undefined) {
      this.raft.snapshotFailed();
      return;
    }
    this.stateValue = this.decodeSnapshot(data, index);
    for (const [at, waiting] of this.pending) {
      if (at > index) continue;
      this.pending.delete(at);
      const message = 'this node caught up by a snapshot that passed over the command; it may or may not have taken effect: send it again (a publish with the same message id)';
      this.settle(waiting.waiter, this.failed('superseded', message, true));
    }
  }

  // ---- Time and peers.

  tick(nowMs: number): void {
    this.clockMs = nowMs;
    this.raft.tick();
    this.ticks++;
    this.probeQuietPeers();
    for (const [token, forward] of this.forwards) {
      if (forward.deadlineTick > this.ticks) continue;
      this.forwards.delete(token);
      const message = 'the leader did not answer in time; the command may or may not have taken effect: send it again (a publish with the same message id)';
      this.settle(forward.waiter, this.failed('timeout', message, true));
    }
    this.failForwardsToFormerLeaders();
    this.maybeHandLeadershipOn();
    this.maybeCreateDeclaredStreams();
    this.maybeAdvanceReplicatedClock();
    if (this.liveRetries.length > 0) this.retryLive(nowMs);
    this.core.advertise();
    this.core.tick();
    this.subscriptions.releaseDue(nowMs, this.deliverStored, this.canTake);
    this.releaseWaitingReads();
    this.checkLiveness();
    this.pump();
  }

  /** Connection hygiene: PINGs that are due, and clients closed for a missed CONNECT deadline or unanswered PINGs. */
  private checkLiveness(): void {
    for (const action of this.liveness.due(this.ticks)) {
      const client = this.sessions.get(action.session);
      if (client === undefined) continue;
      if (action.kind === 'ping') client.write(encodePing());
      else this.closeWithError(client, action.reason);
    }
  }

  /**
   * A message from a peer, with the clock stamp it travelled with. A stamp is
   * missing only where a test steps a core by hand.
   */
  step(message: PeerMessage, nowMs: number, clock?: ClockStamp): void {
    this.clockMs = nowMs;
    if (clock !== undefined) this.onClockStamp(message.from, clock, wallMs(nowMs));
    if (!isBrokerPeerMessage(message)) {
      this.raft.step(message);
      this.failForwardsToFormerLeaders();
      this.applyCommitted();
      return;
    }
    switch (message.type) {
      case 'Forward':
        this.onForward(message, nowMs);
        break;
      case 'ForwardResult': {
        const forward = this.forwards.get(message.token);
        // It timed out, or it is a duplicate; or it does not come from the node
        // the forward went to, which a correct peer never sends.
        if (forward === undefined || forward.leader !== message.from) break;
        this.forwards.delete(message.token);
        this.settle(forward.waiter, message.outcome);
        break;
      }
      case 'Relay':
        this.core.onRelay(message);
        break;
      case 'Interest':
        this.core.onInterest(message);
        break;
      case 'ClockProbe':
        break; // Its stamp, taken in above, is all it carries.
    }
  }

  // ---- Clocks. Every message between nodes carries the sender's clocks (a
  // ClockStamp). The receiver merges the sender's hybrid clock into its own, so
  // a message's receipt is later than its send and a new leader's stamps are
  // later than everything its predecessor sent it; and it estimates every
  // peer's clock offset, SNTP-style, from stamps that echo its own. A node
  // whose clock is off from the majority's by more than maxClockOffsetMs
  // refuses to lead: a leader stamps every stored message with its clock.

  /** The node's hybrid logical clock: the latest stamp it gave or took in. */
  get hybridClock(): HlcTimestamp {
    return this.hlc.last;
  }

  /** The stamp for a message to `peer` sent now: a send event of the hybrid clock, and the echo of the newest stamp heard from `peer`. */
  clockStampFor(peer: NodeId, nowMs: number): ClockStamp {
    const sentMs = wallMs(nowMs);
    const hlc = this.hlc.now(sentMs);
    this.lastSentTick.set(peer, this.ticks);
    const heard = this.lastHeard.get(peer);
    if (heard === undefined) return { hlc, sentMs, echoSentMs: -1, echoReceivedMs: 0 };
    return { hlc, sentMs, echoSentMs: heard.sentMs, echoReceivedMs: heard.receivedMs };
  }

  private probeQuietPeers(): void {
    for (const peer of this.raft.others) {
      if (this.ticks - (this.lastSentTick.get(peer) ?? 0) < this.options.clockSyncTicks) continue;
      this.peerOutbox.push({ type: 'ClockProbe', group: this.raft.group, from: this.id, to: peer });
      // Counted as sent now, in case the driver stamps it only later.
      this.lastSentTick.set(peer, this.ticks);
    }
  }

  private onClockStamp(peer: NodeId, clock: ClockStamp, nowMs: number): void {
    // A peer whose clock runs far ahead would drag our hybrid clock, and with it
    // every stamp we give while leading, as far ahead as it is. Within the bound
    // its reading is merged; beyond it the message still counts, its clock does
    // not (the rule of the HLC paper for readings beyond the offset bound).
    if (clock.hlc.l <= nowMs + this.options.maxClockOffsetMs) this.hlc.receive(clock.hlc, nowMs);
    else this.clockStampsRefused++;
    this.lastHeard.set(peer, { sentMs: clock.sentMs, receivedMs: nowMs });
    if (clock.echoSentMs >= 0) this.onClockSample(peer, clock.echoSentMs, clock.echoReceivedMs, clock.sentMs, nowMs);
  }

  private onClockSample(peer: NodeId, t1: number, t2: number, t3: number, t4: number): void {
    // An echo of a message from before a clock jumped back is no sample.
    if (t4 < t1 || t3 < t2) return;
    let estimator = this.clockEstimators.get(peer);
    if (estimator === undefined) {
      estimator = new OffsetEstimator();
      this.clockEstimators.set(peer, estimator);
    }
    estimator.add(offsetSample(t1, t2, t3, t4));
    this.checkClock();
  }

  /**
   * How far our clock is from the majority's: the median of the peers' offsets
   * from us, counting ourselves at 0. Undefined until a majority is measured.
   */
  offsetFromMajorityMs(): number | undefined {
    const majority = this.majorityClockFromOursMs();
    return majority === undefined ? undefined : -majority;
  }

  /** The median of every measured clock's offset from ours (ours at 0), once a majority is measured. */
  private majorityClockFromOursMs(): number | undefined {
    const offsets = [0];
    for (const estimator of this.clockEstimators.values()) {
      const estimate = estimator.estimate();
      if (estimate !== undefined) offsets.push(estimate.offsetMs);
    }
    if (offsets.length < Math.floor(this.raft.voters.length / 2) + 1) return undefined;
    offsets.sort((a, b) => a - b);
    return offsets[Math.floor((offsets.length - 1) / 2)]!;
  }

  private checkClock(): void {
    const off = this.offsetFromMajorityMs();
    const refused = off !== undefined && Math.abs(off) > this.options.maxClockOffsetMs;
    const reason = refused ? `its clock is ${off!.toFixed(0)} ms off from the majority's, beyond maxClockOffsetMs ${this.options.maxClockOffsetMs}` : undefined;
    if (reason !== this.raft.leadershipRefused()) this.raft.refuseLeadership(reason);
  }

  /**
   * A leader whose clock is refused hands leadership to the peer whose clock
   * is nearest the majority's, within maxClockOffsetMs. It leads at all only
   * because no allowed node could win a vote (their logs were behind), and
   * leading brought them up to date. Each further attempt, after one was
   * abandoned, tries the next such peer, so an unreachable one is not tried forever.
   */
  private maybeHandLeadershipOn(): void {
    if (this.raft.role() !== 'leader' || this.raft.leadershipRefused() === undefined) return;
    if (this.raft.leadershipTransferee() !== NO_NODE) return;
    const majority = this.majorityClockFromOursMs();
    if (majority === undefined) return;
    const fit: { node: NodeId; distanceMs: number }[] = [];
    for (const [node, estimator] of this.clockEstimators) {
      const estimate = estimator.estimate();
      if (estimate === undefined) continue;
      const distanceMs = Math.abs(estimate.offsetMs - majority);
      if (distanceMs <= this.options.maxClockOffsetMs) fit.push({ node, distanceMs });
    }
    if (fit.length === 0) return;
    fit.sort((a, b) => a.distanceMs - b.distanceMs || a.node - b.node);
    this.raft.transferLeadership(fit[this.handOverAttempts++ % fit.length]!.node);
  }

  /** Each peer's estimated clock offset (its clock minus ours) and round trip. */
  clockEstimates(): { node: NodeId; offsetMs: number; roundTripMs: number }[] {
    const estimates: { node: NodeId; offsetMs: number; roundTripMs: number }[] = [];
    for (const [node, estimator] of this.clockEstimators) {
      const estimate: OffsetEstimate | undefined = estimator.estimate();
      if (estimate !== undefined) estimates.push({ node, offsetMs: estimate.offsetMs, roundTripMs: estimate.roundTripMs });
    }
    return estimates.sort((a, b) => a.node - b.node);
  }

  /**
   * Once this node stops believing in the leader it forwarded to (a new one is
   * known, or none), that leader's answers are not worth waiting for: the
   * clients hear at once that the outcome is unknown and retry with the same
   * message id, instead of waiting out forwardTimeoutTicks.
   */
  private failForwardsToFormerLeaders(): void {
    const leader = this.raft.leader();
    if (this.forwards.size === 0 || leader === this.forwardsLeader) return;
    for (const [token, forward] of this.forwards) {
      if (forward.leader === leader) continue;
      this.forwards.delete(token);
      const message = `node ${forward.leader} stopped being the leader before it answered; the command may or may not have taken effect: send it again (a publish with the same message id)`;
      this.settle(forward.waiter, this.failed('leader-changed', message, true));
    }
    this.forwardsLeader = leader;
  }

  /** Messages that depend on nothing unwritten: Raft's immediate ones and the broker's own. */
  takePeerMessages(): PeerMessage[] {
    const raftMessages = this.raft.takeImmediateMessages();
    if (this.peerOutbox.length === 0) return raftMessages as PeerMessage[];
    const all: PeerMessage[] = [...raftMessages, ...this.peerOutbox];
    this.peerOutbox = [];
    return all;
  }

  hasReady(): boolean {
    return this.raft.hasReady();
  }

  /** The next Ready; entries committed by then are applied first, so it carries none of them. */
  ready(): Ready {
    this.applyCommitted();
    return this.raft.ready();
  }

  /** The driver's connection to a peer closed: see RaftNode.peerUnreachable. */
  peerUnreachable(peer: NodeId): void {
    this.raft.peerUnreachable(peer);
  }

  /**
   * Applies what the Raft core has committed and not handed out yet, as soon
   * as it commits: publishes are answered one round trip after they reach a
   * quorum, not after this node's next disk write (see
   * RaftNode.takeCommittedEntries).
   */
  private applyCommitted(): void {
    const entries = this.raft.takeCommittedEntries();
    if (entries.length === 0) return;
    for (const entry of entries) this.apply(entry);
    this.afterApplying();
  }

  /**
   * What follows applying entries: reads and barriers they were waited for
   * released, subscribers served. The messages they stored are written to the
   * stores' files with the next Ready (advance), one write for many applies;
   * until then reads find them in the stores' buffers.
   */
  private afterApplying(): void {
    this.releaseWaitingReads();
    if (this.barrierWaits.length > 0) {
      const applied = this.state.appliedIndex;
      const due = this.barrierWaits.filter((wait) => wait.index <= applied);
      this.barrierWaits = this.barrierWaits.filter((wait) => wait.index > applied);
      for (const wait of due) this.afterBarrier(wait.waiter, wait.purged);
    }
    this.pump();
  }

  /**
   * Called AFTER the Ready's writes are durable and its messages sent: takes
   * the snapshot it installed (its bytes from the driver; undefined when the
   * driver refused it as damaged), applies its committed entries in order,
   * delivers what they store to subscribers, and answers the publishes they
   * settle.
   */
  advance(ready: Ready, installedSnapshot?: Uint8Array): void {
    if (ready.snapshot !== undefined) this.installSnapshot(ready.snapshot.index, installedSnapshot);
    for (const entry of ready.committedEntries) this.apply(entry);
    this.raft.advance();
    // The advance may commit more (a single voter commits what its disk now holds): apply that too.
    for (const entry of this.raft.takeCommittedEntries()) this.apply(entry);
    this.flushMessageStores();
    this.afterApplying();
  }

  // ---- Client sessions.

  /** A client connected: the core greets it with INFO. The driver picks a session id not in use. */
  openSession(session: number): void {
    if (this.sessions.has(session) || this.closed.has(session)) throw new Error(`session ${session} is already open`);
    const client = new ClientSession(session, {
      controlLineBytesMax: this.options.controlLineBytesMax,
      payloadBytesMax: this.options.broker.payloadBytesMax,
      headerBytesMax: this.options.broker.headerBytesMax,
    });
    if (this.options.auth !== undefined) client.auth = 'none';
    this.sessions.set(session, client);
    this.liveness.opened(session, this.ticks);
    client.write(encodeInfo(this.info(session)));
    if (this.sessions.size > this.options.sessionsMax) {
      this.closeWithError(client, 'maximum connections exceeded');
    }
  }

  /** Bytes from a client, in any split. */
  receive(session: number, bytes: Uint8Array, nowMs: number): void {
    this.clockMs = nowMs;
    const client = this.sessions.get(session);
    if (client === undefined) return;
    this.liveness.heard(session, this.ticks);
    const outputs = client.parser.feed(bytes);
    if (client.held.length > 0) {
      for (const output of outputs) client.held.push(output);
    } else {
      for (let i = 0; i < outputs.length; i++) {
        if (client.closing) break;
        const output = outputs[i]!;
        if (this.mustWait(client, output)) {
          for (let j = i; j < outputs.length; j++) client.held.push(outputs[j]!);
          break;
        }
        this.carryOut(client, output, nowMs);
      }
    }
    this.core.advertise();
    this.pump();
  }

  /**
   * Whether the driver should read more from this client: not while its
   * commands wait for it to read its output (a driver that keeps reading
   * would only hold more of them in memory).
   */
  acceptsInput(session: number): boolean {
    return (this.sessions.get(session)?.held.length ?? 0) === 0;
  }

  /**
   * The driver wrote `bytes` of a client's output to its socket. What waited
   * for room goes on: held commands, paused subscriptions. Returns whether
   * anything could have waited (the client was over its budget, or had
   * commands held), so a driver pumps only then: nearly every write finds a
   * client with room, and costs nothing more than the count.
   */
  clientWritten(session: number, bytes: number, nowMs: number): boolean {
    const client = this.sessions.get(session);
    if (client === undefined) return false;
    const wasFull = client.outputBytes >= this.options.sessionOutputBytesMax;
    client.written(bytes);
    if (!wasFull && client.held.length === 0) return false;
    this.clockMs = nowMs;
    this.releaseHeld(client, nowMs);
    return true;
  }

  /** Carries out the client's held commands that need wait no longer, then lets paused deliveries go on. */
  private releaseHeld(client: ClientSession, nowMs: number): void {
    while (client.held.length > 0 && !client.closing && !this.mustWait(client, client.held[0]!)) {
      this.carryOut(client, client.held.shift()!, nowMs);
    }
    this.core.advertise();
    this.pump();
  }

  /** A HISTORY waits while the client has a full budget of output it has not read. */
  private mustWait(client: ClientSession, output: ClientParseOutput): boolean {
    // Everything after a CONNECT waits for the verdict on its password.
    if (client.auth === 'checking') return true;
    return output.type === 'History' && client.outputBytes >= this.options.sessionOutputBytesMax;
  }

  private carryOut(client: ClientSession, output: ClientParseOutput, nowMs: number): void {
    if (output.type === 'ProtocolError') this.onProtocolError(client, output);
    // A node that requires authentication hears nothing but CONNECT first, as nats-server.
    else if (client.auth === 'none' && output.type !== 'Connect') this.closeWithError(client, AUTHORIZATION_VIOLATION);
    else this.onCommand(client, output, nowMs);
  }

  /**
   * The bcrypt comparisons CONNECTs are waiting on; the driver runs each off
   * the core's turn and reports it with credentialChecked.
   */
  takeCredentialChecks(): CredentialCheck[] {
    const checks = this.credentialChecks;
    this.credentialChecks = [];
    return checks;
  }

  /** The verdict on a hashed password: the client goes on with its held commands, or is refused and closed. */
  credentialChecked(session: number, accepted: boolean, nowMs: number): void {
    const client = this.sessions.get(session);
    const pending = this.pendingCredentials.get(session);
    this.pendingCredentials.delete(session);
    if (client === undefined || pending === undefined || client.auth !== 'checking') return;
    this.clockMs = nowMs;
    if (!accepted) {
      this.authRefusals++;
      return this.closeWithError(client, AUTHORIZATION_VIOLATION);
    }
    this.authenticated(client, pending.user, pending.permissions);
    this.releaseHeld(client, nowMs);
  }

  /** Clients refused for bad or missing credentials since this node started. */
  get authRefusalCount(): number {
    return this.authRefusals;
  }

  private onConnect(client: ClientSession, options: ConnectOptions): void {
    client.connect(options);
    const auth = this.options.auth;
    if (auth === undefined || client.auth === 'done') {
      this.liveness.connected(client.id);
      return this.ok(client);
    }
    // A second CONNECT while a password is being checked changes nothing.
    if (client.auth === 'checking') return;
    const verdict = judgeCredentials(auth, options);
    switch (verdict.kind) {
      case 'refused':
        this.authRefusals++;
        return this.closeWithError(client, AUTHORIZATION_VIOLATION);
      case 'accepted':
        return this.authenticated(client, verdict.user, verdict.permissions);
      case 'hashed':
        client.auth = 'checking';
        this.pendingCredentials.set(client.id, { user: verdict.user, permissions: verdict.permissions });
        this.credentialChecks.push({ session: client.id, given: verdict.given, hash: verdict.hash });
        return;
    }
  }

  private authenticated(client: ClientSession, user: string, permissions: Permissions | undefined): void {
    client.auth = 'done';
    client.user = user;
    client.permissions = permissions;
    this.liveness.connected(client.id);
    this.ok(client);
  }

  /** A client over its pending budget for unstored messages: cut, as nats-server cuts a slow consumer. */
  private cutSlowConsumer(session: number): void {
    const client = this.sessions.get(session);
    if (client === undefined) return;
    this.slowConsumers++;
    this.closeWithError(client, 'Slow Consumer');
  }

  /** The driver saw the connection end: forget the session and its subscriptions. */
  closeSession(session: number): void {
    this.sessions.delete(session);
    this.pendingCredentials.delete(session);
    this.liveness.closed(session);
    this.closed.delete(session);
    this.subscriptions.removeSession(session);
    for (const key of this.startingSubscriptions) if (key.startsWith(`${session} `)) this.startingSubscriptions.delete(key);
    for (const key of [...this.liveStarting.keys()]) if (key.startsWith(`${session} `)) this.liveStarting.delete(key);
    this.deferredPongs.delete(session);
    this.core.advertise();
  }

  takeClientOutput(): ClientOutput[] {
    const outputs: ClientOutput[] = [];
    for (const client of this.sessions.values()) {
      if (client.hasOutput()) outputs.push({ session: client.id, bytes: client.takeOutput(), close: false });
    }
    for (const client of this.closed.values()) outputs.push({ session: client.id, bytes: client.takeOutput(), close: true });
    this.closed.clear();
    // Taking output makes room: subscriptions paused on a full client may go on.
    if (outputs.length > 0) this.pump();
    return outputs;
  }

  /**
   * One session's queued output (its INFO greeting, say), taken now rather
   * than with the next takeClientOutput: under NATS's tls_required a driver
   * writes the greeting in the clear and only then starts TLS.
   */
  takeSessionOutput(session: number): ClientOutput | undefined {
    const open = this.sessions.get(session);
    if (open !== undefined) return { session, bytes: open.takeOutput(), close: false };
    const closed = this.closed.get(session);
    if (closed === undefined) return undefined;
    this.closed.delete(session);
    return { session, bytes: closed.takeOutput(), close: true };
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Counts since this node started: stored publishes its clients sent and how
   * they were answered, forwards to and from the leader, messages delivered to
   * subscriptions (stored ones, and NATS core ones with replies to inboxes),
   * clients cut as slow consumers.
   */
  /** Clients cut as slow consumers since this node started: cheap enough to read after every step. */
  get slowConsumerCount(): number {
    return this.slowConsumers;
  }

  counters(): Readonly<Record<'publishesReceived' | 'publishesAcked' | 'publishesFailed' | 'forwardsSent' | 'forwardsReceived' | 'storedDeliveries' | 'coreDeliveries' | 'slowConsumers', number>> {
    const deliveries = this.subscriptions.deliveries;
    return { ...this.counted, forwardsSent: this.forwardsSent, storedDeliveries: deliveries.stored, coreDeliveries: deliveries.core, slowConsumers: this.slowConsumers };
  }

  /** Each durable consumer's pending and ack-pending messages as this node sees them; see consumer-stats.ts. */
  consumerStats(): ConsumerStats[] {
    return consumerStats(this.state, this.subscriptions);
  }

  /**
   * 'recovering' from a start until this node has applied everything its
   * leader had committed when it heard from it (or, leading, everything it
   * committed); then 'ready' for the rest of its life. A restarted node
   * re-applies its log's tail meanwhile, and what it serves still goes
   * through read barriers, but an operator (and a benchmark) should see it.
   */
  recoveryState(): 'recovering' | 'ready' {
    if (!this.recovered) {
      const known = this.raft.leaderCommitKnown();
      const heard = this.raft.role() === 'leader' || (this.raft.hearsFromLeader() && known > 0);
      if (heard && this.stateValue.appliedIndex >= known) this.recovered = true;
    }
    return this.recovered ? 'ready' : 'recovering';
  }

  status(): Record<string, unknown> {
    const snapshot = this.raft.snapshotMeta();
    return {
      node: this.id,
      state: this.recoveryState(),
      role: this.raft.role(),
      term: this.raft.term(),
      leader: this.raft.leader(),
      commitIndex: this.raft.commitIndex(),
      appliedIndex: this.state.appliedIndex,
      lastIndex: this.raft.lastIndex(),
      firstIndex: this.raft.log.firstIndex(),
      snapshot: snapshot.index === 0 ? null : { index: snapshot.index, term: snapshot.term },
      messageStore: {
        kind: this.messageStores.keepsMessages ? 'files' : 'memory',
        diskBytes: this.messageStores.diskBytes(),
        writeProblem: this.messageStoreProblem ?? null,
        snapshotSendProblem: this.snapshotSendProblem() ?? null,
      },
      streams: { ...this.state.totals(), declaredDiffer: this.declaredStreamsDiffering() },
      clients: { connections: this.sessions.size, slowConsumers: this.slowConsumers, authRefusals: this.authRefusals },
      clock: {
        offsetFromMajorityMs: this.offsetFromMajorityMs() ?? null,
        maxClockOffsetMs: this.options.maxClockOffsetMs,
        refusesToLead: this.raft.leadershipRefused() ?? null,
        hlc: `${this.hlc.last.l}.${this.hlc.last.c}`,
        stampsRefused: this.clockStampsRefused,
        peers: this.clockEstimates(),
      },
    };
  }

  // ---- Commands.

  private onCommand(client: ClientSession, command: ClientCommand, nowMs: number): void {
    switch (command.type) {
      case 'Connect':
        return this.onConnect(client, command.options);
      case 'Ping':
        return this.pong(client);
      case 'Pong':
        return this.liveness.ponged(client.id);
      case 'Pub':
        return this.onPublish(client, command.subject, command.replyTo, EMPTY_HEADER_BLOCK, new Uint8Array(0), command.payload, nowMs);
      case 'HPub':
        return this.onPublish(client, command.subject, command.replyTo, command.headers, command.headerBytes, command.payload, nowMs);
      case 'Sub':
        if (!maySubscribe(client.permissions, command.subject)) return client.write(encodeErr(subscribeViolation(command.subject, command.queue)));
        return this.subscribe(client, command.sid, command.subject, command.queue, { kind: 'live' }, nowMs);
      case 'XSub': {
        if (!maySubscribe(client.permissions, command.subject)) return client.write(encodeErr(subscribeViolation(command.subject)));
        const ordering = command.ordered === true ? this.ordering(command.reorderBoundMs) : undefined;
        if (command.start.kind === 'durable') return this.beginDurable(client, command.sid, command.subject, command.start.consumer, ordering, nowMs);
        return this.subscribe(client, command.sid, command.subject, undefined, command.start, nowMs, ordering);
      }
      case 'Unsub': {
        this.unsubscribeStarting(client.id, command.sid, command.max);
        const member = this.subscriptions.member(client.id, command.sid);
        if (member !== undefined) {
          if (command.max === undefined || command.max === 0 || member.delivered >= command.max) this.subscriptions.remove(member);
          else member.max = command.max;
        }
        return this.ok(client);
      }
      case 'Ack': {
        if (!maySubscribe(client.permissions, command.topic)) return client.write(encodeErr(subscribeViolation(command.topic)));
        const request: ForwardedCommand = { kind: 'ack', consumer: command.consumer, topic: command.topic, offset: command.offset };
        const failure = this.submit(request, { kind: 'ack', session: client.id, replyTo: undefined }, nowMs);
        if (failure !== undefined) return client.write(encodeErr(`acknowledgement not recorded: ${failure.message}`));
        return this.ok(client);
      }
      case 'Status':
        return client.write(encodeStatus(this.status()));
      case 'History':
        if (!maySubscribe(client.permissions, command.topic)) return client.write(encodeErr(subscribeViolation(command.topic)));
        if (this.recoveryState() === 'recovering') return this.whenReady(client, () => this.history(client, command.topic, command.from, command.limit));
        return this.history(client, command.topic, command.from, command.limit);
    }
  }

  /**
   * A read that this node's state would answer with an old prefix while it
   * re-applies its log after a start waits until it is ready, rather than
   * answer from behind; at most readsWaitingMax of them, then they are
   * refused with the reason.
   */
  private whenReady(client: ClientSession, read: () => void): void {
    if (this.readsWaiting.length >= READS_WAITING_MAX) {
      client.write(encodeErr(`node ${this.id} is recovering (re-applying its log after a start) and ${READS_WAITING_MAX} reads already wait: try again, or ask another node`));
      return;
    }
    this.readsWaiting.push({ session: client.id, read });
  }

  /** Answers the reads that waited for this node to be ready, once it is. */
  private releaseWaitingReads(): void {
    if (this.readsWaiting.length === 0 || this.recoveryState() === 'recovering') return;
    const waiting = this.readsWaiting;
    this.readsWaiting = [];
    for (const { session, read } of waiting) if (this.sessions.has(session)) read();
  }

  private onProtocolError(client: ClientSession, error: ProtocolError): void {
    if (error.closeConnection) this.closeWithError(client, error.message);
    else client.write(encodeErr(error.message));
  }

  private closeWithError(client: ClientSession, message: string): void {
    client.write(encodeErr(message));
    client.close();
    this.sessions.delete(client.id);
    this.pendingCredentials.delete(client.id);
    this.liveness.closed(client.id);
    this.subscriptions.removeSession(client.id);
    this.closed.set(client.id, client);
  }

  /** PONG, once every live SUB the client made before this PING has started; see subscribe. */
  private pong(client: ClientSession): void {
    for (const key of this.liveStarting.keys()) {
      if (!key.startsWith(`${client.id} `)) continue;
      this.deferredPongs.set(client.id, (this.deferredPongs.get(client.id) ?? 0) + 1);
      return;
    }
    client.write(encodePong());
  }

  /** An UNSUB of a subscription still starting: it never starts, or starts with its max. */
  private unsubscribeStarting(session: number, sid: string, max: number | undefined): void {
    const key = `${session} ${sid}`;
    const live = this.liveStarting.get(key);
    if (live !== undefined && max !== undefined && max > 0) {
      live.max = max;
      return;
    }
    this.startingSubscriptions.delete(key);
    if (live === undefined) return;
    this.liveStarting.delete(key);
    this.answerDeferredPongs(session);
  }

  private ok(client: ClientSession): void {
    if (client.verbose) client.write(encodeOk());
  }

  private subscribe(client: ClientSession, sid: string, subject: string, queue: string | undefined, start: StartRule, nowMs: number, ordering?: Ordering): void {
    if (!this.sidFree(client, sid)) return;
    if (start.kind === 'live' && !subject.startsWith(INBOX_PREFIX)) {
      // A live subscription means "from now": it starts once a read barrier
      // it sends through the log is applied here, so it gets nothing
      // committed before it was made, however far behind this node is (it
      // may have just restarted and be re-applying its log). That holds for
      // subjects no stream this node knows of captures too: a node that hears
      // from its leader and has applied all it knows to be committed may
      // still lack a stream the cluster made and filled before this SUB, and
      // would then deliver that stream's messages from offset 1 as if new.
      // Only a barrier proves this node's state is as recent as the SUB.
      // The client's next PING is answered only then, so SUB, flush, publish
      // works as with nats-server.
      this.startingSubscriptions.add(`${client.id} ${sid}`);
      this.beginLive({ kind: 'live', session: client.id, sid, subject, queue, max: undefined }, nowMs);
      return this.ok(client);
    }
    this.subscriptions.add(client.id, sid, subject, queue, start, this.state, ordering);
    this.ok(client);
  }

  private beginLive(waiter: LiveWaiter, nowMs: number): void {
    this.liveStarting.set(`${waiter.session} ${waiter.sid}`, waiter);
    const failure = this.submit({ kind: 'barrier' }, waiter, nowMs);
    if (failure !== undefined) this.settle(waiter, failure);
  }

  /** Live subscriptions whose barrier failed (no leader, say) send another at the next tick. */
  private retryLive(nowMs: number): void {
    const waiting = this.liveRetries;
    this.liveRetries = [];
    for (const waiter of waiting) if (this.liveStarting.has(`${waiter.session} ${waiter.sid}`)) this.beginLive(waiter, nowMs);
  }

  private startLive(waiter: LiveWaiter): void {
    const key = `${waiter.session} ${waiter.sid}`;
    const current = this.liveStarting.get(key);
    if (current === undefined || !this.startingSubscriptions.delete(key)) return;
    this.liveStarting.delete(key);
    if (this.sessions.has(waiter.session)) {
      const member = this.subscriptions.add(waiter.session, waiter.sid, waiter.subject, waiter.queue, { kind: 'live' }, this.state);
      member.max = current.max;
      // Peers route NATS core messages by what they were told: tell them now, not at the next tick, before the PONG goes.
      this.core.advertise();
    }
    this.answerDeferredPongs(waiter.session);
  }

  /** Answers the PINGs a session sent while its live subscriptions were starting, once none is. */
  private answerDeferredPongs(session: number): void {
    const pongs = this.deferredPongs.get(session);
    if (pongs === undefined) return;
    for (const key of this.liveStarting.keys()) if (key.startsWith(`${session} `)) return;
    this.deferredPongs.delete(session);
    const client = this.sessions.get(session);
    for (let i = 0; i < pongs; i++) client?.write(encodePong());
  }

  /** An ORDERED subscription's merge: over the Raft groups its topics live in, which is this node's one group. */
  private ordering(boundMs: number | undefined): Ordering {
    return { boundMs: boundMs ?? DEFAULT_REORDER_BOUND_MS, sources: [this.groupSource] };
  }

  private get groupSource(): string {
    return `group ${this.raft.group}`;
  }

  /** Checks that a sid is free and the session may subscribe once more; answers -ERR if not. */
  private sidFree(client: ClientSession, sid: string): boolean {
    if (this.subscriptions.member(client.id, sid) !== undefined || this.startingSubscriptions.has(`${client.id} ${sid}`)) {
      client.write(encodeErr(`Invalid Subject: sid ${sid} is already in use on this connection`));
      return false;
    }
    if (this.subscriptions.membersOfSession(client.id) >= this.options.subscriptionsPerSessionMax) {
      client.write(encodeErr('Maximum Subscriptions Exceeded'));
      return false;
    }
    return true;
  }

  /** A durable XSUB starts once a read barrier it sent through the log is applied here. */
  private beginDurable(client: ClientSession, sid: string, subject: string, consumer: string, ordering: Ordering | undefined, nowMs: number): void {
    if (!this.sidFree(client, sid)) return;
    const waiter: DurableWaiter = { kind: 'durable', session: client.id, sid, subject, consumer, ordering };
    this.startingSubscriptions.add(`${client.id} ${sid}`);
    const failure = this.submit({ kind: 'barrier' }, waiter, nowMs);
    if (failure !== undefined) this.settle(waiter, failure);
  }

  private startDurable(waiter: DurableWaiter): void {
    if (!this.startingSubscriptions.delete(`${waiter.session} ${waiter.sid}`)) return;
    const client = this.sessions.get(waiter.session);
    if (client === undefined) return;
    this.subscriptions.add(client.id, waiter.sid, waiter.subject, undefined, { kind: 'durable', consumer: waiter.consumer }, this.state, waiter.ordering);
    this.ok(client);
  }

  private onPublish(
    client: ClientSession,
    subject: string,
    replyTo: string | undefined,
    headers: HeaderBlock,
    headerBytes: Uint8Array,
    payload: Uint8Array,
    nowMs: number,
  ): void {
    if (!mayPublish(client.permissions, subject)) return client.write(encodeErr(publishViolation(subject)));
    if (subject.startsWith(JS_API_PREFIX)) return this.onStreamApi(client, subject, replyTo, payload, nowMs);
    if (subject.startsWith(INBOX_PREFIX) || (!subject.startsWith(RESERVED_PREFIX) && !this.isStored(subject))) {
      this.ok(client);
      return this.core.publish(client, subject, replyTo, headerBytes, payload);
    }
    if (subject.startsWith(RESERVED_PREFIX)) {
      const ack = parseAckSubject(subject);
      if (ack === undefined) {
        if (!isMsgMetadataSubject(subject)) return client.write(encodeErr(publishViolation(subject)));
        return this.ok(client);
      }
      this.ok(client);
      const waiter: LocalWaiter = { kind: 'ack', session: client.id, replyTo };
      const failure = this.submit({ kind: 'ack', ...ack }, waiter, nowMs);
      if (failure !== undefined) this.settle(waiter, failure);
      return;
    }
    const msgId = headers.fields.get(MSG_ID_HEADER)?.[0];
    const request: ForwardedCommand = { kind: 'publish', topic: subject, headers: headers.fields, payload, ...(msgId === undefined ? {} : { msgId }) };
    this.ok(client);
    this.counted.publishesReceived++;
    const waiter: LocalWaiter = { kind: 'publish', session: client.id, replyTo, receivedMs: nowMs };
    const failure = this.submit(request, waiter, nowMs);
    if (failure !== undefined) this.settle(waiter, failure);
  }

  /**
   * A stream API request: a write goes through the log like a publish, a read
   * waits for a read barrier; either is answered from this node's state once
   * it has applied that far, so what one node said was done, any node shows.
   */
  private onStreamApi(client: ClientSession, subject: string, replyTo: string | undefined, payload: Uint8Array, nowMs: number): void {
    this.ok(client);
    const request = parseStreamApiRequest(subject, payload, this.raft.voters.length);
    if (request.kind === 'refused') return this.answer(client.id, replyTo, request.response);
    const waiter: ApiWaiter = { kind: 'api', session: client.id, replyTo, request };
    const failure = this.submit(request.kind === 'write' ? { kind: 'stream', command: request.command } : { kind: 'barrier' }, waiter, nowMs);
    if (failure !== undefined) this.settle(waiter, failure);
  }

  /** A durable XSUB starts, or an API request is answered, once its barrier or write is applied here. */
  private afterBarrier(waiter: BarrierWaiter, purged: number): void {
    if (waiter.kind === 'durable') return this.startDurable(waiter);
    if (waiter.kind === 'live') return this.startLive(waiter);
    this.answer(waiter.session, waiter.replyTo, streamApiResponse(waiter.request, this.state, `chorus-n${this.raft.leader()}`, purged));
  }

  /**
   * Whether a subject is stored: a stream in the replicated state captures it,
   * or a declared one will. A stream created at run time counts on a node once
   * that node has applied its creation; until then the subject is NATS core
   * there, as a JetStream publish finds no stream before one exists.
   */
  private isStored(subject: string): boolean {
    if (this.state.streamFor(subject) !== undefined) return true;
    return this.options.streams.some((config) => config.subjects.some((pattern) => subjectMatches(pattern, subject)));
  }

  /**
   * On a leader, proposes a StreamCreate for every declared stream the
   * replicated state lacks, once per term, ahead of the command about to be
   * proposed: so a publish to a declared stream always follows its creation
   * in the log. A declared stream that exists with another config is left as
   * it is (it may have been edited at run time); STATUS names it in
   * streams.declaredDiffer.
   */
  private maybeCreateDeclaredStreams(): void {
    if (this.declaredStreamsTerm === this.raft.term() || this.raft.role() !== 'leader') return;
    this.declaredStreamsTerm = this.raft.term();
    for (const config of this.options.streams) {
      if (this.state.stream(config.name) !== undefined) continue;
      this.raft.propose(encodeBrokerCommand({ type: 'StreamCreate', config }));
    }
  }

  /** On a leader, now and then, a clock command while some stream has a max_age; see clockAdvanceTicks. */
  private maybeAdvanceReplicatedClock(): void {
    if (this.raft.role() !== 'leader' || this.ticks - this.lastClockAdvanceTick < this.options.clockAdvanceTicks) return;
    if (!this.state.hasAgedStreams()) return;
    this.lastClockAdvanceTick = this.ticks;
    this.raft.propose(encodeBrokerCommand({ type: 'DedupExpire', nowMs: wallMs(this.clockMs) }));
  }

  /** Declared streams whose replicated config is not the declared one. */
  private declaredStreamsDiffering(): string[] {
    const differing: string[] = [];
    for (const config of this.options.streams) {
      const stream = this.state.stream(config.name);
      if (stream !== undefined && JSON.stringify(stream.config) !== JSON.stringify(config)) differing.push(config.name);
    }
    return differing;
  }

  /**
   * Proposes a command on the leader, or forwards it to the leader. Returns a
   * failure when it cannot go on at all; otherwise the waiter is settled later.
   */
  private submit(request: ForwardedCommand, waiter: Waiter, nowMs: number): CommandFailed | undefined {
    if (this.raft.role() === 'leader') {
      const command = this.commandFor(request, nowMs);
      if (typeof command === 'string') return this.failed('rejected', command, false);
      const problem =
        command.type === 'Publish'
          ? publishProblem(command, this.options.broker)
          : command.type === 'ConsumerAck'
            ? consumerAckProblem(command, this.options.broker)
            : command.type === 'StreamCreate'
              ? this.state.streamCreateProblem(command.config)
              : command.type === 'StreamUpdate'
                ? this.state.streamUpdateProblem(command.config)
                : undefined;
      if (problem !== undefined) return this.rejected(problem);
      this.maybeCreateDeclaredStreams();
      const proposed = this.raft.propose(encodeBrokerCommand(command));
      if (!proposed.ok) return this.failed(proposed.reason, proposed.message, proposed.reason !== 'too-large');
      const early = command.type === 'Publish' ? this.acknowledgeOnPropose(command) : undefined;
      if (early !== undefined) this.settle(waiter, early);
      else this.pending.set(proposed.index, { waiter, term: proposed.term });
      return undefined;
    }
    const leader = this.raft.leader();
    if (leader === NO_NODE) return this.failed('no-leader', 'no leader is known: an election is under way, retry shortly', true);
    if (waiter.kind === 'remote') return this.failed('not-leader', `node ${this.id} is not the leader`, true);
    if (this.forwards.size >= this.options.pendingForwardsMax) {
      return this.failed('overloaded', `${this.forwards.size} commands are already waiting for the leader`, true);
    }
    const token = this.firstToken + (this.forwardsSent++ % TOKENS_PER_INCARNATION);
    this.forwards.set(token, { waiter, leader, deadlineTick: this.ticks + this.options.forwardTimeoutTicks });
    this.forwardsLeader = leader;
    this.peerOutbox.push({ type: 'Forward', group: this.raft.group, from: this.id, to: leader, token, command: request });
    return undefined;
  }

  /**
   * The leader stamps publishes and barriers with its wall time, in whole
   * milliseconds and never below 0: a driver's clock may read fractions, and a
   * skewed one may read before the epoch. Protected for planted bugs in the tests.
   */
  protected commandFor(request: ForwardedCommand, clockMs: number): BrokerCommand | string {
    const nowMs = wallMs(clockMs);
    switch (request.kind) {
      case 'publish': {
        const { kind: _kind, ...publish } = request;
        const after = this.causalFloor(request.headers, nowMs);
        if (typeof after === 'string') return after;
        // The leader's hybrid logical clock has witnessed every stamp it applied, and
        // every clock stamp its peers sent, so its stamp is later than those; the
        // log's own clock settles any tie.
        const stamp =
          after === undefined
            ? this.hlc.now(nowMs)
            : after.c === undefined
              ? this.hlc.now(Math.max(nowMs, after.l + 1))
              : this.hlc.after({ l: after.l, c: after.c }, nowMs);
        return { type: 'Publish', ...publish, timestampMs: stamp.l, logical: stamp.c };
      }
      case 'ack':
        return { type: 'ConsumerAck', consumer: request.consumer, topic: request.topic, offset: request.offset };
      case 'barrier':
        return { type: 'DedupExpire', nowMs };
      case 'stream':
        return request.command;
    }
  }

  /**
   * Causality for clients: a publish may carry the time of something its
   * publisher has seen in a Chorus-Time header: a whole stamp `<ms>.<counter>`
   * (a PubAck's `hlc`), or just `<ms>` (a PubAck's `ts`, a delivery's time),
   * which stands for every stamp of that millisecond. The message is then
   * stamped later than it. A time more than maxClockOffsetMs ahead of this
   * leader's clock is refused, so a client cannot drag the replicated clock
   * (which ages the dedup table) far ahead.
   */
  private causalFloor(headers: MessageHeaders, nowMs: number): { l: number; c?: number } | undefined | string {
    const value = headers.get(CAUSAL_TIME_HEADER)?.[0];
    if (value === undefined) return undefined;
    const parts = /^(\d{1,15})(?:\.(\d{1,10}))?$/.exec(value);
    const counter = parts?.[2] === undefined ? undefined : Number(parts[2]);
    if (parts === null || (counter !== undefined && counter >= UINT32_MAX)) {
      return `${CAUSAL_TIME_HEADER} must be a time in whole milliseconds since the epoch, or <ms>.<counter> as a PubAck's hlc, got ${JSON.stringify(value.slice(0, 40))}`;
    }
    const floor = Number(parts[1]);
    if (floor > nowMs + this.options.maxClockOffsetMs) {
      return `${CAUSAL_TIME_HEADER} ${floor} is ${floor - nowMs} ms ahead of the leader's clock, beyond maxClockOffsetMs ${this.options.maxClockOffsetMs}`;
    }
    return counter === undefined ? { l: floor } : { l: floor, c: counter };
  }

  private onForward(message: Forward, nowMs: number): void {
    this.counted.forwardsReceived++;
    const waiter: Waiter = { kind: 'remote', node: message.from, token: message.token };
    const failure = this.submit(message.command, waiter, nowMs);
    if (failure !== undefined) this.settle(waiter, failure);
  }

  /**
   * A HISTORY read, paced by the client: it holds as many messages as fit in
   * the room left in the client's output budget (at least one), read a page
   * at a time, so a read never holds more than that budget in memory; the
   * client pages on from the last offset it got, as with any paged read.
   */
  private history(client: ClientSession, topic: string, from: HistoryStart, limit: number): void {
    const fromOffset = from.kind === 'offset' ? from.offset : this.state.offsetAtTime(topic, from.timeMs);
    // A read of nothing checks the offset and the limit as a whole read would.
    const checked = this.state.history(topic, fromOffset, Number.isSafeInteger(limit) && limit >= 0 ? 0 : limit);
    if (!checked.ok) return client.write(encodeErr(`Invalid Arguments: ${checked.reason}`));
    const room = this.options.sessionOutputBytesMax - client.outputBytes;
    const wanted = Math.min(limit, this.options.broker.historyMessagesMax);
    const entries: Uint8Array[] = [];
    let bytes = 0;
    let next = fromOffset;
    reading: while (entries.length < wanted) {
      const page = this.state.history(topic, next, Math.min(HISTORY_PAGE_MESSAGES, wanted - entries.length));
      if (!page.ok || page.messages.length === 0) break;
      for (const message of page.messages) {
        const entry = encodeEntry(message);
        if (entries.length > 0 && bytes + entry.length > room) break reading;
        entries.push(entry);
        bytes += entry.length;
        next = message.offset + 1;
      }
    }
    client.write(encodeHistoryHead(topic, entries.length, checked.lastOffset));
    for (const entry of entries) client.write(entry);
  }

  /**
   * The Raft core under this node. A planted-bug variant in the tests
   * overrides it to run a broken Raft core under the broker, and the
   * simulator's checkers must catch it; nothing in production does. Called
   * from the constructor, so an override may use no field of its own.
   */
  protected newRaftNode(config: RaftConfig, restored: DurableState): RaftNode {
    return new RaftNode(config, restored);
  }

  /**
   * What a stored delivery does for a client whose output budget is full:
   * false, it waits (the subscription pauses, and catches up from the log
   * once the client reads). A planted-bug variant in the tests returns true,
   * which counts the message delivered without writing it, and the history
   * checker must catch the gap; nothing in production does.
   */
  protected dropsWhenFull(): boolean {
    return false;
  }

  /**
   * The rule of this node: a publish is acknowledged only AFTER it is applied,
   * so nothing is acknowledged when it is proposed. A planted-bug variant in the
   * tests overrides this to acknowledge at once, and the history checker must
   * catch it; nothing in production does.
   */
  protected acknowledgeOnPropose(_command: PublishCommand): PublishAcked | undefined {
    return undefined;
  }

  // ---- Applying and answering.

  private apply(entry: Entry): void {
    const stamp = this.applyToState(entry);
    this.onApply?.(entry, stamp);
  }

  /**
   * The hybrid clock takes in the stamp of every message applied, so what this
   * node stamps or sends next comes after it. A planted-bug variant in the
   * tests skips it, and the simulator's clock check must catch that.
   */
  protected witnessApplied(stamp: HlcTimestamp): void {
    this.hlc.witness(stamp);
  }

  /** Applies an entry; returns the stamp of the message it published, if it did. */
  private applyToState(entry: Entry): HlcTimestamp | undefined {
    const result = this.state.applyEntry(entry);
    const stamp = result.kind === 'published' ? { l: result.timestampMs, c: result.logical } : undefined;
    if (stamp !== undefined) this.witnessApplied(stamp);
    if (result.kind === 'published' && !result.duplicate) {
      const stored = this.state.history(result.topic, result.offset, 1);
      if (stored.ok && stored.messages[0] !== undefined) {
        this.subscriptions.onStored(stored.messages[0], this.groupSource, this.clockMs, this.state, this.deliverStored, this.canTake);
      }
    }
    const waiting = this.pending.get(entry.index);
    if (waiting !== undefined) {
      this.pending.delete(entry.index);
      this.settle(waiting.waiter, this.outcome(waiting, entry, result));
    }
    return stamp;
  }

  /** What a client is told of its applied command. Protected, like commandFor, for planted bugs in the tests. */
  protected outcome(waiting: PendingEntry, entry: Entry, result: ApplyResult): CommandOutcome {
    if (entry.term !== waiting.term) {
      // Another leader's entry took the index: this command was never committed.
      return this.failed('superseded', 'leadership changed before the command was committed; send it again (a publish with the same message id)', true);
    }
    switch (result.kind) {
      case 'published': {
        const { stream, topic, offset, timestampMs, logical, duplicate } = result;
        return { kind: 'acked', stream, topic, offset, timestampMs, logical, duplicate };
      }
      case 'acked':
        return { kind: 'ack-recorded', consumer: result.consumer, topic: result.topic, offset: result.offset };
      case 'expired':
        return { kind: 'barrier', index: entry.index };
      case 'rejected':
        return this.rejected(result);
      case 'stream-created':
      case 'stream-updated':
      case 'stream-deleted':
        return { kind: 'stream-changed', index: entry.index, purged: 0 };
      case 'stream-purged':
        return { kind: 'stream-changed', index: entry.index, purged: result.purged };
      case 'noop':
        return this.failed('rejected', `entry ${entry.index} is not the command that was proposed`, false);
    }
  }

  /** A replicated refusal, with JetStream's err_code where it has one. */
  private rejected(rejection: Rejection): CommandFailed {
    const errCode = jetStreamErrCode(rejection.code);
    const failed = this.failed('rejected', rejection.reason, false);
    return errCode === undefined ? failed : { ...failed, errCode };
  }

  private settle(waiter: Waiter, outcome: CommandOutcome): void {
    switch (waiter.kind) {
      case 'remote':
        this.peerOutbox.push({ type: 'ForwardResult', group: this.raft.group, from: this.id, to: waiter.node, token: waiter.token, outcome });
        return;
      case 'publish':
        if (outcome.kind !== 'acked' && outcome.kind !== 'failed') return;
        if (outcome.kind === 'acked') this.counted.publishesAcked++;
        else this.counted.publishesFailed++;
        this.onPublishAnswered?.(waiter.receivedMs, outcome.kind === 'failed' ? outcome : undefined);
        this.answer(waiter.session, waiter.replyTo, pubAckJson(outcome));
        return;
      case 'ack':
        if (outcome.kind === 'ack-recorded' || outcome.kind === 'failed') this.answer(waiter.session, waiter.replyTo, ackJson(outcome));
        return;
      case 'api':
        if (outcome.kind === 'barrier' || outcome.kind === 'stream-changed') {
          this.whenApplied(outcome.index, waiter, outcome.kind === 'stream-changed' ? outcome.purged : 0);
        } else if (outcome.kind === 'failed') {
          this.answer(waiter.session, waiter.replyTo, apiFailure(waiter.request.op, outcome));
        }
        return;
      case 'live':
        if (outcome.kind === 'barrier') this.whenApplied(outcome.index, waiter, 0);
        else if (outcome.kind === 'failed') this.liveRetries.push(waiter);
        return;
      case 'durable':
        if (outcome.kind === 'barrier') {
          this.whenApplied(outcome.index, waiter, 0);
        } else if (outcome.kind === 'failed') {
          this.startingSubscriptions.delete(`${waiter.session} ${waiter.sid}`);
          this.sessions.get(waiter.session)?.write(encodeErr(`durable subscription ${waiter.sid} not started: ${outcome.message}`));
        }
        return;
    }
  }

  /** Runs afterBarrier once this node has applied `index`. */
  private whenApplied(index: number, waiter: BarrierWaiter, purged: number): void {
    if (index <= this.state.appliedIndex) this.afterBarrier(waiter, purged);
    else this.barrierWaits.push({ index, waiter, purged });
  }

  /**
   * Sends a reply to the client's reply subject, on this node only: the reply
   * subject is the client's own inbox. A publish without a reply subject is
   * fire-and-forget, as in NATS, and hears nothing.
   */
  private answer(session: number, replyTo: string | undefined, body: Uint8Array): void {
    if (replyTo === undefined || !this.sessions.has(session)) return;
    this.core.deliverLocal(replyTo, undefined, new Uint8Array(0), body, undefined, 'all');
  }

  private failed(reason: PublishFailure, message: string, retryable: boolean): CommandFailed {
    return { kind: 'failed', reason, message, retryable, leaderHint: this.raft.leader() };
  }

  // ---- Delivering.

  private readonly canTake = (member: Member): boolean => {
    const client = this.sessions.get(member.session);
    return client !== undefined && (client.outputBytes < this.options.sessionOutputBytesMax || this.dropsWhenFull());
  };

  private readonly deliverStored = (member: Member, message: StoredMessage, late: boolean): boolean => {
    const client = this.sessions.get(member.session);
    if (client === undefined) return false;
    if (client.outputBytes >= this.options.sessionOutputBytesMax) return this.dropsWhenFull();
    // A wildcard subscription overlapping a denied subject is passed over its messages, as if delivered.
    if (!mayReceive(client.permissions, message.topic)) return true;
    // The reply subject carries the offset and time, so any client can tell where it is in the topic.
    const replyTo = deliveryReplySubject(message, member.subscription.consumer);
    const frame = { subject: message.topic, sid: member.sid, payload: message.payload, replyTo };
    const headers = late ? new Map([...message.headers, [LATE_HEADER, ['true']]]) : message.headers;
    if (headers.size > 0 && client.headers) {
      client.write(encodeHMsg({ ...frame, headers: encodeHeaderBlock({ statusDescription: '', fields: headers }) }));
    } else {
      client.write(encodeMsg(frame));
    }
    return true;
  };

  private pump(): void {
    this.subscriptions.pump(this.state, this.options.catchUpMessagesPerRound, this.deliverStored, this.canTake);
  }

  private info(session: number): Record<string, unknown> {
    return {
      server_id: `chorus-${this.id}`,
      server_name: this.options.serverName,
      version: this.options.version,
      proto: PROTOCOL_VERSION,
      headers: true,
      max_payload: this.options.broker.payloadBytesMax,
      client_id: session,
      ...(this.options.auth === undefined ? {} : { auth_required: true }),
      ...this.options.infoExtra,
    };
  }
}

/** Clock readings in whole milliseconds, never below 0: what the wire and the log carry. */
function wallMs(nowMs: number): number {
  return Number.isFinite(nowMs) ? Math.max(0, Math.floor(nowMs)) : 0;
}

/**
 * A stream API request that failed, as JetStream answers: the err_code of a
 * replicated refusal, or "JetStream cluster not available" (503, 10008) for a
 * failure worth retrying, such as no leader.
 */
function apiFailure(op: StreamApiOp, failure: CommandFailed): Uint8Array {
  if (failure.errCode !== undefined) return streamApiError(op, codeOfErrCode(failure.errCode) ?? 400, failure.errCode, failure.message);
  if (failure.retryable) return streamApiError(op, 503, 10008, `JetStream cluster not available: ${failure.message}`, failure.reason);
  return streamApiError(op, 400, 10003, failure.message, failure.reason);
}
