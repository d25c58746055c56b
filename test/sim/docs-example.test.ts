// The worked example of docs/sim-api.md, run as a test so the documentation
// cannot drift from the code: the text between the two marker comments below
// must appear, byte for byte, as a code block in docs/sim-api.md (the last test
// checks that), and running it must pass every check it makes.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

// docs-example:start
import assert from 'node:assert/strict';
import { formatViolation } from '../../sim/checker.js';
import { SimCluster } from '../../sim/cluster.js';

interface ExampleResult {
  oldLeader: number;
  newLeader: number;
  /** Every applied entry as index/term/kind/text, the same on every node. */
  applied: string[];
  traceHash: string;
}

/** Cuts a 5-node cluster's leader off, lets the rest elect another, then heals. */
function partitionTheLeader(seed: number): ExampleResult {
  // Defaults: 10 ms ticks, elections after 15 to 30 ticks, message delays of
  // 1 ms at least and 3 ms on average.
  const cluster = new SimCluster({ nodes: 5, seed });

  // 1. Elect a leader. Every duration in the API is simulated milliseconds.
  assert.ok(cluster.runUntil((c) => c.leader() !== undefined, 2_000), 'no leader within 2 s');
  const oldLeader = cluster.leader()!;
  const oldTerm = cluster.status(oldLeader).term;

  // 2. Propose ten commands and wait until the leader has committed them.
  let lastIndex = 0;
  for (let i = 1; i <= 10; i++) {
    const outcome = cluster.propose(oldLeader, `before ${i}`);
    assert.ok(outcome.accepted, outcome.error);
    lastIndex = outcome.index;
  }
  assert.ok(cluster.runUntil((c) => c.status(oldLeader).commitIndex >= lastIndex, 1_000), 'not committed');

  // A follower refuses a proposal and names the leader, as a client library would need.
  const follower = cluster.nodeIds.find((id) => id !== oldLeader)!;
  const refused = cluster.propose(follower, 'wrong node');
  assert.equal(refused.accepted, false);
  assert.equal(refused.leaderHint, oldLeader);

  // 3. Cut the leader off from everyone. It does not know yet, so it still accepts
  //    a proposal; that entry can never reach a majority and must never be applied.
  const majority = cluster.nodeIds.filter((id) => id !== oldLeader);
  cluster.partition([[oldLeader], majority]);
  assert.ok(cluster.propose(oldLeader, 'doomed').accepted);

  // 4. The majority elects a new leader in a higher term.
  const elected = cluster.runUntil((c) => c.leader() !== undefined && c.leader() !== oldLeader, 5_000);
  assert.ok(elected, 'the majority elected no new leader');
  const newLeader = cluster.leader()!;
  assert.ok(cluster.status(newLeader).term > oldTerm);
  for (let i = 1; i <= 5; i++) assert.ok(cluster.propose(newLeader, `after ${i}`).accepted);
  cluster.runFor(1_000);
  // CheckQuorum made the cut-off leader step down. Since then it campaigns alone,
  // but only as a precandidate: PreVote keeps its term from rising, so it cannot
  // depose the new leader when it comes back.
  assert.notEqual(cluster.status(oldLeader).role, 'leader');
  assert.equal(cluster.status(oldLeader).term, oldTerm);

  // 5. Heal. The old leader learns the new term, drops 'doomed' and catches up.
  cluster.heal();
  const caughtUp = (c: SimCluster): boolean =>
    c.statuses().every((s) => s.appliedIndex === c.status(newLeader).commitIndex);
  assert.ok(cluster.runUntil(caughtUp, 5_000), 'nodes did not catch up after healing');

  // 6. Every node applied the same entries, and no safety property was ever broken.
  const entriesOf = (id: number): string[] =>
    cluster.applied(id).map((e) => `${e.index}/${e.term}/${e.kind}/${new TextDecoder().decode(e.data)}`);
  const applied = entriesOf(newLeader);
  for (const id of cluster.nodeIds) assert.deepEqual(entriesOf(id), applied, `node ${id} applied other entries`);
  assert.ok(!applied.some((line) => line.endsWith('/doomed')));
  assert.deepEqual(cluster.violations().map(formatViolation), []);

  console.log(`leader n${oldLeader} -> n${newLeader}, ${applied.length} entries applied everywhere`);
  console.log(`trace hash: ${cluster.traceHashHex()}`);
  return { oldLeader, newLeader, applied, traceHash: cluster.traceHashHex() };
}
// docs-example:end

const commandsOf = (applied: readonly string[]): string[] =>
  applied.filter((line) => line.includes('/command/')).map((line) => line.split('/')[3]!);

describe('the docs/sim-api.md worked example', () => {
  // The example prints two lines per run; keep the test output to the failures.
  // The spy is restored after each test because test files share workers here.
  let log: MockInstance<typeof console.log>;
  beforeEach(() => {
    log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());

  it('elects a new leader behind a partition and converges after the heal', () => {
    const result = partitionTheLeader(1);
    expect(result.newLeader).not.toBe(result.oldLeader);
    expect(log).toHaveBeenLastCalledWith(`trace hash: ${result.traceHash}`);
    // Exactly the commands of both leaders, each once and in order; never 'doomed'.
    expect(commandsOf(result.applied)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `before ${i + 1}`),
      ...Array.from({ length: 5 }, (_, i) => `after ${i + 1}`),
    ]);
    // One noop per leader: section 8's entry of the new term.
    expect(result.applied.filter((line) => line.includes('/noop/'))).toHaveLength(2);
    expect(result.traceHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('replays bit for bit: the same seed gives the same trace hash', () => {
    const first = partitionTheLeader(3);
    const again = partitionTheLeader(3);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.applied).toEqual(first.applied);
    expect(partitionTheLeader(4).traceHash).not.toBe(first.traceHash);
  });

  it('holds for many seeds, not just the one in the docs', () => {
    for (let seed = 10; seed < 30; seed++) expect(() => partitionTheLeader(seed)).not.toThrow();
  });

  it('appears verbatim in docs/sim-api.md', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const example = source.split('// docs-example:start\n')[1]!.split('// docs-example:end\n')[0]!;
    const doc = readFileSync(new URL('../../docs/sim-api.md', import.meta.url), 'utf8');
    expect(example.length).toBeGreaterThan(1000);
    expect(doc).toContain('```ts\n' + example + '```\n');
  });
});
