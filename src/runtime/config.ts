// The cluster configuration of real mode: cluster.yaml, or a built-in 3-node
// loopback cluster when there is no file.
//
//   secret: change-me       # every node shares it; a peer without it is refused
//   tickMs: 100             # wall-clock milliseconds per Raft tick
//   raft:   { electionTicksMin: 10, heartbeatTicks: 1, ... }   # src/raft/config.ts
//   broker: { dedupWindowMs: 120000, payloadBytesMax: ..., ... }  # src/broker/options.ts
//   node:   { forwardTimeoutTicks: 50, ... }                  # src/node/broker-node.ts
//   connections: { authTimeoutMs: 2000, pingIntervalMs: 120000, pingMax: 2, peerHandshakesMax: 64, adminConnectionsMax: 16 }
//   storage: { segmentBytesMax: 16777216, blockBytesMax: 8388608, readCacheBytes: 8388608, sync: always }
//   streams:                # created at first start; JetStream's field names
//     - { name: ORDERS, subjects: [orders, orders.>], max_msgs: 100000, max_age: 24h }
//   log: { level: info, format: text }   # debug|info|warn|error; text|json
//   authorization: { users: [{ user: alice, password: $2a$11$..., permissions: ... }] }   # security-config.ts
//   tls: { cert: node.pem, key: node-key.pem, ca: ca.pem }                                # security-config.ts
//   nodes:
//     - { id: 1, host: 127.0.0.1, clientPort: 4222, peerPort: 6222, adminPort: 8222, monitorPort: 7222, dataDir: ./data/n1 }
//
// Every option but `nodes` has a default. A relative dataDir is relative to
// the file's folder. A bad file is refused with every problem found, each
// naming the file, the line and the field, e.g.
// `cluster.yaml:9: nodes[1].clientPort: must be an integer from 1 to 65535, got 0`.

import { DEFAULT_FILE_MESSAGE_STORE_OPTIONS, type FileMessageStoreOptions } from '../broker/file-message-store.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, FieldReader, parseYamlFields, YamlFieldError } from './yaml-fields.js';
import { DEFAULT_BROKER_OPTIONS, validateBrokerOptions, type BrokerOptions } from '../broker/options.js';
import { DEFAULT_BROKER_NODE_OPTIONS, type BrokerNodeOptions } from '../node/broker-node.js';
import { DEFAULT_RAFT_OPTIONS, validateRaftOptions, type RaftOptions } from '../raft/config.js';
import { DEFAULT_LOG_OPTIONS, LOG_FORMATS, LOG_LEVELS, type LogOptions } from './logger.js';
import { REAL_MODE_TIMING } from './timing.js';
import { overlappingSubjects, streamConfigFromJson, streamConfigWithDefaults, type StreamConfig } from '../broker/stream-config.js';
import type { ClientAuthOptions } from '../node/client-auth.js';
import { readAuthorization, readNodeTls, readTls, type TlsConfig, type TlsFiles } from './security-config.js';

export interface NodeAddress {
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly adminPort: number;
  /**
   * The address the admin port listens on: the node's host unless the file
   * names another (loopback, say, to keep fault injection off the network).
   */
  readonly adminHost: string;
  /** The HTTP port of /healthz, /varz and /metrics; 0 when the node serves none. */
  readonly monitorPort: number;
  /** Absolute. */
  readonly dataDir: string;
  /** This node's own TLS certificate and key, in place of the cluster's `tls` ones. */
  readonly tls?: TlsFiles | undefined;
}

/** The node-core options a file may set; the rest come from the cluster (names, limits). */
export type NodeTuning = Pick<
  BrokerNodeOptions,
  | 'forwardTimeoutTicks'
  | 'pendingForwardsMax'
  | 'sessionOutputBytesMax'
  | 'sessionPendingBytesMax'
  | 'catchUpMessagesPerRound'
  | 'sessionsMax'
  | 'subscriptionsPerSessionMax'
  | 'snapshotEveryEntries'
>;

export interface ClusterConfig {
  /** The file it came from, or '<built-in>'. */
  readonly source: string;
  readonly secret: string;
  readonly tickMs: number;
  readonly raft: RaftOptions;
  readonly broker: BrokerOptions;
  readonly node: NodeTuning;
  readonly segmentBytesMax: number;
  /** The streams' block files and read cache (src/broker/file-message-store.ts). */
  readonly messageStore: FileMessageStoreOptions;
  /** When the log is fdatasynced: before every acknowledgement, or on a period (docs/real-mode.md says what each promises). */
  readonly sync: SyncPolicy;
  /** Connection hygiene on the three ports (docs/real-mode.md#limits). */
  readonly connections: ConnectionLimits;
  /** Declared streams: the leader creates those the replicated state lacks. */
  readonly streams: readonly StreamConfig[];
  /** How much each node logs, and as text lines or JSON objects. */
  readonly log: LogOptions;
  /** Client authentication and permissions (docs/security.md); undefined lets every client in. */
  readonly auth: ClientAuthOptions | undefined;
  /** TLS on the client and peer ports (docs/security.md); undefined speaks plain TCP. */
  readonly tls: TlsConfig | undefined;
  readonly nodes: readonly NodeAddress[];
}

/**
 * Deadlines and limits on connections, in nats-server's terms where it has
 * them. The client port's max_connections is node.sessionsMax.
 */
export interface ConnectionLimits {
  /**
   * A client must send CONNECT, a peer complete the handshake, and an admin
   * connection send AUTH within this (nats-server's authorization timeout).
   */
  readonly authTimeoutMs: number;
  /** nats-server's ping_interval: a client quiet this long is sent a PING. */
  readonly pingIntervalMs: number;
  /** nats-server's ping_max: unanswered PINGs after which the client is closed. */
  readonly pingMax: number;
  /** Connections to the peer port still in their handshake; beyond, new ones are closed at once. */
  readonly peerHandshakesMax: number;
  /** Connections to the admin port; beyond, new ones are refused. */
  readonly adminConnectionsMax: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  authTimeoutMs: 2000,
  pingIntervalMs: 120_000,
  pingMax: 2,
  peerHandshakesMax: 64,
  adminConnectionsMax: 16,
};

/**
 * When a node fdatasyncs its Raft log: 'always' before it acknowledges
 * anything that depends on an entry (the default), or 'interval': once a
 * majority holds an entry in memory, syncing every intervalMs.
 */
export type SyncPolicy = { readonly mode: 'always' } | { readonly mode: 'interval'; readonly intervalMs: number };

export const DEFAULT_SYNC_POLICY: SyncPolicy = { mode: 'always' };
const DEFAULT_SYNC_INTERVAL_MS = 1000;

/** A configuration file with problems; `problems` lists each with its file, line and field. */
export { YamlFieldError as ConfigError };

const BUILT_IN_SECRET = 'chorus-loopback-development-secret';
const DEFAULT_TICK_MS = REAL_MODE_TIMING.tickMs;
/**
 * A restart reads the log's segments from the snapshot on, whole: smaller
 * segments bound that reading (and the disk the log takes behind a snapshot).
 */
const DEFAULT_SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
const NODE_TUNING_KEYS: readonly (keyof NodeTuning)[] = [
  'forwardTimeoutTicks',
  'pendingForwardsMax',
  'sessionOutputBytesMax',
  'sessionPendingBytesMax',
  'catchUpMessagesPerRound',
  'sessionsMax',
  'subscriptionsPerSessionMax',
  'snapshotEveryEntries',
];

/** The built-in cluster: three nodes on loopback, clients on 4222-4224 (NATS's port and the two after it). */
export function builtInClusterConfig(baseDir = process.cwd()): ClusterConfig {
  const nodes = [1, 2, 3].map((id) => ({
    id,
    host: '127.0.0.1',
    adminHost: '127.0.0.1',
    clientPort: 4221 + id,
    peerPort: 6221 + id,
    adminPort: 8221 + id,
    monitorPort: 7221 + id,
    dataDir: path.resolve(baseDir, 'data', `n${id}`),
  }));
  return {
    source: '<built-in>',
    secret: BUILT_IN_SECRET,
    tickMs: DEFAULT_TICK_MS,
    raft: DEFAULT_RAFT_OPTIONS,
    broker: DEFAULT_BROKER_OPTIONS,
    node: pickTuning(DEFAULT_BROKER_NODE_OPTIONS),
    segmentBytesMax: DEFAULT_SEGMENT_BYTES_MAX,
    messageStore: DEFAULT_FILE_MESSAGE_STORE_OPTIONS,
    sync: DEFAULT_SYNC_POLICY,
    connections: DEFAULT_CONNECTION_LIMITS,
    streams: [exampleStream(nodes.length)],
    log: DEFAULT_LOG_OPTIONS,
    auth: undefined,
    tls: undefined,
    nodes,
  };
}

/**
 * The built-in cluster's one stream: 'orders' and everything under it is
 * stored, so a first session by hand (PUB orders.eu, SUB, HISTORY) keeps what
 * it publishes; any other subject, request/reply included, is NATS core.
 */
export function exampleStream(replicas: number): StreamConfig {
  return streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders', 'orders.>'] }, replicas);
}

export function loadClusterConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new YamlFieldError([`${file}: cannot read: ${(error as Error).message}`]);
  }
  return parseClusterConfig(text, file);
}

/** Parses and checks a configuration; `file` names it in errors and anchors relative data directories. */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const { reader, root } = parseYamlFields(text, file);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new YamlFieldError([`${file}:1: the file must be a mapping with at least a 'nodes' list`]);
  }
  const top = root as Record<string, unknown>;
  reader.unknownKeys([], top, ['secret', 'tickMs', 'raft', 'broker', 'node', 'storage', 'connections', 'streams', 'log', 'authorization', 'tls', 'nodes']);
  const secret = reader.string(['secret'], top.secret ?? BUILT_IN_SECRET);
  const tickMs = reader.integer(['tickMs'], top.tickMs ?? DEFAULT_TICK_MS, 1, 60_000);
  const raft = reader.section(['raft'], top.raft, DEFAULT_RAFT_OPTIONS);
  const broker = reader.section(['broker'], top.broker, DEFAULT_BROKER_OPTIONS);
  const node = reader.section(['node'], top.node, pickTuning(DEFAULT_BROKER_NODE_OPTIONS));
  const storage = reader.section(['storage'], top.storage, { segmentBytesMax: DEFAULT_SEGMENT_BYTES_MAX, ...DEFAULT_FILE_MESSAGE_STORE_OPTIONS, sync: 'always', syncIntervalMs: DEFAULT_SYNC_INTERVAL_MS });
  const segmentBytesMax = reader.integer(['storage', 'segmentBytesMax'], storage.segmentBytesMax, 4096, 2 ** 31);
  const messageStore: FileMessageStoreOptions = {
    blockBytesMax: reader.integer(['storage', 'blockBytesMax'], storage.blockBytesMax, 4096, 2 ** 31),
    readCacheBytes: reader.integer(['storage', 'readCacheBytes'], storage.readCacheBytes, 0, 2 ** 40),
  };
  const syncMode = storage.sync;
  if (syncMode !== 'always' && syncMode !== 'interval') reader.problem(['storage', 'sync'], `must be always or interval, got ${JSON.stringify(syncMode)}`);
  const syncIntervalMs = reader.integer(['storage', 'syncIntervalMs'], storage.syncIntervalMs, 1, 3_600_000);
  const sync: SyncPolicy = syncMode === 'interval' ? { mode: 'interval', intervalMs: syncIntervalMs } : { mode: 'always' };
  const connections = readConnectionLimits(reader, top.connections);
  for (const problem of validateRaftOptions(raft)) reader.problem(['raft', problem.split(' ')[0]!], problem);
  for (const problem of validateBrokerOptions(broker)) reader.problem(['broker', problem.split(' ')[0]!], problem);
  // Every tuning is a positive count, but snapshotEveryEntries may be 0: never snapshot.
  for (const key of NODE_TUNING_KEYS) reader.integer(['node', key], node[key], key === 'snapshotEveryEntries' ? 0 : 1, Number.MAX_SAFE_INTEGER);
  if (secret.length < 8) reader.problem(['secret'], `must be at least 8 characters, got ${secret.length}`);
  const baseDir = path.dirname(path.resolve(file));
  const tls = readTls(reader, top.tls, baseDir);
  const nodes = readNodes(reader, top.nodes, baseDir, tls !== undefined);
  const streams = readStreams(reader, top.streams, nodes.length);
  const log = readLogOptions(reader, top.log);
  const auth = readAuthorization(reader, top.authorization);
  reader.throwIfProblems();
  return { source: file, secret, tickMs, raft, broker, node, segmentBytesMax, messageStore, sync, connections, streams, log, auth, tls, nodes };
}

function readConnectionLimits(reader: FieldReader, value: unknown): ConnectionLimits {
  const section = reader.section(['connections'], value, DEFAULT_CONNECTION_LIMITS);
  const at = (key: keyof ConnectionLimits): (string | number)[] => ['connections', key];
  return {
    authTimeoutMs: reader.integer(at('authTimeoutMs'), section.authTimeoutMs, 1, 3_600_000),
    pingIntervalMs: reader.integer(at('pingIntervalMs'), section.pingIntervalMs, 1, 86_400_000),
    pingMax: reader.integer(at('pingMax'), section.pingMax, 1, 1000),
    peerHandshakesMax: reader.integer(at('peerHandshakesMax'), section.peerHandshakesMax, 1, 1_000_000),
    adminConnectionsMax: reader.integer(at('adminConnectionsMax'), section.adminConnectionsMax, 1, 1_000_000),
  };
}

function pickTuning(options: BrokerNodeOptions): NodeTuning {
  return Object.fromEntries(NODE_TUNING_KEYS.map((key) => [key, options[key]])) as unknown as NodeTuning;
}

/** The declared streams, each checked alone and against the others; replicas must be the cluster's size for now. */
function readStreams(reader: FieldReader, value: unknown, clusterSize: number): StreamConfig[] {
  // `streams:` with every entry commented out reads as null: no streams.
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    reader.problem(['streams'], `must be a list of stream configs, got ${describe(value)}`);
    return [];
  }
  const streams: StreamConfig[] = [];
  value.forEach((item: unknown, index) => {
    const parsed = streamConfigFromJson(item, clusterSize);
    if (!parsed.ok) {
      for (const problem of parsed.problems) reader.problem(['streams', index], problem);
      return;
    }
    const config = parsed.config;
    if (config.replicas !== clusterSize) reader.problem(['streams', index, 'num_replicas'], `must be the cluster's size, ${clusterSize}, for now; got ${config.replicas}`);
    for (const [earlier, other] of streams.entries()) {
      if (other.name === config.name) reader.problem(['streams', index, 'name'], `${config.name} is already declared by streams[${earlier}]`);
      const overlap = overlappingSubjects(config, other);
      if (overlap !== undefined) {
        reader.problem(['streams', index, 'subjects'], `${overlap.ours} overlaps ${overlap.theirs} of streams[${earlier}] (${other.name}): one subject may belong to one stream only`);
      }
    }
    streams.push(config);
  });
  return streams;
}

function readLogOptions(reader: FieldReader, value: unknown): LogOptions {
  const fields = reader.section(['log'], value, { level: DEFAULT_LOG_OPTIONS.level as string, format: DEFAULT_LOG_OPTIONS.format as string });
  const level = LOG_LEVELS.find((known) => known === fields.level);
  const format = LOG_FORMATS.find((known) => known === fields.format);
  if (level === undefined) reader.problem(['log', 'level'], `must be one of ${LOG_LEVELS.join(', ')}, got ${describe(fields.level)}`);
  if (format === undefined) reader.problem(['log', 'format'], `must be one of ${LOG_FORMATS.join(', ')}, got ${describe(fields.format)}`);
  return { level: level ?? DEFAULT_LOG_OPTIONS.level, format: format ?? DEFAULT_LOG_OPTIONS.format };
}

function readNodes(reader: FieldReader, value: unknown, baseDir: string, clusterTls: boolean): NodeAddress[] {
  if (!Array.isArray(value) || value.length === 0) {
    reader.problem(['nodes'], `must be a list of at least one node, got ${describe(value)}`);
    return [];
  }
  const nodes: NodeAddress[] = [];
  value.forEach((item: unknown, index) => {
    const at = ['nodes', index];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      reader.problem(at, `must be a mapping with id, host, clientPort, peerPort, adminPort, dataDir and optionally monitorPort, got ${describe(item)}`);
      return;
    }
    const fields = item as Record<string, unknown>;
    reader.unknownKeys(at, fields, ['id', 'host', 'clientPort', 'peerPort', 'adminPort', 'adminHost', 'monitorPort', 'dataDir', 'tls']);
    if (fields.tls !== undefined && !clusterTls) reader.problem([...at, 'tls'], 'a node certificate needs the cluster-wide tls section (its ca and which ports use TLS)');
    const id = reader.integer([...at, 'id'], fields.id, 1, 0xffff_fffe);
    const host = reader.string([...at, 'host'], fields.host);
    nodes.push({
      id,
      host,
      adminHost: fields.adminHost === undefined ? host : reader.string([...at, 'adminHost'], fields.adminHost),
      clientPort: reader.integer([...at, 'clientPort'], fields.clientPort, 1, 65535),
      peerPort: reader.integer([...at, 'peerPort'], fields.peerPort, 1, 65535),
      adminPort: reader.integer([...at, 'adminPort'], fields.adminPort, 1, 65535),
      // Monitoring is optional: absent or 0 serves no HTTP port.
      monitorPort: reader.integer([...at, 'monitorPort'], fields.monitorPort ?? 0, 0, 65535),
      dataDir: path.resolve(baseDir, reader.string([...at, 'dataDir'], fields.dataDir ?? `data/n${id}`)),
      tls: readNodeTls(reader, [...at, 'tls'], fields.tls, baseDir),
    });
  });
  checkUnique(reader, nodes);
  return nodes;
}

function checkUnique(reader: FieldReader, nodes: readonly NodeAddress[]): void {
  const ids = new Map<number, number>();
  const endpoints = new Map<string, string>();
  const dirs = new Map<string, number>();
  nodes.forEach((node, index) => {
    const sameId = ids.get(node.id);
    if (sameId !== undefined) reader.problem(['nodes', index, 'id'], `id ${node.id} is already used by nodes[${sameId}]`);
    ids.set(node.id, index);
    for (const key of ['clientPort', 'peerPort', 'adminPort', 'monitorPort'] as const) {
      if (node[key] === 0) continue;
      const endpoint = `${key === 'adminPort' ? node.adminHost : node.host}:${node[key]}`;
      const taken = endpoints.get(endpoint);
      if (taken !== undefined) reader.problem(['nodes', index, key], `${endpoint} is already used by ${taken}`);
      endpoints.set(endpoint, `nodes[${index}].${key}`);
    }
    const sameDir = dirs.get(node.dataDir);
    if (sameDir !== undefined) reader.problem(['nodes', index, 'dataDir'], `${node.dataDir} is already used by nodes[${sameDir}]`);
    dirs.set(node.dataDir, index);
  });
}
