// Real clusters: node processes on loopback talking TCP, with real files and
// fsync, driven by the official `nats` client and by chorus's own CLI.

import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { ChorusClient } from '../../src/runtime/client.js';
import { CLI, eventually, RealCluster, sleep } from '../../src/runtime/local-cluster.js';

const run = promisify(execFile);
const codec = StringCodec();
const { clusters, connections } = trackedResources();

/**
 * Every node snapshots every 50 entries and keeps 10 behind, so the kill -9
 * and restart tests below run with snapshots taken, logs compacted and
 * followers caught up by snapshot along the way.
 */
async function newCluster(): Promise<RealCluster> {
  const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { node: { snapshotEveryEntries: 50 }, raft: { snapshotTrailingEntries: 10, snapshotChunkBytes: 4096 } });
  clusters.push(cluster);
  return cluster;
}

async function natsTo(cluster: RealCluster, ids: readonly number[]): Promise<NatsConnection> {
  const connection = await connect({
    servers: ids.map((id) => `127.0.0.1:${cluster.node(id).clientPort}`),
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  connections.push(connection);
  return connection;
}

async function history(cluster: RealCluster, id: number, topic: string): Promise<string[]> {
  const client = await ChorusClient.connect('127.0.0.1', cluster.node(id).clientPort);
  try {
    const { entries } = await client.history(topic, 1, 10_000, 5000);
    return entries.map((entry) => codec.decode(entry.payload));
  } finally {
    client.close();
  }
}

describe('a real 3-node cluster', () => {
  it('starts through the CLI; the nats client publishes with ids, gets PubAcks, and receives; chorus history shows it', async () => {
    const cluster = await newCluster();
    const child = spawn(process.execPath, [CLI, 'cluster', 'start', '-c', cluster.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(() => (output.includes('press Ctrl-C') ? true : undefined), 10_000, 'the cluster to start');
      expect(output).toContain(`clients 127.0.0.1:${cluster.node(1).clientPort}`);
      await cluster.waitForLeader([1, 2, 3]);
      const nc = await natsTo(cluster, [2]);
      const received: string[] = [];
      const subscription = nc.subscribe('orders.>');
      void (async () => {
        for await (const message of subscription) received.push(`${message.subject} ${codec.decode(message.data)}`);
      })();
      await nc.flush();
      const js = nc.jetstream();
      const acks = [];
      for (let i = 1; i <= 5; i++) acks.push(await js.publish('orders.eu', codec.encode(`order ${i}`), { msgID: `order-${i}` }));
      expect(acks.map((ack) => [ack.stream, ack.seq, ack.duplicate])).toEqual([1, 2, 3, 4, 5].map((seq) => ['ALL', seq, false]));
      const again = await js.publish('orders.eu', codec.encode('order 3'), { msgID: 'order-3' });
      expect([again.seq, again.duplicate]).toEqual([3, true]);
      await eventually(() => (received.length === 5 ? true : undefined), 5000, 'five deliveries');
      expect(received).toEqual([1, 2, 3, 4, 5].map((i) => `orders.eu order ${i}`));
      const { stdout } = await run(process.execPath, [CLI, 'history', 'orders.eu', '--server', `127.0.0.1:${cluster.node(3).clientPort}`]);
      const lines = stdout.trim().split('\n');
      expect(lines.slice(0, 5).map((line) => line.split('\t').filter((_, column) => column !== 1))).toEqual(
        [1, 2, 3, 4, 5].map((i) => [String(i), `order ${i}`]),
      );
      expect(lines[5]).toBe("(5 messages; the topic's last offset is 5)");
      // chorus sub replays from the first message; chorus status tabulates the nodes.
      const sub = await run(process.execPath, [CLI, 'sub', 'orders.*', '--first', '--count', '5', '--server', `127.0.0.1:${cluster.node(1).clientPort}`]);
      expect(sub.stdout.trim().split('\n')).toEqual([1, 2, 3, 4, 5].map((i) => `${i}\torders.eu\torder ${i}`));
      // --ordered merges the topics by timestamp: the one orders.us message, published last, comes last,
      // with the next sequence of the stream they share.
      await js.publish('orders.us', codec.encode('order us'));
      const server1 = `127.0.0.1:${cluster.node(1).clientPort}`;
      const ordered = await run(process.execPath, [CLI, 'sub', 'orders.*', '--first', '--ordered', '--reorder-bound', '50', '--count', '6', '--server', server1]);
      expect(ordered.stdout.trim().split('\n')).toEqual([...[1, 2, 3, 4, 5].map((i) => `${i}\torders.eu\torder ${i}`), '6\torders.us\torder us']);
      const durable = await run(process.execPath, [CLI, 'sub', 'orders.eu', '--durable', 'audit', '--count', '2', '--server', `127.0.0.1:${cluster.node(2).clientPort}`]);
      expect(durable.stdout.trim().split('\n').map((line) => line.split('\t')[0])).toEqual(['1', '2']);
      await eventually(async () => {
        const resumed = await run(process.execPath, [CLI, 'sub', 'orders.eu', '--durable', 'audit', '--count', '1', '--server', `127.0.0.1:${cluster.node(3).clientPort}`]);
        return resumed.stdout.startsWith('3\t') ? true : undefined;
      }, 10_000, 'the durable consumer to resume after its acknowledgements');
      const status = await run(process.execPath, [CLI, 'status', '-c', cluster.configFile]);
      const rows = status.stdout.trim().split('\n');
      expect(rows[0]).toMatch(/^node +address +role +term +leader +commit +lag +clock +streams +messages$/);
      // One stream, holding the six messages stored above, on every node.
      for (const row of rows.slice(1)) expect(row.split(/ +/).slice(-2)).toEqual(['1', '6']);
      expect(rows.slice(1).filter((row) => /\bleader\b/.test(row.split(/ +/)[2] ?? ''))).toHaveLength(1);
      expect(rows).toHaveLength(4);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
  }, 60_000);

  it('survives kill -9 of the leader mid-stream: nothing acknowledged is lost or stored twice, one order everywhere, and the node catches up', async () => {
    const cluster = await newCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const followers = [1, 2, 3].filter((id) => id !== leader);
    // Subscribers on the two nodes that stay up.
    const seen = new Map<number, string[]>();
    for (const id of followers) {
      const nc = await natsTo(cluster, [id]);
      const messages: string[] = [];
      seen.set(id, messages);
      const subscription = nc.subscribe('stream');
      void (async () => {
        for await (const message of subscription) messages.push(codec.decode(message.data));
      })();
      await nc.flush();
    }
    // Three publishers, each with every node in its server list, retrying with the same id.
    const acked = new Map<string, number>();
    let total = 0;
    const publishers = [1, 2, 3].map(async (publisher) => {
      const nc = await natsTo(cluster, [publisher, ...[1, 2, 3].filter((id) => id !== publisher)]);
      const js = nc.jetstream();
      for (let i = 1; i <= 40; i++) {
        const id = `p${publisher}-${i}`;
        for (;;) {
          try {
            const ack = await js.publish('stream', codec.encode(id), { msgID: id, timeout: 1000 });
            acked.set(id, ack.seq);
            total++;
            break;
          } catch {
            await sleep(50);
          }
        }
      }
    });
    await eventually(() => (total >= 30 ? true : undefined), 20_000, '30 acknowledged publishes');
    await cluster.supervisor.kill(leader);
    // The kill really lands mid-stream.
    expect(total).toBeLessThan(120);
    await Promise.all(publishers);
    const newLeader = await cluster.waitForLeader(followers);
    expect(followers).toContain(newLeader);
    const stored = await history(cluster, newLeader, 'stream');
    // Every acknowledged message is stored, at its acknowledged offset, exactly once.
    expect(acked.size).toBe(120);
    for (const [id, seq] of acked) expect(stored[seq - 1], id).toBe(id);
    expect(new Set(stored).size).toBe(stored.length);
    // Both subscribers saw the one order of the log (each a prefix of it, no gaps).
    await eventually(() => ([...seen.values()].every((messages) => messages.length === stored.length) ? true : undefined), 10_000, 'subscribers to catch up');
    for (const messages of seen.values()) expect(messages).toEqual(stored);
    // The killed node comes back and catches up.
    cluster.supervisor.start(leader);
    await eventually(async () => {
      const status = await cluster.status(leader);
      return status !== undefined && Number(status.appliedIndex) >= stored.length ? true : undefined;
    }, 15_000, 'the restarted node to catch up');
    expect(await history(cluster, leader, 'stream')).toEqual(stored);
    // All of it ran with snapshots taken and logs compacted behind them.
    expect((await cluster.status(newLeader))?.snapshot).not.toBeNull();
  }, 90_000);

  it('keeps its history across a whole-cluster restart, cuts a torn tail, and reports a corrupted record', async () => {
    const cluster = await newCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const client = await ChorusClient.connect('127.0.0.1', cluster.node(leader).clientPort);
    for (let i = 1; i <= 20; i++) await client.publish('kept', codec.encode(`m${i}`), `m${i}`, 5000);
    client.close();
    const expected = Array.from({ length: 20 }, (_, i) => `m${i + 1}`);
    await eventually(async () => ((await history(cluster, 3, 'kept')).length === 20 ? true : undefined), 10_000, 'node 3 to apply everything');
    await cluster.stop();

    // A torn tail on node 3: its last record loses its final bytes, as if the process died mid-write.
    const segmentOf = (id: number): string => {
      const dir = path.join(cluster.node(id).dataDir, 'log');
      return path.join(dir, fs.readdirSync(dir).sort().at(-1)!);
    };
    const tornFile = segmentOf(3);
    fs.truncateSync(tornFile, fs.statSync(tornFile).size - 3);
    cluster.start();
    await cluster.waitForLeader([1, 2, 3]);
    for (const id of [1, 2, 3]) {
      await eventually(async () => ((await history(cluster, id, 'kept')).length === 20 ? true : undefined), 10_000, `node ${id} after restart`);
      expect(await history(cluster, id, 'kept')).toEqual(expected);
    }
    expect(cluster.lines.some((line) => line.startsWith('[n3]') && line.includes('cut a torn record'))).toBe(true);
    await cluster.stop();

    // A corrupted record in the middle of node 2's log stops node 2 with the file and byte offset.
    const corruptFile = segmentOf(2);
    const bytes = fs.readFileSync(corruptFile);
    bytes[40] = bytes[40]! ^ 0xff;
    fs.writeFileSync(corruptFile, bytes);
    cluster.supervisor.start(2);
    await eventually(() => (cluster.unexpectedExits.length > 0 ? true : undefined), 10_000, 'node 2 to refuse to start');
    expect(cluster.unexpectedExits).toEqual(['n2 exited with 1']);
    expect(cluster.lines.some((line) => line.startsWith('[n2]') && line.includes(`${corruptFile}: byte `) && line.includes('refusing to start'))).toBe(true);
  }, 90_000);

  it('measures clock offsets between nodes, and a leader whose clock is skewed far off says why and hands leadership to a peer', async () => {
    const cluster = await newCluster();
    cluster.start();
    const leader = await cluster.waitForLeader();
    const other = [1, 2, 3].find((id) => id !== leader)!;
    expect(await cluster.admin(leader, 'SKEW 3000')).toEqual(['OK clock skewed by 3000 ms']);
    type Clock = { offsetFromMajorityMs: number | null; refusesToLead: string | null; peers: { node: number; offsetMs: number; roundTripMs: number }[] };
    const clockOf = async (id: number): Promise<Clock | undefined> => (await cluster.status(id))?.clock as Clock | undefined;
    const skewed = await eventually(async () => {
      const clock = await clockOf(leader);
      return clock?.refusesToLead !== null && clock?.refusesToLead !== undefined ? clock : undefined;
    }, 15_000, 'the skewed node to refuse to lead');
    expect(skewed.refusesToLead).toMatch(/^its clock is \d+ ms off from the majority's, beyond maxClockOffsetMs 500$/);
    expect(Math.abs(skewed.offsetFromMajorityMs! - 3000)).toBeLessThan(100);
    // The others measure it about 3000 ms ahead, and elect one of themselves.
    const seen = await eventually(async () => {
      const peer = (await clockOf(other))?.peers.find((p) => p.node === leader);
      return peer !== undefined && Math.abs(peer.offsetMs - 3000) < 100 ? peer : undefined;
    }, 15_000, 'the others to measure the skew');
    expect(Math.abs(seen.offsetMs - 3000)).toBeLessThanOrEqual(seen.roundTripMs / 2 + 5);
    const newLeader = await cluster.waitForLeader([1, 2, 3].filter((id) => id !== leader));
    expect(newLeader).not.toBe(leader);
    expect((await cluster.status(leader))?.role).not.toBe('leader');
  }, 60_000);

  it('an admin partition isolates the leader; the majority elects another; after healing the old leader follows', async () => {
    const cluster = await newCluster();
    cluster.start();
    const oldLeader = await cluster.waitForLeader();
    const others = [1, 2, 3].filter((id) => id !== oldLeader);
    expect(await cluster.admin(oldLeader, 'ISOLATE')).toEqual(['OK isolated']);
    const newLeader = await cluster.waitForLeader(others);
    expect(newLeader).not.toBe(oldLeader);
    const client = await ChorusClient.connect('127.0.0.1', cluster.node(newLeader).clientPort);
    expect(await client.publish('after', codec.encode('x'), undefined, 5000)).toMatchObject({ stream: 'ALL', seq: 1 });
    client.close();
    const committed = Number((await cluster.status(newLeader))!.commitIndex);
    expect(await cluster.admin(oldLeader, 'HEAL')).toEqual(['OK healed']);
    const status = await eventually(async () => {
      const current = await cluster.status(oldLeader);
      return current?.role === 'follower' && Number(current.leader) === newLeader && Number(current.appliedIndex) >= committed ? current : undefined;
    }, 15_000, 'the old leader to follow the new one and apply what it committed');
    expect(Number(status.term)).toBeGreaterThan(0);
    expect(await history(cluster, oldLeader, 'after')).toEqual(['x']);
  }, 60_000);
});
