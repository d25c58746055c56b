import { describe, expect, it } from 'vitest';
import { all, Cluster, durable, from, logOfTerms, ofType, only, termsOf, to } from './harness.js';
import type { DurableState } from '../../src/raft/types.js';

// End of section 5.3: with the conflict hint a leader backs up over a whole term per
// round trip instead of one entry per round trip. A follower that holds a long run of
// divergent entries of one term is therefore repaired in a constant number of probes.

/** Elects node 1 with node 2's vote, lets node 3 see only appends, and counts what node 3 got. */
function repair(durableStates: Record<number, DurableState>) {
  const cluster = new Cluster({ durable: durableStates });
  cluster.elect(1, [2]);
  cluster.drop(all(ofType('VoteRequest'), to(3)));
  cluster.stabilize();
  const appends = only(cluster.sent, 'AppendRequest').filter((m) => m.from === 1 && m.to === 3);
  const answers = only(cluster.sent, 'AppendResponse').filter((m) => m.from === 3);
  return { cluster, appends, rejections: answers.filter((m) => !m.success) };
}

const run = (term: number, count: number): number[] => new Array<number>(count).fill(term);

describe('5.3 the leader uses the conflict hint to back up quickly', () => {
  it('5.3 fifty divergent entries of a term the leader never had are repaired with one rejected probe', () => {
    const { cluster, appends, rejections } = repair({
      1: durable(logOfTerms(1, 3, 3), 3),
      2: durable(logOfTerms(1, 3, 3), 3),
      3: durable(logOfTerms(1, ...run(2, 50)), 3),
    });
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ rejectedIndex: 3, conflictTerm: 2, conflictIndex: 2 });
    // One probe rejected, one accepted: not one probe per divergent entry.
    expect(appends.map((m) => m.prevLogIndex)).toEqual([3, 1]);
    expect(termsOf(cluster.node(3).log.view())).toEqual([1, 3, 3, 4]);
    expect(termsOf(cluster.disk(3).entries)).toEqual([1, 3, 3, 4]);
  });

  it('5.3 when the leader holds the conflicting term, it resumes right after its own last entry of that term', () => {
    const { cluster, appends, rejections } = repair({
      1: durable(logOfTerms(1, 2, 2, 4, 4), 4),
      2: durable(logOfTerms(1, 2, 2, 4, 4), 4),
      3: durable(logOfTerms(1, ...run(2, 40)), 4),
    });
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ conflictTerm: 2, conflictIndex: 2 });
    // The leader's last entry of term 2 is index 3, so the next probe is prev 3, not prev 1.
    expect(appends.map((m) => m.prevLogIndex)).toEqual([5, 3]);
    expect(appends[1]!.entries.map((e) => e.index)).toEqual([4, 5, 6]);
    expect(termsOf(cluster.node(3).log.view())).toEqual([1, 2, 2, 4, 4, 5]);
    expect(termsOf(cluster.disk(3).entries)).toEqual([1, 2, 2, 4, 4, 5]);
  });

  it('5.3 a follower far behind jumps straight to its lastIndex + 1', () => {
    const { cluster, appends, rejections } = repair({
      1: durable(logOfTerms(...run(1, 40)), 1),
      2: durable(logOfTerms(...run(1, 40)), 1),
      3: durable(logOfTerms(1, 1), 1),
    });
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ conflictTerm: 0, conflictIndex: 3 });
    expect(appends.map((m) => m.prevLogIndex)).toEqual([40, 2]);
    expect(cluster.node(3).lastIndex()).toBe(41);
  });

  it('5.3 once repaired, the follower is in replicate state and a new entry costs one message', () => {
    const { cluster } = repair({
      1: durable(logOfTerms(1, 3, 3), 3),
      2: durable(logOfTerms(1, 3, 3), 3),
      3: durable(logOfTerms(1, ...run(2, 50)), 3),
    });
    expect(cluster.node(1).progressOf(3)).toMatchObject({ state: 'replicate', match: 4, next: 5 });
    const before = cluster.sent.length;
    cluster.node(1).propose(new Uint8Array([1]));
    cluster.flush(1);
    const appends = only(cluster.sent.slice(before), 'AppendRequest').filter((m) => m.to === 3);
    expect(appends).toHaveLength(1);
    expect(appends[0]).toMatchObject({ prevLogIndex: 4, prevLogTerm: 4 });
    cluster.stabilize(from(1, 3));
    expect(cluster.node(3).lastIndex()).toBe(5);
  });
});
