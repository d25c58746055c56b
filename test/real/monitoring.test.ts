// Monitoring on a real cluster: each node's HTTP port answers /metrics in
// Prometheus's text format with figures that follow the publishes, /varz with
// the node's status, and /healthz with 503 while the node recovers and 200
// once it has caught up; and the nodes log their elections as leveled lines.

import { connect, StringCodec } from 'nats';
import { describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { eventually, RealCluster, sleep } from '../../src/runtime/local-cluster.js';
import { ChorusClient } from '../../src/runtime/client.js';
import { parsePrometheusText, sampleValue, type Family } from '../support/prometheus-text.js';

const codec = StringCodec();
const { clusters, connections } = trackedResources();

async function scrape(cluster: RealCluster, id: number): Promise<Map<string, Family>> {
  const { status, body } = await cluster.monitor(id, '/metrics');
  expect(status).toBe(200);
  return parsePrometheusText(body);
}

async function healthz(cluster: RealCluster, id: number): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const { status, body } = await cluster.monitor(id, '/healthz');
    return { status, body: JSON.parse(body) as Record<string, unknown> };
  } catch {
    return undefined; // Not listening yet.
  }
}

describe('monitoring a real 3-node cluster', () => {
  it('serves /metrics as Prometheus text whose figures move as publishes happen, and /varz as JSON', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const before = await scrape(cluster, leader);
    const followerBefore = await scrape(cluster, follower);
    expect(sampleValue(before, 'chorus_raft_role', { role: 'leader' })).toBe(1);
    expect(sampleValue(followerBefore, 'chorus_raft_role', { role: 'leader' })).toBe(0);
    expect(sampleValue(followerBefore, 'chorus_raft_leader_id')).toBe(leader);

    // A core subscriber on the leader, a durable consumer reading there, and publishes through both nodes.
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(nc);
    const received: string[] = [];
    const sub = nc.subscribe('orders.>', { callback: (_error, message) => received.push(message.subject) });
    await nc.flush();
    const durable = await ChorusClient.connect('127.0.0.1', cluster.node(leader).clientPort);
    try {
      durable.write('XSUB orders.eu d1 DURABLE reader\r\n');
      await durable.flush(5000);
      const js = nc.jetstream();
      for (let i = 1; i <= 20; i++) await js.publish('orders.eu', codec.encode(`order ${i}`), { msgID: `o-${i}` });
      const viaFollower = await connect({ servers: `127.0.0.1:${cluster.node(follower).clientPort}` });
      connections.push(viaFollower);
      for (let i = 1; i <= 10; i++) await viaFollower.jetstream().publish('orders.us', codec.encode(`order ${i}`), { msgID: `u-${i}` });
      // The durable consumer 'reader' acknowledges up to offset 3; 'idle' acknowledged offset 2 and reads nowhere.
      nc.publish('$CHORUS.ACK.reader.3.0.orders.eu');
      nc.publish('$CHORUS.ACK.idle.2.0.orders.eu');
      await nc.flush();
      await eventually(() => (received.length === 30 ? true : undefined), 10_000, 'the core subscriber to get all 30 messages');

      const after = await eventually(async () => {
        const families = await scrape(cluster, leader);
        return sampleValue(families, 'chorus_consumer_ack_pending_messages', { consumer: 'reader' }) === 17 ? families : undefined;
      }, 10_000, "the leader's metrics to show reader's 17 unacknowledged messages");
      const grew = (name: string, labels: Record<string, string> = {}): number => sampleValue(after, name, labels) - sampleValue(before, name, labels);
      expect(sampleValue(after, 'chorus_stream_messages', { stream: 'ALL' })).toBe(30);
      expect(sampleValue(after, 'chorus_stream_bytes', { stream: 'ALL' })).toBeGreaterThan(30 * 'order 1'.length);
      expect(grew('chorus_publishes_received_total')).toBe(20);
      expect(grew('chorus_publishes_acked_total')).toBe(20);
      expect(grew('chorus_puback_latency_seconds_count', { result: 'acked' })).toBe(20);
      expect(grew('chorus_puback_latency_seconds_sum', { result: 'acked' })).toBeGreaterThan(0);
      // Ten publishes and an acknowledgement barrier or two came from the follower.
      expect(grew('chorus_forwards_received_total')).toBeGreaterThanOrEqual(10);
      expect(grew('chorus_raft_commit_index')).toBeGreaterThanOrEqual(32);
      expect(grew('chorus_log_fsync_duration_seconds_count')).toBeGreaterThan(0);
      expect(grew('chorus_log_entries_written_total')).toBeGreaterThanOrEqual(32);
      // Stored: 30 to the subscriber to orders.>, 20 to the durable consumer; core: the 20 PubAcks to the leader's client's inbox.
      expect(grew('chorus_stored_deliveries_total')).toBe(50);
      expect(grew('chorus_core_deliveries_total')).toBe(20);
      // The nats connection and the durable consumer's; the third is on the follower.
      expect(sampleValue(after, 'chorus_client_connections')).toBe(2);
      expect(sampleValue(after, 'chorus_consumer_pending_messages', { consumer: 'reader' })).toBe(0);
      expect(sampleValue(after, 'chorus_consumer_pending_messages', { consumer: 'idle' })).toBe(18);
      expect(sampleValue(after, 'chorus_consumer_ack_pending_messages', { consumer: 'idle' })).toBe(0);
      const commit = sampleValue(after, 'chorus_raft_commit_index');
      for (const id of [1, 2, 3].filter((other) => other !== leader)) {
        expect(sampleValue(after, 'chorus_raft_follower_match_index', { follower: String(id) })).toBeGreaterThanOrEqual(commit - 5);
        expect(sampleValue(after, 'chorus_raft_follower_lag_entries', { follower: String(id) })).toBeLessThanOrEqual(5);
      }

      const followerAfter = await scrape(cluster, follower);
      expect(sampleValue(followerAfter, 'chorus_forwards_sent_total') - sampleValue(followerBefore, 'chorus_forwards_sent_total')).toBeGreaterThanOrEqual(10);
      expect(sampleValue(followerAfter, 'chorus_publishes_received_total') - sampleValue(followerBefore, 'chorus_publishes_received_total')).toBe(10);
      // Only the leader sees its followers.
      expect(followerAfter.get('chorus_raft_follower_match_index')!.samples).toEqual([]);

      const varz = await cluster.monitor(follower, '/varz');
      expect(varz.status).toBe(200);
      const body = JSON.parse(varz.body) as Record<string, unknown>;
      expect([body.node, body.role, body.leader, (body.ports as Record<string, number>).monitor]).toEqual([follower, 'follower', leader, cluster.node(follower).monitorPort]);
      expect((body.streamList as { name: string; messages: number }[]).map((stream) => [stream.name, stream.messages])).toEqual([['ALL', 30]]);
      expect((await cluster.monitor(leader, '/nope')).status).toBe(404);
    } finally {
      sub.unsubscribe();
      durable.close();
    }
  });

  it('answers /healthz with 503 while a node recovers and cannot catch up, and 200 once it has', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(nc);
    for (let i = 1; i <= 5; i++) await nc.jetstream().publish('orders.eu', codec.encode(`order ${i}`));
    await nc.close();
    await eventually(async () => ((await healthz(cluster, 1))?.status === 200 ? true : undefined), 10_000, 'node 1 healthy in a running cluster');

    // Node 1 restarts alone: it re-reads its log but hears from no leader, so it cannot know it has caught up.
    for (const id of [1, 2, 3]) await cluster.supervisor.kill(id);
    cluster.supervisor.start(1);
    const recovering = await eventually(() => healthz(cluster, 1), 10_000, "node 1's monitoring port");
    expect(recovering.status).toBe(503);
    expect(recovering.body.status).toBe('recovering');
    // Well past an election timeout (10 to 20 ticks of 20 ms), it still is.
    await sleep(1000);
    expect((await healthz(cluster, 1))?.status).toBe(503);
    expect(sampleValue(await scrape(cluster, 1), 'chorus_ready')).toBe(0);

    cluster.supervisor.start(2);
    cluster.supervisor.start(3);
    const healthy = await eventually(async () => {
      const answer = await healthz(cluster, 1);
      return answer?.status === 200 ? answer : undefined;
    }, 15_000, 'node 1 healthy once its peers are back');
    expect(healthy.body.status).toBe('ok');
    expect(healthy.body.appliedIndex).toBeGreaterThanOrEqual(6);
    expect(sampleValue(await scrape(cluster, 1), 'chorus_ready')).toBe(1);
  });

  it('logs leadership as leveled text lines by default, and as JSON objects on request', async () => {
    const text = await RealCluster.create(3);
    clusters.push(text);
    text.start();
    const leader = await text.waitForLeader();
    const became = await eventually(() => text.lines.find((line) => line.startsWith(`[n${leader}] `) && line.includes(` INFO n${leader} became leader in term `)), 5000, 'the text line');
    expect(became).toMatch(/^\[n\d\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO n\d became leader in term \d+$/);

    const json = await RealCluster.create(3, 20, 10, 2, undefined, { log: { format: 'json', level: 'debug' } });
    clusters.push(json);
    json.start();
    const jsonLeader = await json.waitForLeader();
    const parsed = await eventually(() => {
      const lines = json.lines.filter((line) => line.startsWith(`[n${jsonLeader}] {`)).map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>);
      return lines.some((line) => line.event === 'leader-changed' && line.leader === jsonLeader) ? lines : undefined;
    }, 5000, 'the JSON line');
    const leaderLine = parsed.find((line) => line.event === 'leader-changed' && line.leader === jsonLeader)!;
    expect(leaderLine).toMatchObject({ level: 'info', node: jsonLeader, role: 'leader', msg: expect.stringMatching(/^became leader in term \d+$/) });
    expect(typeof leaderLine.time).toBe('string');
    // Every line a node printed is JSON, its notes too.
    expect(json.lines.filter((line) => /^\[n\d\] /.test(line) && !line.slice(5).startsWith('{'))).toEqual([]);
    expect(parsed.some((line) => line.event === 'note' && String(line.msg).includes('listening'))).toBe(true);
  });
});
