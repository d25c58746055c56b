import { describe, expect, it } from 'vitest';
import { plantedNodeFactory } from '../support/planted-bugs.js';
import type { Entry } from '../../src/raft/types.js';
import { appendRequest, Cluster, durable, entry, logOfTerms, only, termsOf, type NodeFactory } from './harness.js';

// Section 5.3: if an existing entry conflicts with a new one (same index, different
// term), the follower deletes it and all that follow it, and appends the new entries.
// Entries that do not conflict are kept: a delayed or duplicated request can carry a
// prefix of what the follower already has, and truncating there would drop entries the
// follower already acknowledged, perhaps entries the leader has already counted as committed.

function step(cluster: Cluster, prevLogIndex: number, prevLogTerm: number, entries: Entry[], term = 3) {
  cluster.node(1).step(appendRequest({ from: 2, to: 1, term, prevLogIndex, prevLogTerm, entries }));
  const ready = cluster.flush(1);
  const answers = only(cluster.take(), 'AppendResponse');
  expect(answers).toHaveLength(1);
  return { ready, response: answers[0]! };
}

const alwaysTruncates: NodeFactory = plantedNodeFactory('truncate-on-stale-append');

describe('5.3 conflicting entries are truncated and replaced', () => {
  it('5.3 an entry of another term at the same index is deleted with all that follow, in memory and on disk', () => {
    const cluster = new Cluster({ durable: { 1: durable(logOfTerms(1, 2, 2), 2) } });
    const { ready, response } = step(cluster, 1, 1, [entry(2, 3)]);
    expect(response).toMatchObject({ success: true, matchIndex: 2 });
    expect(ready?.truncateFrom).toBe(2);
    expect(ready?.entries.map((e) => [e.index, e.term])).toEqual([[2, 3]]);
    expect(termsOf(cluster.node(1).log.view())).toEqual([1, 3]);
    expect(termsOf(cluster.disk(1).entries)).toEqual([1, 3]);
  });

  it('5.3 matching entries before the first conflict are kept; truncation starts at the conflict', () => {
    const cluster = new Cluster({ durable: { 1: durable(logOfTerms(1, 1, 2, 2), 2) } });
    const { ready } = step(cluster, 1, 1, [entry(2, 1), entry(3, 3), entry(4, 3), entry(5, 3)]);
    expect(ready?.truncateFrom).toBe(3);
    expect(ready?.entries.map((e) => e.index)).toEqual([3, 4, 5]);
    expect(termsOf(cluster.disk(1).entries)).toEqual([1, 1, 3, 3, 3]);
  });

  it('5.3 entries truncated while their write was still in flight are truncated on disk by the next Ready', () => {
    const cluster = new Cluster({ durable: { 1: durable(logOfTerms(1), 2) } });
    cluster.node(1).step(appendRequest({ from: 2, to: 1, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 2), entry(3, 2)] }));
    // The driver is still writing entries 2 and 3 when a new leader replaces them.
    cluster.persistAndSend(1);
    cluster.node(1).step(appendRequest({ from: 3, to: 1, term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 3)] }));
    cluster.node(1).advance();
    const next = cluster.flush(1);
    expect(next?.truncateFrom).toBe(2);
    expect(termsOf(cluster.disk(1).entries)).toEqual([1, 3]);
    expect(termsOf(cluster.node(1).log.view())).toEqual([1, 3]);
  });
});

describe('5.3 a stale AppendRequest that does not conflict never truncates', () => {
  function staleReplay(cluster: Cluster) {
    const first = [entry(1, 1), entry(2, 1), entry(3, 1)];
    step(cluster, 0, 0, first, 1);
    step(cluster, 3, 1, [entry(4, 1), entry(5, 1)], 1);
    // The first request arrives again, late (delayed or duplicated by the network).
    return step(cluster, 0, 0, first, 1);
  }

  it('5.3 a delayed duplicate of an earlier request leaves the longer log alone and writes nothing', () => {
    const cluster = new Cluster();
    const { ready, response } = staleReplay(cluster);
    expect(cluster.node(1).lastIndex()).toBe(5);
    expect(cluster.disk(1).entries).toHaveLength(5);
    expect(ready?.truncateFrom).toBeUndefined();
    expect(ready?.entries).toEqual([]);
    // It acknowledges only what that request covered.
    expect(response).toMatchObject({ success: true, matchIndex: 3 });
  });

  it('5.3 a stale request overlapping the middle of the log keeps the entries after it', () => {
    const cluster = new Cluster();
    step(cluster, 0, 0, [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], 1);
    const { response } = step(cluster, 1, 1, [entry(2, 1)], 1);
    expect(response).toMatchObject({ success: true, matchIndex: 2 });
    expect(cluster.node(1).lastIndex()).toBe(4);
  });

  it('5.3 the stale-replay test catches a planted bug that truncates after prevLogIndex (so it can fail)', () => {
    const cluster = new Cluster({ create: alwaysTruncates });
    staleReplay(cluster);
    // The broken variant forgets entries 4 and 5 that it had already acknowledged.
    expect(cluster.node(1).lastIndex()).toBe(3);
  });
});
