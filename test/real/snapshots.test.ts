// Snapshots on a real cluster: nodes snapshot their state every few hundred
// entries and drop the log behind it; a node restarts from its snapshot; a
// follower whose data directory is wiped catches up by snapshot plus tail and
// ends with the same stream contents as the leader.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { ChorusClient } from '../../src/runtime/client.js';
import { eventually, RealCluster } from '../../src/runtime/local-cluster.js';

const codec = StringCodec();
const { clusters, connections } = trackedResources();

async function history(cluster: RealCluster, id: number, topic: string): Promise<string[]> {
  const client = await ChorusClient.connect('127.0.0.1', cluster.node(id).clientPort);
  try {
    const { entries } = await client.history(topic, 1, 10_000, 5000);
    return entries.map((entry) => `${entry.offset}:${codec.decode(entry.payload)}`);
  } finally {
    client.close();
  }
}

/** The same, or undefined while the node does not take connections yet (it logs its recovery before it listens). */
async function historyOnceListening(cluster: RealCluster, id: number, topic: string): Promise<string[] | undefined> {
  try {
    return await history(cluster, id, topic);
  } catch {
    return undefined;
  }
}

function segmentsOf(cluster: RealCluster, id: number): string[] {
  return fs.readdirSync(path.join(cluster.node(id).dataDir, 'log')).sort();
}

describe('snapshots on a real cluster', () => {
  it('compact the log, restart a node from its snapshot, and catch a wiped follower up by snapshot plus tail', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { node: { snapshotEveryEntries: 100 }, raft: { snapshotTrailingEntries: 20, snapshotChunkBytes: 4096 } });
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const nc: NatsConnection = await connect({ servers: [`127.0.0.1:${cluster.node(leader).clientPort}`] });
    connections.push(nc);
    const js = nc.jetstream();
    for (let i = 1; i <= 450; i++) await js.publish(`orders.${i % 3}`, codec.encode(`order ${i}`));
    // Every node snapshots and keeps only the log's tail: the first segment no longer starts at index 1.
    await eventually(() => (fs.existsSync(path.join(cluster.node(follower).dataDir, 'snapshot')) ? true : undefined), 10_000, 'a snapshot on the follower');
    const expected = await history(cluster, leader, 'orders.1');
    expect(expected).toHaveLength(150);

    await cluster.supervisor.kill(follower);
    cluster.lines.length = 0;
    cluster.supervisor.start(follower);
    await eventually(() => cluster.lines.find((line) => line.includes(`[n${follower}]`) && /a snapshot at index \d+/.test(line)), 10_000, 'a restart from the snapshot');
    await eventually(async () => ((await historyOnceListening(cluster, follower, 'orders.1'))?.length === 150 ? true : undefined), 10_000, 'the restarted follower caught up');
    const status = await eventually(async () => {
      const current = await cluster.status(follower);
      return current?.state === 'ready' ? current : undefined;
    }, 10_000, 'the restarted follower ready');
    expect((status.snapshot as { index: number }).index).toBeGreaterThanOrEqual(100);
    expect(Number(status.firstIndex)).toBeGreaterThan(1);

    await cluster.supervisor.kill(follower);
    fs.rmSync(cluster.node(follower).dataDir, { recursive: true, force: true });
    for (let i = 451; i <= 600; i++) await js.publish(`orders.${i % 3}`, codec.encode(`order ${i}`));
    cluster.lines.length = 0;
    cluster.supervisor.start(follower);
    await eventually(() => cluster.lines.find((line) => line.includes(`[n${follower}]`) && line.includes("installed the leader's snapshot")), 15_000, 'the wiped follower installs a snapshot');
    const leaderContents = await history(cluster, leader, 'orders.2');
    await eventually(async () => (JSON.stringify(await historyOnceListening(cluster, follower, 'orders.2')) === JSON.stringify(leaderContents) ? true : undefined), 10_000, 'equal contents');
    expect(leaderContents).toHaveLength(200);
    // It was caught up by snapshot plus tail: its log does not start at index 1.
    expect(segmentsOf(cluster, follower)[0]).not.toBe('segment-00000000000000000001.log');
    expect(cluster.unexpectedExits).toEqual([]);
  }, 60_000);
});
