// Streams on a real cluster: managed with chorus's CLI and with the official
// `nats` client's JetStream manager, held to their limits on every node, and
// subjects no stream captures left to NATS core (request/reply works).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, StringCodec } from 'nats';
import { describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { CLI, eventually, RealCluster } from '../../src/runtime/local-cluster.js';
import { ChorusClient } from '../../src/runtime/client.js';

const run = promisify(execFile);
const codec = StringCodec();
const { clusters, connections } = trackedResources();

async function chorus(cluster: RealCluster, node: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--server', `127.0.0.1:${cluster.node(node).clientPort}`]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function messagesOn(cluster: RealCluster, node: number, topic: string): Promise<number[]> {
  const client = await ChorusClient.connect('127.0.0.1', cluster.node(node).clientPort);
  try {
    return (await client.history(topic, 1, 1000, 5000)).entries.map((entry) => entry.offset);
  } finally {
    client.close();
  }
}

describe('streams on a real 3-node cluster', () => {
  it('are added, listed, edited, purged and removed from the CLI and the nats client, and keep their limits on every node', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, []);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;

    const added = await chorus(cluster, follower, 'stream', 'add', 'ORDERS', '--subjects', 'orders.>', '--max-msgs', '3');
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('stream ORDERS: subjects orders.>');
    expect(added.stdout).toContain('max_msgs 3');

    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(nc);
    const js = nc.jetstream();
    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await js.publish('orders.eu', codec.encode(`order ${i}`), { msgID: `o-${i}` }));
    expect(acks.map((ack) => [ack.stream, ack.seq])).toEqual([1, 2, 3, 4, 5].map((seq) => ['ORDERS', seq]));

    // The official client's stream manager reads the same stream.
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('ORDERS');
    expect([info.config.subjects, info.config.max_msgs, info.state.messages, info.state.first_seq, info.state.last_seq]).toEqual([['orders.>'], 3, 3, 3, 5]);
    await jsm.streams.add({ name: 'AUDIT', subjects: ['audit.>'] });
    expect((await jsm.streams.names().next()).sort()).toEqual(['AUDIT', 'ORDERS']);

    // max_msgs holds on every node: the two oldest are gone everywhere.
    for (const node of [1, 2, 3]) {
      await eventually(async () => ((await messagesOn(cluster, node, 'orders.eu')).join(',') === '3,4,5' ? true : undefined), 10_000, `n${node} to hold 3..5`);
    }

    const edited = await chorus(cluster, follower, 'stream', 'edit', 'ORDERS', '--max-msgs', '2', '--json');
    expect(JSON.parse(edited.stdout)).toMatchObject({ config: { max_msgs: 2 }, state: { messages: 2, first_seq: 4 } });
    const overlapping = await chorus(cluster, follower, 'stream', 'add', 'MORE', '--subjects', 'orders.eu');
    expect(overlapping.code).toBe(1);
    expect(overlapping.stderr).toContain("subjects overlap with an existing stream: MORE's orders.eu and ORDERS's orders.>");
    expect(overlapping.stderr).toContain('err_code 10065');

    const purged = await chorus(cluster, follower, 'stream', 'purge', 'ORDERS');
    expect(purged.stdout.trim()).toBe('purged 2 messages from ORDERS');
    const listed = await chorus(cluster, leader, 'stream', 'ls');
    expect(listed.stdout.split('\n')[0]).toMatch(/^stream +subjects +messages +bytes +first +last$/);
    expect(listed.stdout).toMatch(/ORDERS +orders\.> +0 +0 +6 +5/);
    expect((await chorus(cluster, follower, 'stream', 'rm', 'AUDIT')).stdout.trim()).toBe('deleted stream AUDIT');
    const missing = await chorus(cluster, follower, 'stream', 'info', 'AUDIT');
    expect([missing.code, missing.stderr.trim()]).toEqual([1, 'chorus stream: stream not found (code 404, err_code 10059)']);
  }, 60_000);

  it('hold max_bytes and max_age exactly on every node, an idle stream emptied by age', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, []);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(nc);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SIZED', subjects: ['sized.>'], max_bytes: 1000 });
    await jsm.streams.add({ name: 'FRESH', subjects: ['fresh.>'], max_age: 1_000_000_000 });
    const js = nc.jetstream();
    for (let i = 1; i <= 30; i++) await js.publish('sized.a', new Uint8Array(100));
    for (let i = 1; i <= 5; i++) await js.publish('fresh.a', codec.encode(`f${i}`));
    const sized = await jsm.streams.info('SIZED');
    // Each message counts its subject (7 bytes) and its 100-byte payload: 107 bytes, so nine fit in 1000.
    expect([sized.state.messages, sized.state.bytes, sized.state.first_seq, sized.state.last_seq]).toEqual([9, 963, 22, 30]);
    for (const node of [1, 2, 3]) {
      await eventually(async () => ((await messagesOn(cluster, node, 'sized.a')).join(',') === '22,23,24,25,26,27,28,29,30' ? true : undefined), 10_000, `n${node} to hold 22..30`);
    }
    // Nothing is published to fresh.a any more: leader time alone ages its messages out, everywhere.
    for (const node of [1, 2, 3]) {
      await eventually(async () => ((await messagesOn(cluster, node, 'fresh.a')).length === 0 ? true : undefined), 10_000, `n${node} to age fresh.a out`);
    }
    expect((await jsm.streams.info('FRESH')).state).toMatchObject({ messages: 0, first_seq: 6, last_seq: 5 });
  }, 60_000);

  it('leave every other subject to NATS core: a request gets its responder\'s reply, and nothing is stored', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, []);
    clusters.push(cluster);
    cluster.start();
    await cluster.waitForLeader();
    const service = await connect({ servers: `127.0.0.1:${cluster.node(1).clientPort}` });
    const caller = await connect({ servers: `127.0.0.1:${cluster.node(3).clientPort}` });
    connections.push(service, caller);
    service.subscribe('svc.echo', { callback: (_error, message) => message.respond(codec.encode(`echo ${codec.decode(message.data)}`)) });
    await service.flush();
    const reply = await eventually(async () => {
      try {
        return await caller.request('svc.echo', codec.encode('hi'), { timeout: 1000 });
      } catch {
        return undefined;
      }
    }, 10_000, 'the responder on another node to answer');
    expect(codec.decode(reply.data)).toBe('echo hi');
    expect(await messagesOn(cluster, 2, 'svc.echo')).toEqual([]);
  }, 60_000);
});

describe('a live subscription on a restarted node', () => {
  it('starts from now, not from the messages the node re-applies (kill -9, restart, SUB, publish one)', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, []);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(nc);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    const js = nc.jetstream();
    const published = [];
    for (let i = 1; i <= 2000; i++) published.push(js.publish('orders.eu', codec.encode(`m${i}`), { msgID: `m${i}` }));
    await Promise.all(published);
    await eventually(async () => ((await messagesOn(cluster, follower, 'orders.eu')).length >= 1000 ? true : undefined), 15_000, 'the follower to apply');
    await cluster.supervisor.kill(follower);
    cluster.supervisor.start(follower);
    const watcher = await eventually(async () => {
      try {
        return await connect({ servers: `127.0.0.1:${cluster.node(follower).clientPort}`, reconnect: false });
      } catch {
        return undefined;
      }
    }, 15_000, 'the restarted follower to take clients');
    connections.push(watcher);
    const seen: string[] = [];
    watcher.subscribe('orders.eu', { callback: (_error, message) => seen.push(codec.decode(message.data)) });
    await watcher.flush();
    await js.publish('orders.eu', codec.encode('after'), { msgID: 'after' });
    await eventually(() => (seen.includes('after') ? true : undefined), 15_000, 'the new message on the restarted node');
    expect(seen).toEqual(['after']);
  }, 90_000);
});

describe('chorus pub', () => {
  it('says where a message went: stored in a stream, or NATS core; and answers a refused subject at once, stored or core, without a stack trace', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, []);
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    await chorus(cluster, leader, 'stream', 'add', 'ORDERS', '--subjects', 'orders.>');
    expect((await chorus(cluster, leader, 'pub', 'orders.eu', 'hello', '--id', 'o-1')).stdout.trim()).toBe('published to ORDERS at offset 1');
    expect((await chorus(cluster, leader, 'pub', 'chat.room', 'hi')).stdout.trim()).toBe(
      'published chat.room as NATS core: no stream captures it, so it went to the subscribers of the moment and was not stored',
    );
    const started = Date.now();
    const refused = await chorus(cluster, leader, 'pub', 'orders.*', 'x');
    expect(Date.now() - started).toBeLessThan(5000);
    expect([refused.code, refused.stderr.trim()]).toEqual([1, "chorus: the server refused it: Invalid Publish Subject"]);
    // No stream captures these, so they go out as NATS core: the -ERR then answers the PUB itself.
    const reserved = await chorus(cluster, leader, 'pub', '$CHORUS.X', 'x');
    expect([reserved.code, reserved.stdout, reserved.stderr.trim()]).toEqual([1, '', 'chorus: the server refused it: Permissions Violation for Publish to "$CHORUS.X"']);
    const wildcard = await chorus(cluster, leader, 'pub', 'chat.*', 'x');
    expect([wildcard.code, wildcard.stdout, wildcard.stderr.trim()]).toEqual([1, '', 'chorus: the server refused it: Invalid Publish Subject']);
  }, 60_000);
});
