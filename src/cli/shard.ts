// Splitting a campaign's seeds across machines. A shard is named K/N: shard K
// of N, counting from 1. The rule is fixed and documented in docs/scenarios.md
// so that any batch system can run the shards without asking chorus anything:
// seed i of the range A..B belongs to shard ((i - A) mod N) + 1. Dealing seeds
// out in turn, rather than cutting the range into blocks, keeps the shards
// equally loaded when the cost of a seed drifts along the range.

import { UsageError } from './args.js';

export interface Shard {
  /** Which shard this is, from 1 to count. */
  readonly index: number;
  /** How many shards the campaign is split into. */
  readonly count: number;
}

/** The whole campaign as one shard: what a run without --shard is. */
export const WHOLE_CAMPAIGN: Shard = { index: 1, count: 1 };

/** More shards than this is surely a typing mistake, and would make every part nearly empty. */
export const shardCountMax = 1_000_000;

/** Parses `K/N`, refusing with one line that says what is wrong. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) throw new UsageError(`--shard must be K/N, shard K of N counting from 1 (e.g. 2/4); got '${text}'`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1) throw new UsageError(`--shard ${text}: the number of shards N must be at least 1`);
  if (count > shardCountMax) throw new UsageError(`--shard ${text}: the number of shards N must be at most ${shardCountMax}`);
  if (index < 1) throw new UsageError(`--shard ${text}: shards are counted from 1, so K must be at least 1`);
  if (index > count) throw new UsageError(`--shard ${text}: K must be at most N; there is no shard ${index} of ${count}`);
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard that runs seed `seed` of the range starting at `from`. */
export function shardOfSeed(seed: number, from: number, count: number): number {
  return ((seed - from) % count) + 1;
}

/** The seeds of from..to that belong to `shard`, in increasing order. A shard may have none. */
export function shardSeeds(from: number, to: number, shard: Shard): number[] {
  const seeds: number[] = [];
  for (let seed = from + shard.index - 1; seed <= to; seed += shard.count) seeds.push(seed);
  return seeds;
}
