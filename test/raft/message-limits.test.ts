import { describe, expect, it } from 'vitest';
import { bytes, Cluster, durable, entry, only } from './harness.js';
import type { AppendRequest, Entry } from '../../src/raft/types.js';

// TIGER_STYLE limits on section 5.3's AppendEntries: entriesPerMessageMax and
// bytesPerMessageMax bound every AppendRequest, so catching up a far-behind follower
// is a stream of bounded messages rather than one huge one. An entry larger than the
// byte bound still goes, alone, or it could never be replicated.

/** Leader-to-be 1 and node 3 hold `log`; node 2 is empty and must be caught up. */
function catchUp(log: Entry[], options: { entriesPerMessageMax?: number; bytesPerMessageMax?: number }): AppendRequest[] {
  const cluster = new Cluster({
    options: { ...options, inflightAppendsMax: 1000 },
    durable: { 1: durable(log, 1), 3: durable(log, 1) },
  });
  cluster.elect(1, [3]);
  cluster.stabilize();
  expect(cluster.node(2).lastIndex()).toBe(log.length + 1);
  expect(cluster.node(2).log.view()).toEqual(cluster.node(1).log.view());
  return only(cluster.sent, 'AppendRequest').filter((m) => m.to === 2 && m.entries.length > 0);
}

const payload = (m: AppendRequest): number => m.entries.reduce((sum, e) => sum + e.data.length, 0);

describe('5.3 AppendRequest size limits', () => {
  it('5.3 entriesPerMessageMax bounds the entries in each AppendRequest', () => {
    const log = Array.from({ length: 10 }, (_, i) => entry(i + 1, 1));
    const appends = catchUp(log, { entriesPerMessageMax: 3 });
    expect(Math.max(...appends.map((m) => m.entries.length))).toBe(3);
    // The first probe (prev 10, the noop) is rejected; the stream after it is [1..3], [4..6], [7..9], [10, 11].
    expect(appends[0]!.prevLogIndex).toBe(10);
    expect(appends.slice(1).map((m) => m.entries.map((e) => e.index))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11],
    ]);
  });

  it('5.3 bytesPerMessageMax bounds the payload of each AppendRequest', () => {
    const log = Array.from({ length: 9 }, (_, i) => entry(i + 1, 1, 'command', bytes(40)));
    const appends = catchUp(log, { bytesPerMessageMax: 100 });
    for (const m of appends) expect(payload(m)).toBeLessThanOrEqual(100);
    // Two entries of 40 bytes fit in 100 bytes, three do not.
    expect(Math.max(...appends.map((m) => m.entries.length))).toBe(2);
  });

  it('5.3 a single entry larger than bytesPerMessageMax still goes, alone', () => {
    const log = [
      entry(1, 1, 'command', bytes(40)),
      entry(2, 1, 'command', bytes(250)),
      entry(3, 1, 'command', bytes(40)),
      entry(4, 1, 'command', bytes(40)),
    ];
    const appends = catchUp(log, { bytesPerMessageMax: 100 });
    const carrying2 = appends.filter((m) => m.entries.some((e) => e.index === 2));
    expect(carrying2.length).toBeGreaterThan(0);
    for (const m of carrying2) expect(m.entries.map((e) => e.index)).toEqual([2]);
    for (const m of appends.filter((m) => m.entries.length > 1)) expect(payload(m)).toBeLessThanOrEqual(100);
  });
});
