import type { GroupId, NodeId } from './types.js';

/** A seeded source of randomness handed in by the driver; cores never touch global randomness. */
export interface RandomSource {
  /** A float in [0, 1). */
  nextFloat(): number;
}

/** Every limit of the core is a named option with a default (TIGER_STYLE: put a limit on everything). */
export interface RaftOptions {
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [min, 2*min). */
  readonly electionTicksMin: number;
  /** Ticks between leader heartbeats; must be well below electionTicksMin. */
  readonly heartbeatTicks: number;
  /** Entries in one AppendRequest. */
  readonly entriesPerMessageMax: number;
  /** Payload bytes in one AppendRequest; a single larger entry is still sent alone. */
  readonly bytesPerMessageMax: number;
  /** AppendRequests in flight to one follower in the replicate state. */
  readonly inflightAppendsMax: number;
  /** Bytes of proposed but not yet committed commands on a leader; more are refused. */
  readonly uncommittedBytesMax: number;
  /** Bytes of one command. */
  readonly commandBytesMax: number;
  /** Committed entries handed out in one Ready, so a restart does not apply the whole log at once. */
  readonly committedEntriesPerReadyMax: number;
  /**
   * Readies handed out and not yet advanced: while one Ready's fsync runs,
   * the next one's writes may start, so a disk slower than the network does
   * not hold back every answer behind one sync at a time (etcd's asynchronous
   * storage writes). The driver writes them in order and advances them in
   * order. 1 keeps the driver to one Ready at a time.
   */
  readonly readiesInFlightMax: number;
  /** Bytes of snapshot data in one InstallSnapshot message. */
  readonly snapshotChunkBytes: number;
  /** InstallSnapshot messages in flight to one follower at once: the transfer's flow-control window. */
  readonly snapshotChunksInflightMax: number;
  /**
   * Entries the log keeps behind a new snapshot, so a follower a little
   * behind catches up from the log rather than by a whole snapshot.
   */
  readonly snapshotTrailingEntries: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /**
   * How far a node may stretch its election timeout when its elections take
   * longer than the timeout: each time a vote for a candidacy it already gave
   * up on arrives late, the timeout's range doubles, up to 2^electionBackoffMax
   * times [electionTicksMin, 2 * electionTicksMin); it returns to the normal
   * range once the node hears from a leader or becomes one. 0 never stretches it.
   */
  readonly electionBackoffMax: number;
}

export const DEFAULT_RAFT_OPTIONS: RaftOptions = {
  electionTicksMin: 10,
  heartbeatTicks: 1,
  entriesPerMessageMax: 64,
  bytesPerMessageMax: 1024 * 1024,
  inflightAppendsMax: 64,
  uncommittedBytesMax: 64 * 1024 * 1024,
  commandBytesMax: 1024 * 1024,
  committedEntriesPerReadyMax: 4096,
  readiesInFlightMax: 4,
  snapshotChunkBytes: 1024 * 1024,
  snapshotChunksInflightMax: 4,
  snapshotTrailingEntries: 5000,
  preVote: true,
  checkQuorum: true,
  electionBackoffMax: 3,
};

/** A snapshot file as the leader sends it: where it stands, its length and its CRC-32. */
export interface SnapshotFile {
  readonly index: number;
  readonly term: number;
  readonly size: number;
  readonly crc: number;
}

/**
 * Where a leader reads the snapshot it sends to a follower whose next entry
 * its log no longer holds. The driver provides it (real files, or the
 * simulated disk); reads are synchronous, a chunk at a time.
 */
export interface SnapshotSource {
  /**
   * The newest durable snapshot, or undefined when none can be read now (the
   * driver keeps why); a log compacted behind its first entry always has one,
   * so undefined there is a passing failure, and the leader asks again at the
   * follower's next answer.
   */
  latest(): SnapshotFile | undefined;
  /** `length` bytes of the snapshot at `index` from `offset`; undefined when that snapshot is gone (a newer one replaced it). */
  read(index: number, offset: number, length: number): Uint8Array | undefined;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly group: GroupId;
  /** Every voter of the group, this node included. */
  readonly peers: readonly NodeId[];
  readonly options: RaftOptions;
  readonly random: RandomSource;
  /** Where snapshots are read from; without it the node never compacts its log, and never needs to send one. */
  readonly snapshots?: SnapshotSource;
}

/** An election timeout stretched further than 2^8 times would leave a cluster without a leader for too long after a fault. */
export const ELECTION_BACKOFF_MAX_LIMIT = 8;

/** Options are checked once, loudly: a bad option is a programmer error, not an operating error. */
export function validateRaftOptions(options: RaftOptions): string[] {
  const problems: string[] = [];
  const positive: (keyof RaftOptions)[] = [
    'electionTicksMin',
    'heartbeatTicks',
    'entriesPerMessageMax',
    'bytesPerMessageMax',
    'inflightAppendsMax',
    'uncommittedBytesMax',
    'commandBytesMax',
    'committedEntriesPerReadyMax',
    'readiesInFlightMax',
    'snapshotChunkBytes',
    'snapshotChunksInflightMax',
  ];
  for (const key of positive) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      problems.push(`${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (!(Number.isInteger(options.snapshotTrailingEntries) && options.snapshotTrailingEntries >= 0)) {
    problems.push(`snapshotTrailingEntries must be a non-negative integer, got ${String(options.snapshotTrailingEntries)}`);
  }
  if (options.uncommittedBytesMax < options.commandBytesMax) {
    problems.push(
      `uncommittedBytesMax (${options.uncommittedBytesMax}) must be at least commandBytesMax (${options.commandBytesMax}), or a command of allowed size could never be accepted`,
    );
  }
  if (!(Number.isInteger(options.electionBackoffMax) && options.electionBackoffMax >= 0 && options.electionBackoffMax <= ELECTION_BACKOFF_MAX_LIMIT)) {
    problems.push(`electionBackoffMax must be an integer from 0 to ${ELECTION_BACKOFF_MAX_LIMIT}, got ${String(options.electionBackoffMax)}`);
  }
  if (options.heartbeatTicks >= options.electionTicksMin) {
    problems.push(
      `heartbeatTicks (${options.heartbeatTicks}) must be below electionTicksMin (${options.electionTicksMin})`,
    );
  }
  return problems;
}
