import { describe, expect, it } from 'vitest';
import { plantedNodeFactory } from '../support/planted-bugs.js';
import { all, Cluster, durable, from, logOfTerms, ofType, termsOf, to, type NodeFactory } from './harness.js';

// Section 5.4.2 and Figure 8: a leader cannot conclude that an entry of an earlier
// term is committed just because it is stored on a majority. Such an entry can still
// be overwritten by a later leader whose last term is higher. A leader commits by
// counting replicas only an entry of its own term; earlier entries then commit with
// it, by the Log Matching Property.
//
// The situation of Figure 8 (c), built with five nodes (index 1 holds a term-1 entry
// everywhere, the figure's index 2 is our index 2):
//   S1 [1:1, 2:2]  leader of term 2 earlier, wrote 2:2 to S2 only, then crashed;
//   S2 [1:1, 2:2]
//   S3 [1:1]       voted for S5 in term 3;
//   S4 [1:1]
//   S5 [1:1, 2:3]  leader of term 3, wrote 2:3 to itself only, then crashed.
// S1 restarts and wins term 4 with the votes of S2 and S3. With one entry per message
// it brings S3 up to index 2, so 2:2 sits on S1, S2 and S3, a majority; its own noop
// 3:4 reaches S2 but not S3, so no entry of term 4 is on a majority yet.

const countsOldTerms: NodeFactory = plantedNodeFactory('figure-8-commit');

function figure8c(create?: NodeFactory): Cluster {
  const cluster = new Cluster({
    ids: [1, 2, 3, 4, 5],
    options: { entriesPerMessageMax: 1 },
    durable: {
      1: durable(logOfTerms(1, 2), 3),
      2: durable(logOfTerms(1, 2), 3),
      3: durable(logOfTerms(1), 3, 5),
      4: durable(logOfTerms(1), 3),
      5: durable(logOfTerms(1, 3), 3, 5),
    },
    ...(create ? { create } : {}),
  });
  cluster.crash(5);
  cluster.elect(1, [2, 3]);
  cluster.drop(to(4, 5));
  expect(cluster.node(1).term()).toBe(4);
  const appendTo = (id: number) => all(ofType('AppendRequest'), to(id));
  const answerFrom = (id: number) => all(ofType('AppendResponse'), from(id));
  // S2 matches at index 2 and takes the noop 3:4.
  cluster.deliver(appendTo(2));
  cluster.deliver(answerFrom(2));
  // S3 rejects the first probe (too short), then takes 2:2 alone.
  cluster.deliver(appendTo(3));
  cluster.deliver(answerFrom(3));
  cluster.deliver(appendTo(3));
  cluster.deliver(answerFrom(3));
  // The noop on its way to S3 is lost.
  cluster.drop(appendTo(3));
  expect(termsOf(cluster.disk(1).entries)).toEqual([1, 2, 4]);
  expect(termsOf(cluster.disk(2).entries)).toEqual([1, 2, 4]);
  expect(termsOf(cluster.disk(3).entries)).toEqual([1, 2]);
  expect(cluster.node(1).progressOf(3)?.match).toBe(2);
  return cluster;
}

describe('5.4.2 / Figure 8: committing entries from previous terms', () => {
  it('5.4.2 a leader does not commit an entry of an earlier term that a majority holds', () => {
    const cluster = figure8c();
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).commitIndex()).toBe(0);
    expect(cluster.applied.get(1)).toEqual([]);
    // Heartbeats do not change that either.
    cluster.tick(1);
    cluster.stabilize((m) => m.to !== 4 && m.to !== 5 && !(m.type === 'AppendRequest' && m.to === 3));
    expect(cluster.node(1).commitIndex()).toBe(0);
  });

  it('5.4.2 Figure 8 (d): why: S5 can still win and overwrite 2:2 on the majority that held it', () => {
    const cluster = figure8c();
    cluster.crash(1);
    cluster.restart(5);
    // S3 lets the lease of S1 run out; S3 and S4 then elect S5, whose last term 3 beats their 2 and 1.
    cluster.tick(3, 10);
    cluster.elect(5, [3, 4]);
    cluster.stabilize((m) => [3, 4, 5].includes(m.from) && [3, 4, 5].includes(m.to));
    expect(termsOf(cluster.node(3).log.view())).toEqual([1, 3, cluster.node(5).term()]);
    expect(termsOf(cluster.disk(3).entries).slice(0, 2)).toEqual([1, 3]);
    expect(cluster.node(5).commitIndex()).toBe(3);
  });

  it('5.4.2 Figure 8 (e): once the noop of term 4 reaches a majority, it commits and 2:2 commits with it', () => {
    const cluster = figure8c();
    // The leader counts the lost noop as lost once a heartbeat sent after the one
    // that followed it is answered: two heartbeat rounds.
    for (let round = 0; round < 2; round++) {
      cluster.tick(1);
      cluster.stabilize((m) => m.to !== 4 && m.to !== 5 && m.from !== 4);
    }
    expect(termsOf(cluster.disk(3).entries)).toEqual([1, 2, 4]);
    expect(cluster.node(1).commitIndex()).toBe(3);
    expect(cluster.applied.get(1)!.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
    // Now S5 cannot win: S2 and S3 end in term 4, later than its term 3.
    cluster.crash(1);
    cluster.restart(5);
    cluster.tick(2, 10);
    cluster.tick(3, 10);
    expect(() => cluster.elect(5, [2, 3, 4])).toThrow(/did not win/);
  });

  it('5.4.2 the Figure 8 test catches a planted bug that commits earlier-term entries by counting (so it can fail)', () => {
    const cluster = figure8c(countsOldTerms);
    // The broken variant applies 2:2, which Figure 8 (d) shows S5 can later overwrite.
    expect(cluster.node(1).commitIndex()).toBe(2);
    expect(cluster.applied.get(1)!.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
