// The second example of docs/sim-api.md ("Adapting another test suite"), run
// as a test: the text between the two marker comments below must appear,
// byte for byte, as a code block in docs/sim-api.md (the last test checks
// that), and running it must pass every check it makes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs-adapter-example:start
import assert from 'node:assert/strict';
import { REAL_MODE_TIMING, SimCluster, type ApplyEvent } from '../../sim/cluster.js';
import { networkModelByType } from '../../sim/network.js';

/** What a lab-style harness asks of a cluster; returns each node's applied commands in command order. */
function labStyleRun(seed: number): Map<number, string[]> {
  const appliedCommands = new Map<number, string[]>();
  const cluster = new SimCluster({
    nodes: 5,
    seed,
    // Real mode's timing: 100 ms ticks, elections after 1 to 2 s.
    ...REAL_MODE_TIMING,
    // Heartbeat answers crawl; every other message follows the `network` options.
    networkModel: networkModelByType({ HeartbeatResponse: { delayMinMs: 20, delayMeanMs: 40 } }),
    // Registered once, heard from every node in every incarnation.
    onApply: (event: ApplyEvent) => {
      if (event.type !== 'entry' || event.entry.kind !== 'command') return;
      const commands = appliedCommands.get(event.node) ?? [];
      // A restarted node applies its log again: the same command lands at the same place.
      commands[event.commandIndex - 1] = new TextDecoder().decode(event.entry.data);
      appliedCommands.set(event.node, commands);
    },
  });
  assert.ok(cluster.runUntil((c) => c.leader() !== undefined, 10_000), 'no leader');
  const leader = cluster.leader()!;
  const first = cluster.propose(leader, 'x=1');
  // The leader's noop holds log index 1; commands are numbered without it.
  assert.equal(first.index, 2);
  assert.equal(first.commandIndex, 1);

  // Disconnect a follower, then split the cluster: reconnecting the follower
  // opens only the links the partition allows.
  const [a, b, c, d] = cluster.nodeIds.filter((id) => id !== leader) as [number, number, number, number];
  cluster.disconnect(a);
  cluster.partition([[leader, a, b], [c, d]]);
  cluster.reconnect(a);
  assert.ok(cluster.isConnected(a) && cluster.linkOpen(a, leader));
  assert.deepEqual(cluster.cutReasons(a, c), ['partition']);

  // A follower crashes and comes back; the listener hears it apply everything again.
  cluster.crash(b);
  assert.equal(cluster.propose(leader, 'x=2').commandIndex, 2);
  cluster.restart(b);
  cluster.heal();
  const everyoneHasBoth = (c: SimCluster): boolean => c.nodeIds.every((id) => appliedCommands.get(id)?.length === 2);
  assert.ok(cluster.runUntil(everyoneHasBoth, 20_000), 'not applied everywhere');
  return appliedCommands;
}
// docs-adapter-example:end

describe('the docs/sim-api.md adapter example', () => {
  it('numbers commands without noops on every node, across a restart', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const applied = labStyleRun(seed);
      expect([...applied.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
      for (const commands of applied.values()) expect(commands).toEqual(['x=1', 'x=2']);
    }
  });

  it('appears verbatim in docs/sim-api.md', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const example = source.split('// docs-adapter-example:start\n')[1]!.split('// docs-adapter-example:end\n')[0]!;
    const doc = readFileSync(new URL('../../docs/sim-api.md', import.meta.url), 'utf8');
    expect(example.length).toBeGreaterThan(1000);
    expect(doc).toContain('```ts\n' + example + '```\n');
  });
});
