import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/raft/log.js';
import { entry } from './harness.js';

// The log's part of pipelined Readies: each Ready handed to the driver leaves
// the log durable up to its own last entry once advanced, and no further,
// whatever later Readies hold; a truncation lowers what an earlier Ready
// still in flight makes durable, since its entries past the cut are gone.

function handReady(log: RaftLog): readonly number[] {
  log.takeUnpersistedTruncation();
  return log.takeUnpersistedEntries().map((e) => e.index);
}

describe('RaftLog with several Readies in flight', () => {
  it('makes each Ready stable in turn, up to its own last entry', () => {
    const log = new RaftLog([]);
    log.append(entry(1, 1));
    log.append(entry(2, 1));
    expect(handReady(log)).toEqual([1, 2]);
    log.append(entry(3, 1));
    expect(handReady(log)).toEqual([3]);
    expect(log.stableIndex()).toBe(0);
    log.markPersisted();
    expect(log.stableIndex()).toBe(2);
    log.markPersisted();
    expect(log.stableIndex()).toBe(3);
  });

  it('does not count entries a later Ready truncated as stable when the earlier Ready that wrote them is advanced', () => {
    const log = new RaftLog([]);
    for (let index = 1; index <= 3; index++) log.append(entry(index, 1));
    expect(handReady(log)).toEqual([1, 2, 3]);
    // A new leader's entries replace 2 and 3 while the first write is under way.
    log.truncateFrom(2);
    log.append(entry(2, 2));
    log.append(entry(3, 2));
    expect(log.takeUnpersistedTruncation()).toBe(2);
    expect(log.takeUnpersistedEntries().map((e) => [e.index, e.term])).toEqual([
      [2, 2],
      [3, 2],
    ]);
    log.markPersisted();
    expect(log.stableIndex()).toBe(1);
    log.markPersisted();
    expect(log.stableIndex()).toBe(3);
  });

  it('refuses to mark a Ready durable when none is in flight', () => {
    const log = new RaftLog([]);
    expect(() => log.markPersisted()).toThrow(/without a Ready in flight/);
  });
});
