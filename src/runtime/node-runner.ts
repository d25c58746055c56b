// The real-mode driver of one node: the same BrokerNode core the simulator
// drives, fed by TCP sockets, a wall-clock timer and real files.
//
// The Ready contract, as here performed:
//   1. storage.persist() writes the Ready's hard state, truncation and entries
//      and fsyncs them;
//   2. only AFTER that, its messages go to the peers and advance() applies its
//      committed entries (which is when clients get their PubAcks);
//   3. inputs keep flowing into the core while an fsync is under way, and the
//      next Ready gathers everything they produced: one fsync then covers a
//      whole batch of publishes (group commit).
// Messages the core marks immediate (they promise nothing unwritten) and
// client output go out after every input.
//
// A failed write or fsync stops the node: after a failed fsync the kernel may
// have dropped the dirty pages, so carrying on could acknowledge data that is
// not on disk. Restarting recovers from what is.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { FileMessageStores } from '../broker/file-message-store.js';
import { BrokerNode } from '../node/broker-node.js';
import type { PeerMessage } from '../node/peer-messages.js';
import { peerCodecLimitsFor } from '../protocol/peer-codec.js';
import type { Ready } from '../raft/types.js';
import { AdminServer } from './admin-server.js';
import type { ClusterConfig, NodeAddress } from './config.js';
import { PeerTransport } from './peer-transport.js';
import { crc32 } from '../storage/crc32.js';
import { NodeStorage, type LogSyncPolicy, type OpenedStorage, type PersistOutcome } from '../storage/node-storage.js';
import { DataDirectoryLock } from './data-dir-lock.js';
import { NODE_FILE_SYSTEM } from './node-file-system.js';
import { StorageCorruptionError } from '../storage/corruption.js';
import { joinPath } from '../storage/file-system.js';
import type { Logger } from './logger.js';
import { NodeMonitor } from './monitor-server.js';
import { nodeTls, type NodeTls } from './tls-files.js';
import { isBcryptHash } from '../node/client-auth.js';
import type { CredentialCheck } from '../node/broker-node.js';

/** The data directory's folder of stream block files. */
const MESSAGES_DIRECTORY = 'messages';
/** How long a connection the core closed may take to flush what it was sent before it is dropped. */
const CLOSE_FLUSH_MS = 2000;
/** bcrypt comparisons run at once; more wait their turn, so a burst of CONNECTs cannot starve the node's other work. */
const CREDENTIAL_CHECKS_AT_ONCE = 2;
/** Passwords recently accepted, by a digest of hash and password, so a reconnecting client costs no second bcrypt run. */
const ACCEPTED_CREDENTIALS_MAX = 1024;

export interface NodeRunnerOptions {
  readonly config: ClusterConfig;
  readonly id: number;
  /** Info-level lines (what the transport, storage and admin port note). */
  readonly log: (line: string) => void;
  /** The node's leveled log, for the events the monitor reports (node-events.ts) and disk errors. */
  readonly logger: Logger;
  /** Called when the node must stop for good (a disk failure). */
  readonly onFatal: (error: Error) => void;
  readonly version: string;
}

export class NodeRunner {
  readonly address: NodeAddress;
  private readonly core: BrokerNode;
  private readonly storage: NodeStorage;
  private readonly transport: PeerTransport;
  private readonly admin: AdminServer;
  /** Monitoring: /healthz, /varz and /metrics, and the log of elections and limits; fed by the hooks marked "monitor". */
  private readonly monitor: NodeMonitor;
  private clientServer: net.Server | undefined;
  private readonly sockets = new Map<number, net.Socket>();
  /** TLS settings from the PEM files cluster.yaml names; undefined fields mean plain TCP. */
  private readonly tls: NodeTls;
  /** The client port's TLS context, built once. */
  private readonly clientTlsContext: tls.SecureContext | undefined;
  /** bcrypt comparisons the core asked for and that have not started; see checkCredentials. */
  private readonly credentialQueue: CredentialCheck[] = [];
  private credentialChecksRunning = 0;
  private readonly acceptedCredentials = new Set<string>();
  private nextSession = 1;
  private ticker: NodeJS.Timeout | undefined;
  /**
   * The Readies handed to storage and not yet advanced, oldest first, each
   * with its outcome once storage reported it durable. The core may hand out
   * several (raft.readiesInFlightMax); they are advanced in this order.
   */
  private readonly persisting: { readonly ready: Ready; outcome: PersistOutcome | undefined }[] = [];
  private pumpScheduled = false;
  /** Under the 'interval' sync policy: the timer, and whether a sync is in flight. */
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  /** Set by stop() and by a fatal failure: no more input is taken. */
  private stopped = false;
  /**
   * Set by stop() alone: listeners, sockets and files are being closed. Kept
   * apart from `stopped` so that stop() after a fatal failure still closes
   * everything (a node that only stopped reading stayed alive and dead).
   */
  private closing = false;
  /** Added to the wall clock: the admin SKEW command, for clock fault tests. */
  skewMs = 0;
  /** Readies persisted, and the entries they carried: group commit's effect. */
  readonly stats = { readies: 0, entries: 0, fsyncs: 0, snapshotsSaved: 0, snapshotsInstalled: 0 };

  private constructor(
    private readonly options: NodeRunnerOptions,
    address: NodeAddress,
    private readonly lock: DataDirectoryLock,
    opened: OpenedStorage,
  ) {
    const { config, id } = options;
    this.address = address;
    const { storage, durable, incarnation } = opened;
    this.storage = storage;
    this.tls = nodeTls(config, address);
    this.clientTlsContext = this.tls.clients === undefined ? undefined : tls.createSecureContext(this.tls.clients);
    const snapshotNote = durable.snapshot === undefined ? 'no snapshot' : `a snapshot at index ${durable.snapshot.index}`;
    options.log(
      `start ${incarnation} of this data directory: recovered term ${durable.hardState.term}, vote ${durable.hardState.vote}, ${snapshotNote} and ${durable.entries.length} log entries from ${address.dataDir}`,
    );
    const raftConfig = {
      id,
      group: 1,
      peers: config.nodes.map((node) => node.id),
      options: config.raft,
      random: { nextFloat: () => Math.random() },
      snapshots: storage.snapshots,
    };
    const restoreStarted = performance.now();
    this.core = new BrokerNode(raftConfig, durable, {
      ...config.node,
      broker: config.broker,
      serverName: `chorus-n${id}`,
      version: options.version,
      infoExtra: { host: address.host, port: address.clientPort, ...(this.tls.clients === undefined ? {} : { tls_required: true }) },
      auth: config.auth,
      incarnation,
      streams: config.streams,
      ...livenessTicks(config),
    }, opened.snapshotData, new FileMessageStores(NODE_FILE_SYSTEM, joinPath(address.dataDir, MESSAGES_DIRECTORY), config.messageStore));
    const totals = this.core.state.totals();
    options.log(
      `restored the state machine at index ${this.core.state.appliedIndex} in ${Math.round(performance.now() - restoreStarted)} ms: ${totals.messages} messages in ${totals.streams} streams, ${durable.entries.length} log entries to apply once committed`,
    );
    this.transport = new PeerTransport({
      self: address,
      peers: config.nodes.filter((node) => node.id !== id),
      secret: config.secret,
      limits: peerCodecLimitsFor(config.raft),
      onMessage: (message, clock) => {
        this.core.step(message, this.nowMs(), clock);
        this.pump();
      },
      onPeerLost: (peer) => {
        this.core.peerUnreachable(peer);
        this.pump();
      },
      log: options.log,
      onListenerError: (error) => this.fail(`the peer listener failed: ${error.message}`),
      handshakeTimeoutMs: config.connections.authTimeoutMs,
      handshakesMax: config.connections.peerHandshakesMax,
      tls: this.tls.peerServer === undefined || this.tls.peerDial === undefined ? undefined : { server: this.tls.peerServer, dial: this.tls.peerDial },
    });
    this.admin = new AdminServer(this, config.secret, options.log, (error) => this.fail(`the admin listener failed: ${error.message}`), {
      authTimeoutMs: config.connections.authTimeoutMs,
      connectionsMax: config.connections.adminConnectionsMax,
    });
    this.monitor = new NodeMonitor({ core: this.core, stats: this.stats, address, version: options.version, logger: options.logger, status: () => this.status(), nowMs: () => this.nowMs() });
  }

  /**
   * Takes the data directory's lock, recovers its storage, and starts
   * listening. A failure at any step undoes the ones before it.
   */
  static async start(options: NodeRunnerOptions): Promise<NodeRunner> {
    const { config, id } = options;
    const address = config.nodes.find((node) => node.id === id);
    if (address === undefined) throw new Error(`node ${id} is not in ${config.source} (ids: ${config.nodes.map((node) => node.id).join(', ')})`);
    const lock = DataDirectoryLock.acquire(address.dataDir);
    let opened: OpenedStorage | undefined;
    let runner: NodeRunner | undefined;
    try {
      opened = await openStorage(address.dataDir, config.segmentBytesMax, config.sync.mode, options.log);
      runner = new NodeRunner(options, address, lock, opened);
      await runner.listen();
      return runner;
    } catch (error) {
      if (runner !== undefined) {
        await runner.stop();
      } else {
        opened?.storage.close();
        lock.release();
      }
      throw error;
    }
  }

  nowMs(): number {
    return Date.now() + this.skewMs;
  }

  get transportFaults(): PeerTransport['faults'] {
    return this.transport.faults;
  }

  set transportFaults(faults: PeerTransport['faults']) {
    this.transport.faults = faults;
  }

  status(): Record<string, unknown> {
    return { ...this.core.status(), clients: this.core.sessionCount(), skewMs: this.skewMs, ...this.stats, memory: memoryMb() };
  }

  async stop(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopped = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    for (const socket of this.sockets.values()) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.clientServer === undefined ? resolve() : this.clientServer.close(() => resolve()))),
      this.transport.stop(),
      this.admin.stop(),
      this.monitor.stop(),
    ]);
    // Let an fsync in flight finish before the files close, and under the interval policy sync what is left.
    while (this.persisting.length > 0 || this.syncing) await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.options.config.sync.mode === 'interval') await new Promise<void>((resolve) => this.storage.syncLog(() => resolve()));
    // After a disk failure closing may fail too; the lock is released whatever happens, so a restart need not take it over.
    try {
      this.storage.close();
      this.core.closeStorage();
    } finally {
      this.lock.release();
    }
  }

  private async listen(): Promise<void> {
    const address = this.address;
    // Under TLS a new connection must not be read before TLS takes it over: its first bytes are the TLS handshake.
    this.clientServer = net.createServer({ pauseOnConnect: this.clientTlsContext !== undefined }, (socket) => this.acceptClient(socket));
    await listenOn(this.clientServer, address.host, address.clientPort);
    await this.transport.start();
    await this.admin.listen(address.adminHost, address.adminPort);
    await this.monitor.listen();
    // A listener that fails once the node serves is fatal, said in words rather than as an uncaught exception.
    this.clientServer.on('error', (error) => this.fail(`the client listener failed: ${error.message}`));
    this.ticker = setInterval(() => {
      this.core.tick(this.nowMs());
      this.pump();
    }, this.options.config.tickMs);
    const sync = this.options.config.sync;
    if (sync.mode === 'interval') this.syncTimer = setInterval(() => this.syncOnInterval(), sync.intervalMs);
    this.noteSecurity();
    const monitorNote = address.monitorPort === 0 ? '' : `, monitoring on http://${address.host}:${address.monitorPort}/`;
    this.options.log(
      `node ${address.id} listening: clients on ${address.host}:${address.clientPort}, peers on ${address.host}:${address.peerPort}, admin on ${address.adminHost}:${address.adminPort}${monitorNote}`,
    );
  }

  /** Says at start how clients and peers must connect, and warns of secrets kept in plain text. */
  private noteSecurity(): void {
    const { auth } = this.options.config;
    const logger = this.options.logger;
    const clientsNote = auth === undefined ? 'no authentication' : auth.kind === 'token' ? 'a token' : `${auth.users.length} user${auth.users.length === 1 ? '' : 's'}`;
    logger.info('security', `clients: ${this.tls.clients === undefined ? 'plain TCP' : 'TLS required'}, ${clientsNote}; peers: ${this.tls.peerServer === undefined ? 'plain TCP' : 'mutual TLS'} and the cluster secret`);
    const plain = auth === undefined ? [] : auth.kind === 'token' ? (isBcryptHash(auth.token) ? [] : ['the token']) : auth.users.filter((user) => !isBcryptHash(user.password)).map((user) => `user ${user.user}`);
    if (plain.length > 0) logger.warn('plain-secret', `${plain.join(', ')} stored in plain text in ${this.options.config.source}: store a bcrypt hash instead (chorus passwd)`);
  }

  private acceptClient(raw: net.Socket): void {
    if (this.stopped) {
      raw.destroy();
      return;
    }
    const session = this.nextSession++;
    raw.setNoDelay(true);
    this.core.openSession(session);
    const context = this.clientTlsContext;
    if (context === undefined) return this.serveClient(session, raw);
    // NATS's tls_required: the INFO greeting goes in the clear, then the client starts TLS on the same connection.
    const greeting = this.core.takeSessionOutput(session);
    const bytes = greeting?.bytes ?? [];
    const total = bytes.reduce((sum, chunk) => sum + chunk.length, 0);
    raw.on('error', () => undefined);
    raw.write(Buffer.concat(bytes), (error) => {
      // A client gone before its greeting was written, a node stopping, or a greeting that closes (too many connections): no TLS.
      if ((error !== undefined && error !== null) || raw.destroyed || this.stopped || greeting === undefined || greeting.close) {
        raw.destroy();
        if (greeting?.close !== true) this.core.closeSession(session);
        return;
      }
      const settings = this.tls.clients!;
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context, requestCert: settings.requestCert ?? false, rejectUnauthorized: settings.rejectUnauthorized ?? false });
      this.core.clientWritten(session, total, this.nowMs());
      this.serveClient(session, secure);
    });
  }

  /** Reads a client's commands into the core and writes its output, until either side closes. */
  private serveClient(session: number, socket: net.Socket): void {
    this.sockets.set(session, socket);
    socket.on('data', (chunk: Buffer) => {
      if (this.stopped) return;
      if (!this.readingStored(() => this.core.receive(session, chunk, this.nowMs()))) return;
      // Its commands wait for it to read what it was sent: read no more of them until then.
      if (!this.core.acceptsInput(session)) socket.pause();
      this.pump();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(session);
      this.core.closeSession(session);
      this.pump();
    });
    this.pump();
  }

  /**
   * Asks for a pump at the end of this turn of the event loop (setImmediate
   * runs after the I/O callbacks of the turn), so that everything the turn's
   * socket reads produced leaves together: one writev per peer and per
   * client, and one Ready for the disk, instead of a write per message read.
   */
  private pump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpNow();
    });
  }

  /** Sends what may go at once, writes client output, and hands storage the Readies the core has. */
  private pumpNow(): void {
    if (this.stopped) return;
    // monitor: log the elections, leader changes and slow consumers the inputs of this turn caused.
    this.monitor.afterStep();
    this.checkCredentials();
    for (const message of this.core.takePeerMessages()) this.send(message);
    for (const output of this.core.takeClientOutput()) {
      const socket = this.sockets.get(output.session);
      if (socket === undefined) continue;
      // One write (writev) for all of a client's output from this turn. The
      // core counts it as pending until the socket has taken it, so a client
      // that does not read holds its budget full and what is sent to it waits.
      const session = output.session;
      const bytes = output.bytes;
      let total = 0;
      for (let i = 0; i < bytes.length; i++) total += bytes[i]!.length;
      if (bytes.length > 1) socket.cork();
      for (let i = 0; i < bytes.length - 1; i++) socket.write(bytes[i]!);
      if (bytes.length > 0) socket.write(bytes[bytes.length - 1]!, () => this.onClientWritten(session, socket, total));
      if (bytes.length > 1) socket.uncork();
      if (output.close) {
        this.sockets.delete(session);
        socket.end();
        // A client that never reads would hold its unsent output forever.
        setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS).unref();
      }
    }
    while (!this.stopped && this.core.hasReady()) this.persistReady(this.core.ready());
  }

  /**
   * Runs the bcrypt comparisons CONNECTs wait on, a few at a time, each in
   * bcryptjs's asynchronous form, which yields to the event loop between
   * rounds: a slow hash delays that client alone, never the node's heartbeats.
   */
  private checkCredentials(): void {
    for (const check of this.core.takeCredentialChecks()) this.credentialQueue.push(check);
    while (this.credentialChecksRunning < CREDENTIAL_CHECKS_AT_ONCE && this.credentialQueue.length > 0) {
      const check = this.credentialQueue.shift()!;
      // A client that left (or was closed at its CONNECT deadline) while it waited needs no verdict.
      if (!this.sockets.has(check.session)) continue;
      const key = createHash('sha256').update(check.hash).update('\0').update(check.given).digest('hex');
      if (this.acceptedCredentials.has(key)) {
        this.core.credentialChecked(check.session, true, this.nowMs());
        this.resumeIfAccepting(check.session);
        continue;
      }
      this.credentialChecksRunning++;
      const verdict = isBcryptHash(check.hash) ? bcrypt.compare(check.given, check.hash) : Promise.resolve(false);
      verdict
        .catch(() => false)
        .then((accepted) => {
          this.credentialChecksRunning--;
          if (this.stopped) return;
          if (accepted) this.rememberAccepted(key);
          this.core.credentialChecked(check.session, accepted, this.nowMs());
          this.resumeIfAccepting(check.session);
          this.pump();
        });
    }
  }

  /** Reading stops while a client's commands wait (on a verdict, or for it to read); this starts it again once they may flow. */
  private resumeIfAccepting(session: number): void {
    const socket = this.sockets.get(session);
    if (socket?.isPaused() === true && this.core.acceptsInput(session)) socket.resume();
  }

  private rememberAccepted(key: string): void {
    if (this.acceptedCredentials.size >= ACCEPTED_CREDENTIALS_MAX) this.acceptedCredentials.delete(this.acceptedCredentials.values().next().value!);
    this.acceptedCredentials.add(key);
  }

  private onClientWritten(session: number, socket: net.Socket, bytes: number): void {
    if (this.stopped || this.sockets.get(session) !== socket) return;
    let freed = false;
    if (!this.readingStored(() => (freed = this.core.clientWritten(session, bytes, this.nowMs())))) return;
    if (!freed) return;
    this.resumeIfAccepting(session);
    this.pump();
  }

  /**
   * Runs core work that may read stored messages back; false when one no
   * longer reads back whole, and the node stops, naming the file, rather than
   * serve around it.
   */
  private readingStored(work: () => void): boolean {
    try {
      work();
      return true;
    } catch (error) {
      if (!(error instanceof StorageCorruptionError)) throw error;
      this.fail(`a stored message is damaged, stopping: ${error.message}`);
      return false;
    }
  }

  /** Every message to a peer goes with the core's clock stamp, taken now, as it leaves. */
  private send(message: PeerMessage): void {
    this.transport.send(message, this.core.clockStampFor(message.to, this.nowMs()));
  }

  private persistReady(ready: Ready): void {
    const persisting: { readonly ready: Ready; outcome: PersistOutcome | undefined } = { ready, outcome: undefined };
    this.persisting.push(persisting);
    const startedMs = performance.now();
    this.storage.persist(ready, (error, outcome) => {
      // monitor: how long this Ready took to become durable, when it was synced.
      if (error === undefined && this.syncsLog(ready)) this.monitor.observeFsync(performance.now() - startedMs);
      if (error !== undefined) {
        this.persisting.length = 0;
        this.fail(`disk write failed, stopping rather than risk acknowledging lost data: ${error.message}`);
        return;
      }
      persisting.outcome = outcome;
      // Storage may report a later Ready first (its sync found nothing left to do): each waits for those before it.
      if (this.persisting[0] === persisting) this.advanceDurable();
    });
  }

  /** Advances the core past every Ready at the head of the queue that storage reported durable. */
  private advanceDurable(): void {
    while (this.persisting.length > 0 && this.persisting[0]!.outcome !== undefined) {
      const { ready, outcome } = this.persisting.shift()!;
      this.stats.readies++;
      this.stats.entries += ready.entries.length;
      if (this.syncsLog(ready)) this.stats.fsyncs++;
      if (this.stopped) continue;
      if (ready.snapshot !== undefined) this.noteInstall(ready.snapshot.index, outcome!);
      for (const message of ready.messages) this.send(message);
      this.core.advance(ready, outcome!.installed);
    }
    if (this.stopped) return;
    this.maybeSaveSnapshot();
    this.pump();
  }

  /** Whether storage fdatasyncs for this Ready: its hard state always, its log changes under the 'always' policy. */
  private syncsLog(ready: Ready): boolean {
    const logSynced = this.options.config.sync.mode === 'always' && (ready.entries.length > 0 || ready.truncateFrom !== undefined);
    return logSynced || ready.hardState !== undefined;
  }

  private noteInstall(index: number, outcome: PersistOutcome): void {
    if (outcome.installed !== undefined) {
      this.stats.snapshotsInstalled++;
      this.options.log(`installed the leader's snapshot at index ${index} (${outcome.installed.length} bytes)`);
    } else {
      this.options.log(`refused the leader's snapshot at index ${index}, to be sent again: ${outcome.refused ?? 'no reason given'}`);
    }
  }

  /**
   * Saves a snapshot of the state machine when the core says one is due, and
   * only once it is durable lets the core and the storage drop the log
   * behind it. The node keeps serving while the file is written.
   */
  private maybeSaveSnapshot(): void {
    if (this.stopped) return;
    const snapshot = this.core.snapshotToSave();
    if (snapshot === undefined) return;
    const meta = { index: snapshot.index, term: snapshot.term };
    const header = { ...meta, size: snapshot.data.length, crc: crc32(snapshot.data) };
    const failed = (error: Error): void => {
      this.core.snapshotSaved(meta, false);
      this.fail(`snapshot write failed, stopping: ${error.message}`);
    };
    // The snapshot names messages in the stream stores' files: they are made durable first.
    this.core.syncMessageStores((syncError) => {
      if (this.stopped) return;
      if (syncError !== undefined) return failed(syncError);
      this.storage.saveSnapshot(header, snapshot.data, (error) => {
        if (this.stopped) return;
        if (error !== undefined) return failed(error);
        this.stats.snapshotsSaved++;
        this.storage.compactLog(this.core.snapshotSaved(meta));
        this.pump();
      });
    });
  }

  /**
   * Under the 'interval' sync policy: makes the log's appends durable, one
   * sync at a time. A failed sync is what a failed write is under 'always':
   * the node stops rather than go on with a log it cannot trust.
   */
  private syncOnInterval(): void {
    if (this.stopped || this.syncing) return;
    this.syncing = true;
    const startedMs = performance.now();
    this.storage.syncLog((error) => {
      this.syncing = false;
      // monitor: how long the periodic sync took.
      if (error === undefined) this.monitor.observeFsync(performance.now() - startedMs);
      if (error === undefined) this.stats.fsyncs++;
      if (error !== undefined && !this.stopped) this.fail(`log sync failed, stopping: ${error.message}`);
    });
  }

  /**
   * A failure the node cannot go on after: stop taking input, and tell the
   * supervisor, which says why and calls stop() to close everything. Only the
   * first failure is reported.
   */
  private fail(reason: string): void {
    if (this.stopped) return;
    // monitor: a failure that stops the node: a disk error (a write, a sync, a damaged record) or a listener that failed.
    this.options.logger.error(reason.includes('listener failed') ? 'listener-error' : 'disk-error', reason);
    this.stopped = true;
    this.options.onFatal(new Error(reason));
  }
}

/** The client deadlines of cluster.yaml's `connections`, in the core's ticks (rounded up, so never shorter). */
function livenessTicks(config: ClusterConfig): { connectTimeoutTicks: number; pingIntervalTicks: number; pingsOutstandingMax: number } {
  const ticks = (ms: number): number => Math.max(1, Math.ceil(ms / config.tickMs));
  const { authTimeoutMs, pingIntervalMs, pingMax } = config.connections;
  return { connectTimeoutTicks: ticks(authTimeoutMs), pingIntervalTicks: ticks(pingIntervalMs), pingsOutstandingMax: pingMax };
}

/** The process's memory in MB: resident, the JavaScript heap (used and reserved), and buffers outside it. */
function memoryMb(): Record<string, number> {
  const usage = process.memoryUsage();
  const mb = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;
  return { rss: mb(usage.rss), heapUsed: mb(usage.heapUsed), heapTotal: mb(usage.heapTotal), arrayBuffers: mb(usage.arrayBuffers) };
}

function openStorage(dataDir: string, segmentBytesMax: number, logSync: LogSyncPolicy, log: (line: string) => void): Promise<OpenedStorage> {
  return new Promise((resolve, reject) => {
    NodeStorage.open(NODE_FILE_SYSTEM, dataDir, { segmentBytesMax, note: log, logSync }, (error, opened) => {
      if (error !== undefined || opened === undefined) reject(error ?? new Error(`could not open ${dataDir}`));
      else resolve(opened);
    });
  });
}

function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
