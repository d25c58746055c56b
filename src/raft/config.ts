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
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
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
  preVote: true,
  checkQuorum: true,
};

export interface RaftConfig {
  readonly id: NodeId;
  readonly group: GroupId;
  /** Every voter of the group, this node included. */
  readonly peers: readonly NodeId[];
  readonly options: RaftOptions;
  readonly random: RandomSource;
}

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
  ];
  for (const key of positive) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      problems.push(`${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (options.uncommittedBytesMax < options.commandBytesMax) {
    problems.push(
      `uncommittedBytesMax (${options.uncommittedBytesMax}) must be at least commandBytesMax (${options.commandBytesMax}), or a command of allowed size could never be accepted`,
    );
  }
  if (options.heartbeatTicks >= options.electionTicksMin) {
    problems.push(
      `heartbeatTicks (${options.heartbeatTicks}) must be below electionTicksMin (${options.electionTicksMin})`,
    );
  }
  return problems;
}
